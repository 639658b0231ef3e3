import os
import pathlib
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# --jit-compile auto measures XLA against no XLA and caches the decision: tests use their own cache
# folder (CLI subprocesses inherit it), never the user's.
os.environ.setdefault("DREAM_KERAS_CACHE_DIR", tempfile.mkdtemp(prefix="dream-keras-test-cache-"))

import pytest  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    """tests/data: the small real fixtures (each folder has its licence and provenance)."""
    return DATA


@pytest.fixture(scope="session")
def chrombpnet_golden(data_dir):
    """``load(stem) -> (arrays, values)``: a golden pair written by the official ChromBPNet code,
    ``tests/data/chrombpnet_ref/STEM.npz`` (arrays) and ``STEM.json`` (scalars)."""
    import json

    import numpy as np

    def load(stem: str):
        folder = data_dir / "chrombpnet_ref"
        return np.load(folder / f"{stem}.npz"), json.loads((folder / f"{stem}.json").read_text())

    return load
