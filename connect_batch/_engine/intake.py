"""Intake: each input read, checked and keyed, once (``Pending``, ``RunKeys``, ``Intake``).

An input's key is its RequestIdentifier (``PER_CALL``) or its own client token
(``PER_ITEM``): the caller's, a random one, or one derived from the job key and the input's
content. Keying also says what is known before anything is sent: whether the input's own
token may have left an earlier run (``exposed``), and whether it repeats an earlier input of
the job (``duplicate_of``). The operation says how (``item_key``, ``fingerprint``,
``idempotency``); this module never looks at an input's fields. Knows no thread, no event
loop, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

import attrs

from connect_batch._engine.first_seen import FirstSeen
from connect_batch._engine.identity import Identities
from connect_batch._errors import ContactValidationError
from connect_batch.operations.base import BatchOperation, Idempotency

ItemT = TypeVar("ItemT")


@attrs.define(weakref_slot=False)
class Pending(Generic[ItemT]):
    """An input read and keyed, not yet settled.

    ``exposed``: this input's own token (``PER_ITEM``) may have created it, in this run or
    an earlier one (a caller's token, a job-derived one, or an attempt of this run that may
    have acted), and no answer for it under that token has come since.
    ``duplicate_of``: the position of an earlier input of the job that is the same request
    (the same job-derived token); this one is answered ``DUPLICATE_IN_JOB``, never sent.
    """

    position: int
    key: str
    item: ItemT
    exposed: bool = False
    duplicate_of: int | None = None


class RunKeys:
    """What a run remembers to key its inputs: the keys callers gave, and where each
    job-derived per-item token first appeared (so that a request repeated in the input is
    sent once).

    Both are kept as fixed-width digests with their positions (``FirstSeen``, about 13
    bytes a key), not their text.
    """

    def __init__(self) -> None:
        self._given = FirstSeen()
        self._first = FirstSeen()

    def given_before(self, key: str, position: int) -> bool:
        """True if an earlier input of the run gave ``key``; else ``key`` is remembered."""
        return self._given.first(key, position) is not None

    def first_of(self, token: str, position: int) -> int | None:
        """Where ``token`` first appeared in the run, or ``None`` (and remember ``position``)."""
        first = self._first.first(token, position)
        # The same position asked again is not a repeat of itself.
        return None if first == position else first


class Intake(Generic[ItemT]):
    """Checks and keys one run's inputs, for the operation it is given."""

    def __init__(
        self,
        operation: BatchOperation[ItemT],
        identities: Identities,
        check_item: Callable[[object], None] | None,
    ) -> None:
        self._operation = operation
        self._identities = identities
        self._check_item = check_item

    @property
    def durable(self) -> bool:
        """True when the run's tokens outlive it (a job key): an earlier run may have sent them."""
        return self._identities.durable

    @property
    def may_repeat(self) -> bool:
        """True when two inputs may be one request (job-derived per-item tokens)."""
        return self.durable and self._operation.idempotency is Idempotency.PER_ITEM

    def keyed(self, items: Iterable[ItemT]) -> Iterator[Pending[ItemT]]:
        """Check and key each input of ``items``, lazily."""
        seen = RunKeys()
        check, item_key, key = self._check_item, self._operation.item_key, self.key
        if self.durable or check is None:
            for position, item in enumerate(items):
                yield key(item, position, seen)
            return
        # The common case, inlined (it runs once per input): checked, no key given, and
        # a random one generated.
        generate = self._identities.request_identifier
        expected = getattr(check, "expected", None) or object
        for position, item in enumerate(items):
            if item.__class__ is not expected:
                try:
                    check(item)
                except ContactValidationError as error:
                    raise error.at(position) from None
            if item_key(item) is None:
                yield Pending(position, generate(position, ""), item)
            else:
                yield key(item, position, seen)

    def key(self, item: ItemT, position: int, seen: RunKeys) -> Pending[ItemT]:
        """Check ``item`` and give it its key; ``seen`` is what the run keyed so far."""
        if self._check_item is not None:
            try:
                self._check_item(item)
            except ContactValidationError as error:
                raise error.at(position) from None
        operation = self._operation
        key = operation.item_key(item)
        per_item = operation.idempotency is Idempotency.PER_ITEM
        if key is None:
            if not self.durable:
                return Pending(position, self._identities.request_identifier(position, ""), item)
            content = operation.fingerprint(item)
            if per_item:
                # Any earlier run of the job may have sent this token: exposed until the
                # service answers for it. The same request twice in the job is sent once.
                token = self._identities.item_token(content)
                first = seen.first_of(token, position)
                return Pending(position, token, item, exposed=True, duplicate_of=first)
            # Under a job key, the identifier depends on the item's content too: a service
            # that replayed an old answer by token alone would name identifiers not sent.
            return Pending(position, self._identities.request_identifier(position, content), item)
        # Only identifiers given by the caller are remembered: generated ones are unique
        # by construction.
        if seen.given_before(key, position):
            name = self._operation.key_name
            raise ContactValidationError(
                f"{name} repeats an earlier input's in this run; give each input its own",
                field=name,
                position=position,
            )
        # A caller's own per-item token may have been sent by any earlier run: until the
        # service answers for it, nothing is known about it.
        return Pending(position, key, item, exposed=per_item)
