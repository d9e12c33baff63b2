"""Contacts for tests: valid, and each with a phone number and attribute value of its own."""

from __future__ import annotations

from connect_batch import ContactRequest, Endpoint


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
