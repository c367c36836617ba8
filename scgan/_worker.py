"""A training process that scgan starts: ``python -m scgan._worker FOLDER RANK``."""

import sys
from pathlib import Path

from ._distributed import child

if __name__ == "__main__":
    sys.exit(child(Path(sys.argv[1]), int(sys.argv[2])))
