"""What both development servers share: free ports, waiting for a port or a pid, errors."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

__all__ = [
    "DevServerError",
    "free_port",
    "pid_alive",
    "port_accepts",
    "tail",
    "wait_for_port",
    "wait_pid_gone",
]


class DevServerError(RuntimeError):
    """A development server could not be started or stopped; the message points at its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, *, timeout: float = 30.0) -> None:
    """Poll until host:port accepts a TCP connection, or raise DevServerError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_accepts(host, port):
            return
        time.sleep(0.05)
    raise DevServerError(f"nothing accepts connections on {host}:{port} after {timeout:.0f}s")


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def pid_alive(pid: int) -> bool:
    """True if pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        with contextlib.suppress(OSError):
            # the state letter follows the parenthesised command name
            return stat.read_text().rsplit(")", 1)[1].split()[0] not in {"Z", "X"}
    return True


def wait_pid_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return not pid_alive(pid)
