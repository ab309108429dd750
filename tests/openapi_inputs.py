"""Every string input of an app's operations, read from its OpenAPI document: query, path
and header parameters, JSON body fields (nested ones too) and form fields; and a plain
instance of a schema to put a bad value into."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Json = Any
# A field's place in a JSON body: property names, and "[]" for an array item.
Pointer = tuple[str, ...]


@dataclass(frozen=True)
class StringInput:
    """One string an operation reads: where it is, its name (or body pointer), its limit."""

    method: str
    path: str
    location: str  # query, path, header, json, form
    name: Pointer
    max_length: int | None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]


class Spec:
    """An OpenAPI document with its $refs resolved on demand."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: Json) -> Json:
        while isinstance(schema, dict) and "$ref" in schema:
            node: Any = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def operations(self) -> Iterator[Operation]:
        for path, item in self.document["paths"].items():
            for method, spec in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    yield Operation(method.upper(), path, spec)

    def variants(self, schema: Json) -> list[Json]:
        """The alternatives of a schema (anyOf/oneOf), resolved; itself if none."""
        schema = self.resolve(schema)
        options = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
        if options:
            return [v for option in options for v in self.variants(option)]
        return [schema]

    def string_leaves(
        self, schema: Json, at: Pointer = (), depth: int = 0
    ) -> Iterator[tuple[Pointer, int | None]]:
        """Every place in a body schema that takes a string, with its maxLength."""
        if depth > 8:
            return
        for variant in self.variants(schema):
            kind = variant.get("type")
            if kind == "string":
                yield at, variant.get("maxLength")
            elif kind == "array" and "items" in variant:
                yield from self.string_leaves(variant["items"], (*at, "[]"), depth + 1)
            elif kind == "object" or "properties" in variant:
                for name, sub in (variant.get("properties") or {}).items():
                    yield from self.string_leaves(sub, (*at, name), depth + 1)
                extra = variant.get("additionalProperties")
                if isinstance(extra, dict):
                    yield from self.string_leaves(extra, (*at, "{}"), depth + 1)

    def instance(self, schema: Json, depth: int = 0) -> Json:
        """A plain value of the schema: its example if it has one, else the required
        properties filled with simple values."""
        schema = self.resolve(schema)
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            return examples[0]
        if "example" in schema:
            return schema["example"]
        variant = next(
            (v for v in self.variants(schema) if v.get("type") != "null"), self.variants(schema)[0]
        )
        if "enum" in variant:
            return variant["enum"][0]
        kind = variant.get("type")
        if kind == "object" or "properties" in variant:
            if depth > 6:
                return {}
            properties = variant.get("properties") or {}
            return {
                name: self.instance(properties[name], depth + 1)
                for name in variant.get("required", [])
                if name in properties
            }
        return _simple(variant)

    def inputs(self, operation: Operation) -> Iterator[StringInput]:
        for parameter in operation.spec.get("parameters", []):
            parameter = self.resolve(parameter)
            strings = [v for v in self.variants(parameter["schema"]) if v.get("type") == "string"]
            if strings and parameter["in"] in ("query", "path", "header"):
                yield StringInput(
                    operation.method,
                    operation.path,
                    parameter["in"],
                    (parameter["name"],),
                    strings[0].get("maxLength"),
                )
        content = operation.spec.get("requestBody", {}).get("content", {})
        for media_type, location in (
            ("application/json", "json"),
            ("application/x-www-form-urlencoded", "form"),
        ):
            if media_type in content:
                for pointer, limit in self.string_leaves(content[media_type]["schema"]):
                    yield StringInput(operation.method, operation.path, location, pointer, limit)


def _simple(schema: dict[str, Any]) -> Json:
    kind, fmt = schema.get("type"), schema.get("format")
    if kind == "string":
        return {
            "uuid": str(uuid.uuid4()),
            "date-time": "2026-11-20T10:00:00Z",
            "date": "2026-11-20",
        }.get(fmt or "", "x" * max(1, schema.get("minLength", 1)))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return None


def put(document: Json, pointer: Pointer, value: Any) -> Json:
    """A copy of the body with `value` at `pointer` (objects and arrays made on the way)."""
    if not pointer:
        return value
    head, rest = pointer[0], pointer[1:]
    if head == "[]":
        items = document if isinstance(document, list) and document else [{}]
        return [put(items[0], rest, value)]
    if head == "{}":
        return {"key": put({}, rest, value)}
    base = dict(document) if isinstance(document, dict) else {}
    base[head] = put(base.get(head, {}), rest, value)
    return base
