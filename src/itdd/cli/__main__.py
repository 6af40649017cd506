"""``python -m itdd.cli``: the ``itdd`` command."""

import sys

from . import main

sys.exit(main())
