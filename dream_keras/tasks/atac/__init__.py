"""The ChromBPNet ATAC-seq task: bias stage, bias-factorised main model, evaluation and prediction."""
