"""Data preparation: FASTA, bigWig, peaks, one-hot, folds, windows, filters, tf.data pipelines.

Importing ``data_prep`` does not import TensorFlow; :func:`training_dataset` and
:func:`validation_dataset` import it when called.
"""

from data_prep.bundled import AtacData, SampleTable, bundled_atac_data, bundled_table
from data_prep.chrom_sizes import read_chrom_sizes
from data_prep.epochs import EpochPlan, sample_epoch
from data_prep.errors import InputError
from data_prep.filters import OutlierFilter, bias_threshold, counts_loss_weight, edge_filter, outlier_filter
from data_prep.folds import check_fold, load_fold, make_splits, split_of, write_fold
from data_prep.genome import fetch_sequence, open_genome
from data_prep.motifs import Motif, bundled_motif_path, read_meme
from data_prep.nonpeaks import make_nonpeaks
from data_prep.onehot import one_hot_decode, one_hot_encode, reverse_complement
from data_prep.peaks import read_bed, read_narrowpeak, read_regions, write_narrowpeak
from data_prep.pipelines import releasing_windows, training_dataset, validation_dataset
from data_prep.reads import ReadsSummary, reads_to_bigwig
from data_prep.signal import open_signal, read_signal
from data_prep.synthetic import SyntheticDataset, make_synthetic_dataset
from data_prep.windows import Windows, crop_windows, extract_windows

__all__ = [
    "AtacData", "EpochPlan", "InputError", "Motif", "OutlierFilter", "SampleTable", "SyntheticDataset", "Windows",
    "bias_threshold", "bundled_atac_data", "bundled_motif_path", "bundled_table", "check_fold", "counts_loss_weight",
    "crop_windows",
    "edge_filter", "extract_windows", "fetch_sequence", "load_fold", "make_nonpeaks", "make_splits",
    "make_synthetic_dataset", "one_hot_decode", "one_hot_encode", "open_genome", "open_signal", "outlier_filter",
    "read_bed", "read_chrom_sizes", "read_meme", "read_narrowpeak", "read_regions", "read_signal", "releasing_windows",
    "reverse_complement", "sample_epoch", "split_of", "training_dataset", "validation_dataset", "write_fold",
    "write_narrowpeak",
    "ReadsSummary", "reads_to_bigwig",
]
