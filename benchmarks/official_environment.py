"""Where the side-by-side benchmarks find the official ChromBPNet code's virtual environment.

``bash benchmarks/setup_official.sh`` makes it in ``.official-venv`` at the repository root (the
default of every benchmark); ``bash benchmarks/setup_official.sh DIR`` makes it elsewhere, and the
benchmarks then take ``--official-venv DIR``.
"""

from __future__ import annotations

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
#: Where ``benchmarks/setup_official.sh`` puts the environment when it is given no folder.
DEFAULT_OFFICIAL_VENV = ROOT / ".official-venv"


def official_python(venv: str | pathlib.Path | None = None) -> pathlib.Path:
    """The Python interpreter of the official environment.

    Args:
        venv: the environment's folder, or its ``bin/python``; ``None`` takes :data:`DEFAULT_OFFICIAL_VENV`.

    Returns:
        The path of its ``bin/python`` (not resolved: a venv's python is a link to the system one).

    Raises:
        SystemExit: the environment does not exist; the message says how to make it.
    """
    path = pathlib.Path(venv).expanduser() if venv is not None else DEFAULT_OFFICIAL_VENV
    python = path if path.name.startswith("python") else path / "bin" / "python"
    if not python.is_file():
        where = "" if venv is None else f" {path}"
        raise SystemExit(f"the official ChromBPNet environment is not at {path} (no {python}); make it with "
                         f"`bash benchmarks/setup_official.sh{where}` (about 3 minutes"
                         f"{', into the repository root' if venv is None else ''}), or pass --official-venv DIR "
                         "where it was made")
    return python
