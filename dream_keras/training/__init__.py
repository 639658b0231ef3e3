"""Training: run folders, resumable fitting, the ATAC fold pipeline and the sequence-table recipes."""
