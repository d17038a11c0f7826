"""Stopping a server command under test the way honcho and systemd do: SIGTERM to the process.

The command runs in the test process, so the signal goes to pytest itself. It is sent only once
the command has installed its own SIGTERM handler: a command that failed to start (or is slow to,
on a loaded machine) must fail its test, not terminate the whole run.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

#: How long a command may take to install its handler on a busy CI machine.
HANDLER_WAIT_SECONDS = 120.0


def sigterm_when_handled(before: Any, *, wait: float = HANDLER_WAIT_SECONDS) -> bool:
    """SIGTERM this process once its handler is no longer ``before``; False if it never was."""
    deadline = time.monotonic() + wait
    while signal.getsignal(signal.SIGTERM) == before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)
    return True


def retry_until(deadline_seconds: float = HANDLER_WAIT_SECONDS) -> float:
    """The monotonic time until which a client keeps trying to reach a starting server."""
    return time.monotonic() + deadline_seconds
