"""CI check: connect-batch installed without the ``testing`` extra leaves pytest working.

Run with the Python of an environment holding connect-batch (no extras) and pytest, and no
moto. pytest loads the package's ``pytest11`` plugin at every start, so the plugin must load
without moto, a plain test must pass, and a test asking for ``fake_connect`` must fail with
a message naming the extra to install.

Not a test module (pytest collects only ``test_*.py``): ``.ci/run`` runs it as a script, and
``tests/testing/test_pytest_plugin.py`` runs it with moto hidden.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = """
def test_plain():
    assert 1 + 1 == 2


def test_needs_the_double(fake_connect):
    pass


def test_the_async_clients_import_without_their_extra():
    # The async clients are handed an aiobotocore client; the library never imports it.
    from connect_batch import AsyncOutboundRequestBatchClient, AsyncRedisRateLimiter

    assert AsyncOutboundRequestBatchClient.put_requests
    assert AsyncRedisRateLimiter.acquire_async
"""

EXTRA = "pip install 'connect-batch[testing]'"


def moto_is_importable() -> bool:
    try:
        importlib.import_module("moto")
    except ImportError:
        return False
    return True


def main() -> int:
    if moto_is_importable():
        print("bare install check: moto is importable here; run this without the extra")  # noqa: T201
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pytest.ini").write_text("[pytest]\n")  # the rootdir: no outside config
        (root / "test_bare.py").write_text(TESTS)
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"],
            cwd=root, capture_output=True, text=True, timeout=120, check=False,
        )
    output = run.stdout + run.stderr
    expected = {
        "pytest exits 1 (a test errored), not with a usage or internal error": run.returncode == 1,
        "the plain test passes": "PASSED test_bare.py::test_plain" in output,
        "the async clients import without aiobotocore": (
            "PASSED test_bare.py::test_the_async_clients_import_without_their_extra" in output
        ),
        "the fake_connect test errors": "ERROR test_bare.py::test_needs_the_double" in output,
        "the error names the extra to install": EXTRA in output,
        "the plugin is loaded (fake_connect is a known fixture)": "not found" not in output,
    }
    missed = [what for what, ok in expected.items() if not ok]
    if missed:
        print(output)  # noqa: T201
        for what in missed:
            print(f"bare install check: FAILED: {what}")  # noqa: T201
        return 1
    print(  # noqa: T201
        "bare install check: ok "
        "(plugin loads without moto; fake_connect explains the missing extra)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
