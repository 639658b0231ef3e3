"""Sequence-table loaders (data_prep.tables) on the real DREAM yeast, DeepSTARR and lentiMPRA samples."""

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from data_prep.errors import InputError
from data_prep.tables import (
    TASKS,
    cross_validation_split,
    dream_yeast,
    encode_dream_yeast,
    lentimpra,
    load_dream_yeast,
    load_lentimpra,
    load_starrseq,
    split_by_chromosome,
    split_by_set_column,
    split_dream_yeast,
    starrseq,
    with_reverse_complements,
)

_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}


def reverse_complement_text(sequence):
    """Written out base by base, independent of the library's translate-based helper."""
    return "".join(_COMPLEMENT[base] for base in reversed(sequence.upper()))


def decode(one_hot, alphabet):
    """One-hot rows back to text; an all-zero row reads as N."""
    letters = np.array(list(alphabet) + ["N"])
    index = np.where(one_hot.sum(axis=-1) == 0, len(alphabet), one_hot.argmax(axis=-1))
    return "".join(letters[index])


@pytest.fixture(scope="module")
def yeast_path(data_dir):
    return data_dir / "dream_yeast" / "demo_train.txt"


@pytest.fixture(scope="module")
def plasmid_path(data_dir):
    return data_dir / "dream_yeast" / "plasmid.json"


@pytest.fixture(scope="module")
def yeast(yeast_path, plasmid_path):
    return load_dream_yeast(yeast_path, plasmid_path)


@pytest.fixture(scope="module")
def starr(data_dir):
    return load_starrseq(data_dir / "deepstarr" / "sample_train.txt")


@pytest.fixture(scope="module")
def lenti_paths(data_dir):
    return [data_dir / "lentimpra" / "sample_train.txt", data_dir / "lentimpra" / "sample_valid.txt"]


@pytest.fixture(scope="module")
def lenti(lenti_paths):
    return load_lentimpra(lenti_paths[0])


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- DREAM yeast


def test_plasmid_flank_is_the_150_bases_before_the_insert(plasmid_path):
    plasmid = json.loads(plasmid_path.read_text())
    insert = plasmid.index("N" * 80)
    assert dream_yeast.read_plasmid_flank(plasmid_path) == plasmid[insert - 150:insert]
    assert dream_yeast.PLASMID_FLANK_5PRIME == plasmid[insert - 150:insert]
    assert dream_yeast.PLASMID_FLANK_5PRIME.endswith(dream_yeast.ADAPTOR_5PRIME)


def test_padding_gives_150_bp_ending_in_the_read(yeast, plasmid_path):
    plasmid = json.loads(plasmid_path.read_text())
    flank = plasmid[plasmid.index("N" * 80) - 150:plasmid.index("N" * 80)]
    assert yeast.sequences.shape == (6370, 150, 6)
    reads = yeast.table["sequence"].tolist()
    decoded = [decode(x, "AGCT") for x in yeast.sequences[:, :, :4]]
    for read, padded in zip(reads, decoded):
        stripped = read[17:]
        assert padded.endswith(stripped)
        assert padded == flank[-(150 - len(stripped)):] + stripped
    # a 110 bp read gets 57 plasmid bases; the flank ends with the adaptor, so the whole read is kept
    first = reads[0]
    assert len(first) == 110 and decoded[0][-110:] == first and decoded[0][:40] == flank[-57:-17]


def test_padding_of_long_and_short_reads_follows_the_original():
    adaptor = dream_yeast.ADAPTOR_5PRIME
    long_read = adaptor + "ACGT" * 40                  # 177 bp: 160 bases after the adaptor
    short_read = adaptor + "GGCC" * 5                  # 37 bp
    long_padded, short_padded = dream_yeast.pad_with_plasmid([long_read, short_read])
    assert long_padded == long_read[-150:]             # the read's 5' end is cut
    assert short_padded == dream_yeast.PLASMID_FLANK_5PRIME[-130:] + "GGCC" * 5


def test_channels_agct_order_singleton_and_reverse_flags(yeast):
    x = yeast.sequences
    assert yeast.channel_names == ("A", "G", "C", "T", "is_reverse", "is_singleton")
    read = yeast.table["sequence"][0]                  # TGCATTTTTTTCACATCCTTCAACC...
    offset = 150 - len(read)
    assert read[:4] == "TGCA"
    np.testing.assert_array_equal(x[0, offset:offset + 4, :4], [[0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0],
                                                                [1, 0, 0, 0]])
    # expression 15.18... (row 0) is not a singleton, 12 (row 1) is
    assert yeast.table["expression"][0] == pytest.approx(15.1823836007871)
    assert (x[0, :, 5] == 0).all() and (x[1, :, 5] == 1).all()
    singleton = x[:, 0, 5] == 1
    np.testing.assert_array_equal(singleton, yeast.table["expression"] % 1 == 0)
    assert 0.5 < singleton.mean() < 0.7
    assert (x[:, :, 4] == 0).all()
    # reads with N keep an all-zero row there
    with_n = int(np.flatnonzero(yeast.table["sequence"].str.contains("N"))[0])
    position = yeast.table["sequence"][with_n].index("N") + 150 - len(yeast.table["sequence"][with_n])
    assert x[with_n, position, :4].sum() == 0


def test_reverse_complement_copies_are_exact(yeast):
    augmented = with_reverse_complements(yeast)
    n = len(yeast)
    assert len(augmented) == 2 * n
    assert augmented.table["reverse_complement_copy"].sum() == n
    for row in (0, 1, 17, n - 1):
        forward = decode(yeast.sequences[row, :, :4], "AGCT")
        assert decode(augmented.sequences[n + row, :, :4], "AGCT") == reverse_complement_text(forward)
    assert (augmented.sequences[n:, :, 4] == 1).all() and (augmented.sequences[:n, :, 4] == 0).all()
    np.testing.assert_array_equal(augmented.sequences[n:, :, 5], yeast.sequences[:, :, 5])
    np.testing.assert_array_equal(augmented.targets["bins"][n:], yeast.targets["bins"])


def test_prediction_inputs_have_no_singleton_flag_and_both_orientations(yeast):
    reads = yeast.table["sequence"][:4].tolist()
    forward, reverse = TASKS["dream_yeast"].test_time_inputs(reads)
    assert forward.shape == reverse.shape == (4, 150, 6)
    assert (forward[:, :, 5] == 0).all() and (reverse[:, :, 5] == 0).all()
    assert (forward[:, :, 4] == 0).all() and (reverse[:, :, 4] == 1).all()
    np.testing.assert_array_equal(forward[:, :, :4], yeast.sequences[:4, :, :4])
    for row in range(4):
        assert decode(reverse[row, :, :4], "AGCT") == reverse_complement_text(decode(forward[row, :, :4], "AGCT"))
    np.testing.assert_array_equal(encode_dream_yeast([r.lower() for r in reads]), forward)
    np.testing.assert_array_equal(encode_dream_yeast(reads, is_reverse=True), reverse)


def _normal_cdf(x, mean, sd):
    return 0.5 * (1 + math.erf((x - mean) / (sd * math.sqrt(2))))


def test_soft_bins_match_the_normal_and_sum_to_one(yeast):
    bins = yeast.targets["bins"]
    assert bins.shape == (6370, 18)
    np.testing.assert_allclose(bins.sum(axis=1), 1.0, atol=1e-6)
    # expression 12 (row 1): the mass of [12, 13) under N(12.5, 0.5) is P(|Z| < 1)
    assert bins[1, 12] == pytest.approx(_normal_cdf(1, 0, 1) - _normal_cdf(-1, 0, 1), abs=1e-6)
    assert bins[1, 11] == pytest.approx(_normal_cdf(-1, 0, 1) - _normal_cdf(-3, 0, 1), abs=1e-6)
    e = float(yeast.table["expression"][0])
    assert bins[0, 15] == pytest.approx(_normal_cdf(16, e + 0.5, 0.5) - _normal_cdf(15, e + 0.5, 0.5), abs=1e-6)
    # open-ended end bins: bin 0 holds everything below 1, bin 17 everything from 17 up
    low_high = dream_yeast.soft_bin_targets(np.array([0.0, 17.0]))
    assert low_high[0, 0] == pytest.approx(_normal_cdf(1, 0.5, 0.5), abs=1e-6)
    assert low_high[1, 17] == pytest.approx(1 - _normal_cdf(17, 17.5, 0.5), abs=1e-6)


def test_soft_bin_expectation_is_expression_plus_half(yeast):
    """E[bin centre] = E[floor(X)] + 0.5 for X ~ N(mu, s), mu = expression + 0.5, s = 0.5.

    Away from the open-ended bins, floor() discretisation alone moves the mean, by at most
    sum_n exp(-2 pi^2 n^2 s^2) / (pi n) (the Fourier series of the fractional part), ~0.0023;
    for 2 <= expression <= 15 the mass beyond the end bins is below Phi(-5) ~ 3e-7 per side.
    """
    sd = dream_yeast.BIN_SCALE
    discretisation = sum(math.exp(-2 * math.pi ** 2 * n ** 2 * sd ** 2) / (math.pi * n) for n in range(1, 20))
    tolerance = discretisation + 2 * 17 * 3e-7 + 1e-5       # + float32 rounding of the 18 probabilities
    expression = yeast.table["expression"].to_numpy()
    inside = (expression >= 2) & (expression <= 15)
    assert inside.sum() > 5000
    centres = np.arange(18) + 0.5
    expectation = yeast.targets["bins"][inside].astype(np.float64) @ centres
    assert np.abs(expectation - (expression[inside] + 0.5)).max() < tolerance
    # at the ends the open bins truncate: expression 0 has its mass below 0 counted at centre 0.5
    edge = dream_yeast.soft_bin_targets(np.array([0.0]))[0].astype(np.float64) @ centres
    assert edge - 0.5 > 0.1


def test_random_split_is_disjoint_complete_and_seeded(yeast):
    split = split_dream_yeast(yeast, valid_fraction=0.1, seed=3)
    assert (len(split.train), len(split.valid), len(split.test)) == (5733, 637, 0)
    assert np.union1d(split.train, split.valid).size == 6370
    again = split_dream_yeast(yeast, valid_fraction=0.1, seed=3)
    np.testing.assert_array_equal(again.valid, split.valid)
    assert not np.array_equal(split_dream_yeast(yeast, 0.1, seed=4).valid, split.valid)
    valid = yeast.subset(split.valid)
    np.testing.assert_array_equal(valid.sequences, yeast.sequences[split.valid])
    np.testing.assert_array_equal(valid.lines, split.valid + 1)


def test_yeast_bad_inputs_name_file_and_line(tmp_path, yeast_path):
    lines = yeast_path.read_text().splitlines()[:5]
    bad_base = lines.copy()
    bad_base[2] = bad_base[2][:30] + "X" + bad_base[2][31:]
    path = write_lines(tmp_path / "bad_base.txt", bad_base)
    with pytest.raises(InputError, match=r"bad_base\.txt line 3: sequence has 'X' at position 31"):
        load_dream_yeast(path)
    bad_value = lines.copy()
    bad_value[3] = bad_value[3].split("\t")[0] + "\thigh"
    path = write_lines(tmp_path / "bad_value.txt", bad_value)
    with pytest.raises(InputError, match=r"bad_value\.txt line 4: expression is 'high'"):
        load_dream_yeast(path)
    lower = [line.split("\t")[0].lower() + "\t" + line.split("\t")[1] for line in lines]
    loaded = load_dream_yeast(write_lines(tmp_path / "lower.txt", lower))
    np.testing.assert_array_equal(loaded.sequences, load_dream_yeast(write_lines(tmp_path / "ok.txt", lines)).sequences)
    as_bytes = load_dream_yeast(tmp_path / "ok.txt", dtype=np.uint8)
    assert as_bytes.sequences.dtype == np.uint8
    np.testing.assert_array_equal(as_bytes.sequences, loaded.sequences)
    with pytest.raises(InputError, match="no run of 80 N"):
        load_dream_yeast(path, plasmid_path=write_lines(tmp_path / "plasmid.json", ['"ACGT"']))


# ---------------------------------------------------------------- STARR-seq (DeepSTARR)


def test_starrseq_tasks_and_acgt_encoding(starr, data_dir):
    assert starr.sequences.shape == (1000, 249, 4)
    assert starr.task_names == ["Dev", "Hk"]
    assert starr.targets["Dev"][0, 0] == pytest.approx(0.0029580836399493)
    assert starr.targets["Hk"][0, 0] == pytest.approx(-1.64088967459238)
    raw = pd.read_table(data_dir / "deepstarr" / "sample_train.txt")
    np.testing.assert_allclose(starr.targets["Hk"][:, 0], raw["Hk_log2_enrichment"], rtol=1e-6)
    assert raw["Sequence"][0].startswith("GAAT")
    np.testing.assert_array_equal(starr.sequences[0, :4], [[0, 0, 1, 0], [1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]])


def test_starrseq_minus_strand_rows_are_reverse_complements(starr):
    """The DeepSTARR table holds both strands of a region; augmenting a + row gives its - row."""
    augmented = with_reverse_complements(starr)
    table = starr.table
    region = table["seqnames"] + ":" + table["start"].astype(str)
    strand = table["ID"].str.split("_").str[3]
    plus = {key: i for i, key in enumerate(region) if strand[i] == "+"}
    pairs = [(plus[key], i) for i, key in enumerate(region) if strand[i] == "-" and key in plus]
    assert len(pairs) >= 5
    for plus_row, minus_row in pairs:
        np.testing.assert_array_equal(augmented.sequences[len(starr) + plus_row], starr.sequences[minus_row])
        assert decode(starr.sequences[minus_row], "ACGT") == reverse_complement_text(table["Sequence"][plus_row])


def test_starrseq_chromosome_split(starr):
    split = split_by_chromosome(starr, valid_chromosomes=["chrXHet"], test_chromosomes=[])
    assert (len(split.train), len(split.valid), len(split.test)) == (990, 10, 0)
    assert set(starr.table["seqnames"][split.valid]) == {"chrXHet"}
    assert set(starr.table["seqnames"][split.train]) == {"chrX"}
    swapped = split_by_chromosome(starr, valid_chromosomes=[], test_chromosomes=["chrXHet"])
    np.testing.assert_array_equal(swapped.test, split.valid)
    with pytest.raises(InputError, match="chr2R"):
        split_by_chromosome(starr, valid_chromosomes=["chr2R"], test_chromosomes=[])
    with pytest.raises(InputError, match="both"):
        split_by_chromosome(starr, valid_chromosomes=["chrX"], test_chromosomes=["chrX"])
    published = split_by_set_column(starr)
    assert (len(published.train), len(published.valid), len(published.test)) == (1000, 0, 0)


def test_starrseq_reverse_channel_follows_the_id_strand(data_dir):
    table = load_starrseq(data_dir / "deepstarr" / "sample_train.txt", reverse_channel=True)
    assert table.sequences.shape == (1000, 249, 5)
    minus = table.table["ID"].str.contains("_-_").to_numpy()
    np.testing.assert_array_equal(table.sequences[:, 0, 4] == 1, minus)
    assert 400 < minus.sum() < 600


def test_starrseq_bad_inputs_name_file_and_line_or_column(tmp_path, data_dir):
    lines = (data_dir / "deepstarr" / "sample_train.txt").read_text().splitlines()[:6]
    header = lines[0].split("\t")
    short = lines.copy()
    fields = short[4].split("\t")
    fields[header.index("Sequence")] = fields[header.index("Sequence")][:-1]
    short[4] = "\t".join(fields)
    with pytest.raises(InputError, match=r"short\.txt line 5: Sequence is 248 bp, expected 249"):
        load_starrseq(write_lines(tmp_path / "short.txt", short))
    missing = ["\t".join(line.split("\t")[:-1]) for line in lines]
    with pytest.raises(InputError, match=r"missing\.txt: missing column 'Hk_log2_enrichment'"):
        load_starrseq(write_lines(tmp_path / "missing.txt", missing))
    assert load_starrseq(tmp_path / "missing.txt", require_targets=False).targets == {}
    with pytest.raises(InputError, match="sequences index 1: sequence is 10 bp, expected 249"):
        starrseq.encode_starrseq(["A" * 249, "ACGT" * 2 + "AC"])
    not_number = lines.copy()
    not_number[2] = "\t".join(not_number[2].split("\t")[:-2] + ["NA", "0.1"])
    with pytest.raises(InputError, match=r"not_number\.txt line 3: Dev_log2_enrichment is 'NA'"):
        load_starrseq(write_lines(tmp_path / "not_number.txt", not_number))


# ---------------------------------------------------------------- lentiMPRA


def test_lentimpra_pairs_share_a_fold_and_never_split(lenti_paths):
    for path in lenti_paths:
        table = load_lentimpra(path)
        keys = lentimpra.pair_keys(table.table["seq_id"])
        reversed_ = lentimpra.is_reversed_id(table.table["seq_id"])
        paired = [key for key in set(keys[reversed_]) & set(keys[~reversed_])]
        assert len(paired) >= 5
        for key in paired:
            assert table.table["fold"][keys == key].nunique() == 1
        for k in range(10):
            split = cross_validation_split(table, k)
            side = np.full(len(table), -1)
            side[split.train], side[split.valid], side[split.test] = 0, 1, 2
            assert (side >= 0).all()
            for key in paired:
                assert len(set(side[keys == key])) == 1


def test_lentimpra_disagreeing_pair_follows_the_forward_fold(tmp_path, lenti_paths):
    lines = lenti_paths[0].read_text().splitlines()
    frame = pd.read_table(lenti_paths[0])
    keys = lentimpra.pair_keys(frame["seq_id"])
    forward = frame.index[frame["seq_id"].str.endswith("_F")]
    row_f = next(i for i in forward if (keys == keys[i]).sum() == 2)
    row_r = int(np.flatnonzero((keys == keys[row_f]) & (frame.index != row_f))[0])
    fold_f = int(frame["fold"][row_f])
    fields = lines[row_r + 1].split("\t")
    fields[3] = str((fold_f + 3) % 10)
    lines[row_r + 1] = "\t".join(fields)
    with pytest.warns(UserWarning, match="1 reverse-orientation rows"):
        table = load_lentimpra(write_lines(tmp_path / "moved.txt", lines))
    assert table.table["fold"][row_r] == fold_f


def test_lentimpra_cross_validation_rounds(lenti):
    folds = lenti.table["fold"].to_numpy()
    for k in range(10):
        split = cross_validation_split(lenti, k)
        valid_fold = (k + 1) % 10
        assert set(folds[split.test]) == {k} and set(folds[split.valid]) == {valid_fold}
        assert len(split.test) == (folds == k).sum() and len(split.valid) == (folds == valid_fold).sum()
        assert len(split.train) + len(split.valid) + len(split.test) == 1000
        assert not set(folds[split.train]) & {k, valid_fold}
    assert set(folds[cross_validation_split(lenti, 4, valid_fold=7).valid]) == {7}
    with pytest.raises(InputError, match="fold 10 is not one of"):
        cross_validation_split(lenti, 10)


def test_lentimpra_augmentation_keeps_adaptors_and_flips_the_element(lenti):
    augmented = with_reverse_complements(lenti)
    n = len(lenti)
    for row in (0, 5, 999):
        original = lenti.table["seq"][row]
        copy = decode(augmented.sequences[n + row], "ACGT")
        assert copy[:15] == original[:15] == "AGGACCGGATCAACT"
        assert copy[215:] == original[215:] == "CATTGCGTGAACCGA"
        assert copy[15:215] == reverse_complement_text(original[15:215])
    # augmenting a measured forward construct gives the measured _Reversed: construct
    ids = lenti.table["seq_id"]
    keys = lentimpra.pair_keys(ids)
    reversed_ = lentimpra.is_reversed_id(ids)
    for row in np.flatnonzero(~reversed_):
        partner = np.flatnonzero(reversed_ & (keys == keys[row]))
        if partner.size:
            np.testing.assert_array_equal(augmented.sequences[n + row], lenti.sequences[partner[0]])
    forward, reverse = TASKS["lentimpra"].test_time_inputs(lenti.table["seq"][:3])
    np.testing.assert_array_equal(reverse, augmented.sequences[n:n + 3])


def test_lentimpra_bad_inputs_name_file_and_line_or_column(tmp_path, lenti_paths):
    lines = lenti_paths[0].read_text().splitlines()[:6]
    short = lines.copy()
    fields = short[2].split("\t")
    fields[1] = fields[1][:229]
    short[2] = "\t".join(fields)
    with pytest.raises(InputError, match=r"short\.txt line 3: seq is 229 bp, expected 230"):
        load_lentimpra(write_lines(tmp_path / "short.txt", short))
    no_fold = ["\t".join(line.split("\t")[:3]) for line in lines]
    with pytest.raises(InputError, match=r"no_fold\.txt: missing column 'fold'"):
        load_lentimpra(write_lines(tmp_path / "no_fold.txt", no_fold))
    half_fold = lines.copy()
    half_fold[4] = "\t".join(half_fold[4].split("\t")[:3] + ["2.5"])
    with pytest.raises(InputError, match=r"half_fold\.txt line 5: fold is '2.5', not a whole number"):
        load_lentimpra(write_lines(tmp_path / "half_fold.txt", half_fold))
    bad_base = lines.copy()
    fields = bad_base[1].split("\t")
    fields[1] = fields[1][:100] + "R" + fields[1][101:]
    bad_base[1] = "\t".join(fields)
    with pytest.raises(InputError, match=r"bad_base\.txt line 2: seq has 'R' at position 101"):
        load_lentimpra(write_lines(tmp_path / "bad_base.txt", bad_base))
    with pytest.raises(InputError, match="sequences index 0: sequence has 'U' at position 3"):
        lentimpra.encode_lentimpra(["ACU" + "A" * 227])


# ---------------------------------------------------------------- registry


@pytest.mark.parametrize("task,relative", [("dream_yeast", "dream_yeast/demo_train.txt"),
                                           ("starrseq", "deepstarr/sample_val.txt"),
                                           ("lentimpra", "lentimpra/sample_valid.txt")])
def test_task_registry_matches_the_loaders(task, relative, data_dir, tmp_path):
    spec = TASKS[task]
    source = tmp_path / "table.txt"
    shutil.copy(data_dir / relative, source)
    table = spec.load(source)
    assert table.task == task and table.alphabet == spec.alphabet
    assert table.sequences.shape[1:] == (spec.input_length, spec.channels)
    assert table.channel_names == spec.channel_names and tuple(table.task_names) == spec.task_names
    assert ("bins" in table.targets) == spec.soft_bins
    column = table.table.columns[0] if task == "dream_yeast" else ("Sequence" if task == "starrseq" else "seq")
    forward, reverse = spec.test_time_inputs(table.table[column][:2].tolist())
    assert forward.shape == reverse.shape == (2, spec.input_length, spec.channels)
    np.testing.assert_array_equal(spec.encode(table.table[column][:2].tolist()), forward)
