"""Decoding the input file: its byte-order mark, the encoding given, and the lines that
do not decode.

A byte-order mark names the file's encoding, so one that contradicts ``--encoding`` stops
the run: reading UTF-8 as cp1252 garbles every non-ASCII character without an error. So
does a legacy ``--encoding`` (cp1252, latin-1) for a file whose non-ASCII lines are UTF-8.
Lines that do not decode are named by number only (never their content, which is personal
data): by default they stop the run; ``--encoding-errors`` sends the rest.

Nothing here prints or sends.
"""

from __future__ import annotations

import codecs
import pathlib
import re

import attrs

from connect_batch.cli.api import UsageError

STRICT, REPLACE, SKIP_ROWS = "strict", "replace", "skip-rows"
ENCODING_ERRORS = (STRICT, REPLACE, SKIP_ROWS)
SHOWN = 10  # line numbers named in a message

# Each mark, the codec that reads what follows it, and the family it belongs to. UTF-32 LE
# before UTF-16 LE: its mark starts with theirs.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
_FAMILIES = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8",
    "utf-16": "UTF-16", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16",
    "utf-32": "UTF-32", "utf-32-le": "UTF-32", "utf-32-be": "UTF-32",
}
_UTF8_CHAR = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)

# Strict decoding never yields a lone surrogate, so one marks each undecodable stretch.
_MARK = "\udfff"


def _mark(error: UnicodeError) -> tuple[str, int]:
    if isinstance(error, UnicodeDecodeError):
        return _MARK, error.end
    raise error


codecs.register_error("connect_batch.mark", _mark)


@attrs.frozen
class Decoded:
    """The file's text (U+FFFD for each stretch not read), and the lines that held them."""

    text: str
    label: str  # the encoding read, as messages name it
    bad_lines: tuple[int, ...] = ()


def lines_named(numbers: list[int] | tuple[int, ...]) -> str:
    """``line 3`` or ``lines 3, 7 and 9`` or ``lines 3, 7, ... (25 in all)``."""
    if len(numbers) == 1:
        return f"line {numbers[0]}"
    shown = ", ".join(str(n) for n in numbers[:SHOWN])
    if len(numbers) > SHOWN:
        return f"lines {shown}, ... ({len(numbers)} in all)"
    return f"lines {shown}"


def _verb(numbers: list[int] | tuple[int, ...], one: str, many: str) -> str:
    return one if len(numbers) == 1 else many


def decode(path: pathlib.Path, data: bytes, encoding: str, errors: str = STRICT) -> Decoded:
    """``data`` as text, by its byte-order mark or ``encoding``; see the module's rules."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(f"--encoding {encoding}: not an encoding Python knows") from None
    given = _FAMILIES.get(name)
    codec, label = name, given or encoding
    for mark, bom_codec, family in BOMS:
        if data.startswith(mark):
            # A UTF-8 reading cannot read UTF-16 or UTF-32: their mark says what they are.
            if given not in (family, "UTF-8"):
                raise UsageError(_conflict(path, family, encoding))
            data, codec, label = data[len(mark):], bom_codec, family
            break
    else:
        if given is None and "\n".encode(name) == b"\n":
            _refuse_utf8_read_as_legacy(path, data, encoding)
    text = data.decode(codec, "connect_batch.mark")
    bad = tuple(n for n, line in enumerate(text.split("\n"), 1) if _MARK in line)
    if bad and errors == STRICT:
        raise UsageError(_undecodable(path, text, label, bad))
    return Decoded(text.replace(_MARK, "\ufffd"), label, bad)


def _conflict(path: pathlib.Path, family: str, encoding: str) -> str:
    fix = "drop --encoding (the default reads UTF-8)" if family == "UTF-8" else (
        f"give --encoding {family.lower()} or drop --encoding"
    )
    return (
        f"{path} starts with a {family} byte-order mark, but --encoding {encoding} says "
        f"otherwise: reading {family} text as {encoding} would garble every non-ASCII "
        f"character (names, say). {fix[0].upper()}{fix[1:]}; nothing was sent"
    )


def _refuse_utf8_read_as_legacy(path: pathlib.Path, data: bytes, encoding: str) -> None:
    """Stop a legacy encoding from garbling lines that are UTF-8 text."""
    utf8, other = [], []
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            other.append(number)
        else:
            if _UTF8_CHAR.search(line):
                utf8.append(number)
    if not utf8:
        return
    if not other:
        raise UsageError(
            f"{path} is UTF-8 text (non-ASCII on {lines_named(utf8)}): reading it as "
            f"{encoding} would garble every non-ASCII character (names, say). Drop "
            "--encoding; nothing was sent"
        )
    raise UsageError(
        f"{path} mixes encodings: {lines_named(utf8)} {_verb(utf8, 'holds', 'hold')} UTF-8 "
        f"text, which --encoding {encoding} would garble, and {lines_named(other)} "
        f"{_verb(other, 'is', 'are')} not UTF-8. Drop --encoding "
        "and give --encoding-errors skip-rows (those rows INVALID_INPUT) or replace (sent "
        "with U+FFFD for what is not read), or fix the file; nothing was sent"
    )


def _undecodable(path: pathlib.Path, text: str, label: str, bad: tuple[int, ...]) -> str:
    named = lines_named(bad)
    verb = _verb(bad, "is", "are")
    skipped = set(bad)
    others_read = label == "UTF-8" and any(
        not line.isascii() for n, line in enumerate(text.split("\n"), 1) if n not in skipped
    )
    choices = (
        "--encoding-errors skip-rows to send the other rows (those rows INVALID_INPUT), or "
        "--encoding-errors replace to send them with U+FFFD for what is not read"
    )
    if others_read:
        advice = (
            f"the other lines hold UTF-8 text, which --encoding cp1252 would garble: give "
            f"{choices}, or fix those lines"
        )
    else:
        advice = (
            "if the whole file is in another encoding, give it with --encoding (cp1252 or "
            f"latin-1, say); else give {choices}"
        )
    return f"{path}: {named} {verb} not {label} text; {advice}. Nothing was sent"
