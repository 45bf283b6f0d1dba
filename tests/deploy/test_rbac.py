"""k8s/ grants each process exactly the (API group, resource, verb) set its code calls — nothing missing, nothing
more. The set is derived from the source by kube_usage.py (see its docstring); the grants are read from the
built kustomization: Deployment → ServiceAccount → RoleBindings / ClusterRoleBindings → rules."""
from __future__ import annotations

import pytest

from tasks import topology

from .conftest import DEPLOYMENTS, by_kind, deployed_settings, one, runs
from .kube_usage import PROCESSES, Codebase, Grant, Problems, grants_of, normalize

SERVICE_NAMESPACE = "backrest-queue"


def rules_grants(role: dict, scope: str) -> set[Grant]:
    grants = set()
    for rule in role.get("rules") or []:
        assert not rule.get("nonResourceURLs") and not rule.get("resourceNames"), f"{role['metadata']['name']}: {rule}"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    assert "*" not in (group, resource, verb), f"{role['metadata']['name']}: no wildcards"
                    grants.add(Grant(group, resource, verb, scope))
    return grants


def role_of(objects: list[dict], binding: dict) -> dict:
    ref = binding["roleRef"]
    if ref["kind"] == "ClusterRole":
        return one(objects, "ClusterRole", ref["name"])
    namespace = binding["metadata"]["namespace"]
    return next(r for r in by_kind(objects, "Role")
                if r["metadata"]["name"] == ref["name"] and r["metadata"]["namespace"] == namespace)


def granted(objects: list[dict], account: str, account_ns: str) -> dict[str | None, set[Grant]]:
    """What a ServiceAccount may do: {namespace: grants} from RoleBindings, {None: grants} from ClusterRoleBindings."""
    out: dict[str | None, set[Grant]] = {}
    for binding in by_kind(objects, "RoleBinding") + by_kind(objects, "ClusterRoleBinding"):
        if not any(s["kind"] == "ServiceAccount" and s["name"] == account and s.get("namespace") == account_ns
                   for s in binding.get("subjects") or []):
            continue
        where = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        scope = "namespace" if where else "cluster"
        out.setdefault(where, set()).update(rules_grants(role_of(objects, binding), scope))
    return out


def managed_namespaces(objects) -> tuple[str, ...]:
    """Kubernetes.Namespaces of the deployed configuration."""
    return deployed_settings(objects).kubernetes.namespaces


def account_of(objects, process: str) -> str:
    deployment = one(objects, "Deployment", DEPLOYMENTS[process])
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert runs(container, process)
    return deployment["spec"]["template"]["spec"]["serviceAccountName"]


def job_runner_account() -> str:
    """The ServiceAccount backup Jobs run as: read from the Job the worker builds."""
    spec = topology.ClusterSpec(name="c", namespace="ns", storage_types=("local",))
    job = topology.backup_job(spec, name="j", task_id="t", repo=1, argv=["true"], image="i", deadline_seconds=1,
                              runner_command=["job-runner"])
    return job["spec"]["template"]["spec"]["serviceAccountName"]


def diff(derived: set[Grant], given: set[Grant]) -> str:
    lines = [f"  called, not granted: {g}" for g in sorted(derived - given)]
    lines += [f"  granted, never called: {g}" for g in sorted(given - derived)]
    return "\n".join(lines)


def uses_by_grant(codebase: Codebase, process: str) -> str:
    where: dict[Grant, list[str]] = {}
    for use in codebase.process_uses(process):
        where.setdefault(use.grant, []).append(use.where)
    return "\n".join(f"  {g}: {', '.join(sorted(set(w))[:3])}" for g, w in sorted(where.items()))


@pytest.mark.parametrize("process", ["api", "worker", "beat", "watcher"])
def test_each_process_is_granted_exactly_what_its_code_calls(objects, codebase, process):
    derived = codebase.process_grants(process)
    account = account_of(objects, process)
    given = granted(objects, account, SERVICE_NAMESPACE)
    namespaces = managed_namespaces(objects)
    context = f"{process} (ServiceAccount {account}); its calls:\n{uses_by_grant(codebase, process)}"
    cluster_wide = {g for g in derived if g.scope == "cluster"}
    given_cluster = given.get(None, set())
    assert given_cluster == cluster_wide, f"cluster-wide, {context}\n" + diff(cluster_wide, given_cluster)
    in_namespace = {g for g in derived if g.scope == "namespace"}
    for ns in namespaces if in_namespace else ():
        given_ns = given.get(ns, set())
        assert given_ns == in_namespace, f"namespace {ns}, {context}\n" + diff(in_namespace, given_ns)
    extra = set(given) - {None} - (set(namespaces) if in_namespace else set())
    assert not extra, f"{account} is bound in namespaces it has no business in: {sorted(extra)}"


def test_backup_jobs_are_granted_exactly_what_the_job_runner_calls(objects, codebase):
    derived = codebase.process_grants("job-runner")
    account = job_runner_account()
    assert derived and all(g.scope == "namespace" for g in derived), derived
    for ns in managed_namespaces(objects):
        given = granted(objects, account, ns)
        assert set(given) == {ns}, f"{account} in {ns} must be bound in {ns} only, is in {sorted(given, key=str)}"
        assert given[ns] == derived, f"namespace {ns}, job-runner:\n{uses_by_grant(codebase, 'job-runner')}\n" + \
            diff(derived, given[ns])


def test_every_binding_serves_a_process(objects):
    """No binding for an account nothing runs as, and the managed namespaces are those of pgo.yaml."""
    accounts = {(account_of(objects, p), SERVICE_NAMESPACE) for p in DEPLOYMENTS}
    namespaces = set(managed_namespaces(objects))
    accounts |= {(job_runner_account(), ns) for ns in namespaces}
    for binding in by_kind(objects, "RoleBinding") + by_kind(objects, "ClusterRoleBinding"):
        for subject in binding["subjects"]:
            assert (subject["name"], subject.get("namespace")) in accounts, f"{binding['metadata']['name']}: {subject}"
    bound = {b["metadata"]["namespace"] for b in by_kind(objects, "RoleBinding")}
    assert bound == namespaces, f"RoleBindings in {sorted(bound)}, Kubernetes.Namespaces is {sorted(namespaces)}"


def test_processes_without_kubernetes_calls_mount_no_token_unless_a_probe_needs_one(objects, codebase):
    assert codebase.process_grants("beat") == set()
    beat = one(objects, "Deployment", "beat")["spec"]["template"]["spec"]
    assert beat["automountServiceAccountToken"] is False
    redis = one(objects, "StatefulSet", "redis")["spec"]["template"]["spec"]
    assert redis["automountServiceAccountToken"] is False


def test_every_process_is_analysed():
    assert set(PROCESSES) == set(DEPLOYMENTS) | {"job-runner"}


# -- the analyser itself: it must see what the code would add ---------------------------------------------------

def uses_of(codebase: Codebase, source: str) -> set[Grant]:
    code = codebase.with_module("tasks.probe_module", source)
    return normalize({u.grant for u in code.module_uses("tasks.probe_module")})


def test_the_analyser_sees_an_objects_call_with_a_kind(codebase):
    assert uses_of(codebase, "from .kube import objects\n"
                             "async def f(api):\n"
                             "    await objects.delete(api, kind='Secret', namespace='n', name='x')\n") == {
        Grant("", "secrets", "delete", "namespace")}
    assert uses_of(codebase, "from .kube import objects\n"
                             "async def f(api):\n"
                             "    await objects.create_or_get(api, manifest={'kind': 'Service'})\n") == {
        Grant("", "services", "create", "namespace"), Grant("", "services", "get", "namespace")}


def test_the_analyser_follows_a_manifest_to_topology(codebase):
    assert uses_of(codebase, "from . import topology\nfrom .kube import objects\n"
                             "async def f(api, spec):\n"
                             "    job = topology.restore_job(spec, name='x')\n"
                             "    await objects.create(api, manifest=job)\n") == {
        Grant("batch", "jobs", "create", "namespace")}


def test_the_analyser_sees_direct_kubernetes_asyncio_calls(codebase):
    assert uses_of(codebase, "from kubernetes_asyncio import client\n"
                             "async def f(api):\n"
                             "    core = client.CoreV1Api(api)\n"
                             "    await core.list_namespaced_event('n', watch=True)\n"
                             "    await client.AppsV1Api(api).delete_collection_namespaced_stateful_set('n')\n") == {
        Grant("", "events", "watch", "namespace"), Grant("apps", "statefulsets", "deletecollection", "namespace")}


def test_the_analyser_sees_watches_across_namespaces_and_in_one(codebase):
    across = uses_of(codebase, "from .kube.watching import follow\n"
                               "async def f(api, stop):\n"
                               "    async for _ in follow(api, kind='Deployment', labels=None, stop=stop):\n"
                               "        pass\n")
    assert across == {Grant("apps", "deployments", v, "cluster") for v in ("list", "watch")}
    one_ns = uses_of(codebase, "from .kube.watching import follow\n"
                               "async def f(api, stop):\n"
                               "    async for _ in follow(api, kind='Job', labels=None, namespace='n', stop=stop):\n"
                               "        pass\n")
    assert one_ns == {Grant("batch", "jobs", v, "namespace") for v in ("list", "watch")}


def test_the_analyser_sees_lite_client_calls(codebase):
    assert uses_of(codebase, "from .kube import lite\n"
                             "async def f(cfg):\n"
                             "    async with lite.Client(cfg) as kube:\n"
                             "        await kube.exec_(namespace='n', pod='p', container='c', command=['true'])\n") == {
        Grant("", "pods/exec", "get", "namespace"), Grant("", "pods/exec", "create", "namespace")}


@pytest.mark.parametrize("source, complaint", [
    ("from .kube import objects\nasync def f(api, k):\n    await objects.get(api, kind=k, namespace='n', name='x')\n",
     "is not a literal"),
    ("from .kube import objects\nasync def f(api, m):\n    await objects.create(api, manifest=m)\n",
     "cannot tell which kind"),
    ("from .kube import objects\ndef f():\n    return objects.delete\n", "referenced but not called"),
    ("async def f(api):\n    await api.get_api_resources()\n", "exists on"),
    ("from .kube import objects\nasync def f(api):\n    await objects._call(api, 'Pod', 'list', 'n')\n", "private"),
    ("from kubernetes_asyncio import client, watch\n"
     "async def f(api):\n    watch.Watch().stream(client.CoreV1Api(api).list_namespaced_pod, 'n')\n",
     "referenced but not called"),
])
def test_the_analyser_refuses_what_it_cannot_resolve(codebase, source, complaint):
    with pytest.raises(Problems) as caught:
        uses_of(codebase, source)
    assert complaint in str(caught.value)


def test_rbac_attributes_of_requests():
    assert grants_of("GET", "/api/v1/namespaces/{namespace}/pods/{name}/exec") == {
        Grant("", "pods/exec", "get", "namespace"), Grant("", "pods/exec", "create", "namespace")}
    assert grants_of("GET", "/apis/batch/v1/jobs", watch=True) == {Grant("batch", "jobs", "watch", "cluster")}
    assert grants_of("GET", "/api/v1/namespaces/{name}") == {Grant("", "namespaces", "get", "cluster")}
    assert grants_of("DELETE", "/apis/apps/v1/namespaces/n/deployments") == {
        Grant("apps", "deployments", "deletecollection", "namespace")}
    assert normalize({Grant("", "pods", "list", "cluster"), Grant("", "pods", "list", "namespace")}) == {
        Grant("", "pods", "list", "cluster")}
