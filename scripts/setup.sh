#!/usr/bin/env bash
# Set up scgan for development, the benchmark and the tests.
#
# Creates ./.venv (or reuses it) and installs into it. Installs the CPU build
# torch==2.13.0 only where no torch is importable there, so a GPU user who
# installed their own CUDA build of torch into .venv first keeps it. Then installs scgan
# in editable mode with the test, benchmark, scvi and doc extras, and magic-impute
# with scprep without their dependencies: scprep pins pandas<2.1, which does
# not work with numpy 2; the packages they really need come with the
# "benchmark" extra. desc is installed the same way for the 10x PBMC 3k counts
# its wheel carries (scgan.datasets.pbmc3k reads the file, never desc's code,
# which needs TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
# quiet pip; a failed install still stops the script (pipefail), only grep's "no line" is forgiven
pip() { python -m pip --disable-pip-version-check -q "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }; }

python -c "import torch" 2>/dev/null || pip install torch==2.13.0
pip install -e ".[test,benchmark,scvi,doc]"
pip install --no-deps magic-impute==3.0.0 scprep==1.2.3 desc==2.1.1
python -c "import torch, scgan, magic; print(f'scgan {scgan.__version__} ready (torch {torch.__version__})')"
