"""A tiny JSON Schema checker for the subset the DTMS OpenAPI document uses: type (one or
a list), required, properties, additionalProperties, items, enum and local $ref.

Written here instead of adding a validator dependency; anything outside the subset is an
error, so the document cannot quietly grow keywords this checker ignores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_KNOWN = {
    "type",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "enum",
    "$ref",
    "description",
    "minimum",
    "maximum",
    "default",
    "allOf",
}


def resolve(ref: str, root: Mapping[str, Any]) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local refs are supported, got {ref}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def errors(
    value: Any, schema: Mapping[str, Any], root: Mapping[str, Any], at: str = "$"
) -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``path: problem`` strings."""
    unknown = set(schema) - _KNOWN
    if unknown:
        return [f"{at}: schema uses unsupported keywords {sorted(unknown)}"]
    if "$ref" in schema:
        return errors(value, resolve(schema["$ref"], root), root, at)
    out: list[str] = [e for part in schema.get("allOf", []) for e in errors(value, part, root, at)]
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            return [f"{at}: expected {'|'.join(types)}, got {type(value).__name__} {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{at}: {value!r} not in {schema['enum']}")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{at}: missing required {name!r}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                out += errors(item, props[name], root, f"{at}.{name}")
            elif extra is False:
                out.append(f"{at}: unexpected property {name!r}")
            elif isinstance(extra, Mapping):
                out += errors(item, extra, root, f"{at}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += errors(item, schema["items"], root, f"{at}[{i}]")
    return out
