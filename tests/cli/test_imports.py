"""The command line uses only the library's public names, as any application could."""

from __future__ import annotations

import ast
import inspect
import pathlib

import pytest

import connect_batch.runs

CLI = pathlib.Path(__file__).resolve().parents[2] / "connect_batch" / "cli"
SOURCES = sorted(CLI.glob("*.py"))
ALLOWED = (
    "connect_batch", "connect_batch.events", "connect_batch.runs", "connect_batch.testing",
    "connect_batch.otel", "connect_batch.progress",
)


def internal_imports(source: pathlib.Path) -> list[str]:
    """Each import of a private module, or of a private name, from connect_batch."""
    found = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            if module != "connect_batch" and not module.startswith("connect_batch."):
                continue
            parts = module.split(".")
            if any(part.startswith("_") for part in parts) or not (
                module in ALLOWED or module.startswith("connect_batch.cli")
            ):
                found.append(f"line {node.lineno}: {module}")
            found += [f"line {node.lineno}: {module}.{n}" for n in names if n.startswith("_")]
    return found


def test_the_cli_has_modules():
    assert len(SOURCES) > 5


@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_cli_module_imports_only_public_names(source):
    assert internal_imports(source) == []


@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
def test_cli_module_is_small_and_says_what_it_holds(source):
    text = source.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 500
    assert ast.get_docstring(ast.parse(text))


def test_the_check_catches_a_private_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from connect_batch._engine import AbortRun\nimport connect_batch._sync_client\n"
        "from connect_batch import _errors\nfrom connect_batch.runs import open_run\n"
    )
    assert len(internal_imports(bad)) == 3


@pytest.mark.parametrize("name", connect_batch.runs.__all__)
def test_runs_public_names_are_documented(name):
    obj = getattr(connect_batch.runs, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        assert inspect.getdoc(obj)
        for member, value in vars(obj).items() if inspect.isclass(obj) else ():
            if not member.startswith("_") and callable(value):
                assert inspect.getdoc(value), member
