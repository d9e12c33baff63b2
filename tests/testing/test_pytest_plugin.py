"""The pytest plugin: light at every pytest start, and usable without the ``testing`` extra.

pytest imports a ``pytest11`` entry point's module at every start, in every project of the
environment. So the plugin must not import moto or boto3 when it loads, and where moto is
not installed pytest must still run, with ``fake_connect`` failing in words that say what to
install. Each check runs in a fresh interpreter, since this one has long imported moto.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

BARE_CHECK = Path(__file__).parents[1] / "bare_install" / "check_bare.py"

# A sitecustomize that makes ``import moto`` fail as it does where moto is not installed.
HIDE_MOTO = """
import sys


class HideMoto:
    def find_spec(self, name, path=None, target=None):
        if name == "moto" or name.startswith("moto."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, HideMoto())
"""


def clean_env(pythonpath: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return env


def run_python(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def hidden_moto(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "hide_moto"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE_MOTO)
    return clean_env(site)


def test_loading_the_plugin_imports_neither_moto_nor_boto3(tmp_path):
    code = textwrap.dedent("""
        import sys
        from importlib.metadata import entry_points

        (plugin,) = [e for e in entry_points(group="pytest11") if e.name == "connect_batch"]
        plugin.load()
        print(plugin.value)
        print(sorted(m for m in ("moto", "boto3", "connect_batch.testing") if m in sys.modules))
    """)
    run = run_python(code, tmp_path, clean_env())
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["connect_batch._pytest_plugin", "[]"]


def test_the_hidden_moto_is_really_hidden(tmp_path):
    run = run_python("import moto", tmp_path, hidden_moto(tmp_path))
    assert run.returncode == 1
    assert "ModuleNotFoundError: No module named 'moto'" in run.stderr


def test_without_moto_pytest_runs_and_fake_connect_names_the_extra(tmp_path):
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(BARE_CHECK)],
        cwd=tmp_path, env=hidden_moto(tmp_path),
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("bare install check: ok")


def test_with_moto_fake_connect_works_in_a_project_of_its_own(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (tmp_path / "test_double.py").write_text(textwrap.dedent("""
        def test_double(fake_connect):
            result = fake_connect.batch_client().put_contacts([])
            assert result.all_succeeded
            assert fake_connect.instance_id and fake_connect.contacts == []
    """))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
