"""The runtime wheels (libs/common and the services) ship no test or dev tooling: none of their
modules imports pytest, casebridge.testing or casebridge.devstack, at module level or inside a
function, and no runtime package depends on the dev packages. The production image installs
without the dev group, where pytest does not exist."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SERVICES = sorted(p.parent for p in ROOT.glob("services/*/pyproject.toml"))
RUNTIME_PROJECTS = [ROOT / "libs" / "common", *SERVICES]
FORBIDDEN_MODULES = ("pytest", "_pytest", "casebridge.testing", "casebridge.devstack")
FORBIDDEN_PACKAGES = {"pytest", "pytest-asyncio", "casebridge-testing", "casebridge-devstack"}


def pyproject(project: Path) -> dict[str, Any]:
    with (project / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def wheel_roots(project: Path) -> list[Path]:
    """The folders the project's wheel is built from (hatch's `packages`)."""
    wheel = pyproject(project)["tool"]["hatch"]["build"]["targets"]["wheel"]
    return [project / package for package in wheel["packages"]]


def runtime_files() -> Iterator[tuple[Path, Path]]:
    """(source root, file) for every module a runtime wheel ships, and each service's
    migrations (they run from the production image too)."""
    for project in RUNTIME_PROJECTS:
        for root in wheel_roots(project):
            for path in sorted(root.rglob("*.py")):
                yield root.parent, path
        for path in sorted((project / "migrations").rglob("*.py")):
            yield project, path


def imported_modules(source_root: Path, path: Path) -> Iterator[str]:
    """Every module the file imports, anywhere in it; relative imports made absolute."""
    package = list(path.relative_to(source_root).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN_MODULES)


def test_no_runtime_module_imports_test_or_dev_tooling() -> None:
    files = list(runtime_files())
    assert len(files) > 50, "the walk found the runtime packages"
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for source_root, path in files
        for module in imported_modules(source_root, path)
        if forbidden(module)
    ]
    assert offenders == []


def test_no_runtime_package_ships_test_or_dev_tooling() -> None:
    shipped = {
        ".".join(path.relative_to(source_root).parts[:2])
        for source_root, path in runtime_files()
        if path.is_relative_to(source_root / "casebridge")
    }
    assert shipped == {"casebridge.common", *(f"casebridge.{p.name}" for p in SERVICES)}


def test_importing_every_runtime_module_loads_no_test_or_dev_tooling() -> None:
    """In a fresh interpreter (nothing else imported first): import all of it, then look."""
    packages = ["casebridge.common", *(f"casebridge.{p.name}" for p in SERVICES)]
    script = (
        "import importlib, json, pkgutil, sys\n"
        f"for name in {packages!r}:\n"
        "    package = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(package.__path__, name + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert "casebridge.intake.main" in loaded
    assert [m for m in loaded if forbidden(m)] == []


def test_no_runtime_package_depends_on_test_or_dev_packages() -> None:
    for project in [ROOT, *RUNTIME_PROJECTS]:
        dependencies = pyproject(project)["project"].get("dependencies", [])
        names = {canonicalize_name(Requirement(dependency).name) for dependency in dependencies}
        assert names & FORBIDDEN_PACKAGES == set(), project.relative_to(ROOT)
