"""The DREAM backbones (Prix Fixe): DREAM-CNN and DREAM-RNN."""
