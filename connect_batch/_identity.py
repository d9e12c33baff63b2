"""Where RequestIdentifiers and ClientTokens come from.

Per-item tokens (outbound campaigns) come from ``item_token``. Without a job key all of them
are random, which is safe within one run: the library never sends a
new token for a body whose answer it did not see. With a job key both are derived from it,
so a run that is killed and started again on the same input sends the very same calls and
the service replays its earlier answers instead of creating contacts twice. Such tokens are
*durable*: an earlier run may have sent any of them, so nothing sent under one is ever known
not to exist unless the service said so.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Protocol

import attrs


class Identities(Protocol):
    """Names a run's inputs and calls."""

    @property
    def durable(self) -> bool:
        """True when the same names come back in another run (so one may have sent them)."""

    def request_identifier(self, position: int, content: str) -> str:
        """An identifier (<= 80 chars) for the input at ``position`` that came without one.

        ``content`` is the input's fingerprint when ``durable`` (else empty).
        """

    def client_token(self, batch: int, round_number: int) -> str:
        """The ClientToken for round ``round_number`` of batch ``batch`` (<= 500 chars)."""

    def item_token(self, who: str, occurrence: int) -> str:
        """An item's own token (<= 200 chars of ``[a-zA-Z0-9_.-]``), for a per-item API.

        ``who`` names whom the item reaches (channel and destination); ``occurrence``
        counts the run's earlier items for the same ``who``.
        """


class RandomIdentities:
    """Fresh uuid4 values: unique, and never the same twice."""

    durable = False

    def request_identifier(self, position: int, content: str) -> str:  # noqa: ARG002
        # 128 random bits as 32 hex digits: uuid4().hex's form, at a third of its cost.
        return os.urandom(16).hex()

    def client_token(self, batch: int, round_number: int) -> str:  # noqa: ARG002
        return str(uuid.uuid4())

    def item_token(self, who: str, occurrence: int) -> str:  # noqa: ARG002
        return os.urandom(16).hex()


def _digest(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode())
        hasher.update(b"\x00")
    return hasher.hexdigest()


@attrs.frozen
class JobIdentities:
    """Values derived from ``job_key`` and *where* an input or call sits in the run.

    Tokens come from positions, not contents, on purpose: if a rerun's input differs from
    the first run's, a call under a remembered token carries a different body and the
    service refuses it (409) rather than creating a second contact for somebody. Tokens
    derived from contents would give edited or shifted inputs new tokens, and so new
    contacts for the others in their batch.

    Generated RequestIdentifiers come from the position *and* the content: so if a service
    replayed an old answer by token alone, for a body that has since changed, the answer
    would name identifiers this run did not send, and the library reports those inputs as
    unknown instead of taking the old answer for theirs.
    """

    job_key: str
    durable = True

    def request_identifier(self, position: int, content: str) -> str:
        return _digest("request", self.job_key, str(position), content)[:40]

    def client_token(self, batch: int, round_number: int) -> str:
        return _digest("token", self.job_key, str(batch), str(round_number))

    def item_token(self, who: str, occurrence: int) -> str:
        """Derived from the key and *whom* the item reaches, not from where it sits.

        A per-item API gives no 409 for a token reused with another body, so nothing
        guards a rerun whose input moved: position-derived tokens would give every item
        after a removed row a new token, and so a second contact. Keyed on the person
        (and how many times the job reached them before), a reordered, filtered or
        re-timed input sends each person's same token again, and the service answers with
        what exists; an item for someone new gets a new token.
        """
        return _digest("item", self.job_key, who, str(occurrence))[:40]
