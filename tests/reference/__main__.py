"""``python -m tests.reference [--update]``: compare the reference renders, or redraw them on purpose."""

import sys

from tests.reference import _main

sys.exit(_main(sys.argv[1:]))
