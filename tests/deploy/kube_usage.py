"""What the service asks of the Kubernetes API, read from its source: RBAC (API group, resource, verb, scope).

The service reaches the API in three ways; each is read from the code, not from a list kept here:

1. `tasks/kube/objects.py`: `objects.get|find|list_|patch|delete|create|create_or_get(api, kind=K | manifest=M)`.
   Each of those functions passes a constant verb to `_call` (`"read"`, `"create"`, …; read from objects.py's
   syntax tree, through the calls between them: `create_or_get` = create + read), and `_call` calls
   `f"{verb}_{KINDS[K][1]}"` on `KINDS[K][0]` — objects.py's own table. `K` must be a literal; `manifest=M` is
   followed to the `tasks/topology.py` function that built it, whose `"kind": "…"` literals (and those of the
   topology functions it calls) are the kinds.
2. kubernetes_asyncio API classes called directly (`client.CoreV1Api(api).read_namespaced_pod_log(…)`,
   `core.connect_get_namespaced_pod_exec(…)`), anywhere. `tasks/kube/watching.follow(kind=K[, namespace=N])`
   calls `LISTERS[K]` (watching.py's table): the all-namespaces method without N, the namespaced one with it;
   plainly (a list) and, if the function passes `watch=True` anywhere, as a watch.
3. `tasks/kube/lite.py`'s `Client` methods (the job-runner's client, plain HTTP/1.1): each public method is
   run once against a recording loopback server, which gives the HTTP method and path it requests (an exec is
   a websocket GET). Which of them the job-runner calls is read from its source.

A kubernetes_asyncio method's HTTP method and path are obtained by calling it with a recording `api_client`;
a method and path give the RBAC attributes as the API server's request-info resolver computes them (GET of a
collection is `list`, with `watch=true` `watch`, of a named object `get`; POST `create`; PATCH `patch`; …). The
scope is `namespace` for a path under `/namespaces/{namespace}/` and `cluster` otherwise (a cluster-scoped
resource, or a namespaced one across all namespaces: only a ClusterRoleBinding allows those).

Which process makes a call: the modules its entry point imports, transitively (imports inside functions
included). Anything the reader cannot resolve — a `kind=` that is not a literal, a manifest not built by
topology, an effectful adapter function passed around instead of called, an ambiguous API method — is
reported as a problem, never skipped: the RBAC test fails on problems.
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "tasks")
ADAPTER = "tasks.kube"                    # the adapter package: its functions are summarised, not counted
OBJECTS, WATCHING, LITE, TOPOLOGY = "tasks.kube.objects", "tasks.kube.watching", "tasks.kube.lite", "tasks.topology"
K8S_CLIENT = "kubernetes_asyncio.client"
WEBSOCKET_SUBRESOURCES = ("exec", "attach", "portforward")

# The processes and their entry modules (README "The service"; the Deployments' commands).
PROCESSES = {
    "api": "app",                         # gunicorn 'app:create_app()'
    "worker": "tasks.worker",             # celery -A tasks.worker worker -Q brq
    "beat": "tasks.beat",                 # celery -A tasks.beat beat
    "watcher": "tasks.watcher",           # python -m tasks.watcher
    "job-runner": "tasks.jobrunner",      # job-runner / python -m tasks.jobrunner (backup Jobs)
}


@dataclass(frozen=True, order=True)
class Grant:
    group: str
    resource: str
    verb: str
    scope: str                            # "namespace" | "cluster"

    def __str__(self) -> str:
        return f"({self.group or 'core'}, {self.resource}, {self.verb}, {self.scope})"


@dataclass(frozen=True)
class Use:
    grant: Grant
    where: str                            # "tasks/steps.py:115 objects.create_or_get"


class Problems(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the Kubernetes calls could not all be resolved:\n  " + "\n  ".join(problems))


# -- kubernetes_asyncio: methods, their routes, RBAC of a route ---------------------------------------------

@functools.cache
def api_classes() -> dict[str, type]:
    client = importlib.import_module(K8S_CLIENT)
    return {name: obj for name, obj in vars(client).items()
            if name.endswith("Api") and isinstance(obj, type) and name != "ApiClient"}


@functools.cache
def method_index() -> dict[str, tuple[str, ...]]:
    """API method name → the API classes that have it."""
    index: dict[str, list[str]] = {}
    for cls_name, cls in api_classes().items():
        for name in vars(cls):
            if not name.startswith("_") and not name.endswith("_with_http_info") and callable(getattr(cls, name)):
                index.setdefault(name, []).append(cls_name)
    return {name: tuple(sorted(classes)) for name, classes in index.items()}


@functools.cache
def route(cls_name: str, method: str) -> tuple[str, str]:
    """(HTTP method, path template) of a kubernetes_asyncio API method, by calling it with a recording client."""
    recorder = mock.MagicMock()
    recorder.call_api.side_effect = lambda path, http_method, *args, **kwargs: (http_method, path)
    bound = getattr(api_classes()[cls_name](api_client=recorder), method)
    params = [p for p in inspect.signature(bound).parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    result = bound(*[{} if p.name == "body" else "x" for p in params])
    if not (isinstance(result, tuple) and len(result) == 2):
        raise AssertionError(f"{cls_name}.{method} did not reach call_api")
    return result


def grants_of(http_method: str, path: str, *, watch: bool = False) -> set[Grant]:
    """RBAC attributes of a request, as the API server's request-info resolver derives them (none for a path that
    is not a resource's: /version and discovery are allowed to every authenticated client by default roles)."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:   # /version, discovery: the default system:public-info-viewer and system:discovery roles allow them
        return set()
    scope = "cluster"
    if len(rest) >= 3 and rest[0] == "namespaces":
        scope, rest = "namespace", rest[2:]
    if not rest:            # /api/v1, /apis/apps/v1: discovery
        return set()
    resource, named = rest[0], len(rest) > 1
    sub = rest[2] if len(rest) > 2 else None
    if sub:
        resource = f"{resource}/{sub}"
    method = http_method.upper()
    if method == "GET":
        verbs = {"watch" if watch else ("get" if named else "list")}
        if sub in WEBSOCKET_SUBRESOURCES:   # a websocket upgrade of a GET: `get`, and `create` since 1.30
            verbs.add("create")
    elif method == "POST":
        verbs = {"create"}
    elif method == "PUT":
        verbs = {"update"}
    elif method == "PATCH":
        verbs = {"patch"}
    elif method == "DELETE":
        verbs = {"delete" if named else "deletecollection"}
    else:
        raise ValueError(f"unknown HTTP method {http_method} for {path}")
    return {Grant(group, resource, verb, scope) for verb in verbs}


# -- the source: modules, imports, names --------------------------------------------------------------------

@dataclass
class Module:
    name: str
    path: str                             # relative to ROOT, for messages
    tree: ast.Module
    is_package: bool
    aliases: dict[str, str] = field(default_factory=dict)    # local name → dotted name
    imports: set[str] = field(default_factory=set)            # project modules imported

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _walk_scoped(tree: ast.AST):
    """(node, enclosing function defs innermost first) for every node."""
    stack: list[tuple[ast.AST, tuple]] = [(tree, ())]
    while stack:
        node, scopes = stack.pop()
        inner = (node,) + scopes if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else scopes
        for child in ast.iter_child_nodes(node):
            yield child, inner
            stack.append((child, inner))


class Codebase:
    def __init__(self, sources: dict[str, tuple[str, str, bool]]):
        """`sources`: module name → (path for messages, source text, is a package)."""
        self.modules: dict[str, Module] = {}
        for name, (path, text, is_package) in sources.items():
            self.modules[name] = Module(name, path, ast.parse(text, path), is_package)
        for module in self.modules.values():
            self._resolve_imports(module)
        self._summaries: dict[str, Summary] = {}

    @classmethod
    def from_root(cls, root: Path = ROOT) -> "Codebase":
        sources = {}
        for package in PACKAGES:
            for path in sorted((root / package).rglob("*.py")):
                rel = path.relative_to(root)
                parts = list(rel.with_suffix("").parts)
                is_package = parts[-1] == "__init__"
                if is_package:
                    parts.pop()
                sources[".".join(parts)] = (str(rel), path.read_text(encoding="utf-8"), is_package)
        return cls(sources)

    def with_module(self, name: str, text: str) -> "Codebase":
        """A copy with one more module (sharing the others, already parsed): how the analyser's tests feed it code."""
        code = Codebase({})
        code.modules = dict(self.modules)
        code.modules[name] = Module(name, name.replace(".", "/") + ".py", ast.parse(text), False)
        code._resolve_imports(code.modules[name])
        code._summaries = dict(self._summaries)
        return code

    # imports ---------------------------------------------------------------------------------------------

    def _resolve_imports(self, module: Module) -> None:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self._note_import(module, alias.name)
                    local = alias.asname or alias.name.split(".")[0]
                    module.aliases[local] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.package.split(".")
                    base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                self._note_import(module, origin)
                for alias in node.names:
                    target = f"{origin}.{alias.name}"
                    if target in self.modules:
                        self._note_import(module, target)
                    module.aliases[alias.asname or alias.name] = target
        for node in module.tree.body:   # the module's own functions and classes
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                module.aliases.setdefault(node.name, f"{module.name}.{node.name}")

    def _note_import(self, module: Module, name: str) -> None:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):   # importing a.b.c runs a and a.b too
            if ".".join(parts[:i]) in self.modules:
                module.imports.add(".".join(parts[:i]))

    def closure(self, entry: str) -> list[str]:
        seen, todo = set(), [entry]
        while todo:
            name = todo.pop()
            if name in seen or name not in self.modules:
                continue
            seen.add(name)
            todo.extend(self.modules[name].imports)
        return sorted(seen)

    @staticmethod
    def qualname(node: ast.AST, module: Module) -> str | None:
        if isinstance(node, ast.Name):
            return module.aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = Codebase.qualname(node.value, module)
            return f"{base}.{node.attr}" if base else None
        return None

    # what a process, a module asks for -------------------------------------------------------------------

    def process_uses(self, process: str) -> list[Use]:
        uses, problems = [], []
        for name in self.closure(PROCESSES[process]):
            try:
                uses += self.module_uses(name)
            except Problems as exc:
                problems += exc.problems
        if problems:
            raise Problems(problems)
        return uses

    def process_grants(self, process: str) -> set[Grant]:
        return normalize({use.grant for use in self.process_uses(process)})

    @functools.cache
    def module_uses(self, name: str) -> list[Use]:
        module = self.modules[name]
        in_adapter = name == ADAPTER or name.startswith(ADAPTER + ".")
        uses, problems = [], []
        called = set()
        for node, scopes in _walk_scoped(module.tree):
            if not isinstance(node, ast.Call):
                continue
            called.add(id(node.func))
            where = f"{module.path}:{node.lineno}"
            try:
                target = self.qualname(node.func, module)
                if target and target.startswith(ADAPTER + ".") and target.rpartition(".")[0] != name:
                    if target.rpartition(".")[2].startswith("_"):
                        raise Problems([f"{target} is private to its module: call its public functions"])
                    summary = self.summary(target)
                    if summary is not None:
                        uses += summary.uses_at(self, module, node, scopes, where)
                        continue
                if not in_adapter:
                    for grant in direct_call_grants(self, module, node, scopes):
                        uses.append(Use(grant, f"{where} {ast.unparse(node.func)}"))
                    for grant in lite_call_grants(self, module, node, scopes):
                        uses.append(Use(grant, f"{where} {ast.unparse(node.func)}"))
            except Problems as exc:
                problems += [f"{where}: {p}" for p in exc.problems]
        # an effectful adapter function or an API method referenced without being called (a callback, a
        # `Watch().stream(core.list_…)`): what it is called with is unknowable here
        for node, _ in _walk_scoped(module.tree):
            if isinstance(node, (ast.Name, ast.Attribute)) and id(node) not in called \
                    and isinstance(getattr(node, "ctx", None), ast.Load):
                if isinstance(node, ast.Attribute) and node.attr in method_index():
                    problems.append(f"{module.path}:{node.lineno}: the API method {ast.unparse(node)} is referenced "
                                    "but not called here: call it, so the analyser can see how")
                    continue
                target = self.qualname(node, module)
                if target and target.startswith(ADAPTER + ".") and target.rpartition(".")[0] != name:
                    summary = self.summary(target)
                    if summary is not None and summary.effectful:
                        problems.append(f"{module.path}:{node.lineno}: {target} is referenced but not called "
                                        "here: the calls it makes cannot be told")
        if problems:
            raise Problems(problems)
        return uses

    # adapter functions -----------------------------------------------------------------------------------

    def summary(self, qualname: str) -> "Summary | None":
        """What an adapter function (tasks.kube.<module>.<function>) asks for; None if it is not a function."""
        if qualname in self._summaries:
            return self._summaries[qualname]
        module_name, _, func_name = qualname.rpartition(".")
        module = self.modules.get(module_name)
        func = None if module is None else next(
            (n for n in module.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
             and n.name == func_name), None)
        if func is None:
            self._summaries[qualname] = None
            return None
        summary = Summary(qualname)
        self._summaries[qualname] = summary      # (recursion guard)
        for node, scopes in _walk_scoped(func):
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "LISTERS" \
                    and module_name == WATCHING:
                summary.lister = True
            if not isinstance(node, ast.Call):
                continue
            if any(k.arg == "watch" and isinstance(k.value, ast.Constant) and k.value.value is True
                   for k in node.keywords):
                summary.watches = True
            target = self.qualname(node.func, module)
            if target == f"{OBJECTS}._call":
                if len(node.args) < 3 or not isinstance(node.args[2], ast.Constant):
                    raise Problems([f"{module.path}:{node.lineno}: _call without a constant verb"])
                summary.kinded_verbs.add(node.args[2].value)
            elif target and target.startswith(ADAPTER + ".") and target != qualname:
                inner = self.summary(target)
                if inner is not None:
                    summary.merge(inner)
            for cls_name, method, watch in direct_calls(self, module, node, scopes):
                summary.direct.add((cls_name, method, watch))
        return summary


@dataclass
class Summary:
    """What one adapter function does to the API, in terms of its call site's arguments."""

    qualname: str
    kinded_verbs: set[str] = field(default_factory=set)      # objects._call verbs: need the kind
    direct: set[tuple[str, str, bool]] = field(default_factory=set)   # (API class, method, watch)
    lister: bool = False                                       # watching.follow: LISTERS[kind]
    watches: bool = False                                      # passes watch=True somewhere

    def merge(self, other: "Summary") -> None:
        self.kinded_verbs |= other.kinded_verbs
        self.direct |= other.direct
        self.lister |= other.lister
        self.watches |= other.watches

    @property
    def effectful(self) -> bool:
        return bool(self.kinded_verbs or self.direct or self.lister)

    def uses_at(self, code: Codebase, module: Module, call: ast.Call, scopes: tuple, where: str) -> list[Use]:
        label = f"{where} {ast.unparse(call.func)}"
        grants: set[Grant] = set()
        for cls_name, method, watch in self.direct:
            grants |= grants_of(*route(cls_name, method), watch=watch)
        if self.kinded_verbs or self.lister:
            kinds = call_kinds(code, module, call, scopes)
            if self.kinded_verbs:
                table = importlib.import_module(OBJECTS).KINDS
                for kind in kinds:
                    if kind not in table:
                        raise Problems([f"kind {kind!r} is not in {OBJECTS}.KINDS"])
                    cls, suffix, _ = table[kind]
                    for verb in self.kinded_verbs:
                        grants |= grants_of(*route(cls.__name__, f"{verb}_{suffix}"))
            if self.lister:
                listers = importlib.import_module(WATCHING).LISTERS
                ns = next((k.value for k in call.keywords if k.arg == "namespace"), None)
                across = ns is None or (isinstance(ns, ast.Constant) and ns.value is None)
                for kind in kinds:
                    if kind not in listers:
                        raise Problems([f"kind {kind!r} is not in {WATCHING}.LISTERS"])
                    cls, all_ns, one_ns = listers[kind]
                    method = all_ns if across else one_ns
                    grants |= grants_of(*route(cls.__name__, method))
                    if self.watches:
                        grants |= grants_of(*route(cls.__name__, method), watch=True)
        return [Use(grant, label) for grant in sorted(grants)]


# -- call-site details ----------------------------------------------------------------------------------------

def call_kinds(code: Codebase, module: Module, call: ast.Call, scopes: tuple) -> set[str]:
    """The kinds a call acts on: `kind="X"`, or the kinds of the `manifest=` it is given."""
    for keyword in call.keywords:
        if keyword.arg == "kind":
            if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                return {keyword.value.value}
            raise Problems([f"kind={ast.unparse(keyword.value)} is not a literal"])
        if keyword.arg == "manifest":
            return manifest_kinds(code, module, keyword.value, scopes)
    raise Problems([f"{ast.unparse(call.func)}(…) names no kind= and no manifest="])


def manifest_kinds(code: Codebase, module: Module, expr: ast.AST, scopes: tuple, depth: int = 0) -> set[str]:
    if depth > 5:
        raise Problems([f"cannot follow the manifest {ast.unparse(expr)}"])
    if isinstance(expr, ast.Await):
        expr = expr.value
    if isinstance(expr, ast.Dict):
        for key, value in zip(expr.keys, expr.values):
            if isinstance(key, ast.Constant) and key.value == "kind" and isinstance(value, ast.Constant):
                return {value.value}
    if isinstance(expr, ast.Call):
        target = code.qualname(expr.func, module)
        if target and target.startswith(TOPOLOGY + "."):
            return topology_kinds(code, target.rpartition(".")[2])
    if isinstance(expr, ast.Name):
        found: set[str] = set()
        for scope in scopes:
            for node in ast.walk(scope):
                if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == expr.id
                                                        for t in node.targets):
                    found |= manifest_kinds(code, module, node.value, scopes, depth + 1)
                elif isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name) \
                        and node.target.id == expr.id:
                    found |= manifest_kinds(code, module, node.iter, scopes, depth + 1)
            if found:
                return found
    raise Problems([f"cannot tell which kind the manifest {ast.unparse(expr)} is (build it with a "
                    f"{TOPOLOGY} function, or pass kind=)"])


def topology_kinds(code: Codebase, func_name: str, seen: frozenset = frozenset()) -> set[str]:
    module = code.modules[TOPOLOGY]
    func = next((n for n in module.tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name == func_name), None)
    if func is None:
        raise Problems([f"{TOPOLOGY}.{func_name} is not a function"])
    kinds: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "kind" \
                        and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    kinds.add(value.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in seen:
            target = module.aliases.get(node.func.id, "")
            if target.rpartition(".")[0] == TOPOLOGY and target.rpartition(".")[2] != func_name:
                try:
                    kinds |= topology_kinds(code, node.func.id, seen | {func_name})
                except Problems:
                    pass   # a class or a helper that is not a manifest builder
    if not kinds:
        raise Problems([f"{TOPOLOGY}.{func_name} builds no object with a literal kind"])
    return kinds


def _api_class_of(code: Codebase, module: Module, receiver: ast.AST, scopes: tuple) -> str | None:
    """The API class of `receiver` when it is `client.XApi(…)` or a name assigned one in an enclosing function."""
    if isinstance(receiver, ast.Call):
        target = code.qualname(receiver.func, module) or ""
        if target.startswith(K8S_CLIENT + ".") and target.rpartition(".")[2] in api_classes():
            return target.rpartition(".")[2]
    if isinstance(receiver, ast.Name):
        for scope in scopes:
            for node in ast.walk(scope):
                if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == receiver.id
                                                        for t in node.targets):
                    found = _api_class_of(code, module, node.value, ())
                    if found:
                        return found
    return None


def direct_calls(code: Codebase, module: Module, call: ast.Call, scopes: tuple) -> list[tuple[str, str, bool]]:
    """A call of a kubernetes_asyncio API method: [(class, method, watch)], or []."""
    if not isinstance(call.func, ast.Attribute) or call.func.attr not in method_index():
        return []
    method = call.func.attr
    cls_name = _api_class_of(code, module, call.func.value, scopes)
    candidates = method_index()[method]
    if cls_name is None:
        if len(candidates) != 1:
            raise Problems([f"{ast.unparse(call.func)}: {method} exists on {', '.join(candidates)}; "
                            "call it on `client.XApi(...)` or a name assigned one"])
        cls_name = candidates[0]
    elif cls_name not in candidates:
        raise Problems([f"{cls_name} has no method {method}"])
    watch = any(k.arg == "watch" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in call.keywords)
    return [(cls_name, method, watch)]


def direct_call_grants(code: Codebase, module: Module, call: ast.Call, scopes: tuple) -> set[Grant]:
    grants: set[Grant] = set()
    for cls_name, method, watch in direct_calls(code, module, call, scopes):
        grants |= grants_of(*route(cls_name, method), watch=watch)
    return grants


# -- the job-runner's client (tasks/kube/lite.py) --------------------------------------------------------------

class _RecordingServer:
    """A loopback HTTP/1.1 server that records each request's method, target and Upgrade header, and answers
    `200 {}` (a websocket upgrade: `403`, so an exec stops right after its request)."""

    def __init__(self):
        self.requests: list[tuple[str, str, bool]] = []

    async def handle(self, reader, writer) -> None:
        import asyncio

        try:
            head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
            if int(headers.get("content-length") or 0):
                await reader.readexactly(int(headers["content-length"]))
            upgrade = headers.get("upgrade", "").lower() == "websocket"
            self.requests.append((method, target, upgrade))
            status = "403 Forbidden" if upgrade else "200 OK"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                         "Connection: close\r\n\r\n{}".encode())
            await writer.drain()
        except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()


def _dummy(param: inspect.Parameter):
    annotation = str(param.annotation)
    if annotation.startswith("list"):
        return ["true"]
    if annotation.startswith("dict"):
        return {"brq.io/probe": "x"}
    return "x"


@functools.cache
def lite_requests() -> dict[str, frozenset[tuple[str, str]]]:
    """lite.Client's public method → the requests it makes: {(HTTP method, path)}, by running each once against
    a recording loopback server (the client's internals change; what it sends is what counts)."""
    import asyncio

    lite = importlib.import_module(LITE)
    methods = [name for name, fn in vars(lite.Client).items()
               if not name.startswith("_") and inspect.iscoroutinefunction(fn)]

    async def run() -> dict[str, frozenset[tuple[str, str]]]:
        server = _RecordingServer()
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        config = lite.parse_kubeconfig({
            "current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
            "clusters": [{"name": "k", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "users": [{"name": "u", "user": {"token": "t"}}]})
        found = {}
        try:
            for name in methods:
                server.requests.clear()
                async with lite.Client(config) as kube:
                    fn = getattr(kube, name)
                    params = [p for p in inspect.signature(fn).parameters.values()
                              if p.default is inspect.Parameter.empty
                              and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
                    args = {p.name: _dummy(p) for p in params}
                    try:
                        async with asyncio.timeout(10):
                            await fn(**args)
                    except Exception:  # noqa: BLE001 - a refused exec, a body that is not what it wants
                        pass
                found[name] = frozenset((m, t.split("?")[0]) for m, t, upgrade in server.requests)
                if not found[name]:
                    raise Problems([f"lite.Client.{name}({args}) sent no request to the recording server"])
        finally:
            listener.close()
            await listener.wait_closed()
        return found

    return asyncio.run(run())


def _lite_receivers(code: Codebase, module: Module, scopes: tuple) -> set[str]:
    """Names bound to a lite.Client in the enclosing functions: `async with lite.Client(…) as kube`, a parameter
    annotated `lite.Client`, or `kube = lite.Client(…)`."""
    names = set()
    client_name = f"{LITE}.Client"
    for scope in scopes:
        for arg in scope.args.args + scope.args.kwonlyargs:
            if arg.annotation is not None and code.qualname(arg.annotation, module) == client_name:
                names.add(arg.arg)
        for node in ast.walk(scope):
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.context_expr, ast.Call) and isinstance(item.optional_vars, ast.Name) \
                            and code.qualname(item.context_expr.func, module) == client_name:
                        names.add(item.optional_vars.id)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and code.qualname(node.value.func, module) == client_name:
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def lite_call_grants(code: Codebase, module: Module, call: ast.Call, scopes: tuple) -> set[Grant]:
    if LITE not in code.modules or not (isinstance(call.func, ast.Attribute)
                                        and isinstance(call.func.value, ast.Name)):
        return set()
    if call.func.value.id not in _lite_receivers(code, module, scopes):
        return set()
    methods = lite_requests()
    if call.func.attr not in methods:
        raise Problems([f"lite.Client has no public API method {call.func.attr}"])
    grants: set[Grant] = set()
    for http_method, path in methods[call.func.attr]:
        grants |= grants_of(http_method, path)
    return grants


# -- sets -----------------------------------------------------------------------------------------------------

def normalize(grants: set[Grant]) -> set[Grant]:
    """A cluster-wide grant covers the same grant in one namespace: keep only the cluster one."""
    cluster = {(g.group, g.resource, g.verb) for g in grants if g.scope == "cluster"}
    return {g for g in grants if g.scope == "cluster" or (g.group, g.resource, g.verb) not in cluster}


# Codebase must be hashable for functools.cache on its methods: identity is enough.
Codebase.__hash__ = object.__hash__
