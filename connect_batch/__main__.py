"""``python -m connect_batch``: the ``connect-batch`` command."""

import sys

from connect_batch._cli import main

sys.exit(main())
