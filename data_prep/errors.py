"""The one exception type for mistakes in a user's inputs (files, regions, values)."""


class InputError(ValueError):
    """A user's input is wrong. The message names the file, line, region or value, and the fix."""
