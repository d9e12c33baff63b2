"""Make botocore send one HTTP attempt for the library's calls, leaving the client otherwise alone.

botocore retries on its own (``legacy`` mode: 5 attempts) and would multiply the library's
attempts. Changing the client's retry config would change every other operation the caller
uses it for, so instead one handler is registered on ``needs-retry.<service>.<Operation>``,
ahead of botocore's own. While a library call is in progress in this context it ends
botocore's loop after the first attempt by raising what botocore would have raised after
its last. Calls the caller makes themselves, and every other operation, are untouched.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

_single_attempt: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "connect_batch_single_attempt", default=False
)
_FIRST_ERROR_STATUS = 300


def _end_after_first_attempt(
    response: tuple[Any, dict[str, Any]] | None,
    caught_exception: BaseException | None,
    operation: Any,
    **_: Any,
) -> None:
    if not _single_attempt.get():
        return
    if caught_exception is not None:
        raise caught_exception
    if response is not None and response[0].status_code >= _FIRST_ERROR_STATUS:
        raise ClientError(response[1], operation.name)  # type: ignore[arg-type]


def install(client: Any, operation_name: str) -> None:
    """Register the single-attempt handler on ``client`` (idempotent)."""
    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(
        f"needs-retry.{service_id}.{operation_name}",
        _end_after_first_attempt,
        unique_id=f"connect_batch.single-attempt.{service_id}.{operation_name}",
    )


@contextlib.contextmanager
def single_attempt() -> Iterator[None]:
    """Within this block, installed operations make exactly one HTTP attempt per call."""
    token = _single_attempt.set(True)
    try:
        yield
    finally:
        _single_attempt.reset(token)
