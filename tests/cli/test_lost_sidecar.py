"""An outcomes file copied without its sidecar (``OUT.run.json``, which now holds the
input's digest that the file's first line used to hold), resumed under the same
``--job-key`` with an edited input: the resume must refuse, or else every row it reports
created must be created, for that row's person, on the double's ledger."""

from __future__ import annotations

import collections

import pytest

from connect_batch.testing import Fault
from tests.cli.test_contacts import cli, outcomes

MONDAY = "phone,first_name\n+14155550001,Ann\n+14155550002,Bo\n"
# A row added at the top: every row after it moves down one.
TUESDAY = "phone,first_name\n+14155550009,Zed\n+14155550001,Ann\n+14155550002,Bo\n"


@pytest.mark.parametrize("api", ["v2", "v1", "served"])
def test_a_resume_without_the_sidecar_never_reports_an_uncontacted_row_created(
    tmp_path, request, api
):
    target, connection = request.getfixturevalue(api)
    if api == "served":  # BatchPutContact: its contacts, and the options it needs
        connection = [*connection, "--campaign-id", "campaign-1", "--queue-id", "queue-1"]
    source = tmp_path / "people.csv"
    source.write_text(MONDAY)
    out = tmp_path / "o.jsonl"
    first = cli("put", str(source), *connection, "--job-key", "reminders-1", "--out",
                str(out), "--quiet")
    assert first.returncode == 0, first.stderr
    out.with_name(out.name + ".run.json").unlink()  # the file archived, copied alone
    source.write_text(TUESDAY)
    calls = len(target.fake.calls)
    resumed = cli("put", str(source), *connection, "--job-key", "reminders-1", "--resume",
                  str(out), "--quiet")
    if resumed.returncode == 2:  # refused: the input is not the file's
        assert len(target.fake.calls) == calls
        return
    ids = (
        {c.customer_address: c.contact_id for c in target.contacts} if api == "served"
        else {r.destination: r.id for r in target.requests}
    )
    phones = {n: line.split(",")[0] for n, line in enumerate(TUESDAY.splitlines()[1:], 1)}
    final = {line["row"]: line for line in outcomes(out) if line["code"] == "CREATED"}
    reported = {phones[row]: line["id"] for row, line in final.items()}
    assert reported == {p: ids.get(p) for p in reported}, (
        "rows reported created with an id the ledger gives another person, or none"
    )


def test_a_resume_without_the_sidecar_under_other_options_contacts_nobody_twice(tmp_path, v2):
    """The same file (so the same derived job key), its first run's answers lost, resumed
    with another --attributes mapping after the sidecar was lost: the requests say other
    things, so they go under other tokens, and the people the first run reached would be
    reached again. With the sidecar the option change is refused."""
    target, connection = v2
    source = tmp_path / "people.csv"
    source.write_text("phone,first_name\n+14155550001,Ann\n+14155550002,Bo\n")
    out = tmp_path / "o.jsonl"
    target.fake.plan(Fault.dropped())  # created, the answer lost: unknown
    first = cli("put", str(source), *connection, "--out", str(out), "--quiet",
                "--max-attempts", "1")
    target.fake.reset_faults()
    assert first.returncode == 1, first.stderr
    assert len(target.requests) == 2
    changed = ["--attributes", "first_name=given_name"]
    with_sidecar = cli("put", str(source), *connection, "--resume", str(out), "--quiet",
                       *changed)
    assert with_sidecar.returncode == 2  # the run record binds the options
    out.with_name(out.name + ".run.json").unlink()
    resumed = cli("put", str(source), *connection, "--resume", str(out), "--quiet", *changed)
    assert resumed.returncode in (0, 2), resumed.stderr
    assert collections.Counter(r.destination for r in target.requests) == {
        "+14155550001": 1, "+14155550002": 1
    }
