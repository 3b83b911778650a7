import sys

from memer.cli import main

sys.exit(main())
