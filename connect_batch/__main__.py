"""``python -m connect_batch``: the ``connect-batch`` command."""

import sys

from connect_batch.cli.main import main

sys.exit(main())
