"""Example values made from JSON Schemas, for the API page and the AsyncAPI document.

A schema's own `example` (or first of `examples`) wins; otherwise a value of its
type that satisfies it: the first of an enum, a decimal string for a decimal
pattern, every property of an object. References are followed MAX_DEPTH deep only.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

MAX_DEPTH = 5  # references followed (an Order's legs are Orders)
# Values that read better than "string" for fields of these names.
BY_NAME: dict[str, Any] = {
    "symbol": "AAPL", "email": "trader@example.com", "password": "correct horse battery",
    "name": "Trader", "currency": "USD", "asset": "USD", "exchange": "XNYS",
    "timezone": "America/New_York", "token": "eyJhbGciOiJIUzI1NiJ9...",
    "access_token": "eyJhbGciOiJIUzI1NiJ9...", "refresh_token": "r1.9f8e...",
    "title": "Apple beats estimates", "message": "Hello", "note": "take profit?",
    "key_id": "PKQ4MZ7T2RX9BN3LW8JD", "secret": "q9Xb2t7Lr_kP4sWm8vYc1Nz6Hd3Gf5Ja0Ue-RoTi",
}
DECIMAL_EXAMPLE = "100"
TIME_EXAMPLE = "2026-01-02T14:30:00Z"


def example_of(schema: Schema, schemas: dict[str, Schema], name: str = "",
               depth: int = 0) -> Any:
    """A value that satisfies schema (its $refs resolved in schemas)."""
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "$ref" in schema:
        if depth >= MAX_DEPTH:
            return None
        target = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return example_of(target, schemas, name, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next((value for value in schema["enum"] if value is not None), None)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(example_of(part, schemas, name, depth) or {})
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            choices = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return example_of(choices[0], schemas, name, depth)
    return _typed(schema, schemas, name, depth)


def _typed(schema: Schema, schemas: dict[str, Schema], name: str, depth: int) -> Any:
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        if "string" in kind and "number" in kind:  # a decimal sent as either
            return DECIMAL_EXAMPLE
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {key: example_of(value, schemas, key, depth)
                for key, value in schema.get("properties", {}).items()}
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, name, depth)]
    if kind in ("integer", "number"):
        low, high = schema.get("minimum", 1), schema.get("maximum", 1_000_000)
        return max(low, min(high, 1))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _text(schema, name)


def _text(schema: Schema, name: str) -> str:
    if "pattern" in schema and r"\d+(\.\d+)?" in schema["pattern"]:
        return DECIMAL_EXAMPLE
    if schema.get("format") == "date":
        return TIME_EXAMPLE[:10]
    if name in BY_NAME:
        return str(BY_NAME[name])
    if name == "id" or name.endswith("_id"):
        return "665f1c2e9b1e8a3d4c5b6a70"
    if name.endswith("_at") or name in ("timestamp", "at"):
        return TIME_EXAMPLE
    return "string"
