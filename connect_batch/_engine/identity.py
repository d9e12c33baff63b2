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

    def item_token(self, identity: str) -> str:
        """An item's own token (<= 200 chars of ``[a-zA-Z0-9_.-]``), for a per-item API.

        ``identity`` is what the request is (``BatchOperation.fingerprint``): for the
        campaigns, the campaign, channel, destination and the caller's key or a digest of
        what the request says. It never depends on the rest of the input.
        """


class RandomIdentities:
    """Fresh uuid4 values: unique, and never the same twice."""

    durable = False

    def request_identifier(self, position: int, content: str) -> str:  # noqa: ARG002
        # 128 random bits as 32 hex digits: uuid4().hex's form, at a third of its cost.
        return os.urandom(16).hex()

    def client_token(self, batch: int, round_number: int) -> str:  # noqa: ARG002
        return str(uuid.uuid4())

    def item_token(self, identity: str) -> str:  # noqa: ARG002
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

    def item_token(self, identity: str) -> str:
        """Derived from the job key and *what the request is*, never from where it sits.

        A per-item API gives no 409 for a token reused with another body, so nothing
        guards a rerun whose input moved: position-derived tokens would give every item
        after a removed row a new token, and so a second contact; tokens counting how many
        earlier items reached the same person shift when a rerun is filtered or reordered,
        and hand one request another's token (a second contact, or another request's id
        reported as this one's). Keyed on the request's identity alone (campaign, channel,
        destination, and the caller's ``key`` or a digest of what it says), a reordered,
        filtered or split rerun sends each request its own token again, and the service
        answers with what exists. An edited request without a ``key`` is a new request.
        """
        return _digest("item", self.job_key, identity)[:40]
