"""The project's own promises: the README's commands and CI agree, the packages install together."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_ci_runs_the_readme_test_command():
    commands = _readme_commands()
    assert len(commands) >= 2
    quickstart, tests = commands[0], commands[1]
    assert quickstart.endswith("dream-keras quickstart")
    assert "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci
    # Before the tests: the lint and the documentation site in strict mode, with the extras they need.
    assert ci.index("ruff check .") < ci.index("mkdocs build --strict") < ci.index(tests)
    assert '".[test,docs,lint]"' in ci


def test_top_level_layout():
    for name in ["dream_keras", "baselines", "bias_models", "data_prep", "tests", "setup.cfg", "README.md",
                 "pyproject.toml", "LICENSE", "docs", "mkdocs.yml"]:
        assert (ROOT / name).exists(), name
    # pyproject.toml names only the build backend; all metadata lives in setup.cfg.
    assert "[project]" not in (ROOT / "pyproject.toml").read_text()


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "dream_keras.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "quickstart" in out.stdout


def test_benchmarks_find_the_official_environment_where_setup_official_puts_it(tmp_path, monkeypatch):
    """The default is ``.official-venv`` in the repository root (setup_official.sh's default).

    A missing environment stops with the command that makes it.
    """
    import pytest

    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import official_environment

    assert official_environment.DEFAULT_OFFICIAL_VENV == ROOT / ".official-venv"
    assert 'venv="${1:-$(cd "$(dirname "$0")/.." && pwd)/.official-venv}"' in \
        (ROOT / "benchmarks" / "setup_official.sh").read_text()
    with pytest.raises(SystemExit, match=f"not at {tmp_path / 'absent'}.*bash benchmarks/setup_official.sh "
                                         f"{tmp_path / 'absent'}"):
        official_environment.official_python(tmp_path / "absent")
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    assert official_environment.official_python(tmp_path / "venv") == python
    assert official_environment.official_python(python) == python
    monkeypatch.setattr(official_environment, "DEFAULT_OFFICIAL_VENV", tmp_path / "venv")
    assert official_environment.official_python() == python
