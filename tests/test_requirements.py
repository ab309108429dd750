"""Requirement ids (NATS-R4, OBX-R7, API1, ...) point at docs/requirements.md: every id the
repository cites is defined there, and every test or file that document names exists."""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "requirements.md"
REQUIREMENT_ID = re.compile(r"\b(?:API\d+|(?:AUTH|LEG|NATS|OBX|TEST)-R\d+)\b")
SHORTHAND = re.compile(r"\b(?:AUTH|LEG|NATS|OBX|TEST)-R\d+/R\d+")
SKIPPED = {".git", ".venv", "var", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
CITING = {".py", ".md", ".yaml", ".yml", ".toml", ".sql", ".conf"}


def defined() -> list[str]:
    """The ids the document defines: the first cell of each table row."""
    return re.findall(r"^\| ([A-Z]+(?:-R)?\d+) \|", DOCUMENT.read_text(encoding="utf-8"), re.M)


def citing_files() -> Iterator[Path]:
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if path.suffix in CITING and path.is_file() and not parts & SKIPPED and path != DOCUMENT:
            yield path


def test_each_requirement_is_defined_once() -> None:
    ids = defined()
    assert len(ids) > 30
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_every_cited_requirement_is_defined() -> None:
    known = set(defined())
    cited = {
        f"{path.relative_to(ROOT)}: {found}"
        for path in citing_files()
        for found in REQUIREMENT_ID.findall(path.read_text(encoding="utf-8", errors="replace"))
        if found not in known
    }
    assert sorted(cited) == []


def test_citations_name_each_id_in_full() -> None:
    """A slash list of ids (NATS-R3 slash R5) hides the second from a search: write each id."""
    shorthand = [
        f"{path.relative_to(ROOT)}: {found}"
        for path in citing_files()
        for found in SHORTHAND.findall(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert shorthand == []


def test_every_named_test_and_file_exists() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    missing = []
    for reference in re.findall(r"`([\w./-]+\.py)(?:::(\w+))?`", text):
        path, name = ROOT / reference[0], reference[1]
        if not path.exists():
            missing.append(reference[0])
        elif name and name not in functions(path):
            missing.append(f"{reference[0]}::{name}")
    assert missing == []


def functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
