"""Phone numbers as people write them, made E.164: one rule for the command line and for
applications that hold national numbers.

The request builders take E.164 only (``+``, then 2-15 digits), as the APIs do, and check
nothing more: any such number is dialled. ``to_e164`` is where a number written for a country
(``(201) 555-0123`` in the US, ``020 7946 0958`` in the UK) becomes E.164, and it refuses to
guess: a number read through a region must be a valid number of that region's numbering
plan, or it is an error. Reading national numbers needs the ``phonenumbers`` package (the
``cli`` extra); numbers already in E.164 do not.

Messages never hold the number, nor any digit: numbers belong to people.
"""

from __future__ import annotations

import importlib.util
import re
from typing import TYPE_CHECKING

from connect_batch._errors import MissingExtraError, PhoneNumberError
from connect_batch.operations.contacts import E164

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

__all__ = ["PhoneNumberError", "to_e164"]

# What people write between digits: spaces, dots, dashes, slashes, parentheses.
_SEPARATORS = re.compile(r"[\s.\-/()]")
# International prefixes read whatever the region: 00 (most of the world) and 011 (North
# America). The region's own prefix (0011 from Australia, say) phonenumbers reads itself.
_PREFIXES = ("011", "00")
_INTERNATIONAL = (
    "a leading + and the country code, or an international prefix (double zero; zero one one "
    "from North America)"
)


def to_e164(text: str, *, region: str | None = None, check_plan: bool = False) -> str:
    """``text``, a phone number as written, in E.164 (``+442079460958``); or
    ``PhoneNumberError`` saying why not.

    - A number starting with ``+`` is taken as it is (spaces, dots, dashes and parentheses
      dropped; a ``(0)`` trunk prefix too) when E.164-shaped, as the builders take it.
      ``check_plan=True`` also requires it to be a valid number of its country's plan.
    - Any other number needs ``region`` (``"US"``, ``"GB"``: ISO 3166 codes, any case) and
      must be a valid number of that region's numbering plan, ``check_plan`` or not. It is
      read nationally first (``0113 496 0000`` in GB is a Leeds number); only if that reading
      is not valid is a leading international prefix (``00``, ``011``, or the region's own)
      read as one, and the rest must then be a valid international number. A number with
      an extension is refused: the APIs cannot dial one.

    ``region`` is checked whenever given: an unknown code is a ``PhoneNumberError`` with
    ``field="region"``. Reading anything but bare E.164 needs ``phonenumbers`` (the ``cli``
    extra); without it, ``MissingExtraError`` (a ``ModuleNotFoundError``) names the extra.
    """
    stripped = text.strip()
    code = None if region is None else _region(region)
    if E164.fullmatch(stripped) and not check_plan:
        return stripped
    if _SEPARATORS.sub("", stripped).startswith("+"):
        return _international(stripped, check_plan=check_plan)
    if code is None:
        raise PhoneNumberError(
            "not in international form (+, country code, number); to read a national number "
            "give its region (region='US'; the command line's --default-region, or a region "
            "column)"
        )
    return _national(stripped, code)


def _region(region: str) -> str:
    """``region`` as phonenumbers names it, or the error naming it (when it is no digits)."""
    _require()
    import phonenumbers  # noqa: PLC0415 - the optional extra, read lazily

    code = region.strip().upper()
    if code in phonenumbers.SUPPORTED_REGIONS:
        return code
    shown = repr(code) if code.isalpha() and len(code) <= 3 else "given"  # noqa: PLR2004
    raise PhoneNumberError(
        f"region {shown}: not a region code; give a two-letter country code (US, GB, ...)",
        field="region",
    )


def _international(text: str, *, check_plan: bool) -> str:
    """A number written with ``+``: E.164 once its separators are gone."""
    if importlib.util.find_spec("phonenumbers") is None:
        compact = _SEPARATORS.sub("", text)
        if not check_plan and E164.fullmatch(compact) and not re.search(r"\(\s*0\s*\)", text):
            return compact
        _require()
    parsed = _parse(text, None)
    if parsed is None or (check_plan and not _valid(parsed)):
        raise PhoneNumberError(
            "not a valid number of its country's numbering plan; check the number"
        )
    return _formatted(parsed)


def _national(text: str, region: str) -> str:
    """A number without ``+``, read for ``region``: its national reading if that is valid,
    else the reading of a leading international prefix if that one is."""
    readings = [_parse(text, region)]
    compact = _SEPARATORS.sub("", text)
    readings += [_parse("+" + compact[len(p) :], None) for p in _PREFIXES if compact.startswith(p)]
    for parsed in readings:
        if parsed is not None and _valid(parsed):
            return _formatted(parsed)
    raise PhoneNumberError(
        f"not a valid number in region {region}'s numbering plan; check the number and its "
        f"region, or write it internationally: {_INTERNATIONAL}"
    )


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    _require()
    import phonenumbers  # noqa: PLC0415 - the optional extra, read lazily

    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if parsed.extension:
        raise PhoneNumberError(
            "has an extension, which the APIs cannot dial; give the number without it"
        )
    return parsed


def _valid(parsed: PhoneNumber) -> bool:
    import phonenumbers  # noqa: PLC0415 - the optional extra, read lazily

    return bool(phonenumbers.is_valid_number(parsed))


def _formatted(parsed: PhoneNumber) -> str:
    import phonenumbers  # noqa: PLC0415 - the optional extra, read lazily

    formatted = str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    if not E164.fullmatch(formatted):
        raise PhoneNumberError("not a phone number in international form; check the number")
    return formatted


def _require() -> None:
    """Raise ``MissingExtraError`` naming the extra when phonenumbers is not installed."""
    if importlib.util.find_spec("phonenumbers") is None:
        raise MissingExtraError(
            "reading a phone number not already in international form", "cli",
            name="phonenumbers",
        )
