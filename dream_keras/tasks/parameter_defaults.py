"""The declared default of a field of a parameters dataclass, so that every default is written once.

Each run's parameters are a dataclass (:mod:`dream_keras.tasks.atac.parameters`,
:mod:`dream_keras.tasks.tables.parameters`, :mod:`dream_keras.tasks.atac.pipeline.parameters`);
help texts, the pipeline's parameters and the functions that take the same options read their
defaults from there with :func:`field_default`. Importing this module imports neither TensorFlow
nor Keras.
"""

from __future__ import annotations

import dataclasses


def field_default(parameters: type, name: str):
    """The declared default of field ``name`` of the dataclass ``parameters``.

    Args:
        parameters: a dataclass type, e.g. ``AtacTrainParameters``.
        name: one of its fields.

    Returns:
        The field's default (a fresh value for a ``default_factory``).

    Raises:
        KeyError: the dataclass has no such field, or the field has no default (it is required).
    """
    for field in dataclasses.fields(parameters):
        if field.name == name:
            if field.default is not dataclasses.MISSING:
                return field.default
            if field.default_factory is not dataclasses.MISSING:
                return field.default_factory()
            raise KeyError(f"{parameters.__name__}.{name} has no default (it is required)")
    raise KeyError(f"{parameters.__name__} has no field {name!r}")


__all__ = ["field_default"]
