#!/usr/bin/env bash
# The one GPU check, for a machine with a CUDA GPU (about 10 minutes):
# the CUDA tests, then the speed rows (pbmc68k, and simulate(100 000, 2 000)
# end to end with mixed precision on and off; seconds, cells per second,
# peak GPU memory). Run from the repository root with the package installed.
set -euo pipefail
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.cuda.get_device_name())"
python -m pytest -q tests/test_device.py tests/test_distributed.py
python benchmarks/speed.py --threads 1
