"""Development tooling, never shipped in a runtime image: real PostgreSQL and nats-server
processes from wheels (for `make run` and the test fixtures), the demo area's fixed ids and
the demo seeds `make run` applies."""

from casebridge.devstack.nats_server import NatsServer
from casebridge.devstack.postgres import EmbeddedPostgres
from casebridge.devstack.processes import DevServerError, free_port, wait_for_port

__all__ = ["DevServerError", "EmbeddedPostgres", "NatsServer", "free_port", "wait_for_port"]
