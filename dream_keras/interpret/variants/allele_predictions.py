"""Predictions of both alleles on both strands, in one batched model call per batch of variants.

For a batch of ``b`` variants the model sees ``4b`` windows at once: allele 1, allele 2, and the
reverse complements of both. Per allele, as the official scorer averages the strands:

- ``counts``: the mean over the two strands of ``exp(logcounts)`` (the model predicts
  ``log(1 + reads)``, so this is 1 + the predicted reads; the official scorer calls it
  ``allele1_pred_counts``);
- ``logits``: the mean over the two strands of the profile logits, the reverse strand's profile
  flipped back (logits are averaged, not probabilities, as the official scorer does).

Models with other outputs of width 1 (``expression``, ``Dev``, ...) give, per output, the mean of
the two strands' values. Batches are padded to one shape, so the model's predict function is
traced once.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data_prep.errors import InputError
from data_prep.onehot import reverse_complement
from dream_keras.interpret.predict import model_input_shape, output_dict
from dream_keras.interpret.targets import LOGCOUNTS, PROFILE, output_widths
from dream_keras.interpret.variants.chromosomes import encode, encoding_table


@dataclasses.dataclass(frozen=True)
class ModelKind:
    """What a model predicts: ``profile_count`` (``profile`` + one ``logcounts``) or ``scalar`` outputs."""

    input_length: int
    alphabet: str
    profile_count: bool
    output_length: int
    scalar_outputs: tuple[str, ...]


def model_kind(models) -> ModelKind:
    """The common :class:`ModelKind` of one or several models.

    Raises:
        InputError: models without a fixed input length or with other than 4 channels, models that
            differ from each other, a multi-task profile head, or no scorable output.
    """
    kinds = set()
    for model in models:
        length, channels = model_input_shape(model)
        name = getattr(model, "name", "model")
        if length is None or channels != 4:
            raise InputError(f"variant scoring cuts windows from a genome: model {name!r} must take a fixed input "
                             f"length and 4 channels; it takes (length={length}, channels={channels})")
        widths = output_widths(model)
        alphabet = getattr(model, "alphabet", "ACGT")
        if PROFILE in widths and LOGCOUNTS in widths:
            if widths[LOGCOUNTS] != 1:
                raise InputError(f"model {name!r} predicts {widths[LOGCOUNTS]} tasks; variant scoring (as the "
                                 "official variant scorer) takes single-task profile/count models")
            kinds.add(ModelKind(int(length), alphabet, True, widths[PROFILE], ()))
            continue
        scalars = tuple(o for o, width in widths.items() if width == 1)
        if not scalars:
            raise InputError(f"model {name!r} has outputs {sorted(widths)}, none a profile/count pair or a single "
                             "value per sequence; variant scoring has nothing to compare")
        kinds.add(ModelKind(int(length), alphabet, False, 0, scalars))
    if len(kinds) != 1:
        raise InputError(f"the models differ ({sorted(map(str, kinds))}); score models of one kind together (e.g. the "
                         "fold models of one run)")
    return kinds.pop()


class AllelePredictor:
    """Predict windows with every model, both strands in the same call.

    Args:
        models: Keras models of one :class:`ModelKind`.
        batch_size: variants per model call (``4 x batch_size`` windows).
    """

    def __init__(self, models, batch_size: int):
        self.models = list(models)
        self.kind = model_kind(self.models)
        self.batch_size = int(batch_size)
        self._table = encoding_table(self.kind.alphabet)
        reverse_complement(np.zeros((1, 1, 4)), self.kind.alphabet)  # refuses an order that flipping cannot complement

    def _predict(self, model, batch: np.ndarray, rows: int) -> dict[str, np.ndarray]:
        if len(batch) < rows:
            # one shape for every call: the predict function is traced once
            batch = np.concatenate([batch, np.zeros((rows - len(batch), *batch.shape[1:]), batch.dtype)])
        return output_dict(model, model.predict_on_batch(batch))

    def _strand_means(self, outputs: dict, copies: int, n: int) -> dict[str, np.ndarray]:
        """``copies * n`` forward rows then as many reverse rows -> per output ``(copies, n, ...)`` means."""
        forward, reverse = slice(0, copies * n), slice(copies * n, 2 * copies * n)
        means = {}
        if self.kind.profile_count:
            logcounts = np.asarray(outputs[LOGCOUNTS], dtype=np.float64).reshape(-1)
            means["counts"] = ((np.exp(logcounts[forward]) + np.exp(logcounts[reverse])) / 2).reshape(copies, n)
            logits = np.asarray(outputs[PROFILE], dtype=np.float64).reshape(len(logcounts), -1)
            means["logits"] = ((logits[forward] + logits[reverse][:, ::-1]) / 2).reshape(copies, n, -1)
        else:
            for name in self.kind.scalar_outputs:
                value = np.asarray(outputs[name], dtype=np.float64).reshape(-1)
                means[name] = ((value[forward] + value[reverse]) / 2).reshape(copies, n)
        return means

    def predict(self, *window_sets: np.ndarray) -> list[dict[str, np.ndarray]]:
        """Predict ``k`` aligned sets of windows (``uint8`` ``(n, L)`` each; 2 for the alleles, 1 for peaks).

        Returns:
            one dict per model: ``counts`` ``(k, n)`` and ``logits`` ``(k, n, output_length)`` (float64,
            strand means), or ``(k, n)`` per scalar output.
        """
        copies, n = len(window_sets), len(window_sets[0])
        rows = 2 * copies * self.batch_size
        chunks: list[dict[str, list]] = [{} for _ in self.models]
        for start in range(0, n, self.batch_size):
            stop = min(start + self.batch_size, n)
            forward = encode(np.concatenate([w[start:stop] for w in window_sets]), self._table)
            batch = np.concatenate([forward, reverse_complement(forward, self.kind.alphabet)])
            for model, collected in zip(self.models, chunks):
                means = self._strand_means(self._predict(model, batch, rows), copies, stop - start)
                for name, value in means.items():
                    collected.setdefault(name, []).append(value)
        return [{name: np.concatenate(values, axis=1) for name, values in collected.items()} for collected in chunks]


__all__ = ["AllelePredictor", "ModelKind", "model_kind"]
