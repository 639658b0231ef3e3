"""Loading ``.keras`` files of any zoo model, whichever package registered its classes."""

from __future__ import annotations

import os
import pathlib
import zipfile

from dream_keras.registry import load_plugins


def load_model(path: str | os.PathLike, *, compile: bool = False, what: str = "model file",
               fix: str = "give a .keras file saved by dream-keras (official ChromBPNet .h5 files: convert them "
                          "with `dream-keras import-chrombpnet`)"):
    """Load a ``.keras`` file written by this package (any backbone x head, bias-factorised models too).

    The classes that other packages register (``baselines``' layers, ``bias_models``' factorised
    model) are loaded through the ``dream_keras.*`` entry points first. A missing or unreadable
    file raises :class:`data_prep.errors.InputError` naming it, ``what`` it is and the ``fix``.
    """
    import keras

    from data_prep.errors import InputError

    load_plugins()
    import dream_keras.losses  # noqa: F401  (compiled models name our losses)
    import dream_keras.model  # noqa: F401  (registers SequenceModel, the class every zoo model file names)

    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist; {fix}")
    if path.suffix == ".keras" and not zipfile.is_zipfile(path):
        # a .keras file is a zip archive; Keras reports a cut one as "File not found"
        raise InputError(f"{what} {path} is truncated or corrupt: it is not a complete .keras (zip) archive "
                         f"({path.stat().st_size:,} bytes); save or copy it again. {fix}")
    try:
        return keras.saving.load_model(path, compile=compile)
    except Exception as error:  # Keras raises many types for a file it cannot read
        raise InputError(f"{what} {path} cannot be loaded as a Keras model ({type(error).__name__}: {error}); "
                         f"{fix}") from None
