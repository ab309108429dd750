"""Demo seeds, one module per service (`python -m casebridge.devstack.seeds.<service>`),
run by `make run` and docker compose after the service's migrations. Each is idempotent."""
