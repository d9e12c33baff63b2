"""What the whole command line shares: the APIs it speaks to, the columns each reads, its
exit statuses and its two errors.

Nothing here reads a file, prints or sends: it is the vocabulary the other modules use.
"""

from __future__ import annotations

import enum

ALL_CREATED, SOME_FAILED, USAGE_ERROR, SERVICE_STOPPED = 0, 1, 2, 3
INVALID_INPUT = "INVALID_INPUT"


class UsageError(Exception):
    """A problem with the command line or the input file: exit 2 with one line."""



class ServiceStopped(Exception):  # noqa: N818 - names what happened
    """The service refused the run after it started: exit 3 with one line."""



class Api(str, enum.Enum):
    """The operation a run puts its rows through."""

    V2 = "v2"  # outbound campaigns v2 PutOutboundRequestBatch
    V1 = "v1"  # outbound campaigns v1 PutDialRequestBatch
    CONNECT = "connect"  # Amazon Connect BatchPutContact

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        return {
            Api.V2: "outbound campaigns v2 (PutOutboundRequestBatch)",
            Api.V1: "outbound campaigns v1 (PutDialRequestBatch)",
            Api.CONNECT: "BatchPutContact (--instance-id)",
        }[self]


# A row's own region for its national numbers (overriding --default-region): read by
# every API, never sent.
REGION_COLUMNS = ("region", "country")
# The columns each API reads; any other column is sent as an attribute (or template
# parameter). A column another API reads stops the run, unless --attributes is given.
COLUMNS: dict[Api, frozenset[str]] = {
    Api.V2: frozenset({"phone", "email", "channel", "request_identifier", "template_arn",
                       "connect_source", *REGION_COLUMNS}),
    Api.V1: frozenset({"phone", "request_identifier", *REGION_COLUMNS}),
    Api.CONNECT: frozenset({"phone", "customer_address", "customer_type",
                            "request_identifier", "campaign_id", "queue_id", "system_address",
                            "system_type", *REGION_COLUMNS}),
}  # fmt: skip
ALL_COLUMNS = frozenset().union(*COLUMNS.values())
DESTINATIONS = {
    Api.V2: ("phone", "email"),
    Api.V1: ("phone",),
    Api.CONNECT: ("phone", "customer_address"),
}
SENT_AS = {
    Api.V2: "attributes (telephony) or template parameters (sms, email, whatsapp)",
    Api.V1: "contact attributes",
    Api.CONNECT: "contact attributes",
}

