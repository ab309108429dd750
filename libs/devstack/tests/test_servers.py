"""The dev servers survive kills and restarts with their data, on the same port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import nats
import pytest

from casebridge.devstack import EmbeddedPostgres, NatsServer, free_port
from casebridge.testing.plugin import server_dir


# Data folders from server_dir, not tmp_path: another pytest session on the machine may reset
# pytest's per-user temp folder to 0700, which the server's own system user cannot enter.
@pytest.fixture
def pg() -> Iterator[EmbeddedPostgres]:
    with server_dir("pg") as path:
        server = EmbeddedPostgres(path / "pg", free_port())
        try:
            yield server.start()
        finally:
            server.stop(mode="immediate")


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    with (
        server_dir("nats") as path,
        NatsServer(path / "nats", free_port(), http_port=free_port()) as server,
    ):
        yield server


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_url_forms() -> None:
    server = EmbeddedPostgres(Path("/nonexistent"), 5433)
    assert server.url("casebridge_intake") == (
        "postgresql+asyncpg://postgres@127.0.0.1:5433/casebridge_intake"
    )
    assert server.url(driver=None) == "postgresql://postgres@127.0.0.1:5433/postgres"


async def test_postgres_kill_then_start_keeps_committed_data(pg: EmbeddedPostgres) -> None:
    pg.create_database("devstack_t")
    pg.create_database("devstack_t")  # idempotent
    conn = await asyncpg.connect(pg.url("devstack_t", driver=None))
    await conn.execute("CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')")
    await conn.close()

    pg.kill()
    assert not pg.is_running()
    pg.start()

    assert pg.is_running()
    conn = await asyncpg.connect(pg.url("devstack_t", driver=None))
    assert await conn.fetchval("SELECT v FROM t") == "kept"
    await conn.close()
    pg.drop_database("devstack_t")
    assert not pg.database_exists("devstack_t")


def test_postgres_start_reuses_leftover_server_on_same_port(pg: EmbeddedPostgres) -> None:
    # a second handle on the same data dir stands for a new run after a killed one
    again = EmbeddedPostgres(pg.data_dir, pg.port).start()
    assert again.psql("SELECT 1") == "1"


def test_postgres_start_on_other_port_replaces_leftover(pg: EmbeddedPostgres) -> None:
    other = EmbeddedPostgres(pg.data_dir, free_port()).start()
    assert other.psql("SELECT current_setting('port')") == str(other.port)
    other.restart()
    assert other.psql("SELECT 1") == "1"


async def test_nats_kill_then_restart_keeps_stream_message(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(name="DEVSTACK", subjects=["devstack.>"])
    ack = await js.publish("devstack.a", b"kept", headers={"Nats-Msg-Id": "m-1"})
    await nc.close()

    nats_server.kill()
    assert not nats_server.is_running()
    nats_server.restart()

    nc = await nats.connect(nats_server.url)
    msg = await nc.jetstream().get_msg("DEVSTACK", ack.seq)
    await nc.close()
    assert msg.data == b"kept"


def test_nats_config_has_sync_always(nats_server: NatsServer) -> None:
    config = nats_server.config_file.read_text()
    assert "sync_interval: always" in config
    assert f'listen: "127.0.0.1:{nats_server.port}"' in config


def test_nats_start_replaces_leftover_server(nats_server: NatsServer) -> None:
    again = NatsServer(nats_server.data_dir, nats_server.port).start()
    try:
        assert again.is_running()
        assert nats_server.pid != again.pid
    finally:
        again.stop()
