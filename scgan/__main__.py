"""``python -m scgan``: the same as the ``scgan`` command."""

import sys

from ._cli import main

sys.exit(main())
