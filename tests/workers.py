"""Workers as real OS processes, so a test can SIGKILL them mid-flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from casebridge.common.settings import BaseServiceSettings


class WorkerProcess:
    def __init__(
        self, service: str, settings: BaseServiceSettings, log_dir: Path, **overrides: str
    ) -> None:
        self.service = service
        prefix = service.upper() + "_"
        self.env = {
            **os.environ,
            prefix + "DATABASE_URL": settings.database_url,
            prefix + "NATS_URL": settings.nats_url,
            prefix + "LOG_JSON": "false",
            prefix + "RELAY_POLL_INTERVAL_SECONDS": "0.2",
            prefix + "CONSUMER_ACK_WAIT_SECONDS": "5",
            **{prefix + k.upper(): v for k, v in overrides.items()},
        }
        self.log_path = log_dir / f"{service}-worker.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"casebridge.{self.service}.worker"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"{self.service} worker ignored SIGTERM") from None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]
