#!/usr/bin/env bash
# Install the wheel (not editable) into a fresh virtual environment and run a
# smoke test there: impute_dropouts, Imputer.save and load, and the `scgan`
# command. `bash scripts/smoke_wheel.sh [WHEEL]`: without WHEEL it builds one.
# torch==2.13.0 is installed first, as scripts/setup.sh does (set
# PIP_EXTRA_INDEX_URL to PyTorch's CPU index where PyPI would give the CUDA
# build, as the CI workflow does). The environment is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"${PYTHON:-python3}" -m venv "$work/venv"
py="$work/venv/bin/python"
pip() { "$py" -m pip --disable-pip-version-check -q "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }; }
wheel=${1:-}
if [ -z "$wheel" ]; then
  pip install build
  "$py" -m build -q --wheel --outdir "$work/dist" . >/dev/null
  wheel=$(ls "$work"/dist/scgan-*.whl)
fi
pip install torch==2.13.0
pip install "$wheel"

cd "$work"  # away from the source tree: the installed package is the one imported
"$py" - <<'PY'
import scgan

assert "site-packages" in scgan.__file__, scgan.__file__
adata = scgan.datasets.simulate(120, 60, random_state=0)
adata.write_h5ad("in.h5ad")
scgan.pp.impute_dropouts(adata, labels_key="cell_type", side=4, epochs=1, progress=False)
assert adata.layers["scgan_imputed"].shape == (120, 60)
imputer = scgan.Imputer(labels_key="cell_type", side=4, epochs=1, progress=False).fit(adata)
imputer.save("model")
scgan.Imputer.load("model").impute(adata, key_added="loaded")
assert adata.layers["loaded"].shape == (120, 60)
print(f"wheel scgan {scgan.__version__}: impute_dropouts, save and load work")
PY
"$work/venv/bin/scgan" impute in.h5ad -o out.h5ad --labels-key cell_type --set side=4 --set epochs=1 --quiet
"$py" -c "import anndata; a = anndata.read_h5ad('out.h5ad'); assert 'scgan_imputed' in a.layers"
echo "wheel: the scgan command works"
