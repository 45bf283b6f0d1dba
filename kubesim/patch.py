"""The three PATCH flavours the API server accepts, applied to plain JSON data.

* `json_merge_patch` — RFC 7386 (`application/merge-patch+json`).
* `json_patch` — RFC 6902 (`application/json-patch+json`) with the behaviour of
  the library the API server uses (gopkg.in/evanphx/json-patch.v4): negative
  array indices count from the end, `replace` of a missing object member adds
  it, `copy` of a missing member copies null, `test` against null also passes
  for a missing member.  A failed operation answers what Kubernetes answers: a
  422 `Invalid` Status saying "the server rejected our request due to an error
  in our request" (the operation's own error is kept on the exception as
  `detail`).
* `strategic_merge_patch` — `application/strategic-merge-patch+json`, a port of
  apimachinery's server-side `strategicpatch.StrategicMergeMapPatch` that reads
  patch strategies and merge keys from the JSON schemas
  (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`) instead of Go
  struct tags.  Directives (`$patch`, `$retainKeys`, `$setElementOrder/…`,
  `$deleteFromPrimitiveList/…`) are honoured and never left in the result.

All three return new data and never mutate their arguments.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubesim import errors, schemas

__all__ = [
    "PatchError",
    "PatchRejected",
    "json_merge_patch",
    "json_patch",
    "strategic_merge_patch",
]

_MISSING = object()
MAX_JSON_PATCH_OPERATIONS = 10000
_REJECTED = "the server rejected our request due to an error in our request"


class PatchRejected(errors.Invalid):
    """422 Invalid with Kubernetes' generic text; `detail` says what failed (Kubernetes does not send it)."""

    def __init__(self, detail: str):
        errors.StatusError.__init__(self, _REJECTED, details={})
        self.detail = detail

    def __str__(self) -> str:
        return f"{_REJECTED}: {self.detail}"


class PatchError(errors.StatusError):
    """A malformed strategic merge patch that Kubernetes answers with a bare 500 (no reason), e.g. a missing merge key."""

    code = 500
    reason = ""


class _RequestEntityTooLarge(errors.StatusError):
    code = 413
    reason = "RequestEntityTooLarge"


def _copy(value: Any) -> Any:
    """Deep copy of JSON data (dicts, lists, scalars); much faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _go_type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return "number"


def _gofmt(value: Any) -> str:
    """Roughly Go's `%v` of decoded JSON, for error texts that quote a patch."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_gofmt(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_gofmt(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------
# RFC 7386


def json_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON merge patch: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return _copy(patch)
    result = _copy(target) if isinstance(target, dict) else {}
    _merge_into(result, patch)
    return result


def _merge_into(result: dict, patch: Mapping) -> None:
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            current = result.get(key)
            if not isinstance(current, dict):
                current = result[key] = {}
            _merge_into(current, value)
        else:
            result[key] = _copy(value)


# ---------------------------------------------------------------------------
# RFC 6902 (with evanphx/json-patch v4 behaviour)


class _OpFailed(Exception):
    pass


_ATOI = re.compile(r"^[+-]?[0-9]+$")


def _atoi(key: str) -> int:
    if not _ATOI.match(key):
        raise _OpFailed(f'strconv.Atoi: parsing "{key}": invalid syntax')
    return int(key)


def _unescape_pointer(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~") if "~" in token else token


def _find_container(doc: Any, path: Any) -> tuple[Any, str]:
    """The object or array holding the pointer's last token, and that token (None if unreachable)."""
    if not isinstance(path, str) or not path.startswith("/"):
        return None, ""
    parts = path.split("/")
    cur = doc
    for part in parts[1:-1]:
        token = _unescape_pointer(part)
        if isinstance(cur, dict):
            cur = cur.get(token)
        elif isinstance(cur, list):
            try:
                idx = _atoi(token)
            except _OpFailed:
                return None, ""
            cur = cur[idx] if 0 <= idx < len(cur) else None
        else:
            return None, ""
        if not isinstance(cur, (dict, list)):
            return None, ""
    return cur, _unescape_pointer(parts[-1])


def _array_get(arr: list, key: str) -> Any:
    idx = _atoi(key)
    if idx < 0 or idx >= len(arr):
        raise _OpFailed(f"Unable to access invalid index: {idx}: invalid index referenced")
    return arr[idx]


def _container_get(con: Any, key: str) -> Any:
    if isinstance(con, dict):
        return con.get(key)
    return _array_get(con, key)


def _container_add(con: Any, key: str, value: Any) -> None:
    if isinstance(con, dict):
        con[key] = value
        return
    if key == "-":
        con.append(value)
        return
    try:
        idx = _atoi(key)
    except _OpFailed as e:
        raise _OpFailed(f"value was not a proper array index: '{key}': {e}") from None
    size = len(con) + 1
    if idx >= size or idx < -size:
        raise _OpFailed(f"Unable to access invalid index: {idx}: invalid index referenced")
    if idx < 0:
        idx += size
    con.insert(idx, value)


def _container_remove(con: Any, key: str) -> None:
    if isinstance(con, dict):
        if key not in con:
            raise _OpFailed(f"Unable to remove nonexistent key: {key}: missing value")
        del con[key]
        return
    idx = _atoi(key)
    if idx >= len(con) or idx < -len(con):
        raise _OpFailed(f"Unable to access invalid index: {idx}: invalid index referenced")
    del con[idx]


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float)) and a == b
    return type(a) is type(b) and a == b


def _apply_operation(doc: Any, op: Mapping[str, Any]) -> None:
    kind = op.get("op")
    kind = kind if isinstance(kind, str) else "unknown"
    path = op.get("path")
    value = op.get("value")
    if kind in ("add", "remove", "replace", "test") and not isinstance(path, str):
        raise _OpFailed(f"{kind} operation failed to decode path: missing value")
    if kind == "add":
        con, key = _find_container(doc, path)
        if con is None:
            raise _OpFailed(f'add operation does not apply: doc is missing path: "{path}": missing value')
        try:
            _container_add(con, key, _copy(value))
        except _OpFailed as e:
            raise _OpFailed(f"error in add for path: '{path}': {e}") from None
    elif kind == "remove":
        con, key = _find_container(doc, path)
        if con is None:
            raise _OpFailed(f'remove operation does not apply: doc is missing path: "{path}": missing value')
        try:
            _container_remove(con, key)
        except _OpFailed as e:
            raise _OpFailed(f"error in remove for path: '{path}': {e}") from None
    elif kind == "replace":
        con, key = _find_container(doc, path)
        if con is None:
            raise _OpFailed(f"replace operation does not apply: doc is missing path: {path}: missing value")
        if isinstance(con, dict):
            con[key] = _copy(value)  # v4 quirk: a missing member is added
        else:
            try:
                idx = _atoi(key)
            except _OpFailed as e:
                raise _OpFailed(f"replace operation does not apply: doc is missing key: {path}: {e}") from None
            if not 0 <= idx < len(con):
                raise _OpFailed(f"replace operation does not apply: doc is missing key: {path}: missing value")
            con[idx] = _copy(value)
    elif kind in ("move", "copy"):
        source = op.get("from")
        if not isinstance(source, str):
            raise _OpFailed(f"{kind} operation failed to decode from: operation, missing from field: missing value")
        con, key = _find_container(doc, source)
        if con is None:
            raise _OpFailed(f"{kind} operation does not apply: doc is missing from path: {source}: missing value")
        try:
            moved = _container_get(con, key)
            if kind == "move":
                _container_remove(con, key)
        except _OpFailed as e:
            raise _OpFailed(f"error in {kind} for path: '{key}': {e}") from None
        if not isinstance(path, str):
            raise _OpFailed(f"{kind} operation failed to decode path: missing value")
        con, key = _find_container(doc, path)
        if con is None:
            raise _OpFailed(f"{kind} operation does not apply: doc is missing destination path: {path}: missing value")
        try:
            _container_add(con, key, _copy(moved) if kind == "copy" else moved)
        except _OpFailed as e:
            raise _OpFailed(f"error in {kind} for path: '{path}': {e}") from None
    elif kind == "test":
        con, key = _find_container(doc, path)
        if con is None:
            raise _OpFailed(f"test operation does not apply: is missing path: {path}: missing value")
        try:
            have = _container_get(con, key)
        except _OpFailed as e:
            raise _OpFailed(f"error in test for path: '{path}': {e}") from None
        if have is None:
            ok = value is None
        else:
            ok = "value" in op and _json_equal(have, value)
        if not ok:
            raise _OpFailed(f"testing value {path} failed: test failed")
    else:
        raise _OpFailed(f"Unexpected kind: {kind}")


def json_patch(target: Any, ops: Any) -> Any:
    """Apply an RFC 6902 JSON patch (a list of operations) and return the new document.

    Raises errors.BadRequest if `ops` is not a list of objects, a 413 StatusError past
    10000 operations, and `PatchRejected` (422 Invalid) when an operation fails.
    """
    if not isinstance(ops, list):
        raise errors.BadRequest(f"json: cannot unmarshal {_go_type_name(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        if not isinstance(op, dict):
            raise errors.BadRequest(
                f"json: cannot unmarshal {_go_type_name(op)} into Go value of type jsonpatch.Operation")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise _RequestEntityTooLarge(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}")
    doc = _copy(target)
    for op in ops:
        try:
            _apply_operation(doc, op)
        except _OpFailed as e:
            raise PatchRejected(str(e)) from None
    return doc


# ---------------------------------------------------------------------------
# strategic merge patch

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder"
_DELETE_FROM = "$deleteFromPrimitiveList"


def _bad_request(msg: str) -> errors.BadRequest:
    return errors.BadRequest(msg)


def _no_merge_key(item: Any, merge_key: str) -> PatchError:
    return PatchError(f"map: {_gofmt(item)} does not contain declared merge key: {merge_key}")


class _Schema:
    """Walks the JSON schemas alongside the data: `$ref`s resolve through the definitions."""

    __slots__ = ("defs",)

    def __init__(self, defs: Mapping[str, Any]):
        self.defs = defs

    def resolve(self, node: Any) -> dict | None:
        seen = 0
        while isinstance(node, dict):
            ref = node.get("$ref")
            if ref is None:
                return node
            node = self.defs.get(ref.rsplit("/", 1)[-1])
            seen += 1
            if seen > 64:
                return None
        return None

    @staticmethod
    def field(node: dict | None, key: str) -> dict | None:
        """The (unresolved) schema of `key` in an object schema: a property, else the map's value schema."""
        if node is None:
            return None
        props = node.get("properties")
        if props is not None:
            prop = props.get(key)
            if prop is not None:
                return prop
        extra = node.get("additionalProperties")
        return extra if isinstance(extra, dict) else None

    @staticmethod
    def meta(raw: dict | None) -> tuple[str, str | None]:
        """(patch strategy without retainKeys, merge key) of a field schema."""
        if raw is None:
            return "", None
        strategy = raw.get("x-kubernetes-patch-strategy", "")
        if "," in strategy:
            parts = [s for s in strategy.split(",") if s != "retainKeys"]
            strategy = parts[0] if parts else ""
        elif strategy == "retainKeys":
            strategy = ""
        return strategy, raw.get("x-kubernetes-patch-merge-key")

    def items(self, raw: dict | None) -> dict | None:
        node = self.resolve(raw)
        return node.get("items") if node is not None else None


def strategic_merge_patch(target: Any, patch: Any, definition: str | Mapping[str, Any] | None, *,
                          defs: Mapping[str, Any] | None = None) -> dict:
    """Apply a strategic merge patch to `target`, the schema given as a definition name (or schema, or None).

    `definition` is a name in `defs` (default: `schemas.definitions()`), e.g.
    "io.k8s.api.apps.v1.Deployment", or a schema dict; None (or an unknown path)
    means JSON-merge semantics (maps merge, lists replace) with directives still
    honoured.  Raises errors.BadRequest / PatchError / PatchRejected as Kubernetes would.
    """
    if not isinstance(patch, dict):
        raise errors.BadRequest(
            f"json: cannot unmarshal {_go_type_name(patch)} into Go value of type map[string]interface {{}}")
    if defs is None:
        defs = schemas.definitions() if definition is not None else {}
    walker = _Schema(defs)
    if isinstance(definition, str):
        node = walker.resolve(defs.get(definition))
    else:
        node = walker.resolve(definition)
    original = _copy(target) if isinstance(target, dict) else {}
    return _merge_map(original, patch, node, walker)


def _extract_key(key: str, prefix: str) -> str:
    head, sep, tail = key.partition("/")
    if not sep or head != prefix:
        if prefix == _DELETE_FROM:
            raise _bad_request("invalid patch format of primitive list")
        raise _bad_request("invalid patch format of setElementOrder list")
    return tail


def _clean(value: Any, raw: dict | None, walker: _Schema) -> Any:
    """A patch value that lands where the original has nothing: a fresh copy with its directives applied."""
    if isinstance(value, dict):
        return _merge_map({}, value, walker.resolve(raw), walker)
    if isinstance(value, list):
        strategy, merge_key = walker.meta(raw)
        items_raw = walker.items(raw)
        if strategy == "merge":
            return _merge_slice([], value, items_raw, merge_key, walker)[0]
        return [_clean(v, items_raw, walker) if isinstance(v, dict) and _has_directive(v) else _copy(v)
                for v in value]
    return value


def _has_directive(value: dict) -> bool:
    return any(k.startswith("$") for k in value)


def _merge_map(original: dict, patch: Mapping[str, Any], node: dict | None, walker: _Schema) -> dict:
    """mergeMap: `original` is owned (mutated and returned), `patch` is only read."""
    directive = patch.get(_DIRECTIVE, _MISSING)
    if directive is not _MISSING:
        if directive == "replace":
            rest = {k: v for k, v in patch.items() if k != _DIRECTIVE}
            return _merge_map({}, rest, node, walker)
        if directive == "delete":
            return {}
        if directive != "merge":
            raise PatchError(f"unknown patch type: {_gofmt(directive)} in map: {_gofmt(patch)}")
        patch = {k: v for k, v in patch.items() if k != _DIRECTIVE}

    retain = patch.get(_RETAIN_KEYS, _MISSING)
    if retain is not _MISSING:
        if not isinstance(retain, list):
            raise _bad_request("invalid patch format of retainKeys")
        keep = {k for k in retain if isinstance(k, str)}
        for k, v in patch.items():
            if v is None or k == _RETAIN_KEYS or k.startswith(_DELETE_FROM) or k.startswith(_SET_ORDER):
                continue
            if k not in keep:
                raise _bad_request("invalid patch format of retainKeys")
        for k in [k for k in original if k not in keep]:
            del original[k]

    handled: set[str] = set()
    for key, order in patch.items():
        if key.startswith(_SET_ORDER):
            name = _extract_key(key, _SET_ORDER)
            if _merge_with_order(original, patch, name, order, node, walker):
                handled.add(name)

    deletions: list[tuple[str, Any]] = []
    for key, pv in patch.items():
        if key in handled or key == _RETAIN_KEYS or key.startswith(_SET_ORDER):
            continue
        if key.startswith(_DELETE_FROM):
            deletions.append((_extract_key(key, _DELETE_FROM), pv))
            continue
        if pv is None:
            original.pop(key, None)
            continue
        ov = original.get(key)
        raw = walker.field(node, key)
        if ov is None:
            original[key] = _clean(pv, raw, walker)
        elif isinstance(ov, dict) and isinstance(pv, dict):
            strategy, _ = walker.meta(raw)
            if strategy == "replace":
                original[key] = _clean(pv, raw, walker)
            else:
                original[key] = _merge_map(ov, pv, walker.resolve(raw), walker)
        elif isinstance(ov, list) and isinstance(pv, list):
            strategy, merge_key = walker.meta(raw)
            if strategy == "merge":
                original[key] = _merge_slice(ov, pv, walker.items(raw), merge_key, walker)[0]
            else:
                original[key] = _clean(pv, raw, walker)
        else:
            original[key] = _clean(pv, raw, walker)

    for name, to_delete in deletions:
        if not isinstance(to_delete, list):
            raise PatchError(f"expected a []interface {{}}, but received a {_go_type_name(to_delete)}")
        current = original.get(name)
        if isinstance(current, list):
            original[name] = [v for v in current if not any(_same(v, d) for d in to_delete)]
    return original


def _same(a: Any, b: Any) -> bool:
    """Go interface equality for scalars (a bool never equals a number)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


class _KeyIndex:
    """First position of each item (by merge-key value, or by value for primitives) in a list."""

    __slots__ = ("first", "items", "merge_key")

    def __init__(self, items: list, merge_key: str | None):
        self.items = items
        self.merge_key = merge_key
        self.first: dict | None = {}
        for i, item in enumerate(items):
            k = self._key(item)
            try:
                self.first.setdefault(_hashable(k), i)
            except TypeError:
                self.first = None
                break

    def _key(self, item: Any) -> Any:
        if self.merge_key is None:
            return item
        return item.get(self.merge_key) if isinstance(item, dict) else None

    def index(self, item: Any) -> int:
        k = self._key(item)
        if self.first is not None:
            try:
                return self.first.get(_hashable(k), -1)
            except TypeError:
                pass
        for i, other in enumerate(self.items):
            if _same(self._key(other), k):
                return i
        return -1


def _hashable(k: Any) -> Any:
    # bools and numbers must not collide (Go compares interface values by dynamic type)
    return (type(k) is bool, k)


def _merge_sorted(left: list, right: list, server_order: _KeyIndex) -> list:
    """mergeSortedSlice: insert server-only items (left) among patch items (right) by live order."""
    out: list = []
    i = j = 0
    nl, nr = len(left), len(right)
    while i < nl or j < nr:
        if i >= nl:
            out.append(right[j])
            j += 1
        elif j >= nr:
            out.append(left[i])
            i += 1
        else:
            li = server_order.index(left[i])
            ri = server_order.index(right[j])
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _normalize_order(patch_items: list, server_only: list, patch_order: list, server_order: list,
                     merge_key: str | None) -> list:
    """normalizeElementOrder: patch items in patch order, server-only items woven in by live order."""
    porder = _KeyIndex(patch_order, merge_key)
    sorder = _KeyIndex(server_order, merge_key)
    big = len(patch_order) + len(server_order) + 1
    patch_items = sorted(patch_items, key=lambda x: (porder.index(x) + big) % big)
    server_only = sorted(server_only, key=lambda x: (sorder.index(x) + big) % big)
    return _merge_sorted(server_only, patch_items, sorder)


def _partition(merged: list, by: list, merge_key: str | None) -> tuple[list, list]:
    index = _KeyIndex(by, merge_key)
    inside, outside = [], []
    for item in merged:
        if merge_key is not None and (not isinstance(item, dict) or merge_key not in item):
            raise _no_merge_key(item, merge_key)
        (inside if index.index(item) >= 0 else outside).append(item)
    return inside, outside


def _element_kind(*lists: list) -> Any:
    """dict for lists of maps, "scalar" for primitives, None if both lists are empty."""
    kind: Any = None
    for lst in lists:
        for v in lst:
            t = dict if isinstance(v, dict) else list if isinstance(v, list) else "scalar"
            if kind is None:
                if t is list:
                    raise PatchRejected("lists of lists are not supported")
                kind = t
            elif kind != t:
                raise PatchError(f"list element types are not identical: {_gofmt(list(lists))}")
    return kind


def _merge_slice(original: list, patch: list, items_raw: dict | None, merge_key: str | None,
                 walker: _Schema) -> tuple[list, list]:
    """mergeSlice for a `merge`-strategy list: returns (merged, live order).

    The live order is what Go's slice aliasing leaves in the original backing
    array: the original list with deletions shifted out and the first appended
    items written into the freed tail; `$setElementOrder` weaves server-only
    items in by it.
    """
    if not original and not patch:
        return original, original
    kind = _element_kind(original, patch)
    if kind != dict:
        union: list = []
        for v in original + patch:
            if not any(_same(v, u) for u in union):
                union.append(v)
        patch_items, server_only = _partition(union, patch, None)
        return _normalize_order(patch_items, server_only, patch, original, None), original

    if not merge_key:
        raise PatchError("cannot merge lists without merge key for type struct")
    item_node = walker.resolve(items_raw)
    n = len(original)
    view = list(original)  # the backing array Go's `original` keeps seeing
    work = list(original)
    plain: list = []
    replace = False
    for element in patch:
        directive = element.get(_DIRECTIVE, _MISSING)
        if directive is _MISSING:
            plain.append(element)
        elif directive == "delete":
            if merge_key not in element:
                raise _no_merge_key(element, merge_key)
            value = element[merge_key]
            while True:
                i = next((i for i, item in enumerate(work)
                          if isinstance(item, dict) and merge_key in item and _same(item[merge_key], value)), -1)
                if i < 0:
                    break
                del work[i]
                view[i:len(work)] = work[i:]  # append(original[:i], original[i+1:]...) shifts in place
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            if len(element) > 1:
                plain.append(element)
        else:
            raise PatchError(f"unknown patch type: {_gofmt(directive)} in map: {_gofmt(element)}")
    if replace:
        cleaned = [_merge_map({}, e, item_node, walker) for e in plain]
        return cleaned, view

    after_deletions = list(work)
    for element in plain:
        if merge_key not in element:
            raise _no_merge_key(element, merge_key)
        value = element[merge_key]
        i = next((i for i, item in enumerate(work)
                  if isinstance(item, dict) and merge_key in item and _same(item[merge_key], value)), -1)
        if i >= 0:
            work[i] = _merge_map(work[i], element, item_node, walker)
        else:
            if len(work) < n:
                view[len(work)] = element  # append fits in the original's capacity
            work.append(_merge_map({}, element, item_node, walker))
    patch_items, server_only = _partition(work, plain, merge_key)
    return _normalize_order(patch_items, server_only, plain, after_deletions, merge_key), view


def _validate_order(patch_list: list, order: list, merge_key: str | None) -> None:
    """validatePatchWithSetOrderList: patch items must appear in the same relative order."""
    if not order or not patch_list:
        return
    if merge_key:
        for item in patch_list:
            if not isinstance(item, dict):
                raise PatchError(f"expected a map[string]interface {{}}, but received a {_go_type_name(item)}")
        non_delete = [x for x in patch_list if x.get(_DIRECTIVE) != "delete"]
    else:
        non_delete = patch_list
    pi = si = 0
    while pi < len(non_delete) and si < len(order):
        item = non_delete[pi]
        if isinstance(item, dict) and _DIRECTIVE in item:
            pi += 1
            continue
        if merge_key:
            target = order[si]
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            if not isinstance(target, dict) or merge_key not in target:
                raise _no_merge_key(target, merge_key)
            equal = _same(item[merge_key], target[merge_key])
        else:
            equal = _same(item, order[si])
        if equal:
            pi += 1
        si += 1
    if pi < len(non_delete) and si >= len(order):
        raise PatchError(f"The order in patch list:\n{_gofmt(patch_list)}\n doesn't match {_SET_ORDER} list:\n"
                         f"{_gofmt(order)}\n")


def _merge_with_order(original: dict, patch: Mapping[str, Any], name: str, order: Any, node: dict | None,
                      walker: _Schema) -> bool:
    """mergePatchIntoOriginal for one `$setElementOrder/<name>`; True if it settled `name`."""
    if not isinstance(order, list):
        raise PatchError(f"expected a []interface {{}}, but received a {_go_type_name(order)}")
    found_original = isinstance(original.get(name), list)
    found_patch = name in patch
    patch_list = patch.get(name)
    if found_patch and not isinstance(patch_list, list):
        if patch_list is None:
            return False  # a null list in the patch deletes it; the main loop does that
        raise PatchError(f"expected a []interface {{}}, but received a {_go_type_name(patch_list)}")
    raw = walker.field(node, name)
    strategy, merge_key = walker.meta(raw)
    if strategy != "merge":
        merge_key = None
    _validate_order(patch_list or [], order, merge_key)
    if found_original and not found_patch:
        merged = original[name]
        live = merged
    elif found_patch and not found_original:
        merged = _clean(patch_list, raw, walker)
        live = []
    elif found_original and found_patch:
        if strategy == "merge":
            merged, live = _merge_slice(original[name], patch_list, walker.items(raw), merge_key, walker)
        else:
            merged, live = _clean(patch_list, raw, walker), original[name]
    else:
        return False
    if merged and (merge_key is not None or not isinstance(merged[0], dict)):
        patch_items, server_only = _partition(merged, order, merge_key)
        merged = _normalize_order(patch_items, server_only, order, live, merge_key)
    original[name] = merged
    return True
