"""`python -m pipeline.entrypoints.cli`: the same as `superbill`."""

import sys

from pipeline.entrypoints.cli import main

sys.exit(main())
