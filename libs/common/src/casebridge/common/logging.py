"""Logs on stdout, one line per record: JSON for machines (the default, and whenever the
output is not a terminal), or a short readable line for a person at a terminal
(`<SVC>_LOG_JSON=false`; `make run` chooses it when its own output is a terminal).

uvicorn's own loggers go through the same handler, and its access log leaves out the
health and metrics polls (a supervisor asks every few seconds: noise, not traffic)."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
READABLE = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class HealthChecksFilter(logging.Filter):
    """Drop uvicorn access records of health and metrics polls."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            return args[2].split("?", 1)[0] not in QUIET_PATHS
        return True


def configure_logging(level: str = "INFO", *, json_format: bool = True, service: str = "") -> None:
    handler = logging.StreamHandler(sys.stdout)
    if json_format:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                static_fields={"service": service} if service else None,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(READABLE, datefmt="%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("nats").setLevel("WARNING")
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HealthChecksFilter) for f in access.filters):
        access.addFilter(HealthChecksFilter())
