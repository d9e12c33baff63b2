"""A shim: the command line moved to ``connect_batch.cli`` (``columns`` and ``rows``).

Every name this module held is re-exported from its new home, so that code importing the old
path keeps working; the coordinator removes this module once nothing imports it.
"""
# ruff: noqa: F401 - re-exports

from connect_batch.cli import columns
from connect_batch.cli.api import (
    ALL_COLUMNS,
    COLUMNS,
    DESTINATIONS,
    INVALID_INPUT,
    SENT_AS,
    Api,
    UsageError,
)
from connect_batch.cli.columns import (
    _LOOKS_LIKE_DATA,
    PROBLEM,
    SHADOWED,
    UNNAMED,
    Columns,
    Row,
    _shown,
)
from connect_batch.cli.rows import (
    _BUILDERS,
    FIELD_LIMIT,
    Source,
    _contact,
    _dial,
    _expires,
    _outbound,
    _phone,
    build_row,
    json_text,
    normalise,
)

_SURPLUS = columns.SURPLUS
_listed = columns.listed
