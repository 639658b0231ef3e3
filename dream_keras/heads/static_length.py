"""A check shared by heads that flatten their features (DeepSTARR's, MPRAnn's)."""

from __future__ import annotations

from dream_keras.registry import IncompatibleHeadError


def static_feature_length(features, head: str) -> int:
    """The known length of ``features`` ``(batch, length, width)``.

    A Dense layer after Flatten needs a fixed number of inputs, so a head that flattens cannot follow
    features of unknown length.

    Raises:
        IncompatibleHeadError: the length or width is unknown.
    """
    length, width = features.shape[1], features.shape[-1]
    if length is None or width is None:
        raise IncompatibleHeadError(
            f"{head} flattens the features and needs their length and width to be known (got "
            f"{tuple(features.shape)}); build with a fixed input_length")
    return int(length)
