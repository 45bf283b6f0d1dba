"""Schema checks of request bodies: unknown fields (strict decoding), wrong JSON types, required/enum.

`check(definition, obj, strict=...)` runs jsonschema's Draft202012Validator over
the Kubernetes 1.32 strict schemas (`schemas.definitions()`), one validator per
definition, built once and cached.  The validator sees a trimmed copy of the
definitions (descriptions and `x-kubernetes-*` annotations dropped, acyclic
`$ref`s inlined, still wrapped as `{"$defs": …, "$ref": "#/$defs/<name>"}`) and
three keywords replaced by faster equivalents with the same verdicts:

* `properties` walks the instance's keys (not the schema's), skips values whose
  schema is a bare `type` the value already has, and reports each key that the
  object's `additionalProperties: false` forbids as its own error, in document
  order (so one Problem per unknown field, the way strict decoding lists them);
* `additionalProperties` does the same for pure maps;
* `oneOf` accepts null outright (IntOrString / Quantity allow null in every branch).

Field paths use Kubernetes notation (`spec.template.spec.containers[0].foo`,
map keys as `.key`).  Type problems carry the Go decoder's message for built-in
kinds (`json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas
of type int32`), which Kubernetes wraps as `<Kind> in version "<v>" cannot be handled as
a <Kind>: …`.

A schema dict may be given instead of a definition name — a CustomResourceDefinition's
`openAPIV3Schema`: it is read as a structural schema (objects closed unless
`x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string`, `nullable`,
`x-kubernetes-embedded-resource`), with `apiVersion`/`kind` allowed and `metadata`
checked as an ObjectMeta at the root.  Compile it once with `compile_schema` and pass
the result to keep it cheap.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterable

from jsonschema import Draft202012Validator, ValidationError, validators

from kubesim import schemas

__all__ = ["CompiledSchema", "Problem", "check", "compile_schema", "unknown_fields_message", "validator_for"]

_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@dataclass(frozen=True)
class Problem:
    """One schema violation: `kind` is "unknown" (a field the schema does not know), "type" or "other".

    `field` is the Kubernetes field path; `message` never repeats it, except where Kubernetes' own text
    does (`unknown field "spec.foo"`, and the Go decoder's `json: cannot unmarshal … Go struct field …`),
    so "other" problems read as `f"{field}: {message}"` like a field.Error.
    """

    kind: str
    field: str
    message: str


# ---------------------------------------------------------------------------
# fast keywords

_PY_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null",
                  dict: "object", list: "array"}


def _plain_type_ok(sub: Any, value: Any) -> bool:
    """True when `sub` is {} or a bare {"type": …} that `value` certainly satisfies (no descent needed)."""
    n = len(sub)
    if n == 0:
        return True
    if n != 1:
        return False
    types = sub.get("type")
    if types is None:
        return False
    name = _PY_TYPE_NAMES.get(type(value))
    if name is None:
        return False
    if isinstance(types, str):
        return name == types or (name == "integer" and types == "number")
    return name in types or (name == "integer" and "number" in types)


def _unknown(key: str) -> ValidationError:
    return ValidationError(f'unknown field "{key}"', path=(key,))


def _properties(validator, properties, instance, schema):
    if not isinstance(instance, dict):
        return
    extra = schema.get("additionalProperties", True)
    for key, value in instance.items():
        sub = properties.get(key)
        if sub is not None:
            if not _plain_type_ok(sub, value):
                yield from validator.descend(value, sub, path=key, schema_path=key)
        elif extra is False:
            yield _unknown(key)
        elif isinstance(extra, dict) and not _plain_type_ok(extra, value):
            yield from validator.descend(value, extra, path=key)


def _additional_properties(validator, extra, instance, schema):
    if not isinstance(instance, dict) or "properties" in schema:
        return  # objects with properties are handled by _properties
    if extra is False:
        for key in instance:
            yield _unknown(key)
    elif isinstance(extra, dict):
        for key, value in instance.items():
            if not _plain_type_ok(extra, value):
                yield from validator.descend(value, extra, path=key)


def _items(validator, items, instance, schema):
    if not isinstance(instance, list) or items is True:
        return
    for index, item in enumerate(instance):
        if not _plain_type_ok(items, item):
            yield from validator.descend(item, items, path=index)


_ONE_OF = Draft202012Validator.VALIDATORS["oneOf"]


def _one_of(validator, one_of, instance, schema):
    if instance is None:
        return
    yield from _ONE_OF(validator, one_of, instance, schema)


_Validator = validators.extend(Draft202012Validator, {
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "items": _items,
    "oneOf": _one_of,
})


# ---------------------------------------------------------------------------
# schema preparation

_KEEP_AS_IS = frozenset({"enum", "required", "const", "default", "example"})


def _slim(node: Any) -> Any:
    """Drop annotations the validator never reads; `type` lists become tuples."""
    if isinstance(node, list):
        return [_slim(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("description", "format") or k.startswith("x-kubernetes"):
            continue
        if k == "properties":
            out[k] = {p: _slim(s) for p, s in v.items()}
        elif k in _KEEP_AS_IS:
            out[k] = v
        elif k == "type" and isinstance(v, list):
            out[k] = tuple(v)
        else:
            out[k] = _slim(v)
    return out


def _inline(defs: dict[str, Any]) -> dict[str, Any]:
    """Replace `$ref`s by the definitions they name, except where that would recurse forever."""
    done: dict[str, Any] = {}

    def visit(node: Any, stack: frozenset) -> Any:
        if isinstance(node, list):
            return [visit(v, stack) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if ref is not None:
            name = ref.rsplit("/", 1)[-1]
            rest = {k: visit(v, stack) for k, v in node.items() if k != "$ref"}
            target = node if name in stack or name not in defs else resolve(name, stack)
            if target is node:
                return {"$ref": ref, **rest}
            return {"allOf": [target], **rest} if rest else target
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k == "properties":
                out[k] = {p: visit(s, stack) for p, s in v.items()}
            elif k in _KEEP_AS_IS:
                out[k] = v
            else:
                out[k] = visit(v, stack)
        return out

    def resolve(name: str, stack: frozenset) -> Any:
        hit = done.get(name)
        if hit is None:
            hit = done[name] = visit(defs[name], stack | {name})
        return hit

    return {name: resolve(name, frozenset()) for name in defs}


@functools.cache
def _prepared_defs() -> dict[str, Any]:
    return _inline({name: _slim(s) for name, s in schemas.definitions().items()})


@functools.cache
def validator_for(definition: str) -> Draft202012Validator:
    """The cached validator of a definition name (`io.k8s.api.apps.v1.Deployment`)."""
    defs = _prepared_defs()
    if definition not in defs:
        raise KeyError(f"no schema definition {definition!r}")
    return _Validator({"$defs": defs, "$ref": f"#/$defs/{definition}"})


# ---------------------------------------------------------------------------
# structural (CustomResourceDefinition) schemas


def _structural(node: Any, *, root: bool = False) -> Any:
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("description", "format", "nullable", "example", "externalDocs") or k.startswith("x-kubernetes"):
            continue
        if k == "properties":
            out[k] = {p: _structural(s) for p, s in v.items()}
        elif k in ("items", "additionalProperties", "not"):
            out[k] = _structural(v) if isinstance(v, Mapping) else v
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [_structural(s) for s in v]
        elif k == "type" and isinstance(v, list):
            out[k] = tuple(v)
        else:
            out[k] = v
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ("integer", "string")
    if node.get("nullable") and "type" in out:
        t = out["type"]
        out["type"] = (t, "null") if isinstance(t, str) else tuple(t) + ("null",)
    if root or node.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": ("string", "null")})
        props.setdefault("kind", {"type": ("string", "null")})
        props["metadata"] = _prepared_defs()[_OBJECT_META]
    is_object = out.get("type") == "object" or (isinstance(out.get("type"), tuple) and "object" in out["type"])
    if ((is_object or "properties" in out) and "additionalProperties" not in out
            and not node.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@dataclass(frozen=True, eq=False)
class CompiledSchema:
    """A structural schema made ready for `check` (keep it: compiling walks the whole schema)."""

    validator: Draft202012Validator
    schema: dict


def compile_schema(schema: Mapping[str, Any]) -> CompiledSchema:
    """Compile a CRD `openAPIV3Schema` (structural schema) for `check`."""
    prepared = _structural(schema, root=True)
    return CompiledSchema(_Validator(prepared), prepared)


# ---------------------------------------------------------------------------
# checking


def check(definition: str | Mapping[str, Any] | CompiledSchema, obj: Any, *, strict: bool) -> list[Problem]:
    """Problems of `obj` against a definition name, a compiled schema or a CRD schema dict.

    With strict=False unknown fields are not reported (Kubernetes then drops them).
    """
    if isinstance(definition, str):
        validator = validator_for(definition)
        structural = False
    elif isinstance(definition, CompiledSchema):
        validator, structural = definition.validator, True
    else:
        validator, structural = compile_schema(definition).validator, True
    problems: list[Problem] = []
    for error in validator.iter_errors(obj):
        problem = _problem(error, definition if not structural else None, structural)
        if problem is not None and (strict or problem.kind != "unknown"):
            problems.append(problem)
    return problems


def unknown_fields_message(problems: Iterable[Problem]) -> str:
    """Kubernetes' strict-decoding text: `strict decoding error: unknown field "spec.foo", unknown field "x"`."""
    fields = [f'unknown field "{p.field}"' for p in problems if p.kind == "unknown"]
    return "strict decoding error: " + ", ".join(fields)


def _problem(error: ValidationError, definition: str | None, structural: bool) -> Problem | None:
    path = list(error.absolute_path)
    keyword = error.validator
    if keyword in ("properties", "additionalProperties") and error.message.startswith("unknown field"):
        return Problem("unknown", _k8s_path(path), f'unknown field "{_k8s_path(path)}"')
    field = _k8s_path(path)
    if keyword == "type" or (keyword == "oneOf" and error.instance is not None and _is_scalar_union(error.schema)):
        if structural:
            expected = _expected_type(error.schema)
            shown = _json_value(error.instance)
            return Problem("type", field, f"Invalid value: {shown}: {field or '<root>'} in body must be of type "
                                          f"{expected}: {shown}")
        return Problem("type", field, _go_type_message(definition, path, error.instance))
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return Problem("other", f"{field}.{missing}" if field else missing, "Required value")
    if keyword in ("enum", "const"):
        allowed = error.validator_value if keyword == "enum" else [error.validator_value]
        supported = ", ".join(_json_value(v) for v in allowed)
        return Problem("other", field, f"Unsupported value: {_json_value(error.instance)}: supported values: {supported}")
    return Problem("other", field, f"Invalid value: {_json_value(error.instance)}: {error.message}")


def _is_scalar_union(schema: Any) -> bool:
    one_of = schema.get("oneOf") if isinstance(schema, dict) else None
    return bool(one_of) and all(isinstance(s, dict) and set(s) == {"type"} for s in one_of)


def _expected_type(schema: Any) -> str:
    t = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(t, (list, tuple)):
        t = [x for x in t if x != "null"]
        return t[0] if len(t) == 1 else "/".join(t)
    return t or "object"


def _json_value(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError):
        return repr(value)


def _k8s_path(path: list) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out = f"{out}.{p}" if out else str(p)
    return out


# --- Go decoder messages for built-in kinds ---------------------------------


def _go_value_name(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_type(raw: Any, defs: Mapping[str, Any], depth: int = 0) -> str:
    if not isinstance(raw, dict) or depth > 8:
        return "interface {}"
    ref = raw.get("$ref")
    if ref is not None:
        name = ref.rsplit("/", 1)[-1]
        if name.endswith("IntOrString"):
            return "int32"  # intstr.IntOrString decodes non-strings as int32
        parts = name.split(".")
        target = defs.get(name, {})
        if "properties" not in target and "type" in target:
            return _go_type(target, defs, depth + 1)
        return f"{parts[-2]}.{parts[-1]}"
    t = raw.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    fmt = raw.get("format")
    if t == "string":
        return "[]uint8" if fmt == "byte" else "string"
    if t == "boolean":
        return "bool"
    if t == "integer":
        return fmt if fmt in ("int32", "int64") else "int"
    if t == "number":
        return "float32" if fmt == "float" else "float64"
    if t == "array":
        return "[]" + _go_type(raw.get("items"), defs, depth + 1)
    if t == "object" and isinstance(raw.get("additionalProperties"), dict):
        return "map[string]" + _go_type(raw["additionalProperties"], defs, depth + 1)
    return "interface {}"


def _go_type_message(definition: str | None, path: list, value: Any) -> str:
    """encoding/json's UnmarshalTypeError text for a value at `path` of a built-in kind."""
    defs = schemas.definitions()
    kind = _go_value_name(value)
    if not path or definition is None:
        name = (definition or "").rsplit(".", 2)
        go = f"{name[-2]}.{name[-1]}" if len(name) >= 2 else "interface {}"
        return f"json: cannot unmarshal {kind} into Go value of type {go}"
    node: Any = defs.get(definition)
    struct = definition.rsplit(".", 1)[-1]
    fields: list[str] = []
    raw: Any = None
    for p in path:
        current_name = None
        while isinstance(node, dict) and "$ref" in node:
            current_name = node["$ref"].rsplit("/", 1)[-1]
            node = defs.get(current_name)
        if isinstance(p, int):
            raw = node.get("items") if isinstance(node, dict) else None
        elif isinstance(node, dict) and p in node.get("properties", {}):
            if current_name is not None:
                struct = current_name.rsplit(".", 1)[-1]
            fields.append(p)
            raw = node["properties"][p]
        else:
            raw = node.get("additionalProperties") if isinstance(node, dict) else None
            if not isinstance(raw, dict):
                raw = None
        node = raw
    go = _go_type(raw, defs)
    if kind == "number" and isinstance(value, float) and go.startswith("int"):
        kind = f"number {value!r}"
    return f"json: cannot unmarshal {kind} into Go struct field {struct}.{'.'.join(fields)} of type {go}"
