"""SNVs through a BPNet tower: shared reference activations, and alternate alleles computed only where they differ.

BPNet's layers are valid convolutions (the first 21 wide, then 3 wide with dilation ``d = 2**i``,
each added to its input cropped), so an activation depends only on the bases around its position,
not on where the window starts. Two savings follow, both exact up to float32 rounding:

- *Shared reference.* Variants whose windows overlap (closer than the window length) are cut from
  one *region* of the chromosome: the tower runs once over the region, and each window's
  activations are a slice of the region's (window start ``s`` in the region: the window's layer-``i``
  index ``k`` is the region's ``s + k``). A region holds the windows of variants that follow each
  other within ``MAX_REGION_WINDOWS`` window lengths; isolated variants are regions of one window.
- *Alternate allele on the changed span.* The windows of an SNV's two alleles differ in one base,
  at index ``c``. The first layer's outputs that see it are the 21 at ``[c - 20, c]``, and a dilated
  layer widens the changed span ``[lo, hi)`` of its input to ``[lo - 2d, hi)``: the alternate allele
  is run through each layer on that span only, its unchanged neighbours read from the reference's
  activations. For ChromBPNet (2,114 bp, 8 layers) the spans hold 13 % of the tower's positions.
  The heads (profile convolution, pooling, dense) run on the full alternate features.

So an isolated SNV costs about 2.26 window-equivalents (the reference on both strands, the
alternate at 13 % on both) instead of 4, and SNVs a few hundred bases apart little more than their
alternate alleles. :class:`~.allele_predictions.AllelePredictor` uses this for models whose
structure it knows (:func:`reusable`) and checks it against the full model on its first batch.
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: the longest region, in window lengths (bounds the activations held: 8 x 2,114 positions x filters x layers)
MAX_REGION_WINDOWS = 8
#: towers with fewer filters are predicted whole: their per-call overheads outweigh the saved arithmetic
#: (measured on 2 CPU cores: 8 filters 0.9x, 32 filters 2-3x)
MIN_REUSE_FILTERS = 32


def reusable(model) -> bool:
    """Whether ``model`` is a plain float32 BPNet tower with the ``profile_count`` head.

    The tower has at least :data:`MIN_REUSE_FILTERS` filters and the head one task.
    """
    options = getattr(model, "model_options", None) or {}
    return (getattr(model, "backbone_name", None) == "bpnet" and getattr(model, "head_name", None) == "profile_count"
            and getattr(model, "compute_dtype", "float32") == "float32"
            and int(options.get("num_tasks", 1)) == 1 and "n_dil_layers" in options
            and int(options.get("filters", 0)) >= MIN_REUSE_FILTERS)


@dataclasses.dataclass(frozen=True)
class Region:
    """Windows ``members`` starting at ``offsets`` in one region.

    ``members`` are indices into the caller's variants; the region has ``length`` bases and starts at
    ``start`` (chromosome coordinates).
    """

    start: int
    length: int
    members: np.ndarray
    offsets: np.ndarray


def region_length(span: int, input_length: int) -> int:
    """A region's length: ``span`` rounded up to ``input_length`` times a power of two (few shapes to trace)."""
    windows = 1
    while windows * input_length < span:
        windows *= 2
    return windows * input_length


def plan_regions(window_starts: np.ndarray, input_length: int) -> list[Region]:
    """Group windows (starts in chromosome coordinates) into regions (module docstring), in start order."""
    order = np.argsort(window_starts, kind="stable")
    starts = np.asarray(window_starts)[order]
    regions, first = [], 0
    limit = MAX_REGION_WINDOWS * input_length
    for i in range(1, len(starts) + 1):
        apart = i < len(starts) and starts[i] - starts[i - 1] >= input_length
        if i == len(starts) or apart or starts[i] + input_length - starts[first] > limit:
            span = starts[i - 1] + input_length - starts[first]
            regions.append(Region(int(starts[first]), region_length(span, input_length), order[first:i],
                                  starts[first:i] - starts[first]))
            first = i
    return regions


class BPNetSNVReuse:
    """The two savings of the module docstring for one BPNet model.

    Args:
        model: a model for which :func:`reusable` is true.
    """

    def __init__(self, model):
        import tensorflow as tf

        from dream_keras.heads.profile_count import profile_count_layer_names  # imports Keras: not at --help

        options = model.model_options
        prefix = options.get("layer_prefix", "")
        self.input_length = int(model.input_length)
        self.first = model.get_layer(f"{prefix}bpnet_1st_conv")
        count = int(options["n_dil_layers"])
        self.dilated = [(model.get_layer(f"{prefix}bpnet_{i}conv"), 2 ** i) for i in range(1, count + 1)]
        names = profile_count_layer_names(prefix)
        self.profile_layers = [model.get_layer(names[key]) for key in ("profile_conv", "crop", "profile")]
        self.gap, self.dense = model.get_layer(names["gap"]), model.get_layer(names["logcounts"])
        self.kernel = int(self.first.kernel_size[0])
        # region and batch sizes stay unknown to the traced functions: one trace serves every region length
        # (the window geometry, which the slicing below depends on, is fixed)
        filters = int(self.first.filters)
        regions_spec = tf.TensorSpec((None, None, 4), tf.float32)
        activations_spec = [tf.TensorSpec((None, None, filters), tf.float32) for _ in range(count + 1)]
        index_spec = tf.TensorSpec((None,), tf.int32)
        self._tower = tf.function(self._tower_function, input_signature=[regions_spec], autograph=False)
        centre = self.input_length // 2
        self._variants = {
            position: tf.function(lambda *args, position=position: self._variant_function(*args, centre=position),
                                  input_signature=[regions_spec, activations_spec, index_spec, index_spec,
                                                   tf.TensorSpec((None, 4), tf.float32)], autograph=False)
            for position in (centre, self.input_length - 1 - centre)}

    def _heads(self, features):
        profile = features
        for layer in self.profile_layers:
            profile = layer(profile)
        return profile, self.dense(self.gap(features))

    def _tower_function(self, regions):
        activations = [self.first(regions)]
        for layer, dilation in self.dilated:
            below = activations[-1]
            activations.append(layer(below) + below[:, dilation:-dilation])
        return activations

    @staticmethod
    def _slices(activation, region_index, starts, low: int, high: int):
        """The windows' slices of ``activation``, ``(m, high - low, F)``.

        ``activation[region_index[j], starts[j] + low : starts[j] + high]`` for every ``j``.
        """
        import tensorflow as tf

        length = tf.shape(activation)[1]
        flat = tf.reshape(activation, (-1, activation.shape[2]))
        first = region_index * length + starts
        return tf.gather(flat, first[:, None] + tf.range(low, high)[None, :])

    def _variant_function(self, regions, activations, region_index, starts, alternate, centre: int):
        import tensorflow as tf

        length = self.input_length
        low_input, high_input = max(centre - self.kernel + 1, 0), min(centre + self.kernel, length)
        piece = self._slices(regions, region_index, starts, low_input, high_input)
        split = centre - low_input
        piece = tf.concat([piece[:, :split], alternate[:, None, :], piece[:, split + 1:]], axis=1)
        altered = self.first(piece)
        low, high = low_input, low_input + altered.shape[1]   # the changed span, in the window's layer indices
        size = length - self.kernel + 1                        # the window's length at this layer
        for (layer, dilation), below in zip(self.dilated, activations[:-1]):
            new_low, new_high = max(low - 2 * dilation, 0), min(high, size - 2 * dilation)
            stop = new_high + 2 * dilation
            assembled = tf.concat([self._slices(below, region_index, starts, new_low, low), altered,
                                   self._slices(below, region_index, starts, high, stop)], axis=1)
            altered = layer(assembled) + assembled[:, dilation:dilation + new_high - new_low]
            low, high, size = new_low, new_high, size - 2 * dilation
        reference = self._slices(activations[-1], region_index, starts, 0, size)
        altered = tf.concat([reference[:, :low], altered, reference[:, high:]], axis=1)
        return self._heads(reference), self._heads(altered)

    def predict(self, regions: np.ndarray, region_index: np.ndarray, starts: np.ndarray, alternate: np.ndarray,
                centre: int, variants_per_call: int) -> dict[str, np.ndarray]:
        """Outputs of the reference and alternate windows of ``m`` SNVs.

        Args:
            regions: one-hot float32 ``(R, S, 4)``.
            region_index: ``(m,)`` each SNV's region (index into ``regions``).
            starts: ``(m,)`` each SNV's window start in its region.
            alternate: ``(m, 4)`` the alternate base's one-hot row at ``centre``.
            centre: the SNV's index in its window.
            variants_per_call: SNVs per call of the variant function (padded to it: one traced shape).

        Returns:
            ``{"profile": (2m, output_length), "logcounts": (2m, 1)}``, the ``m`` references first.
        """
        import tensorflow as tf

        activations = self._tower(tf.convert_to_tensor(regions))
        references, alternates = {"profile": [], "logcounts": []}, {"profile": [], "logcounts": []}
        for first in range(0, len(starts), variants_per_call):
            n = min(variants_per_call, len(starts) - first)
            pad = variants_per_call - n
            index = np.pad(region_index[first:first + n], (0, pad)).astype(np.int32)
            start = np.pad(starts[first:first + n], (0, pad)).astype(np.int32)
            alt = np.pad(alternate[first:first + n], ((0, pad), (0, 0))).astype(np.float32)
            (ref_profile, ref_counts), (alt_profile, alt_counts) = self._variants[centre](
                tf.convert_to_tensor(regions), activations, tf.constant(index), tf.constant(start), tf.constant(alt))
            for outputs, profile, counts in ((references, ref_profile, ref_counts),
                                             (alternates, alt_profile, alt_counts)):
                outputs["profile"].append(profile.numpy()[:n])
                outputs["logcounts"].append(counts.numpy()[:n])
        return {name: np.concatenate(references[name] + alternates[name]) for name in ("profile", "logcounts")}


__all__ = ["BPNetSNVReuse", "MAX_REGION_WINDOWS", "Region", "plan_regions", "region_length", "reusable"]
