#!/usr/bin/env bash
# The official ChromBPNet code (PyPI chrombpnet 1.0.1) in its own virtual environment, for the
# side-by-side benchmarks (vs_official.py, vs_official_training.py). Installed with --no-deps beside
# tensorflow-cpu, tf-keras and tensorflow-probability; run it with TF_USE_LEGACY_KERAS=1.
#   bash benchmarks/setup_official.sh [VENV_DIR]     (default: .official-venv in the repository root, where
#   the benchmarks look for it: benchmarks/official_environment.py)
set -euo pipefail
venv="${1:-$(cd "$(dirname "$0")/.." && pwd)/.official-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "tensorflow-cpu==2.21.*" "tf-keras==2.21.*" tensorflow-probability \
    pyBigWig pyfaidx h5py pandas scipy scikit-learn matplotlib tqdm deeplift deepdish
"$venv/bin/pip" install -q --no-deps chrombpnet==1.0.1
TF_USE_LEGACY_KERAS=1 "$venv/bin/python" -c "import chrombpnet, tf_keras; print('official chrombpnet ready:', tf_keras.__version__)"
