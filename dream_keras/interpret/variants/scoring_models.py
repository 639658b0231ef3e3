"""The models a variant run scores with, and the two mistakes that would score the wrong thing.

The official scorer is meant for the bias-corrected model (``chrombpnet_nobias.h5``; here
``RUN/models/model_nobias.keras``):

- a *bias model* (``bias.keras``, an imported ``bias.h5``: BPNet with the official bias model's
  unprefixed layer names) predicts the enzyme's sequence preference (Tn5 or DNase cutting), so its
  "variant effects" are effects on the enzyme, not on accessibility: it is refused unless
  ``allow_bias_model``;
- a *bias-factorised* model (``model.keras``, an imported ``chrombpnet.h5``) adds the bias model's
  prediction, so its effects mix the two: a warning says so, and ``no_bias`` scores its bias-free
  part instead.
"""

from __future__ import annotations

import os
import pathlib
from typing import Callable

from data_prep.errors import InputError


def looks_like_bias_model(model, path: str | os.PathLike) -> bool:
    """Whether ``model`` looks like a bias model.

    A BPNet with the official bias model's unprefixed layer names (what ``bias train`` writes and
    ``import-chrombpnet`` makes of ``bias.h5``), or a file named ``bias*.keras``.
    """
    options = getattr(model, "model_options", {}) or {}
    bias_layers = getattr(model, "backbone_name", None) == "bpnet" and options.get("layer_prefix") == ""
    return bias_layers or pathlib.Path(path).name.startswith("bias")


def load_scoring_models(paths, *, no_bias: bool = False, allow_bias_model: bool = False,
                        say: Callable[[str], None] = print) -> list:
    """Load the ``.keras`` files and check them (module docstring).

    Raises:
        InputError: a file that does not load, or a bias model without ``allow_bias_model``.
    """
    from dream_keras.saving import load_model

    models = []
    for path in paths:
        model = load_model(path, fix="give a .keras file written by `dream-keras train` "
                                     "(RUN/models/model_nobias.keras) or converted by `dream-keras import-chrombpnet`")
        if hasattr(model, "nobias_model"):
            if no_bias:
                from bias_models.factorised import without_bias

                model = without_bias(model)
            else:
                say(f"warning: {path} is a bias-factorised model: its predictions include the bias model's, so its "
                    "variant effects mix enzyme (Tn5/DNase) preference with accessibility. The official scorer uses "
                    "the bias-free model: pass --no-bias to score this model's bias-free part, or give "
                    "RUN/models/model_nobias.keras")
        elif looks_like_bias_model(model, path):
            if not allow_bias_model:
                raise InputError(f"{path} looks like a bias model (BPNet with the official bias model's layer "
                                 "names, as `bias train` writes it): it predicts the enzyme's (Tn5/DNase) sequence "
                                 "preference, so its variant effects are effects on enzyme cutting, not on "
                                 "accessibility. Score the bias-corrected model (RUN/models/model_nobias.keras), or "
                                 "pass --allow-bias-model to score the bias model on purpose")
            say(f"warning: scoring the bias model {path} (--allow-bias-model): the effects are on enzyme preference")
        models.append(model)
    if not models:
        raise InputError("no model given; pass --model MODEL.keras [MORE.keras ...]")
    return models


__all__ = ["load_scoring_models", "looks_like_bias_model"]
