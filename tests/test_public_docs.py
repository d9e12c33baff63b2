"""Every public name, and every public method of a public class, has a docstring."""

from __future__ import annotations

import inspect

import pytest

import connect_batch
import connect_batch.aws_lambda
import connect_batch.testing

PUBLIC = [
    (module.__name__, name, getattr(module, name))
    for module in (connect_batch, connect_batch.aws_lambda, connect_batch.testing)
    for name in module.__all__
    # Type aliases (Outcome = Success | Failure) carry no docstring of their own.
    if inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name))
]


def undocumented(obj: object) -> list[str]:
    missing = [] if inspect.getdoc(obj) else ["(itself)"]
    if inspect.isclass(obj):
        for name, member in vars(obj).items():
            if name.startswith("_") or (not callable(member) and not isinstance(member, property)):
                continue
            function = member.__func__ if isinstance(member, staticmethod | classmethod) else member
            if not inspect.getdoc(function):
                missing.append(name)
    return missing


@pytest.mark.parametrize(("module", "name", "obj"), PUBLIC, ids=[f"{m}.{n}" for m, n, _ in PUBLIC])
def test_public_name_is_documented(module, name, obj):
    assert undocumented(obj) == []


def test_all_is_sorted():
    assert connect_batch.__all__ == sorted(connect_batch.__all__)
    assert connect_batch.testing.__all__ == sorted(connect_batch.testing.__all__)
