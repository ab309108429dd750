"""The pytest plugin every service uses: a real PostgreSQL and nats-server per test session
(started here on free ports, so tests may kill and restart them), databases built by the
migrations, and a factory of real signed tokens. A server that cannot start fails the run."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from casebridge.devstack import EmbeddedPostgres, NatsServer, free_port
from casebridge.devstack.nats_logins import prepare_nats_logins
from casebridge.testing.harness import migrate
from casebridge.testing.tokens import TokenFactory

_counter = itertools.count(1)


@contextmanager
def server_dir(kind: str) -> Iterator[Path]:
    """A data folder of our own: not under pytest's per-user temp folder, which another
    pytest session on the machine may reset to 0700 (the embedded PostgreSQL runs as its
    own system user and must keep reaching it)."""
    path = Path(tempfile.mkdtemp(prefix=f"casebridge-{kind}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def started_postgres() -> Iterator[EmbeddedPostgres]:
    with server_dir("pg") as path:
        server = EmbeddedPostgres(path, port=free_port())
        server.start()
        try:
            yield server
        finally:
            server.stop("immediate")


@contextmanager
def started_nats() -> Iterator[NatsServer]:
    # Tests do not fsync every write; production and `make run` do (sync_interval: always).
    # Locked as in `make run`: the services connect as a service user (`url` carries it),
    # partners only with a NATS user the registry gives them (casebridge.sharing.nats_auth).
    with server_dir("nats") as path:
        logins = prepare_nats_logins(path / "auth", cost=4)
        server = NatsServer(
            path,
            port=free_port(),
            sync_always=False,
            authorization_file=logins.authorization_file,
            login=logins.login("sharing"),
        )
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    with started_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def nats_server() -> Iterator[NatsServer]:
    with started_nats() as server:
        yield server


@pytest.fixture
def own_nats() -> Iterator[NatsServer]:
    """A nats-server this test alone may kill and restart (same port, same store)."""
    with started_nats() as server:
        yield server


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL this test alone may crash and restart."""
    with started_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory.generate()


MigratedDatabase = Callable[[str], Awaitable[str]]


@pytest.fixture(scope="session")
async def migrated_database(pg_server: EmbeddedPostgres) -> MigratedDatabase:
    """`await migrated_database("intake")` -> URL of a fresh database at the head revision."""

    async def make(service: str) -> str:
        name = f"test_{service}_{next(_counter)}"
        pg_server.create_database(name)
        url = pg_server.url(name)
        await migrate(service, url)
        return url

    return make


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Where a service under test keeps its files (keys, demo-clients.json)."""
    return tmp_path
