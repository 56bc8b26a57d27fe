"""`python -m iptf` runs the `iptf` command."""

import sys

from .cli import main

sys.exit(main())
