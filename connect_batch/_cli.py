"""A shim: the command line moved to ``connect_batch.cli``.

Every name this module held is re-exported from its new home, so that code importing the old
path keeps working; the coordinator removes this module once nothing imports it.
"""

from connect_batch.cli.api import (  # noqa: F401
    ALL_CREATED,
    INVALID_INPUT,
    SENT_AS,
    SERVICE_STOPPED,
    SOME_FAILED,
    USAGE_ERROR,
    Api,
    ServiceStopped,
    UsageError,
)
from connect_batch.cli.args import (  # noqa: F401
    check_outputs as _check_outputs,
)
from connect_batch.cli.columns import (  # noqa: F401
    Columns,
    Row,
)
from connect_batch.cli.connect import (  # noqa: F401
    _OPERATIONS,
    _options,
    _simulated,
)
from connect_batch.cli.main import (  # noqa: F401
    DRY_RUN_SHOWN,
    _dry_run,
    main,
    put,
)
from connect_batch.cli.outcome_file import (  # noqa: F401
    _REQUEST_OPTIONS,
    Ledger,
    _ends_with_newline,
    outcome_line,
    previous_lines,
    resume_command,
)
from connect_batch.cli.progress import (  # noqa: F401
    Progress,
)
from connect_batch.cli.rows import (  # noqa: F401
    Source,
    _warn_repeats,
    build_row,
)
from connect_batch.cli.send import (  # noqa: F401
    put_in_passes as _put_in_passes,
)
