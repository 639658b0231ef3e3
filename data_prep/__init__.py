"""Data preparation: FASTA, bigWig, peaks, one-hot, folds, windows, filters, tf.data pipelines."""
