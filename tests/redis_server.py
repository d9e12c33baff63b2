"""A real redis-server process on loopback, as a user would run one: no fake."""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time

import attrs
import redis

REDIS_SERVER = shutil.which("redis-server")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends it SIGTERM when the test run that
    started it ends, however it ends (SIGKILL, Ctrl-C, a crash), so no redis-server
    outlives a stopped run. Linux only; elsewhere the fixtures' teardown stops it."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


# The kernel sends the death signal when the *thread* that started the child ends, not the
# process: a server (re)started by a test's helper thread died with that thread, and one
# started without the signal outlived a killed run. So every server is started by this one
# thread, which lives as long as the process.
_SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="redis")


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - Debian's redis-server, our options
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - set before exec, nothing else
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@attrs.define
class RedisServer:
    """One redis-server on ``port``, which may be stopped and started again on it."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls) -> RedisServer:
        if REDIS_SERVER is None:
            raise RuntimeError(
                "redis-server is not installed: the shared-limiter tests need a real Redis "
                "(Debian: apt-get install redis-server; .ci/run installs it)"
            )
        server = cls(free_port())
        server.ensure_running()
        return server

    def client(self, **options: object) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, **options)  # type: ignore[arg-type]

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure_running(self) -> None:
        if self.running():
            return
        assert REDIS_SERVER is not None
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--protected-mode", "yes"]
        self.process = _SPAWNER.submit(_spawn, command).result()
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client(socket_timeout=0.2).ping():
                    return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
