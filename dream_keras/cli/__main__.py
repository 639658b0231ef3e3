"""``python -m dream_keras.cli``: the ``dream-keras`` program."""

from dream_keras.cli import console

console()
