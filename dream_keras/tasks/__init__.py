"""The tasks: each task's training, evaluation and prediction, built on the task-agnostic core.

``tasks.atac``: the ChromBPNet task (bias model and bias-factorised main model on ATAC-seq folds).
``tasks.tables``: the sequence-table tasks (DREAM yeast, STARR-seq, lentiMPRA).
"""
