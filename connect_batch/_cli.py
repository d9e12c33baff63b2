"""A shim: the command line moved to ``connect_batch.cli``.

Every name this module held is re-exported from its new home, so that code importing the old
path keeps working; the coordinator removes this module once nothing imports it.
"""
# ruff: noqa: F401 - re-exports

from connect_batch.cli import args, connect, outcome_file, rows, send
from connect_batch.cli.api import (
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
from connect_batch.cli.args import (
    make_parser,
    resolve_api,
)
from connect_batch.cli.columns import (
    Columns,
    Row,
)
from connect_batch.cli.connect import (
    _OPERATIONS,
    _options,
    _simulated,
)
from connect_batch.cli.main import (
    DRY_RUN_SHOWN,
    _dry_run,
    main,
    put,
)
from connect_batch.cli.outcome_file import (
    _REQUEST_OPTIONS,
    Ledger,
    _ends_with_newline,
    outcome_line,
    previous_lines,
    resume_command,
)
from connect_batch.cli.progress import (
    Progress,
)
from connect_batch.cli.rows import (
    Source,
    _warn_repeats,
    build_row,
)

_check_run = outcome_file.check_run
_job_key = outcome_file.derived_job_key
_created = outcome_file.line_created
_settled = outcome_file.line_settled
_open_outcomes = outcome_file.open_outcomes
_resolve_job_key = outcome_file.resolve_job_key
_run_record = outcome_file.run_record
_check_outputs = args.check_outputs
_check_region = args.check_region
_announce = rows.announce
_format = rows.input_format
_rows = rows.read_rows
_put_in_passes = send.put_in_passes
_send = send.send
_connect = connect.connect
