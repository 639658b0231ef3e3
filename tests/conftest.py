import os
import pathlib
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# --jit-compile auto measures XLA against no XLA and caches the decision: tests use their own cache
# folder (CLI subprocesses inherit it), never the user's.
os.environ.setdefault("DREAM_KERAS_CACHE_DIR", tempfile.mkdtemp(prefix="dream-keras-test-cache-"))

import pytest  # noqa: E402

DATA = pathlib.Path(__file__).parent / "data"


def pytest_configure(config):
    config.addinivalue_line("markers", "xla_choice: the test measures --jit-compile auto's XLA choice for real "
                                       "(every other in-process run trains without XLA; see xla_off)")


#: the files that train end to end longest (minutes on 2 cores), started first so that the two workers
#: (setup.cfg: -n 2 --dist loadfile) end together rather than one waiting on the other's last long file
LONG_FILES = ("test_docs.py", "test_study.py", "test_jax_backend.py", "test_cli_safety.py", "test_motifs_synthetic.py",
              "test_distribution.py", "test_pipeline.py", "test_cli_atac.py", "test_quickstart_synthetic.py")


def pytest_collection_modifyitems(config, items):
    """Long files first; each file's tests keep their order (a stable sort by file only)."""
    def rank(item) -> int:
        name = item.path.name
        return LONG_FILES.index(name) if name in LONG_FILES else len(LONG_FILES)

    items.sort(key=rank)


def _without_xla(model, batch_size, backbone, *, say=print, **options) -> bool:
    say("--jit-compile auto: XLA off (the tests' choice: XLA compilations cost more than tiny models train)")
    return False


@pytest.fixture(scope="session", autouse=True)
def xla_off():
    """In-process runs of the session train without XLA: ``--jit-compile auto`` answers "off" at once.

    On tiny models XLA's compilation (one per batch shape) costs more than the whole training: timing the
    choice and compiling cost 6-13 s a run. The choice itself is measured for real by the tests marked
    ``xla_choice`` (test_performance.py and the decision lines of test_table_tasks.py); runs in a
    subprocess choose for real too. Yields the real ``choose_jit_compile``.
    """
    from dream_keras.training import jit_choice

    real = jit_choice.choose_jit_compile
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jit_choice, "choose_jit_compile", _without_xla)
        yield real


@pytest.fixture(autouse=True)
def _measured_xla_choice(request, xla_off, monkeypatch):
    """The real XLA choice for the tests marked ``xla_choice``."""
    if request.node.get_closest_marker("xla_choice"):
        from dream_keras.training import jit_choice

        monkeypatch.setattr(jit_choice, "choose_jit_compile", xla_off)


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    """tests/data: the small real fixtures (each folder has its licence and provenance)."""
    return DATA


@pytest.fixture(scope="session")
def atac(data_dir) -> pathlib.Path:
    """tests/data/atac_mm10: the real mouse ATAC fixture, read-only (copy what a test changes).

    It holds genome.fa, tn5_insertions.bw, peaks.narrowPeak, folds/ and chrom.sizes.
    """
    return data_dir / "atac_mm10"


def _snapshot(folder: pathlib.Path) -> dict:
    import hashlib

    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def _shared_folder(folder: pathlib.Path):
    """Yield ``folder`` to every test of the session, then check that none of them changed it.

    A test that changes a shared run must copy it first.
    """
    before = _snapshot(folder)
    yield folder
    after = _snapshot(folder)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"a test changed the shared run {folder} ({changed[:5]}); copy it before changing it"


@pytest.fixture(scope="session")
def atac_nonpeaks(atac, tmp_path_factory) -> pathlib.Path:
    """Nonpeaks of fold 0 at the tiny runs' 512 bp (``tiny_atac.nonpeaks_args``), made once per session."""
    from tiny_atac import nonpeaks_args

    from dream_keras.cli import main

    out = tmp_path_factory.mktemp("shared_atac") / "nonpeaks.narrowPeak"
    assert main(nonpeaks_args(atac, out)) == 0
    return out


def _run_printing_to_file(arguments: list, out: pathlib.Path) -> None:
    """Run the command with its console in ``OUT.console.txt`` beside ``out`` (as under a redirection)."""
    from console_capture import console_to_file

    from dream_keras.cli import main

    with console_to_file(out.parent / f"{out.name}.console.txt"):
        status = main(arguments)
    assert status == 0, (out.parent / f"{out.name}.console.txt").read_text()[-2000:]


@pytest.fixture(scope="session")
def bias_run(atac, atac_nonpeaks, tmp_path_factory):
    """One tiny bias run for the session, read-only for the tests (checked at the end of the session).

    ``tiny_atac.bias_args``: BPNet 4 filters / 1 layer, 1 epoch.
    """
    from tiny_atac import bias_args

    out = tmp_path_factory.mktemp("shared_runs") / "bias"
    _run_printing_to_file(bias_args(atac, atac_nonpeaks, out), out)
    yield from _shared_folder(out)


@pytest.fixture(scope="session")
def main_run(atac, atac_nonpeaks, bias_run, tmp_path_factory):
    """One tiny bias-factorised main run on ``bias_run`` for the session, read-only for the tests.

    ``tiny_atac.main_args``: 2 epochs. Checked at the end of the session.
    """
    from tiny_atac import main_args

    out = tmp_path_factory.mktemp("shared_runs") / "main"
    _run_printing_to_file(main_args(atac, atac_nonpeaks, bias_run, out), out)
    yield from _shared_folder(out)


@pytest.fixture(scope="session")
def chrombpnet_golden(data_dir):
    """``load(stem) -> (arrays, values)``: a golden pair written by the official ChromBPNet code.

    The pair is ``tests/data/chrombpnet_ref/STEM.npz`` (arrays) and ``STEM.json`` (scalars).
    """
    import json

    import numpy as np

    def load(stem: str):
        folder = data_dir / "chrombpnet_ref"
        return np.load(folder / f"{stem}.npz"), json.loads((folder / f"{stem}.json").read_text())

    return load


@pytest.fixture(scope="module")
def saved_bpnet(tmp_path_factory, bpnet):
    """The test module's own ``bpnet`` fixture saved as a ``.keras`` file, once per module (for its commands)."""
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    bpnet.save(path)
    return path
