"""The pytest plugin every service uses: a real PostgreSQL and nats-server per test session
(started here on free ports, so tests may kill and restart them), databases built by the
migrations, and a factory of real signed tokens. A server that cannot start fails the run."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from casebridge.common.devstack import EmbeddedPostgres, NatsServer, free_port
from casebridge.common.testing.harness import migrate
from casebridge.common.testing.tokens import TokenFactory

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"), port=free_port())
    server.start()
    yield server
    server.stop("immediate")


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path_factory.mktemp("nats"), port=free_port(), sync_always=False)
    server.start()
    yield server
    server.stop()


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
    return tmp_path
