"""Where each key of a run first appeared, in about 13 bytes a key (``FirstSeen``).

A run remembers every identifier a caller gives (to refuse a repeated one) and, under a job
key, every job-derived per-item token (to answer a repeated request ``DUPLICATE_IN_JOB``,
naming the earlier input). Kept as Python strings or bytes in a set or dict, that cost 90 to
130 bytes a key: 93 MB or more a million. This keeps a fixed-width record per key instead.

Layout: a key's 74-bit digest is split in two. Ten bits choose one of 1,024 buckets; the
other 64 are stored, with the key's position, in that bucket's two arrays (``array('q')``
of digests, sorted, and ``array('I')`` of positions beside them): 12 bytes a key. A lookup
bisects one bucket (in C) and an insert moves half of it up by one record (a memmove of
~6 KB at a million keys, ~60 KB at ten million): about 1 µs a key in all.

Memory, all counted: 12 bytes a key, the arrays' growth margin (1/16 of what they hold) and
about 200 bytes of headers per bucket in use (~200 KB once all are, which is why small runs
pay more a key: 36 bytes at 10,000 keys): 12.6 bytes a key at a million keys, 14.7 at
100,000 (``benchmarks/memory.py`` measures it). Nothing large ever
doubles: a bucket grows by 1/16 of itself at a time, so the peak is the steady state.

The digest: the interpreter's own string hash, SipHash, keyed with the process's random
hash seed, taken of the key (64 bits) and of the key with a NUL appended (10 more bits);
where ``hash`` is narrower than 64 bits or not SipHash, BLAKE2b keyed with 16 random bytes.
False duplicates: two different keys are taken for one only if all 74 bits agree. By the
birthday bound the chance that any two of n keys collide is below n² / 2^75: 2.6e-13 for
100,000 keys, 2.6e-11 for a million, 2.6e-9 for ten million. (With ``PYTHONHASHSEED`` set,
the key is known, and inputs built on purpose could collide: that only refuses their own
input.)

Positions are below 2^32 (an ``array('I')`` of 4-byte entries). Knows nothing of inputs,
operations, threads or clocks; not thread-safe (a run keys its inputs on one thread).
"""

from __future__ import annotations

import os
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable
from hashlib import blake2b

_BUCKET_BITS = 10
_BUCKET_MASK = (1 << _BUCKET_BITS) - 1
_LOW_64 = (1 << 64) - 1
MAX_POSITION = (1 << 32) - 1
_SALT = os.urandom(16)


def siphash_digest(key: str) -> int:
    """74 bits: ``hash(key)``'s 64 low, 10 of the hash of ``key`` and a NUL above them.

    Two SipHash values of different messages under one secret key are independent.
    ``hash`` of a str is cached on it, so a caller's identifier costs one new hash.
    """
    return (hash(key + "\x00") & _BUCKET_MASK) << 64 | hash(key) & _LOW_64


def blake2b_digest(key: str) -> int:
    """80 bits of BLAKE2b keyed with this process's random salt (74 of them used)."""
    return int.from_bytes(blake2b(key.encode(), digest_size=10, key=_SALT).digest(), "little")


# SipHash is what CPython uses on 64-bit builds; anything else gets BLAKE2b (~0.7 µs more).
_SIPHASH = sys.hash_info.width >= _LOW_64.bit_length() and sys.hash_info.algorithm.startswith(
    "siphash"
)
_SIGN_BIT = 1 << 63


class FirstSeen:
    """Each key's first position: ``first(key, position)`` answers it, or remembers this one.

    ``digest``: a key's digest, an integer whose bits 0-73 are used (tests give their own).
    Without it, ``siphash_digest`` computed inline (a call less per key), or
    ``blake2b_digest`` where ``hash`` is not 64-bit SipHash.
    """

    __slots__ = ("_count", "_digest", "_digests", "_positions")

    def __init__(self, digest: Callable[[str], int] | None = None) -> None:
        self._digest = digest if digest is not None or _SIPHASH else blake2b_digest
        # Buckets are made when first used, so a table that stays empty costs ~16 KB.
        self._digests: list[array[int] | None] = [None] * (1 << _BUCKET_BITS)
        self._positions: list[array[int] | None] = [None] * (1 << _BUCKET_BITS)
        self._count = 0

    def __len__(self) -> int:
        """How many keys are remembered."""
        return self._count

    def first(self, key: str, position: int) -> int | None:
        """The position ``key`` first came at; or ``None``, and ``position`` is remembered."""
        digest_of = self._digest
        if digest_of is None:
            # siphash_digest, inline: hash() is already a signed 64-bit value, kept as is in
            # an array('q').
            digest, bucket = hash(key), hash(key + "\x00") & _BUCKET_MASK
        else:
            value = digest_of(key)
            # The low 64 bits as a signed value, as hash() gives them.
            digest = (value & _LOW_64) - ((value & _SIGN_BIT) << 1)
            bucket = (value >> 64) & _BUCKET_MASK
        digests, positions = self._digests[bucket], self._positions[bucket]
        if digests is None or positions is None:
            digests = self._digests[bucket] = array("q")
            positions = self._positions[bucket] = array("I")
        at = bisect_left(digests, digest)
        if at < len(digests) and digests[at] == digest:
            return positions[at]
        if not 0 <= position <= MAX_POSITION:
            raise ValueError(f"position {position} is outside 0..{MAX_POSITION}")
        positions.insert(at, position)
        digests.insert(at, digest)
        self._count += 1
        return None
