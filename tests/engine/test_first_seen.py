"""``FirstSeen``, the compact table of where each key first appeared: the same answers as a
dict for any sequence, its buckets and digests kept apart, and its size per key."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect_batch._engine.first_seen import (
    MAX_POSITION,
    FirstSeen,
    blake2b_digest,
    siphash_digest,
)
from connect_batch._engine.intake import RunKeys

DIGESTS = [None, siphash_digest, blake2b_digest]  # None: SipHash inline, the default


def reference(keys: list[str]) -> list[int | None]:
    """What a dict answers for ``keys`` in order: the first position of a repeat, or None."""
    first: dict[str, int] = {}
    answers: list[int | None] = []
    for position, key in enumerate(keys):
        earlier = first.setdefault(key, position)
        answers.append(None if earlier == position else earlier)
    return answers


@pytest.mark.parametrize("digest", DIGESTS)
@given(keys=st.lists(st.text(max_size=6) | st.sampled_from(["a", "b", "crm-1", ""]), max_size=300))
def test_answers_as_a_dict_does(digest: object, keys: list[str]) -> None:
    table = FirstSeen(digest)  # type: ignore[arg-type]
    assert [table.first(key, position) for position, key in enumerate(keys)] == reference(keys)
    assert len(table) == len(set(keys))


@given(
    keys=st.lists(st.integers(0, 50), min_size=1, max_size=400),
    start=st.integers(0, MAX_POSITION - 400),
)
def test_positions_far_apart_and_many_per_bucket(keys: list[int], start: int) -> None:
    # Every key in one bucket: bisection and insertion in a bucket that holds them all,
    # and positions up to the largest an array('I') holds.
    table = FirstSeen(lambda key: int(key) * 7919)  # bucket bits (64+) all zero
    names = [str(k) for k in keys]
    got = [table.first(name, start + i) for i, name in enumerate(names)]
    assert got == [None if p is None else start + p for p in reference(names)]


def test_digest_bits_and_bucket_bits_both_tell_keys_apart() -> None:
    digests = {
        "a": 5,
        "same digest, other bucket": 1 << 64 | 5,
        "other digest": 6,
        "the sign bit too": 1 << 63 | 5,
    }
    table = FirstSeen(digests.__getitem__)
    assert [table.first(key, i) for i, key in enumerate(digests)] == [None] * 4
    assert [table.first(key, 10 + i) for i, key in enumerate(digests)] == [0, 1, 2, 3]
    # Bits above the 74 used are ignored: a key differing only there is the same key.
    ignored = FirstSeen({"x": 1 << 74 | 3, "y": 3}.__getitem__)
    assert ignored.first("x", 0) is None
    assert ignored.first("y", 1) == 0


def test_the_inline_digest_is_siphash_digest() -> None:
    # The default computes siphash_digest inline: both must file every key alike.
    inline, called = FirstSeen(), FirstSeen(siphash_digest)
    for position in range(5_000):
        inline.first(f"k{position}", position)
        called.first(f"k{position}", position)
    assert inline._digests == called._digests  # the layout is the point
    assert inline._positions == called._positions


def test_a_position_beyond_32_bits_is_refused_and_not_remembered() -> None:
    table = FirstSeen()
    with pytest.raises(ValueError, match="outside"):
        table.first("k", MAX_POSITION + 1)
    assert len(table) == 0
    assert table.first("k", 3) is None


def test_run_keys_keeps_caller_keys_and_tokens_apart() -> None:
    seen = RunKeys()
    assert not seen.given_before("id-1", 0)
    assert seen.first_of("id-1", 1) is None  # a token equal to a caller's key: another table
    assert seen.given_before("id-1", 2)
    assert seen.first_of("id-1", 3) == 1
    assert seen.first_of("id-1", 1) is None  # the same position asked again is no repeat


def test_costs_at_most_16_bytes_a_key_at_100_000() -> None:
    # Allocation counted by tracemalloc, peak included: the bound (<= 16 bytes an id
    # from 100,000 up; benchmarks/memory.py measures 300,000 and 1,000,000 too).
    keys = [f"crm-{i}" for i in range(100_000)]
    tracemalloc.start()
    try:
        table = FirstSeen()
        for position, key in enumerate(keys):
            table.first(key, position)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(table) == len(keys)
    assert peak / len(keys) <= 16
