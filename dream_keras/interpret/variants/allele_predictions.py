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
traced once. For SNVs, BPNet models compute the alternate allele only where it differs from the
reference (:mod:`.snv_reuse`; checked against the full model on the first batch).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data_prep.errors import InputError
from data_prep.onehot import reverse_complement
from dream_keras.interpret.predict import model_input_shape, output_dict
from dream_keras.interpret.targets import LOGCOUNTS, PROFILE, output_widths
from dream_keras.interpret.variants.chromosomes import encode, encoding_table
from dream_keras.interpret.variants.snv_reuse import BPNetSNVReuse, Region, plan_regions, reusable

#: largest difference (relative to the largest output) tolerated between the SNV reuse and the full model
REUSE_TOLERANCE = 1e-4


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
        snv_reuse: compute SNVs' alternate alleles from the reference's activations where the model
            allows it (:mod:`.snv_reuse`).
    """

    def __init__(self, models, batch_size: int, snv_reuse: bool = True):
        self.models = list(models)
        self.kind = model_kind(self.models)
        self.batch_size = int(batch_size)
        self._table = encoding_table(self.kind.alphabet)
        reverse_complement(np.zeros((1, 1, 4)), self.kind.alphabet)  # refuses an order that flipping cannot complement
        self._reuse = [BPNetSNVReuse(m) if snv_reuse and reusable(m) else None for m in self.models]
        self._checked = [False] * len(self.models)
        #: why the SNV reuse was switched off for a model (it disagreed with the full model), by model index
        self.reuse_refused: dict[int, str] = {}

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

    def predict_pairs(self, windows1: np.ndarray, windows2: np.ndarray, snv: np.ndarray,
                      bases: np.ndarray | None = None, window_starts: np.ndarray | None = None) -> list[dict]:
        """:meth:`predict` of the two alleles' windows, reusing the tower's activations for SNVs.

        The rows flagged ``snv`` (windows that differ only at index ``L // 2``) go through :mod:`.snv_reuse`
        for the models that allow it, cut from ``bases`` at ``window_starts`` (shared regions) when given,
        else each from its own window.
        """
        snv = np.asarray(snv, dtype=bool)
        if not snv.any() or not any(self._reuse):
            return self.predict(windows1, windows2)
        full = self.predict(windows1[~snv], windows2[~snv]) if (~snv).any() else None
        centre = self.kind.input_length // 2
        if bases is not None:
            regions = plan_regions(np.asarray(window_starts)[snv], self.kind.input_length)
            source = bases
        else:
            length = self.kind.input_length
            regions = [Region(i * length, length, np.array([i]), np.array([0])) for i in range(int(snv.sum()))]
            source = windows1[snv].reshape(-1)
        merged = []
        for index in range(len(self.models)):
            if self._reuse[index] is None:
                part = self._predict_one(index, windows1[snv], windows2[snv])
            else:
                part = self._predict_reused(index, source, regions, windows2[snv][:, centre])
            out = {}
            for name, value in part.items():
                out[name] = np.empty((2, len(snv), *value.shape[2:]), dtype=value.dtype)
                out[name][:, snv] = value
                if full is not None:
                    out[name][:, ~snv] = full[index][name]
            merged.append(out)
        return merged

    def _predict_one(self, index: int, windows1: np.ndarray, windows2: np.ndarray) -> dict[str, np.ndarray]:
        models, self.models = self.models, [self.models[index]]
        try:
            return self.predict(windows1, windows2)[0]
        finally:
            self.models = models

    def _region_calls(self, regions: list[Region]):
        """Regions grouped into calls of one region length.

        At most ``batch_size`` windows' worth of bases per call (the tower's activations of every layer are
        held for a call).
        """
        budget = self.batch_size * self.kind.input_length
        by_length: dict[int, list[Region]] = {}
        for region in regions:
            by_length.setdefault(region.length, []).append(region)
        for length in sorted(by_length):
            per_call = max(1, budget // length)
            group = by_length[length]
            for first in range(0, len(group), per_call):
                yield length, per_call, group[first:first + per_call]

    def _predict_reused(self, index: int, source: np.ndarray, regions: list[Region], alternate_codes: np.ndarray):
        reuse, length = self._reuse[index], self.kind.input_length
        centre = length // 2
        n = len(alternate_codes)
        results = {name: np.zeros((4, n, *shape), np.float32) for name, shape in
                   ((PROFILE, (self.kind.output_length,)), (LOGCOUNTS, (1,)))}
        for region_length, per_call, group in self._region_calls(regions):
            codes = np.zeros((per_call, region_length), np.uint8)   # padding: all-zero (N) bases
            for row, region in enumerate(group):
                piece = source[region.start:region.start + region_length]
                codes[row, :len(piece)] = piece
            forward = encode(codes, self._table)
            members = np.concatenate([region.members for region in group])
            region_index = np.concatenate([np.full(len(r.members), row) for row, r in enumerate(group)])
            offsets = np.concatenate([region.offsets for region in group])
            alternate = self._table[alternate_codes[members]]
            calls = ((forward, offsets, alternate, centre, 0),
                     (np.ascontiguousarray(reverse_complement(forward, self.kind.alphabet)),
                      region_length - offsets - length, np.ascontiguousarray(alternate[:, ::-1]), length - 1 - centre,
                      2))
            for regions_onehot, starts, alt, position, slot in calls:
                outputs = reuse.predict(regions_onehot, region_index, starts, alt, position, 2 * self.batch_size)
                for name in (PROFILE, LOGCOUNTS):
                    value = outputs[name].reshape(2, len(members), -1)
                    results[name][slot, members] = value[0]
                    results[name][slot + 1, members] = value[1]
            if not self._checked[index]:
                if not self._check_reuse(index, codes, group, alternate_codes, results):
                    windows = self._windows_of(source, regions, n)
                    return self._predict_one(index, windows, self._with_alternate(windows, alternate_codes))
        outputs = {name: value.reshape(4 * n, -1) for name, value in results.items()}
        return self._strand_means(outputs, 2, n)

    def _windows_of(self, source: np.ndarray, regions: list[Region], n: int) -> np.ndarray:
        length = self.kind.input_length
        windows = np.zeros((n, length), np.uint8)
        for region in regions:
            for member, offset in zip(region.members, region.offsets):
                windows[member] = source[region.start + offset:region.start + offset + length]
        return windows

    def _with_alternate(self, references: np.ndarray, alternate_codes: np.ndarray) -> np.ndarray:
        windows = references.copy()
        windows[:, self.kind.input_length // 2] = alternate_codes
        return windows

    def _check_reuse(self, index: int, codes: np.ndarray, group: list[Region], alternate_codes: np.ndarray,
                     results: dict) -> bool:
        """Compare the first call's SNVs (up to a batch) with the full model.

        The reuse is switched off when they differ. Returns whether it stays on.
        """
        self._checked[index] = True
        length = self.kind.input_length
        members, references = [], []
        for row, region in enumerate(group):
            for member, offset in zip(region.members, region.offsets):
                members.append(member)
                references.append(codes[row, offset:offset + length])
        members, references = np.array(members[:self.batch_size]), np.stack(references[:self.batch_size])
        windows = np.concatenate([references, self._with_alternate(references, alternate_codes[members])])
        forward = encode(windows, self._table)
        batch = np.concatenate([forward, reverse_complement(forward, self.kind.alphabet)])
        # an eager call: tracing a predict function for one batch would cost more than the batch
        full = {name: np.asarray(value) for name, value in
                output_dict(self.models[index], self.models[index](batch, training=False)).items()}
        for name in (PROFILE, LOGCOUNTS):
            expected = np.asarray(full[name], np.float64)[:len(batch)].reshape(4, len(members), -1)
            got = results[name][:, members].astype(np.float64)
            difference = np.max(np.abs(expected - got)) / max(1.0, np.max(np.abs(expected)))
            if not difference <= REUSE_TOLERANCE:
                self._reuse[index] = None
                self.reuse_refused[index] = (f"model {index}: the SNV shortcut differed from the full model by "
                                             f"{difference:.1e} ({name}); full windows used")
                return False
        return True


__all__ = ["AllelePredictor", "ModelKind", "model_kind"]
