"""The library's default ``concurrency`` and the command line's differ on purpose;
docs/usage.md says both and why, and must keep saying what the code does."""

from __future__ import annotations

import inspect
import pathlib

import pytest

from connect_batch import (
    ContactBatchClient,
    DialRequestBatchClient,
    OutboundRequestBatchClient,
)
from connect_batch.cli.args import make_parser

USAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "usage.md"


@pytest.mark.parametrize(
    "client", [ContactBatchClient, OutboundRequestBatchClient, DialRequestBatchClient]
)
def test_the_library_defaults_to_one_call_in_flight(client):
    assert inspect.signature(client).parameters["concurrency"].default == 1


def test_the_command_line_defaults_to_four_and_the_docs_say_both():
    args = make_parser().parse_args(["put", "people.csv"])
    assert args.concurrency == 4
    text = USAGE.read_text()
    assert "default `concurrency` is 1 and the command line's is 4" in text
    assert "**The library defaults to 1.**" in text
    assert "**The command line defaults to 4** (`--concurrency`)" in text
