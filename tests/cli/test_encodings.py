"""The input file's encoding: byte-order marks, a legacy --encoding for UTF-8 text, and lines
that do not decode (named by number, never shown; --encoding-errors sends the rest)."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_contacts import cli, outcomes

HEADER = "CustomerID,phone,campaign_id,queue_id,name\n"
JOSE_UTF8 = "c2,+14155550102,c,q,José\n".encode()
LATIN1_LINE = b"c3,+14155550103,c,q,Jos\xe9 Secret\n"


def bom_file(tmp_path):
    source = tmp_path / "c.csv"
    source.write_bytes(
        b"\xef\xbb\xbf" + (HEADER + "c1,+14155550101,c,q,Zoë\n").encode() + JOSE_UTF8
    )
    return source


@pytest.mark.parametrize("encoding", [[], ["--encoding", "utf-8"], ["--encoding", "utf-8-sig"]])
def test_a_utf8_bom_is_stripped_and_the_header_read_as_written(tmp_path, served, encoding):
    double, connection = served
    done = cli("put", str(bom_file(tmp_path)), *connection, *encoding, "--quiet")
    assert done.returncode == 0, done.stderr
    assert sorted(tuple(sorted(c.attributes.items())) for c in double.contacts) == [
        (("CustomerID", "c1"), ("name", "Zoë")),
        (("CustomerID", "c2"), ("name", "José")),
    ]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_utf8_bom_with_a_legacy_encoding_stops_before_sending(tmp_path, served, encoding):
    double, connection = served
    refused = cli("put", str(bom_file(tmp_path)), *connection, "--encoding", encoding)
    assert refused.returncode == 2
    assert "UTF-8 byte-order mark" in refused.stderr
    assert f"--encoding {encoding}" in refused.stderr
    assert "Drop --encoding" in refused.stderr
    assert "Jos" not in refused.stderr
    assert double.contacts == []


def test_a_utf16_file_is_read_by_its_bom_and_a_legacy_encoding_refused(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_bytes((HEADER + "c1,+14155550101,c,q,Zoë\n").encode("utf-16"))
    refused = cli("put", str(source), *connection, "--encoding", "cp1252", "--quiet")
    assert refused.returncode == 2
    assert "UTF-16 byte-order mark" in refused.stderr
    assert double.contacts == []
    done = cli("put", str(source), *connection, "--quiet")
    assert done.returncode == 0, done.stderr
    (created,) = double.contacts
    assert created.attributes == {"CustomerID": "c1", "name": "Zoë"}


def test_utf8_text_read_as_cp1252_is_refused(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_bytes(HEADER.encode() + b"c1,+14155550101,c,q,Ann\n" + JOSE_UTF8)
    refused = cli("put", str(source), *connection, "--encoding", "cp1252")
    assert refused.returncode == 2
    assert "is UTF-8 text (non-ASCII on line 3)" in refused.stderr
    assert double.contacts == []


def mixed_file(tmp_path):
    """UTF-8 but for line 4, which is Latin-1."""
    source = tmp_path / "c.csv"
    source.write_bytes(
        HEADER.encode() + b"c1,+14155550101,c,q,Ann\n" + JOSE_UTF8 + LATIN1_LINE
        + b"c4,+14155550104,c,q,Bea\n"
    )
    return source


def test_lines_that_are_not_utf8_are_named_by_number_and_nothing_is_sent(tmp_path, served):
    double, connection = served
    refused = cli("put", str(mixed_file(tmp_path)), *connection)
    assert refused.returncode == 2
    assert "line 4 is not UTF-8 text" in refused.stderr
    assert "--encoding-errors skip-rows" in refused.stderr
    assert "--encoding-errors replace" in refused.stderr
    assert "garble" in refused.stderr  # the other lines are UTF-8: cp1252 is not the fix
    assert "Secret" not in refused.stderr
    assert "Jos" not in refused.stderr
    assert "Secret" not in refused.stdout
    assert double.contacts == []
    legacy = cli("put", str(mixed_file(tmp_path)), *connection, "--encoding", "cp1252")
    assert legacy.returncode == 2
    assert "mixes encodings" in legacy.stderr
    assert "line 3 holds" in legacy.stderr
    assert "line 4 is not" in legacy.stderr
    assert double.contacts == []


def test_many_bad_lines_name_the_first_ten_and_the_count(tmp_path):
    source = tmp_path / "c.csv"
    bad = b"".join(b"+1415555%04d,c,q,Jos\xe9\n" % i for i in range(1, 13))
    source.write_bytes(b"phone,campaign_id,queue_id,name\n" + bad)
    refused = cli("put", str(source), "--simulate", "--api", "connect")
    assert refused.returncode == 2
    assert "lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ... (12 in all)" in refused.stderr
    assert "--encoding (cp1252" in refused.stderr  # no UTF-8 elsewhere: cp1252 may be right


def test_skip_rows_makes_the_bad_row_invalid_and_sends_the_rest(tmp_path, served):
    double, connection = served
    out = tmp_path / "o.jsonl"
    done = cli("put", str(mixed_file(tmp_path)), *connection, "--out", str(out),
               "--encoding-errors", "skip-rows")
    assert done.returncode == 1, done.stderr
    assert "line 4 of" in done.stderr
    assert "their rows are INVALID_INPUT" in done.stderr
    lines = {line["row"]: line for line in outcomes(out)}
    assert lines[3]["code"] == "INVALID_INPUT"
    assert "line 4 is not UTF-8 text" in lines[3]["message"]
    assert all(lines[row]["id"] for row in (1, 2, 4))
    assert sorted(c.attributes["CustomerID"] for c in double.contacts) == ["c1", "c2", "c4"]
    assert "José" in {c.attributes["name"] for c in double.contacts}
    assert "Secret" not in out.read_text()
    again = cli("put", str(mixed_file(tmp_path)), *connection, "--resume", str(out),
                "--encoding-errors", "replace")
    assert again.returncode == 2  # the run was bound to skip-rows: replace sends row 3
    assert "--encoding-errors was 'skip-rows' (now 'replace')" in again.stderr
    assert len(double.contacts) == 3


def test_replace_sends_the_row_with_replacement_characters(tmp_path, served):
    double, connection = served
    done = cli("put", str(mixed_file(tmp_path)), *connection, "--quiet",
               "--encoding-errors", "replace")
    assert done.returncode == 0, done.stderr
    names = {c.attributes["CustomerID"]: c.attributes["name"] for c in double.contacts}
    assert names == {"c1": "Ann", "c2": "José", "c3": "Jos\ufffd Secret", "c4": "Bea"}


def test_a_replaced_phone_number_is_invalid_input(tmp_path):
    source = tmp_path / "c.csv"
    source.write_bytes(b"phone,campaign_id,queue_id\n+1415555\xe90101,c,q\n+14155550102,c,q\n")
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), "--simulate", "--api", "connect", "--quiet",
               "--encoding-errors", "replace", "--out", str(out))
    assert done.returncode == 1
    lines = sorted(outcomes(out), key=lambda line: line["row"])
    assert [line.get("code") for line in lines] == ["INVALID_INPUT", "CREATED"]


def test_skip_rows_in_jsonl_and_a_bad_header_stops(tmp_path):
    source = tmp_path / "c.jsonl"
    good = json.dumps({"phone": "+14155550101", "campaign_id": "c", "queue_id": "q"})
    source.write_bytes(good.encode() + b'\n{"phone": "+14155550102", "n": "\xe9"}\n')
    out = tmp_path / "o.jsonl"
    done = cli("put", str(source), "--simulate", "--api", "connect", "--quiet",
               "--encoding-errors", "skip-rows", "--out", str(out))
    assert done.returncode == 1
    lines = sorted(outcomes(out), key=lambda line: line["row"])
    assert [line.get("code") for line in lines] == ["CREATED", "INVALID_INPUT"]
    header = tmp_path / "h.csv"
    header.write_bytes(b"phone,n\xe9,campaign_id,queue_id\n+14155550101,x,c,q\n")
    stopped = cli("put", str(header), "--simulate", "--api", "connect",
                  "--encoding-errors", "skip-rows")
    assert stopped.returncode == 2
    assert "the header (line 1)" in stopped.stderr


def test_a_cp1252_file_reads_its_names(tmp_path, served):
    double, connection = served
    source = tmp_path / "c.csv"
    source.write_bytes(
        (HEADER + "c1,+14155550101,c,q,José Müller \u2013 Straße\n").encode("cp1252")
    )
    done = cli("put", str(source), *connection, "--encoding", "cp1252", "--quiet")
    assert done.returncode == 0, done.stderr
    (created,) = double.contacts
    assert created.attributes["name"] == "José Müller \u2013 Straße"


def test_an_unknown_encoding_is_a_usage_error(tmp_path):
    source = tmp_path / "c.csv"
    source.write_text("phone,campaign_id,queue_id\n+14155550101,c,q\n")
    refused = cli("put", str(source), "--simulate", "--api", "connect", "--encoding", "nope")
    assert refused.returncode == 2
    assert "--encoding nope: not an encoding Python knows" in refused.stderr
