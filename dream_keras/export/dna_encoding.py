"""DNA strings to model inputs, and reverse complements, inside the TensorFlow graph (built-in ops only)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from data_prep.onehot import lookup_table
from dream_keras.export.serving_spec import BASE_CHANNELS, IS_REVERSE_CHANNEL, ServingSpec

_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


def byte_table(spec: ServingSpec) -> np.ndarray:
    """The ``(256, channels)`` float32 table from a byte (ASCII code) to its input row.

    A, C, G, T in upper or lower case set their channel of ``spec.alphabet``; every other byte
    (N, IUPAC codes, gaps, the bytes of non-ASCII characters) gives all zeros. The flag channels are
    0: forward strand, and ``is_singleton`` = 0 as the DREAM yeast predictions use.
    """
    table = np.zeros((256, spec.channels), dtype=np.float32)
    table[:, :BASE_CHANNELS] = lookup_table(spec.alphabet, np.float32)
    return table


def encode_dna(dna: tf.Tensor, spec: ServingSpec) -> tf.Tensor:
    """One-hot encode a batch of DNA strings.

    Args:
        dna: string ``(batch,)``, each exactly ``spec.input_length`` bytes.
        spec: the servable's input length, channels and alphabet.

    Returns:
        float32 ``(batch, input_length, channels)``.

    Raises:
        tf.errors.InvalidArgumentError (at run time; TF Serving answers INVALID_ARGUMENT): a string of
            another length, with a message naming the expected length.
    """
    length = spec.input_length
    length_ok = tf.debugging.assert_equal(
        tf.strings.length(dna), tf.constant(length, tf.int32),
        message=f"predict_dna: every DNA string must be exactly {length} characters long, this model's "
                f"input_length (pad or crop the sequences to {length} bases); the lengths received are")
    with tf.control_dependencies([length_ok]):
        codes = tf.io.decode_raw(dna, tf.uint8)
    rows = tf.gather(tf.constant(byte_table(spec)), tf.cast(codes, tf.int32))
    return tf.reshape(rows, (-1, length, spec.channels))


def complement_order(alphabet: str) -> list[int]:
    """For each base channel, the channel of its complement (``ACGT`` -> ``[3, 2, 1, 0]``)."""
    return [alphabet.index(_COMPLEMENT[letter]) for letter in alphabet]


def reverse_complement(sequence: tf.Tensor, spec: ServingSpec, span: tuple[int, int] | None = None) -> tf.Tensor:
    """Reverse complement of one-hot inputs, as the project's data pipelines build them.

    Args:
        sequence: float32 ``(batch, input_length, channels)``.
        spec: the servable's alphabet and channels.
        span: ``(start, stop)``: reverse-complement only these positions (0-based, stop exclusive),
            keeping the rest, e.g. ``(15, 215)`` for the lentiMPRA element between its fixed adaptors;
            ``None``: the whole sequence.

    Returns:
        the same shape: bases complemented and reversed (within ``span``); ``is_reverse`` (channel 4,
        when present) flipped to ``1 - is_reverse``; further flag channels (``is_singleton``) copied.
    """
    start, stop = span if span is not None else (0, spec.input_length)
    complemented = tf.gather(sequence[:, :, :BASE_CHANNELS], complement_order(spec.alphabet), axis=2)
    bases = tf.concat([sequence[:, :start, :BASE_CHANNELS],
                       tf.reverse(complemented[:, start:stop], axis=[1]),
                       sequence[:, stop:, :BASE_CHANNELS]], axis=1)
    parts = [bases]
    if spec.channels > IS_REVERSE_CHANNEL:
        parts.append(1.0 - sequence[:, :, IS_REVERSE_CHANNEL:IS_REVERSE_CHANNEL + 1])
        parts.append(sequence[:, :, IS_REVERSE_CHANNEL + 1:])
    return tf.concat(parts, axis=2)
