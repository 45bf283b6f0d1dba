"""The store: resourceVersions, no-op updates, watch history, selector edges, 410s; and the registry over it."""
from __future__ import annotations

import pytest

from kubesim import errors
from kubesim.registry import Registry
from kubesim.resources import CONFIGMAPS, JOBS, NAMESPACES, PODS, SERVICEACCOUNTS
from kubesim.store import Store


def cm(name: str, ns: str = "default", **labels) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels}, "data": {}}


def drain(w) -> list[tuple[str, str]]:
    out = []
    while not w.queue.empty():
        kind, event = w.queue.get_nowait()
        out.append((kind, event.obj["metadata"]["name"]))
    return out


def test_every_write_takes_the_next_resource_version_from_one_counter():
    s = Store()
    a = s.create(CONFIGMAPS, cm("a"))
    b = s.create(NAMESPACES, {"metadata": {"name": "x"}})
    assert (a["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"]) == ("1", "2")
    assert a["kind"] == "ConfigMap" and a["apiVersion"] == "v1" and a["metadata"]["uid"]
    assert "namespace" not in b["metadata"]


def test_an_update_that_changes_nothing_keeps_the_version_and_emits_nothing():
    s = Store()
    obj = s.create(CONFIGMAPS, cm("a"))
    events = []
    s.add_listener(events.append)
    same = s.replace(CONFIGMAPS, {**obj, "metadata": dict(obj["metadata"])})
    assert same is obj and events == []


def test_a_stale_resource_version_is_a_conflict_and_changes_nothing():
    s = Store()
    obj = s.create(CONFIGMAPS, cm("a"))
    s.mutate(CONFIGMAPS, "default", "a", lambda o: o["data"].update(v="1"))
    with pytest.raises(errors.Conflict):
        s.replace(CONFIGMAPS, {**obj, "data": {"v": "2"}}, expect_rv=obj["metadata"]["resourceVersion"])
    assert s.get(CONFIGMAPS, "default", "a")["data"] == {"v": "1"}


def test_objects_handed_out_never_change_afterwards():
    s = Store()
    first = s.create(CONFIGMAPS, cm("a"))
    s.mutate(CONFIGMAPS, "default", "a", lambda o: o["data"].update(v="1"))
    assert first["data"] == {} and s.get(CONFIGMAPS, "default", "a")["data"] == {"v": "1"}


async def test_a_watch_without_version_lists_then_follows():
    s = Store()
    s.create(CONFIGMAPS, cm("a"))
    w = s.watch(CONFIGMAPS, "default", since=None)
    s.create(CONFIGMAPS, cm("b"))
    s.create(CONFIGMAPS, cm("other", ns="elsewhere"))
    s.remove(CONFIGMAPS, "default", "a")
    assert drain(w) == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a")]


async def test_a_watch_resumes_after_a_version_from_the_history():
    s = Store()
    s.create(CONFIGMAPS, cm("a"))
    mark = s.create(CONFIGMAPS, cm("b"))["metadata"]["resourceVersion"]
    s.mutate(CONFIGMAPS, "default", "a", lambda o: o["data"].update(v="1"))
    s.create(CONFIGMAPS, cm("c"))
    w = s.watch(CONFIGMAPS, None, since=mark)
    assert drain(w) == [("MODIFIED", "a"), ("ADDED", "c")]


async def test_a_version_older_than_the_kept_history_is_gone():
    s = Store(history_size=3)
    old = s.create(CONFIGMAPS, cm("a"))["metadata"]["resourceVersion"]
    for i in range(5):
        s.mutate(CONFIGMAPS, "default", "a", lambda o, i=i: o["data"].update(v=str(i)))
    with pytest.raises(errors.Expired) as err:
        s.watch(CONFIGMAPS, None, since=old)
    assert err.value.code == 410 and "too old resource version: 1" in err.value.message
    recent = str(s.rv - 1)
    assert len(drain(s.watch(CONFIGMAPS, None, since=recent))) == 1


async def test_a_label_watch_sees_objects_enter_as_added_and_leave_as_deleted():
    s = Store()
    w = s.watch(CONFIGMAPS, None, since="0", predicate=lambda o: o["metadata"]["labels"].get("app") == "x")
    s.create(CONFIGMAPS, cm("a", app="y"))
    s.mutate(CONFIGMAPS, "default", "a", lambda o: o["metadata"]["labels"].update(app="x"))
    s.mutate(CONFIGMAPS, "default", "a", lambda o: o["data"].update(v="1"))
    s.mutate(CONFIGMAPS, "default", "a", lambda o: o["metadata"]["labels"].update(app="z"))
    assert drain(w) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def _registry() -> tuple[Store, Registry]:
    s = Store()
    r = Registry(s)
    r.create(NAMESPACES, {"metadata": {"name": "default"}})
    r.create(SERVICEACCOUNTS, {"metadata": {"name": "default"}}, namespace="default")
    return s, r


def test_a_job_gets_its_generated_selector_and_template_labels():
    s, r = _registry()
    job = r.create(JOBS, {"metadata": {"name": "j"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "m", "image": "b"}]}}}}, namespace="default")
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["spec"]["template"]["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "j", "controller-uid": uid,
        "job-name": "j"}
    assert (job["spec"]["backoffLimit"], job["spec"]["completions"], job["spec"]["parallelism"]) == (6, 1, 1)


def test_deleting_a_job_without_a_policy_orphans_and_warns():
    s, r = _registry()
    r.create(JOBS, {"metadata": {"name": "j"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "m", "image": "b"}]}}}}, namespace="default")
    obj, removed = r.delete(JOBS, "default", "j")
    assert removed and r.warnings == [
        "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them "
        "or set propagationPolicy=Orphan to suppress this warning"]


def test_a_scheduled_running_pod_is_deleted_gracefully_and_an_unscheduled_one_at_once():
    s, r = _registry()
    spec = {"containers": [{"name": "m", "image": "b"}]}
    r.create(PODS, {"metadata": {"name": "free"}, "spec": spec}, namespace="default")
    r.create(PODS, {"metadata": {"name": "bound"}, "spec": {**spec, "nodeName": "n"}}, namespace="default")
    assert r.delete(PODS, "default", "free")[1] is True
    pending, removed = r.delete(PODS, "default", "bound")
    assert removed is False
    assert pending["metadata"]["deletionGracePeriodSeconds"] == 30 and pending["metadata"]["deletionTimestamp"]


def test_a_pod_gets_the_service_account_token_mounted():
    s, r = _registry()
    p = r.create(PODS, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "m", "image": "b"}]}},
                 namespace="default")
    vol = p["spec"]["volumes"][0]
    assert vol["name"].startswith("kube-api-access-")
    assert [s_ for s_ in vol["projected"]["sources"][0]] == ["serviceAccountToken"]
    assert p["spec"]["containers"][0]["volumeMounts"] == [
        {"name": vol["name"], "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]


def test_a_pod_naming_a_missing_service_account_is_forbidden():
    s, r = _registry()
    with pytest.raises(errors.StatusError) as err:
        r.create(PODS, {"metadata": {"name": "p"}, "spec": {"serviceAccountName": "nobody", "containers": [
            {"name": "m", "image": "b"}]}}, namespace="default")
    assert err.value.code == 403 and 'serviceaccount "nobody" not found' in err.value.message
    assert s.list(PODS) == []
