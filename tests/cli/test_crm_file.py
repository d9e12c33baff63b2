"""A CRM export as it comes, put through the real ``connect-batch`` process against the
double over HTTP, with every row's outcome checked against an expectation written by hand.

The file is shaped like the one in issue 20: a byte-order mark, headers with spaces
(``Customer ID``, ``Phone Number``, ``First Name``), an ``Email`` and an ``SMS Opt-In``
column that are not sent, numbers written every way people write them (E.164 with spaces,
US national forms, ``00`` and ``011`` international prefixes, national numbers of other
countries named by a ``Country`` column), numbers that must never be guessed (too short,
an extension, empty), the same person twice under two customer ids, the same row twice,
UTF-8 names, and one line in Latin-1. The expectation for each row is built beside the
row from the digits the test chose, never by asking the library how it reads a number.
"""

from __future__ import annotations

import json
import pathlib
import random

import pytest

from tests.cli.test_contacts import cli_process, outcomes

ROWS = 2000
NAMES = ["Ann", "Zoë", "Łukasz", "Renée", "Bob", "Siobhán", "Chloé", "Dmitri"]


class Expect:
    """What one row must come out as: created with this E.164 number and first name, a
    duplicate of an earlier row, or refused before sending (``INVALID_INPUT``)."""

    def __init__(self, code: str, number: str | None = None, name: str | None = None,
                 duplicate_of: int | None = None) -> None:
        self.code, self.number, self.name, self.duplicate_of = code, number, name, duplicate_of


# How each kind of row writes its number, its Country cell, and the E.164 number it must
# be created with (None: it must never be sent). ``{n}`` is the row's own four digits.
WRITTEN: dict[int, tuple[str, str, str | None]] = {
    0: ("+1 415-555-{n}", "", "+1415555{n}"),
    1: ("(415) 555-{n}", "", "+1415555{n}"),
    2: ("415.555.{n}", "US", "+1415555{n}"),
    3: ("1-212-555-{n}", "", "+1212555{n}"),
    4: ("0044 20 7946 {n}", "", "+44207946{n}"),  # 00: an international prefix
    6: ("011 44 20 7945 {n}", "", "+44207945{n}"),  # 011: North America's
    7: ("020 7944 {n}", "GB", "+44207944{n}"),  # national, in the row's own country
    8: ("030 1234{n}", "de", "+49301234{n}"),
    9: ("555-{n}", "", None),  # no area code: never guessed
    10: ("415-555-{n} x12", "", None),  # an extension the APIs cannot dial
    11: ("", "", None),
    12: ("+1 646 555 {n}", "", "+1646555{n}"),  # also under a second customer id
}
PLAIN = ("+1415555{n}", "", "+1415555{n}")


def crm_export(path: pathlib.Path, seed: int = 20) -> dict[int, Expect]:
    """Write the export (bytes, so one line can be Latin-1) and return each row's
    expectation by its row number (1 = the first data row)."""
    rng = random.Random(seed)
    lines = [b"Customer ID,First Name,Last Name,Phone Number,Email,Country,SMS Opt-In"]
    expect: dict[int, Expect] = {}
    created: list[tuple[bytes, int]] = []

    def add(line: bytes, outcome: Expect) -> None:
        lines.append(line)
        expect[len(lines) - 1] = outcome
        if outcome.code == "CREATED":
            created.append((line, len(lines) - 1))

    for turn in range(1, ROWS + 1):
        name, n = rng.choice(NAMES), f"{turn:04d}"  # unique digits: a number per request
        email, opt_in = f"{name.lower()}{turn}@example.com", rng.choice(["yes", "no", ""])
        if turn % 20 == 5 and turn > 100:
            # The same line again (an export joining two lists): one request, not two.
            line, first = created[rng.randrange(len(created))]
            add(line, Expect("DUPLICATE_IN_JOB", duplicate_of=first))
            continue
        if turn == 13:
            # One line in Latin-1 among UTF-8 ones: never mis-decoded, never sent.
            add(f"C{n},José,Núñez,+1 415 555 {n},{email},,{opt_in}".encode("latin-1"),
                Expect("INVALID_INPUT"))
            continue
        written, country, number = WRITTEN.get(turn % 20, PLAIN)
        customers = [f"C{n}", f"D{n}"] if turn % 20 == 12 else [f"C{n}"]
        for customer in customers:
            # Two customer ids for one person: two requests, both sent (the file says two
            # customers), and the run says so aloud before sending.
            outcome = (Expect("CREATED", number.format(n=n), name) if number
                       else Expect("INVALID_INPUT"))
            fields = [customer, name, "Smith", written.format(n=n), email, country, opt_in]
            add(",".join(fields).encode(), outcome)
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n")
    return expect


def test_a_messy_crm_export_goes_in_as_it_is_and_every_row_is_what_was_expected(
    tmp_path, v2
):
    target, connection = v2
    source = tmp_path / "crm export.csv"
    expect = crm_export(source)
    out = tmp_path / "outcomes.jsonl"
    done = cli_process(
        "put", str(source), *connection, "--out", str(out),
        "--phone-column", "Phone Number", "--key-column", "Customer ID",
        "--attributes", "First Name=first_name", "--default-region", "US",
        "--encoding-errors", "skip-rows", "--job-key", "crm/2026-12-05", "--max-rps", "200",
    )
    assert done.returncode == 1, done.stderr  # some rows are INVALID_INPUT: exit 1, not 2
    lines = {line["row"]: line for line in outcomes(out)}
    assert sorted(lines) == sorted(expect) == list(range(1, len(expect) + 1))
    ledger = {r.client_token: r for r in target.requests}
    created_rows = 0
    for row, want in expect.items():
        got = lines[row]
        if want.code == "CREATED":
            created_rows += 1
            assert got.get("code", "CREATED") == "CREATED", (row, got)
            request = ledger[got["client_token"]]
            assert request.id == got["id"], row
            assert request.destination == want.number, row
            assert request.parameters == {"first_name": want.name}, row
        elif want.code == "DUPLICATE_IN_JOB":
            assert got["code"] == "DUPLICATE_IN_JOB", (row, got)
            assert got["duplicate_of_row"] == want.duplicate_of, row
        else:
            assert got["code"] == "INVALID_INPUT", (row, got)
            assert got.get("id") is None, row
    # Nothing but the expected rows reached the service: one request per created row.
    assert len(target.requests) == created_rows
    assert {r.destination for r in target.requests} == {
        e.number for e in expect.values() if e.code == "CREATED"
    }
    # The Latin-1 line is named by its line, never shown; no personal data on stderr.
    latin_1 = [row for row, e in expect.items() if e.code == "INVALID_INPUT"
               and b"Jos\xe9" in source.read_bytes().split(b"\r\n")[row]]
    assert len(latin_1) == 1
    assert f"line {latin_1[0] + 1}" in done.stderr
    for personal in ("Jos", "Núñez", "@example.com", "555", "Zoë"):
        assert personal not in done.stderr
    assert "reach a person an earlier row reaches" in done.stderr
    assert "repeat an earlier row's request" in done.stderr
    # The file holds no attribute value but the names it sent, and no email address.
    assert "@example.com" not in out.read_text()


@pytest.mark.parametrize("given", [[], ["--phone-column", "Phone"]])
def test_the_same_export_without_its_column_options_stops_before_sending(tmp_path, v2, given):
    target, connection = v2
    source = tmp_path / "crm.csv"
    crm_export(source)
    done = cli_process("put", str(source), *connection, "--default-region", "US",
                       "--encoding-errors", "skip-rows", *given)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3, done.stderr
    assert "Phone Number" in done.stderr
    assert target.requests == []


def test_a_rerun_of_the_export_under_its_job_key_creates_nothing_more(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "crm.csv"
    expect = crm_export(source)
    options = ["--phone-column", "Phone Number", "--key-column", "Customer ID",
               "--attributes", "First Name=first_name", "--default-region", "US",
               "--encoding-errors", "skip-rows", "--job-key", "crm/night-1", "--max-rps", "200",
               "--quiet"]
    first = cli_process("put", str(source), *connection, "--out", str(tmp_path / "a.jsonl"),
                        *options)
    assert first.returncode == 1, first.stderr
    created = len(target.requests)
    assert created == sum(e.code == "CREATED" for e in expect.values())
    # The next night's export: the same customers, in another order, one name edited.
    text = source.read_bytes().split(b"\r\n")
    body = [line for line in text[1:] if line]
    random.Random(1).shuffle(body)
    edited = tmp_path / "crm-reordered.csv"
    edited.write_bytes(b"\r\n".join([text[0], *body]) + b"\r\n")
    again = cli_process("put", str(edited), *connection, "--out", str(tmp_path / "b.jsonl"),
                        *options)
    assert again.returncode == 1, again.stderr
    assert len(target.requests) == created  # every request replayed its token
    second = outcomes(tmp_path / "b.jsonl")
    ids = {line["id"] for line in second if line.get("id")}
    assert ids == {r.id for r in target.requests}
    assert json.dumps(second).count("INVALID_INPUT") == json.dumps(
        outcomes(tmp_path / "a.jsonl")).count("INVALID_INPUT")


def test_one_customer_id_on_two_different_rows_is_refused_and_the_same_line_twice_sent_once(
    tmp_path, v2
):
    target, connection = v2
    source = tmp_path / "crm.csv"
    source.write_text(
        "Customer ID,Phone Number,First Name\n"
        "C1,+14155550001,Ann\n"
        "C1,+14155550001,Ann\n"  # the same line again: one request
        "C1,+14155550002,Bob\n"  # C1 again, another person: the file contradicts itself
    )
    out = tmp_path / "o.jsonl"
    done = cli_process("put", str(source), *connection, "--out", str(out), "--quiet",
                       "--phone-column", "Phone Number", "--key-column", "Customer ID",
                       "--attributes", "First Name=first_name")
    assert done.returncode == 1, done.stderr
    by_row = {line["row"]: line for line in outcomes(out)}
    assert by_row[2]["code"] == "DUPLICATE_IN_JOB"
    assert by_row[2]["duplicate_of_row"] == 1
    assert by_row[3]["code"] == "INVALID_INPUT"
    assert by_row[3]["message"] == "request_identifier: repeats row 1 (line 2)"
    assert [r.destination for r in target.requests] == ["+14155550001"]
    assert by_row[1]["id"] == target.requests[0].id
