"""A CRM export as it is: header names no campaign key can be, a phone column under another
name, an email-only file. Each is one error before anything is sent, naming the fix; the
double's ledger shows that nothing was created, or what was."""

from __future__ import annotations

import pytest

from tests.cli.test_contacts import cli

CRM = "Customer ID,Phone Number,First Name,Email\nC-1,+14155550001,Ann,ann@example.com\n"


def test_a_header_no_campaign_key_can_be_is_one_error_naming_the_mapping(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "crm.csv"
    source.write_text(CRM)
    done = cli("put", str(source), *connection, "--phone-column", "Phone Number")
    assert done.returncode == 2
    assert "'Customer ID', 'First Name'" in done.stderr
    assert "--attributes 'Customer ID=customer_id,First Name=first_name'" in done.stderr
    assert "Nothing was sent" in done.stderr
    assert "ann@example.com" not in done.stderr
    assert target.requests == []


def test_attributes_map_a_column_to_a_key(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "crm.csv"
    source.write_text(CRM)
    done = cli("put", str(source), *connection, "--phone-column", "Phone Number",
               "--attributes", "First Name=first_name, Customer ID=customer_id")
    assert done.returncode == 0, done.stderr
    (created,) = target.requests
    assert created.destination == "+14155550001"
    assert created.parameters == {"first_name": "Ann", "customer_id": "C-1"}


def test_a_mapped_key_is_checked_too(tmp_path, v1):
    target, connection = v1
    source = tmp_path / "crm.csv"
    source.write_text("phone,First Name\n+14155550001,Ann\n")
    done = cli("put", str(source), *connection, "--attributes", "First Name=first name")
    assert done.returncode == 2
    assert "'First Name'" in done.stderr
    assert target.requests == []


def test_no_phone_column_names_the_column_that_looks_like_one(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "crm.csv"
    source.write_text(CRM.replace(",Email", ",Mail").replace(",First Name", ",first_name")
                      .replace("Customer ID", "customer_id"))
    done = cli("put", str(source), *connection)
    assert done.returncode == 2
    assert "Did you mean --phone-column 'Phone Number'?" in done.stderr
    assert target.requests == []


def test_an_email_column_does_not_make_a_telephony_file_email_only(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "crm.csv"
    source.write_text("customer_id,Phone Number,email\nC-1,+14155550001,ann@example.com\n")
    done = cli("put", str(source), *connection)
    assert done.returncode == 2
    assert "no 'phone' column, which --channel telephony sends to" in done.stderr
    assert "Did you mean --phone-column 'Phone Number'?" in done.stderr
    assert "--channel email" in done.stderr
    assert target.requests == []


@pytest.mark.parametrize("header", ["phone,First Name", "phone,first_name"])
def test_batch_put_contact_keys_are_not_judged(tmp_path, header, moto_server):
    # BatchPutContact documents no rule for its attribute keys: the CLI leaves them be.
    source = tmp_path / "c.csv"
    source.write_text(f"{header}\n+14155550001,Ann\n")
    done = cli("put", str(source), "--simulate", "--dry-run", "--api", "connect",
               "--campaign-id", "c", "--queue-id", "q")
    assert done.returncode == 0, done.stderr


def test_key_column_names_each_row_so_an_edited_row_replays(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "crm.csv"
    source.write_text("Customer ID,phone,first_name\nC-1,+14155550001,Ann\n")
    options = [*connection, "--key-column", "Customer ID", "--job-key", "crm"]
    assert cli("put", str(source), *options).returncode == 0
    source.write_text("Customer ID,phone,first_name\nC-1,+14155550001,Annie\n")  # edited
    again = cli("put", str(source), *options, "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    (created,) = target.requests  # the edit replayed under the row's key
    assert created.parameters == {"first_name": "Ann"}
    assert "Customer ID" not in created.parameters


def test_key_column_must_exist(tmp_path, v2):
    target, connection = v2
    source = tmp_path / "crm.csv"
    source.write_text("phone,first_name\n+14155550001,Ann\n")
    done = cli("put", str(source), *connection, "--key-column", "Customer ID")
    assert done.returncode == 2
    assert "--key-column customer id" in done.stderr
    assert target.requests == []
