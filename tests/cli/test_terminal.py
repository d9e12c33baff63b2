"""The CLI on a real pseudo-terminal: the progress bar and the outcomes table render."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

import pytest

from tests.cli.test_contacts import EXAMPLE, ROOT

# A real pseudo-terminal and a real process: the slow tier (pytest -m slow).
pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run connect-batch with stdout and stderr on a pty; its exit status and screen text."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "connect_batch", *args], cwd=ROOT, env=env,
        stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal,
    )
    os.close(terminal)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: every end of the terminal is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_and_outcomes_table_render_on_a_terminal():
    status, screen = run_on_a_terminal("put", str(EXAMPLE), "--simulate")
    assert status == 1  # the example holds one invalid row
    assert "\x1b[" in screen, "rich should draw with terminal control codes"
    text = ANSI.sub("", screen)
    assert "50/50" in text  # the bar's count, complete
    assert "created 49" in text
    assert "Outcomes" in text  # the table's title
    assert re.search(r"CREATED\s*│\s*49", text)
    assert re.search(r"INVALID_INPUT\s*│\s*1", text)
    assert "Traceback" not in text
    assert "+1415" not in text  # no phone number on screen


def test_a_usage_error_on_a_terminal_is_one_line_and_no_bar():
    status, screen = run_on_a_terminal("put", str(EXAMPLE))  # no --campaign-id
    assert status == 2
    text = ANSI.sub("", screen).strip()
    assert text.startswith("connect-batch: --campaign-id is required")
    assert "\n" not in text
    assert "━" not in text
