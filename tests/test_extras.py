"""A missing optional extra is one line naming it: ``MissingExtraError`` at every lazy import
of an optional dependency, and exit status 2 from the command line, with no traceback.

Each test hides a module in this process (``sys.modules[name] = None`` makes importing it
raise ``ModuleNotFoundError``, as where it is not installed); ``.ci/run`` checks the same
messages from a real install without extras.
"""

from __future__ import annotations

import importlib
import io
import pathlib
import sys

import pytest

import connect_batch
from connect_batch import (
    AsyncRedisRateLimiter,
    ConnectBatchError,
    MissingExtraError,
    RedisRateLimiter,
)
from connect_batch._errors import EXTRA_MODULES
from connect_batch.cli.progress import Progress
from tests.cli.test_contacts import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "contacts.csv"


def message(feature: str, extra: str) -> str:
    return f"{feature} needs the '{extra}' extra: pip install 'connect-batch[{extra}]'"


def hide(monkeypatch: pytest.MonkeyPatch, *tops: str) -> None:
    """Make ``tops`` and their submodules unimportable for this test."""
    for name in list(sys.modules):
        if name.partition(".")[0] in tops:
            monkeypatch.setitem(sys.modules, name, None)
    for top in tops:
        monkeypatch.setitem(sys.modules, top, None)


def forget(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """Drop ``package`` and its submodules from ``sys.modules`` for this test, so that the
    next import runs it again (the originals are put back afterwards)."""
    for name in list(sys.modules):
        if name == package or name.startswith(package + "."):
            monkeypatch.delitem(sys.modules, name)


def e164_csv(tmp_path: pathlib.Path) -> pathlib.Path:
    source = tmp_path / "e164.csv"
    source.write_text("phone,request_identifier\n+14155550100,r1\n+14155550101,r2\n")
    return source


# The error and its guard.


def test_the_error_is_an_import_error_and_a_connect_batch_error():
    error = MissingExtraError("a feature", "redis", name="redis")
    assert isinstance(error, ModuleNotFoundError)
    assert isinstance(error, ImportError)
    assert isinstance(error, ConnectBatchError)
    assert str(error) == message("a feature", "redis")
    assert (error.feature, error.extra, error.name) == ("a feature", "redis", "redis")
    assert "MissingExtraError" in connect_batch.__all__


def test_the_guard_names_the_extra_of_a_missing_module_and_nothing_else(monkeypatch):
    hide(monkeypatch, "redis")
    expected = pytest.raises(MissingExtraError, match=r"^X needs the 'redis' extra")
    with expected as caught, MissingExtraError.guard("X", "redis"):
        import redis  # noqa: F401, PLC0415
    assert caught.value.name == "redis"
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    # A missing module the extra does not bring is left as it was raised.
    with pytest.raises(ModuleNotFoundError) as other, MissingExtraError.guard("X", "redis"):
        import connect_batch_no_such_module  # noqa: F401, PLC0415
    assert not isinstance(other.value, MissingExtraError)


def test_every_extra_named_is_one_of_pyproject_toml():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "connect-batch"  # the spelling in the messages
    assert set(EXTRA_MODULES) <= set(project["optional-dependencies"])


# The library.


def test_redis_rate_limiter_from_url_names_the_redis_extra(monkeypatch):
    hide(monkeypatch, "redis")
    with pytest.raises(MissingExtraError) as caught:
        RedisRateLimiter.from_url("redis://127.0.0.1:1", key="k")
    assert str(caught.value) == message("RedisRateLimiter.from_url", "redis")


def test_async_redis_rate_limiter_from_url_names_the_redis_extra(monkeypatch):
    hide(monkeypatch, "redis")
    with pytest.raises(MissingExtraError) as caught:
        AsyncRedisRateLimiter.from_url("redis://127.0.0.1:1", key="k")
    assert str(caught.value) == message("AsyncRedisRateLimiter.from_url", "redis")


def test_importing_otel_names_the_otel_extra(monkeypatch):
    hide(monkeypatch, "opentelemetry")
    forget(monkeypatch, "connect_batch.otel")
    with pytest.raises(MissingExtraError) as caught:
        importlib.import_module("connect_batch.otel")
    assert str(caught.value) == message("connect_batch.otel", "otel")


def test_importing_testing_names_the_testing_extra(monkeypatch):
    hide(monkeypatch, "moto")
    forget(monkeypatch, "connect_batch.testing")
    with pytest.raises(MissingExtraError) as caught:
        importlib.import_module("connect_batch.testing")
    assert str(caught.value) == message("connect_batch.testing", "testing")


# The command line: one line on stderr, exit status 2, nothing sent.


def one_line(done) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    return line


def test_simulate_without_the_testing_extra(monkeypatch, tmp_path):
    hide(monkeypatch, "moto")
    forget(monkeypatch, "connect_batch.testing")
    done = cli("put", str(e164_csv(tmp_path)), "--simulate", "--out", str(tmp_path / "o"))
    assert one_line(done) == "connect-batch: " + message("--simulate", "testing")
    assert not (tmp_path / "o").exists()


def test_numbers_only_phonenumbers_reads_without_the_cli_extra(monkeypatch, tmp_path):
    hide(monkeypatch, "phonenumbers")
    # "+44 (0)20 ...": the trunk zero in brackets is for phonenumbers to read, not to guess.
    source = tmp_path / "trunk.csv"
    source.write_text("phone,request_identifier\n+14155550100,r1\n+44 (0)20 7946 0958,r2\n")
    done = cli("put", str(source), "--simulate", "--out", str(tmp_path / "o"))
    feature = "reading a phone number not already in international form"
    assert one_line(done) == "connect-batch: " + message(feature, "cli")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("option", "feature"),
    [(["--default-region", "us"], "--default-region"), (["--check-numbers"], "--check-numbers")],
)
def test_phone_options_without_the_cli_extra(monkeypatch, tmp_path, option, feature):
    hide(monkeypatch, "phonenumbers")
    done = cli("put", str(e164_csv(tmp_path)), "--simulate", "--dry-run", *option)
    assert one_line(done) == "connect-batch: " + message(feature, "cli")


@pytest.mark.parametrize("simulate", [True, False], ids=["simulated", "boto3"])
def test_redis_url_without_the_redis_extra(monkeypatch, tmp_path, simulate):
    hide(monkeypatch, "redis")
    where = ["--simulate"] if simulate else ["--region", "us-east-1", "--campaign-id", "c"]
    done = cli("put", str(e164_csv(tmp_path)), *where, "--redis-url", "redis://127.0.0.1:1",
               "--redis-key", "k", "--out", str(tmp_path / "o"))
    assert one_line(done) == "connect-batch: " + message("--redis-url", "redis")
    assert not (tmp_path / "o").exists()


def test_otel_option_without_the_otel_extra(monkeypatch, tmp_path):
    hide(monkeypatch, "opentelemetry")
    done = cli("put", str(e164_csv(tmp_path)), "--simulate", "--otel", "--out", str(tmp_path / "o"))
    assert one_line(done) == "connect-batch: " + message("--otel", "otel")
    assert not (tmp_path / "o").exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_without_the_cli_extra_stops_before_the_run(monkeypatch):
    hide(monkeypatch, "rich")
    with pytest.raises(MissingExtraError) as caught, Progress(3, quiet=False, stream=Terminal()):
        pytest.fail("entered")
    assert str(caught.value) == message("the progress bar (on a terminal)", "cli")


def test_the_public_progress_display_without_the_cli_extra(monkeypatch):
    hide(monkeypatch, "rich")
    forget(monkeypatch, "connect_batch.progress")
    progress = importlib.import_module("connect_batch.progress")  # only the display needs rich
    with pytest.raises(MissingExtraError) as caught:
        progress.RichProgress(total=3)
    assert str(caught.value) == message("RichProgress", "cli")


def test_the_summary_without_the_cli_extra_is_plain_lines(monkeypatch):
    # The summary comes after the run has sent: it is told, not replaced by an error.
    hide(monkeypatch, "rich")
    progress = Progress(3, quiet=True, stream=io.StringIO())
    for code in ("CREATED", "CREATED", "INVALID_INPUT"):
        progress.record(code)
    terminal = Terminal()
    progress.summary(terminal)
    assert terminal.getvalue() == "CREATED: 2\nINVALID_INPUT: 1\n"
