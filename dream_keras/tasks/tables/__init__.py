"""The sequence-table tasks (DREAM yeast, STARR-seq, lentiMPRA): training, evaluation, prediction."""
