"""How a file's column (or JSON key) names map to what the chosen API reads, and one
row's outcome of building (``Row``).

Nothing here reads a file or sends anything; messages name columns, masked when a name looks
like a phone number or an address, never a value.
"""

from __future__ import annotations

import argparse
import pathlib
import re
from collections.abc import Mapping
from typing import Any

import attrs

from connect_batch.cli.api import ALL_COLUMNS, COLUMNS, DESTINATIONS, Api, UsageError
from connect_batch.runs import mask

# A ragged CSV row's surplus fields, and a record's problem.
SURPLUS = "\x00surplus"
PROBLEM = "\x00problem"


@attrs.frozen
class Row:
    """One data row: its 1-based number (header not counted), the line it starts on, and
    its request or error.

    ``identifier`` is the row's own request_identifier, kept for its outcome line whether
    or not the row is valid.
    """

    number: int
    request: Any
    error: str = ""
    identifier: str | None = None
    # The file line the row starts on: not the row number after a header, a blank line or
    # a CSV value holding a newline.
    line: int | None = None

    @property
    def where(self) -> str:
        """``row 3``, or ``row 3 (line 5)`` when the row starts on another line."""
        if self.line is None or self.line == self.number:
            return f"row {self.number}"
        return f"row {self.number} (line {self.line})"

    def numbered(self) -> dict[str, int]:
        """An outcome line's ``row``, and its ``line`` where that differs."""
        if self.line is None or self.line == self.number:
            return {"row": self.number}
        return {"row": self.number, "line": self.line}


_LOOKS_LIKE_DATA = re.compile(r"@|\d{4}")
# The campaign APIs' attribute (and template parameter) keys: CAMPAIGN_FACTS, [a-zA-Z0-9\-_]+.
CAMPAIGN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PHONE_LIKE = re.compile(r"phone|mobile|cell|tel|msisdn", re.IGNORECASE)
# The channels whose requests go to a phone number (v2).
_PHONE_CHANNELS = frozenset({"telephony", "sms", "whatsapp"})


def key_for(name: str) -> str:
    """A campaign attribute key for a column name: lower case, other characters as ``_``."""
    return re.sub(r"[^a-z0-9_-]+", "_", name.strip().lower()).strip("_") or "column"


def _shown(name: str) -> str:
    """A column name as messages show it: a name that looks like a phone number or an
    address (the first row of a file with no header, say) is masked."""
    if _LOOKS_LIKE_DATA.search(name):
        return repr(mask(name))
    return repr(name if len(name) <= 40 else name[:37] + "...")  # noqa: PLR2004


def listed(names: list[str]) -> str:
    return ", ".join(_shown(n) for n in names)


_OPTION = {
    "phone": "--phone-column", "email": "--email-column", "request_identifier": "--key-column",
}
UNNAMED = "\x00unnamed"  # a column with an empty header name: never sent
SHADOWED = "\x00shadowed:"  # a known column read from another (--phone-column): not sent


@attrs.frozen
class Columns:
    """How a file's column (or JSON key) names map to what the API reads.

    ``renames`` maps a lower-cased name to a known column (``--phone-column``,
    ``--email-column``, ``--key-column``); ``chosen`` is ``--attributes``: the only other
    columns sent, and ``keys`` the key each is sent under where ``--attributes`` maps it
    (``First Name=first``).
    ``channel`` is v2's ``--channel``, for rows without a channel column.
    """

    api: Api
    renames: Mapping[str, str] = attrs.field(factory=dict)
    chosen: tuple[str, ...] | None = None
    keys: Mapping[str, str] = attrs.field(factory=dict)
    channel: str | None = None

    @classmethod
    def from_args(cls, api: Api, args: argparse.Namespace) -> Columns:
        renames: dict[str, str] = {}
        for option, column in (
            ("phone_column", "phone"), ("email_column", "email"),
            ("key_column", "request_identifier"),
        ):
            name = getattr(args, option, None)
            if name is None:
                continue
            if column not in COLUMNS[api]:
                raise UsageError(f"--{option.replace('_', '-')}: {api.label} takes no {column}")
            renames[name.strip().lower()] = column
        chosen, keys = None, {}
        if getattr(args, "attributes", None) is not None:
            picked = []
            for part in args.attributes.split(","):
                column, _, key = part.partition("=")
                column, key = column.strip(), key.strip()
                if not column:
                    continue
                picked.append(column)
                if key:
                    keys[column] = key
            chosen = tuple(picked)
        channel = getattr(args, "channel", None) if api is Api.V2 else None
        return cls(api, renames, chosen, keys, channel)

    @property
    def known(self) -> frozenset[str]:
        return COLUMNS[self.api]

    @property
    def shadowed(self) -> frozenset[str]:
        """Known columns read from another column (--phone-column): a column of that name
        is neither read nor sent."""
        return frozenset(self.renames.values())

    def name(self, raw: str) -> str:
        """The column ``raw`` stands for: a known one whatever its case, or itself."""
        low = raw.strip().lstrip("\ufeff").lower()
        if low in self.renames:
            return self.renames[low]
        if low in self.known:
            return low if low not in self.shadowed else f"{SHADOWED}{raw}"
        return raw

    def _unsent(self, name: str) -> bool:
        return name.startswith("\x00") or name.strip().lower() in self.shadowed

    def check_renames(self, where: str, raw: list[str]) -> None:
        """Refuse --phone-column or --email-column naming a column the file does not have."""
        lowered = {n.strip().lstrip("\ufeff").lower() for n in raw}
        for source, column in self.renames.items():
            if source not in lowered:
                raise UsageError(
                    f"{_OPTION[column]} {source}: {where} has no such column (columns "
                    f"found: {listed(raw)}); nothing was sent"
                )

    def check(self, where: str, raw: list[str], names: list[str]) -> None:
        """Refuse names that would send something other than what the file means."""
        found = listed(raw)
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise UsageError(
                f"{where}: column(s) {', '.join(repeated)} appear more than once (columns "
                f"found: {found}); nothing was sent"
            )
        if self.chosen is None:
            foreign = [n for n in names if n.strip().lower() in ALL_COLUMNS - self.known]
            if foreign:
                raise UsageError(
                    f"{where}: column(s) {listed(foreign)} are not read by {self.api.label}, "
                    "and would be sent as attributes; drop or rename them, choose the "
                    "attribute columns with --attributes, or pick the API with --api. "
                    "Nothing was sent"
                )

    def check_keys(self, where: str, names: list[str]) -> None:
        """Refuse, before anything is sent, a column that would be sent under a key the
        campaign APIs never take (every row would fail on its own), naming the mapping."""
        if self.api not in (Api.V1, Api.V2):
            return  # BatchPutContact documents no rule for its keys
        sent = self.sent(names)
        bad = [n for n in sent if not CAMPAIGN_KEY.fullmatch(self.keys.get(n, n))]
        if not bad:
            return
        if any(_LOOKS_LIKE_DATA.search(n) for n in sent):
            example = "; the file may have no header row"  # its first row: no suggestion
        else:
            mapping = ",".join(f"{n}={key_for(n)}" for n in sent)
            example = f", for example --attributes {mapping!r}"
        raise UsageError(
            f"{where}: column(s) {listed(bad)} cannot be sent as {self.api.label} attribute "
            f"keys (letters, digits, '-' and '_' only); map them with --attributes{example}, "
            "or rename the columns. Nothing was sent"
        )

    def _suggest_phone(self, raw: list[str]) -> str:
        looks = [n for n in raw if _PHONE_LIKE.search(n) and n.strip().lower() != "phone"]
        if not looks:
            return ""
        return f" Did you mean --phone-column {_shown(looks[0])}?"

    def header(self, path: pathlib.Path, raw: list[str]) -> list[str]:
        """A CSV header's names; refuse repeats, foreign columns, and no destination.

        A column with no name (the trailing commas of a spreadsheet export) is not sent."""
        names = [
            self.name(n) if n.strip() else f"{UNNAMED}{index}" for index, n in enumerate(raw)
        ]
        self.check(str(path), raw, names)
        self.check_renames(str(path), raw)
        destinations = DESTINATIONS[self.api]
        if not any(d in names for d in destinations):
            wanted = " or ".join(repr(d) for d in destinations)
            raise UsageError(
                f"{path}: no {wanted} column (columns found: {listed(raw)}); a CSV file "
                "must be comma-separated with a header row (--phone-column names another "
                f"column).{self._suggest_phone(raw)} Nothing was sent"
            )
        if (
            self.channel in _PHONE_CHANNELS and "phone" not in names
            and "channel" not in names
        ):
            raise UsageError(
                f"{path}: no 'phone' column, which --channel {self.channel} sends to (columns "
                f"found: {listed(raw)}).{self._suggest_phone(raw)} For an email-only file "
                "give --channel email. Nothing was sent"
            )
        missing = [n for n in self.chosen or () if n not in raw]
        if missing:
            raise UsageError(
                f"--attributes: no column {listed(missing)} in {path} (columns found: "
                f"{listed(raw)})"
            )
        taken = [n for n in self.chosen or () if self.name(n) in self.known]
        if taken:
            raise UsageError(
                f"--attributes: {listed(taken)} is a column {self.api.label} reads "
                "itself; it cannot also be an attribute"
            )
        self.check_keys(str(path), names)
        return names

    def attributes(self, record: Mapping[str, str]) -> dict[str, str]:
        """The values a record sends as attributes (or template parameters)."""
        if self.chosen is not None:
            keys = self.keys
            return {keys.get(k, k): record[k] for k in self.chosen if record.get(k)}
        known, unsent = self.known, self._unsent
        return {k: v for k, v in record.items() if k and v and k not in known and not unsent(k)}

    def sent(self, keys: list[str]) -> list[str]:
        """Of the names a file has, those sent as attributes."""
        if self.chosen is not None:
            return [k for k in self.chosen if k in keys]
        return [k for k in keys if k and k not in self.known and not self._unsent(k)]

    def ignored(self, keys: list[str]) -> list[str]:
        """Of the names a file has, those neither read nor sent (shown as messages show
        names; a column with no name as '')."""
        sent = set(self.sent(keys))
        shown = []
        for k in keys:
            if k in self.known or k in sent or k == PROBLEM:
                continue
            if k.startswith(UNNAMED):
                shown.append("''")
            else:
                shown.append(k.removeprefix(SHADOWED))
        return shown

