"""The run names its job key before sending, and the default key's meaning: the same rows
under another file name replay and contact nobody; a key per night contacts again."""

from __future__ import annotations

from tests.cli.test_contacts import cli, cli_process

ROWS = "phone,first_name\n+14155550001,Ann\n+14155550002,Bo\n"


def test_the_derived_key_is_named_and_the_same_rows_on_another_night_replay(tmp_path, v2):
    target, connection = v2
    monday, tuesday = tmp_path / "monday.csv", tmp_path / "tuesday.csv"
    monday.write_text(ROWS)
    tuesday.write_text(ROWS)
    # Through the real command, as a nightly cron job runs it.
    first = cli_process("put", str(monday), *connection, "--quiet")
    assert first.returncode == 0, first.stderr
    assert "derived from the file's content" in first.stderr  # said even with --quiet
    assert "--job-key reminders/$(date +%F)" in first.stderr
    assert len(target.requests) == 2
    second = cli_process("put", str(tuesday), *connection, "--quiet")
    assert second.returncode == 0, second.stderr
    assert len(target.requests) == 2  # the ledger: nobody was contacted again
    key = first.stderr.split("job key ")[1].split(" ")[0]
    assert f"job key {key} " in second.stderr  # the same job, said before sending
    assert "+14155550001" not in first.stderr + second.stderr


def test_a_key_per_night_contacts_again(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "reminders.csv"
    source.write_text(ROWS)
    first = cli("put", str(source), *connection, "--job-key", "reminders/2026-12-04")
    assert "job key 'reminders/2026-12-04' (--job-key)" in first.stderr
    again = cli("put", str(source), *connection, "--job-key", "reminders/2026-12-05",
                "--out", str(tmp_path / "night2"))
    assert again.returncode == 0, again.stderr
    assert len(target.requests) == 4  # two people, two nights
    assert len({r.client_token for r in target.requests}) == 4


def test_the_key_is_named_only_after_the_usage_checks(tmp_path, v2):
    _target, connection = v2
    source = tmp_path / "reminders.csv"
    source.write_text(ROWS)
    done = cli("put", str(source), *connection, "--out", "/nonexistent/dir/o.jsonl")
    assert done.returncode == 2
    assert "job key" not in done.stderr
