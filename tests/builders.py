"""Inputs for tests: valid, and each with a phone number and attribute value of its own."""

from __future__ import annotations

from typing import Any

from connect_batch import ContactRequest, DialRequest, Endpoint, OutboundRequest


def contact(i: int, **changes: object) -> ContactRequest:
    """A valid contact whose phone number and attribute value are unique to ``i``."""
    fields: dict[str, object] = {
        "customer_endpoint": Endpoint.phone(f"+1415{i:07d}"),
        "campaign_id": "campaign-1",
        "queue_id": "queue-1",
        "attributes": {"customer_name": f"Person {i}"},
    }
    fields.update(changes)
    return ContactRequest(**fields)  # type: ignore[arg-type]


def contacts(n: int, start: int = 0) -> list[ContactRequest]:
    """``n`` distinct valid contacts."""
    return [contact(i) for i in range(start, start + n)]


def outbound(i: int, **options: Any) -> OutboundRequest:
    """A valid v2 telephony request whose phone number and attribute are unique to ``i``."""
    options.setdefault("attributes", {"customer_name": f"Person {i}"})
    return OutboundRequest.telephony(f"+1415{i:07d}", **options)


def outbounds(n: int, start: int = 0) -> list[OutboundRequest]:
    """``n`` distinct valid v2 requests."""
    return [outbound(i) for i in range(start, start + n)]


def dial(i: int, **options: Any) -> DialRequest:
    """A valid v1 dial request whose phone number and attribute are unique to ``i``."""
    options.setdefault("attributes", {"customer_name": f"Person {i}"})
    return DialRequest(phone_number=f"+1415{i:07d}", **options)


def dials(n: int, start: int = 0) -> list[DialRequest]:
    """``n`` distinct valid v1 requests."""
    return [dial(i) for i in range(start, start + n)]
