"""DeepLIFT's rules (as DeepSHAP computes them) for one operation on a pair of streams.

DeepLIFT explains ``t(x) - t(r)``, the change of a target between a sequence ``x`` and a reference
``r``, by *multipliers* ``m`` with ``sum m * (x - r) = t(x) - t(r)`` (summation to delta). Linear
operations pass multipliers back by their Jacobian, as a gradient does; at every nonlinear
operation the local derivative is replaced by a rule whose multipliers sum to the operation's own
change. The product of the rules along the graph (the chain rule) then sums to the target's change.

Here every tensor of the model is a :class:`Pair`: ``x`` ``(m, ...)`` computed from the ``m``
explained sequences, and ``r`` ``(m * k, ...)`` from their ``k`` references each (rows ordered
sequence-major, so reference row ``i * k + j`` belongs to sequence ``i``). The sequences' stream is
computed once per sequence and is never differentiated; the reference stream is differentiated,
and each nonlinear operation's gradient is the rule's multiplier, computed against the matching
(repeated) row of the sequences' stream. The gradient of the target with respect to the reference
input is then, row by row, the DeepLIFT multipliers of that (sequence, reference) pair. (The
official DeepSHAP runs sequence and references as one doubled batch and differentiates both
halves, which carry the same multipliers; one half and one forward pass of the sequence suffice.)

The rules, all those of the DeepSHAP the official ChromBPNet code uses (``shap`` 0.x
``DeepExplainer``, TensorFlow):

- *rescale* (element-wise ``y = f(z)``: ReLU, sigmoid, softplus, SiLU, GELU, exp, ...):
  ``m = (f(z_x) - f(z_r)) / (z_x - z_r)``; where ``|z_x - z_r| < 1e-6``, the derivative ``f'(z_x)``.
- *Shapley pair* (``y = f(a, b)`` with both inputs varying: a product, a quotient, a log-sum-exp
  of two; for a product in its exact form ``m_a = ½ (b_x + b_r)``):
  ``m_a = ½ [f(a_x, b_x) - f(a_r, b_x) + f(a_x, b_r) - f(a_r, b_r)] / (a_x - a_r)``, the Shapley value of
  ``a`` in the two-player game, and ``m_b`` alike; 0 where the input's change is below 1e-7. When one
  input does not change the rule is that input's linear factor.
- *max pool*: the change of each window's maximum, ``y_x - y_r``, is split at ``max(y_x, y_r)``:
  ``max - y_r`` goes to the position where ``x`` has its maximum, ``y_x - max`` to the position where
  ``r`` has it, each divided by that position's input change (0 where it is below 1e-7).
- *softmax* over the last axis: decomposed as DeepSHAP does, ``c = z - max(z)``, ``e = exp(c)``
  (rescale), ``s = sum(e)`` (linear) and ``e / s`` (Shapley pair), except that the subtracted
  maximum is explained by the max-pool rule, where DeepSHAP rescales the multipliers by
  ``Δc / Δz`` (ill-conditioned in float32; see :meth:`PairRules.softmax`).
"""

from __future__ import annotations

import tensorflow as tf

# Thresholds of the official DeepSHAP: below them a change counts as none.
RESCALE_EPSILON = 1e-6   # element-wise rules (the exp inside softmax too): fall back to the derivative
SHAPLEY_EPSILON = 1e-7   # Shapley rules and max pools: an input that changes less takes no share


class Pair:
    """One model tensor for the explained sequences and for their references.

    Attributes:
        x: ``(m, ...)``: computed from the ``m`` sequences (not differentiated).
        r: ``(m * k, ...)``: computed from their ``k`` references each, sequence-major.
    """

    __slots__ = ("x", "r")

    def __init__(self, x, r):
        self.x = x
        self.r = r


def _safe_divide(numerator, denominator, small):
    """``numerator / denominator`` where ``small`` is false, 0 where it is true (no inf, no NaN)."""
    return tf.where(small, tf.zeros_like(numerator), numerator / tf.where(small, tf.ones_like(denominator),
                                                                          denominator))


def _unbroadcast(gradient, shape):
    """Sum ``gradient`` over the axes along which an input of static ``shape`` was broadcast."""
    axes = [axis for axis in range(1, len(shape)) if shape[axis] == 1 and gradient.shape[axis] != 1]
    return tf.reduce_sum(gradient, axis=axes, keepdims=True) if axes else gradient


class PairRules:
    """The rules on :class:`Pair` streams with ``k`` references per sequence.

    Args:
        k: references per sequence (rows of ``r`` per row of ``x``).
    """

    def __init__(self, k: int):
        self.k = int(k)

    def repeat(self, tensor):
        """Sequence rows ``(m, ...)`` repeated to line up with the reference rows ``(m * k, ...)``."""
        return tf.repeat(tensor, self.k, axis=0)

    def linear(self, function, *args):
        """A linear (affine) function of :class:`Pair` arguments, applied to each stream.

        Its own gradient is DeepLIFT's multiplier. ``args`` may nest pairs in lists (``Add``, ``Concatenate``).
        """
        import keras

        def stream(name):
            return keras.tree.map_structure(lambda item: getattr(item, name) if isinstance(item, Pair) else item,
                                            list(args))

        return Pair(function(*stream("x")), function(*stream("r")))

    def one_input_rule(self, function, pair: Pair, reference_gradient) -> Pair:
        """A DeepLIFT rule of a one-input ``function``: its reference stream gets the gradient of the rule.

        Args:
            function: the layer or function, applied to each stream.
            pair: its input.
            reference_gradient: ``(upstream, sequence_in, sequence_out, r_in, r_out) -> gradient of r_in``, the
                sequence stream's input and output repeated to line up with the reference rows.

        Returns:
            The output :class:`Pair`.
        """
        x_in, x_out = pair.x, function(pair.x)
        repeat = self.repeat

        @tf.custom_gradient
        def apply(r_in):
            r_out = function(r_in)

            def gradient(upstream):
                return reference_gradient(upstream, repeat(x_in), repeat(x_out), r_in, r_out)

            return r_out, gradient

        return Pair(x_out, apply(pair.r))

    def rescale(self, function, pair: Pair) -> Pair:
        """The rescale rule of an element-wise ``function``."""
        def gradient(upstream, sequence_in, sequence_out, r_in, r_out):
            delta = sequence_in - r_in
            small = tf.abs(delta) < RESCALE_EPSILON
            with tf.GradientTape() as tape:  # f'(z_x) for the positions that hardly change
                tape.watch(sequence_in)
                derivative_out = function(sequence_in)
            derivative = tape.gradient(derivative_out, sequence_in, output_gradients=upstream)
            slope = _safe_divide(sequence_out - r_out, delta, small)
            return tf.where(small, derivative, upstream * slope)

        return self.one_input_rule(function, pair, gradient)

    def shapley_pair(self, function, first: Pair, second: Pair) -> Pair:
        """The Shapley rule of a two-input ``function`` (broadcasting allowed, as in ``a * b``)."""
        x_a, x_b = first.x, second.x
        x_out = function(x_a, x_b)
        repeat = self.repeat
        shape_a, shape_b = first.r.shape, second.r.shape

        @tf.custom_gradient
        def apply(r_a, r_b):
            r_out = function(r_a, r_b)

            def gradient(upstream):
                s_a, s_b, s_out = repeat(x_a), repeat(x_b), repeat(x_out)
                only_a, only_b = function(s_a, r_b), function(r_a, s_b)
                share_a = 0.5 * (s_out - only_b + only_a - r_out)
                share_b = 0.5 * (s_out - only_a + only_b - r_out)
                grads = []
                for share, delta, shape in ((share_a, s_a - r_a, shape_a), (share_b, s_b - r_b, shape_b)):
                    delta = tf.broadcast_to(delta, tf.shape(share))
                    multiplier = _safe_divide(share, delta, tf.abs(delta) < SHAPLEY_EPSILON)
                    # A broadcast input takes the sum of its shares over the axes it was spread along.
                    grads.append(_unbroadcast(upstream * multiplier, shape))
                return tuple(grads)

            return r_out, gradient

        return Pair(x_out, apply(first.r, second.r))

    def product(self, first: Pair, second: Pair) -> Pair:
        """The Shapley rule of ``a * b`` in its exact form.

        Multipliers ``½ (b_x + b_r)`` on ``a`` and ``½ (a_x + a_r)`` on ``b`` (:meth:`shapley_pair` computes
        the same shares from differences of products, which loses digits in float32 where an input hardly
        changes). Broadcasting allowed.
        """
        x_a, x_b = first.x, second.x
        x_out = x_a * x_b
        repeat = self.repeat
        shape_a, shape_b = first.r.shape, second.r.shape

        @tf.custom_gradient
        def apply(r_a, r_b):
            r_out = r_a * r_b

            def gradient(upstream):
                s_a, s_b = repeat(x_a), repeat(x_b)
                grads = []
                for own_x, own_r, other_x, other_r, shape in ((s_a, r_a, s_b, r_b, shape_a),
                                                              (s_b, r_b, s_a, r_a, shape_b)):
                    multiplier = 0.5 * (other_x + other_r) * tf.ones_like(upstream)
                    delta = tf.broadcast_to(own_x - own_r, tf.shape(multiplier))
                    multiplier = tf.where(tf.abs(delta) < SHAPLEY_EPSILON, tf.zeros_like(multiplier), multiplier)
                    grads.append(_unbroadcast(upstream * multiplier, shape))
                return tuple(grads)

            return r_out, gradient

        return Pair(x_out, apply(first.r, second.r))

    def max_pool(self, pool, pair: Pair) -> Pair:
        """DeepSHAP's max-pool rule for a max-pooling ``pool`` (a layer or function)."""
        def gradient(upstream, sequence_in, sequence_out, r_in, r_out):
            middle = tf.maximum(sequence_out, r_out)
            # Route each part of the window's change to the argmax of its side (the pool's own gradient).
            with tf.GradientTape(persistent=True) as tape:
                tape.watch([sequence_in, r_in])
                pooled_sequence, pooled_reference = pool(sequence_in), pool(r_in)
            to_sequence_max = tape.gradient(pooled_sequence, sequence_in, output_gradients=upstream * (middle - r_out))
            to_reference_max = tape.gradient(pooled_reference, r_in,
                                             output_gradients=upstream * (sequence_out - middle))
            del tape
            delta = sequence_in - r_in
            return _safe_divide(to_sequence_max + to_reference_max, delta, tf.abs(delta) < SHAPLEY_EPSILON)

        return self.one_input_rule(pool, pair, gradient)

    def softmax(self, pair: Pair) -> Pair:
        """DeepSHAP's softmax decomposition over the last axis.

        Its subtracted maximum is explained by the max-pool rule.

        ``c = z - max(z)`` per side (linear, and a max over channels: the max-pool rule), ``e = exp(c)``
        (rescale), ``s = sum(e)`` (linear), ``p = e / s`` (Shapley pair). DeepSHAP instead leaves the
        maximum unexplained and rescales the multipliers on ``z`` by ``Δc / Δz``, which grows without
        bound where a channel hardly changes while the maximum does (in float32 that broke summation
        to delta by 3e-4 on a tiny MPRAnn). Here every factor is bounded: ``c <= 0``, so ``e <= 1 <= s``;
        the rules take their exact forms, ``Δe / Δc = e_r expm1(Δc) / Δc`` (for ``|Δc| < 1``) and quotient shares
        ``½ (1/s_x + 1/s_r)`` on ``e`` and ``-½ (e_x + e_r) / (s_x s_r)`` on ``s``.
        """
        x_in = pair.x
        x_out = tf.nn.softmax(x_in, axis=-1)
        repeat = self.repeat

        @tf.custom_gradient
        def apply(r_in):
            r_out = tf.nn.softmax(r_in, axis=-1)

            def gradient(upstream):
                sequence_in = repeat(x_in)
                max_x = tf.reduce_max(sequence_in, axis=-1, keepdims=True)
                max_r = tf.reduce_max(r_in, axis=-1, keepdims=True)
                c_x, c_r = sequence_in - max_x, r_in - max_r
                e_x, e_r = tf.exp(c_x), tf.exp(c_r)
                s_x, s_r = tf.reduce_sum(e_x, axis=-1, keepdims=True), tf.reduce_sum(e_r, axis=-1, keepdims=True)
                # p = e / s: Shapley shares on e, and on s (then s = sum(e), linear).
                on_e = tf.where(tf.abs(e_x - e_r) < SHAPLEY_EPSILON, tf.zeros_like(e_x), 0.5 * (1 / s_x + 1 / s_r))
                on_s = tf.where(tf.abs(s_x - s_r) < SHAPLEY_EPSILON, tf.zeros_like(s_x),
                                tf.reduce_sum(upstream * -0.5 * (e_x + e_r), axis=-1, keepdims=True) / (s_x * s_r))
                # e = exp(c), rescale: (e_x - e_r) / Δc, for |Δc| < 1 as e_r expm1(Δc) / Δc (no cancellation);
                # the derivative e_x where c hardly changes.
                delta_c = c_x - c_r
                small = tf.abs(delta_c) < RESCALE_EPSILON
                near = tf.abs(delta_c) < 1
                expm1 = tf.math.expm1(tf.where(near, delta_c, tf.zeros_like(delta_c)))
                slope = tf.where(near, e_r * _safe_divide(expm1, delta_c, small),
                                 _safe_divide(e_x - e_r, delta_c, near))
                slope = tf.where(small, e_x, slope)
                to_c = (upstream * on_e + on_s) * slope
                # c = z - max(z): z directly, and the max by the max-pool rule (its change split at the
                # larger maximum, routed to each side's argmax channel).
                to_max = -tf.reduce_sum(to_c, axis=-1, keepdims=True)
                middle = tf.maximum(max_x, max_r)
                channels = tf.shape(r_in)[-1]
                at_x = tf.one_hot(tf.argmax(sequence_in, axis=-1), channels, dtype=r_in.dtype)
                at_r = tf.one_hot(tf.argmax(r_in, axis=-1), channels, dtype=r_in.dtype)
                routed = to_max * (at_x * (middle - max_r) + at_r * (max_x - middle))
                delta = sequence_in - r_in
                return to_c + _safe_divide(routed, delta, tf.abs(delta) < SHAPLEY_EPSILON)

            return r_out, gradient

        return Pair(x_out, apply(pair.r))
