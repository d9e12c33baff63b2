"""The README's Install section says how to install from a checkout while the package is
not published, with extras the project has."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def install_section() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## Install", 1)[1].split("\n## ", 1)[0]


def test_install_says_how_to_install_from_a_checkout():
    section = install_section()
    assert "Not yet on PyPI" in section
    assert "from a checkout" in section
    assert "pip install '.[cli]'" in section
    assert "pip install -e '.[cli]'" in section
    assert "pip wheel --no-deps . -w dist" in section
    assert "git+URL" in section  # no made-up address


def test_every_extra_the_readme_names_exists():
    # Python 3.10 has no tomllib: the table's keys, read as written.
    table = (ROOT / "pyproject.toml").read_text().split("[project.optional-dependencies]")[1]
    extras = set(re.findall(r"^(\w+) = \[", table.split("\n[", 1)[0], re.MULTILINE))
    named = set(re.findall(r"\[(\w+)\]'", install_section()))
    assert named
    assert named <= extras
