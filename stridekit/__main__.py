"""``python -m stridekit`` runs the command line."""

import sys

from stridekit.cli import main

sys.exit(main())
