"""``connect_batch.progress.RichProgress``, the public progress subscriber, over real HTTP
against the double: what it renders and counts, checked against the double's ledger."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from connect_batch import AccessDeniedError
from connect_batch.events import RunFinished
from connect_batch.progress import RichProgress
from connect_batch.testing import Fault
from tests.builders import contacts


def console(*, terminal: bool = False) -> tuple[Console, io.StringIO]:
    screen = io.StringIO()
    return Console(file=screen, force_terminal=terminal, width=160), screen


def created(double) -> list:
    return [c for c in double.fake.contacts if c.instance_id == double.instance_id]


def test_it_renders_the_counts_of_a_run_with_retries(http_connect):
    shown, screen = console()
    http_connect.fake.plan(Fault.throttle(), Fault.error(503, "ServiceUnavailable"))
    with RichProgress(total=60, console=shown) as progress:
        client = http_connect.batch_client(subscribers=[progress], max_requests_per_second=8)
        result = client.put_contacts(contacts(60))
    text = screen.getvalue()
    assert "60/60" in text
    assert "created 60  failed 0  retrying 0" in text
    assert f"pace {client.rate_limiter.rate:g} calls/s" in text
    assert progress.counts == {"CREATED": 60} == result.counts()
    assert progress.done == 60 == len(created(http_connect))


def test_inputs_never_sent_are_counted_once_from_the_run_finished(http_connect):
    shown, screen = console(terminal=True)
    finished: list[RunFinished] = []
    http_connect.fake.plan(None, Fault.error(403, "AccessDeniedException"))
    with RichProgress(total=100, console=shown, description="contacts") as progress:
        client = http_connect.batch_client(
            subscribers=[progress, lambda e: isinstance(e, RunFinished) and finished.append(e)],
            concurrency=1,
        )
        with pytest.raises(AccessDeniedError):
            client.put_contacts(contacts(100))
    (run,) = finished
    assert progress.counts == dict(run.counts)
    assert progress.done == 100
    assert progress.counts["CREATED"] == len(created(http_connect)) == 25
    # The last frame drawn on the terminal.
    last = screen.getvalue().rsplit("\r", 1)[-1]
    assert "contacts" in last
    assert "100/100" in last
    assert "created 25  failed 75" in last


def test_it_counts_without_being_started_and_the_status_says_so(http_connect):
    progress = RichProgress(console=console()[0])
    http_connect.batch_client(subscribers=[progress]).put_contacts(contacts(30))
    assert progress.counts == {"CREATED": 30}
    assert progress.status().startswith("created 30  failed 0  retrying 0  ")
