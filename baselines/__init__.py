"""The published baselines: DeepSTARR, MPRAnn and ChromBPNet (BPNet tower, official .h5 import)."""
