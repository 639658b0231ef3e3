"""One-hot encoding and reverse complement."""

import numpy as np
import pytest

from data_prep import InputError, one_hot_decode, one_hot_encode, reverse_complement

COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def test_one_hot_acgt_soft_masked_and_n():
    encoded = one_hot_encode("ACgtNRa")
    expected = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1],
                         [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=np.uint8)
    assert encoded.dtype == np.uint8
    np.testing.assert_array_equal(encoded, expected)


def test_one_hot_agct_order_and_float32_batch():
    encoded = one_hot_encode(["AGCT", "TTNA"], alphabet="AGCT", dtype=np.float32)
    assert encoded.shape == (2, 4, 4) and encoded.dtype == np.float32
    np.testing.assert_array_equal(encoded[0], np.eye(4, dtype=np.float32))  # A, G, C, T -> channels 0..3
    np.testing.assert_array_equal(encoded[1].argmax(-1), [3, 3, 0, 0])
    assert encoded[1, 2].sum() == 0


def test_decode_round_trip_uppercases():
    seqs = ["ACGTNACGTT", "ttttGGGGcc"]
    assert one_hot_decode(one_hot_encode(seqs)) == [s.upper() for s in seqs]


@pytest.mark.parametrize("alphabet", ["ACGT", "AGCT"])
def test_reverse_complement_matches_text(alphabet):
    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list("ACGTN"), size=57))
    rc_text = text.translate(COMPLEMENT)[::-1]
    flipped = reverse_complement(one_hot_encode(text, alphabet=alphabet), alphabet=alphabet)
    np.testing.assert_array_equal(flipped, one_hot_encode(rc_text, alphabet=alphabet))


def test_bad_inputs():
    with pytest.raises(InputError, match="sequence 1 has length 3"):
        one_hot_encode(["ACGT", "ACG"])
    with pytest.raises(InputError, match="ordering of the four letters"):
        one_hot_encode("ACGT", alphabet="ACGU")
    with pytest.raises(InputError, match="not complement-symmetric"):
        reverse_complement(one_hot_encode("ACGT", alphabet="ACTG"), alphabet="ACTG")
