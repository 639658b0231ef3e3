#!/usr/bin/env bash
# The official variant scorer (kundajelab/variant-scorer, pinned commit) beside the official ChromBPNet
# environment of setup_official.sh, for benchmarks/variants_vs_official.py and benchmarks/variants.py.
#   bash benchmarks/setup_official_variant_scorer.sh [VENV_DIR] [SOURCE_DIR]
#   (defaults: ./.official-venv and ./.official-variant-scorer)
# The scorer's utils/io.py imports pybedtools, which the ChromBPNet environment lacks; it is added here.
set -euo pipefail
venv="${1:-.official-venv}"
source_dir="${2:-.official-variant-scorer}"
commit=0e1e34199e63112aa618748bb79a206fc491300a
here="$(cd "$(dirname "$0")" && pwd)"
[ -x "$venv/bin/python" ] || bash "$here/setup_official.sh" "$venv"
"$venv/bin/pip" install -q pybedtools
if [ ! -f "$source_dir/src/variant_scoring.py" ]; then
    git clone -q https://github.com/kundajelab/variant-scorer.git "$source_dir"
    git -C "$source_dir" checkout -q "$commit"
fi
echo "official variant scorer ready: $source_dir (commit $commit), python $venv/bin/python"
