"""Watching a kind across namespaces, forever: list, then watch from the list's resourceVersion, resume.

`follow` yields `("SYNC", [objects])` after every (re-)list — the caller
reconciles against the full set — and then `(type, object)` for each change.
A cut stream resumes from the last resourceVersion seen (bookmarks keep it
fresh); a 410 Gone, or any error on resume, falls back to a re-list.  Failures
back off with jitter and never end the generator: only `stop` does.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, AsyncIterator

from kubernetes_asyncio import client

from ..retries import RETRIES, backoff
from . import errors

log = logging.getLogger("brq.kube.watch")

LISTERS = {"Job": (client.BatchV1Api, "list_job_for_all_namespaces", "list_namespaced_job"),
           "Deployment": (client.AppsV1Api, "list_deployment_for_all_namespaces", "list_namespaced_deployment")}


async def follow(api: client.ApiClient, *, kind: str, labels: str | None, namespace: str | None = None,
                 stop: asyncio.Event, watch_timeout: int = 300) -> AsyncIterator[tuple[str, Any]]:
    cls, all_ns, one_ns = LISTERS[kind]
    inst = cls(api)
    method = getattr(inst, all_ns) if namespace is None else getattr(inst, one_ns)
    args = () if namespace is None else (namespace,)
    kwargs = {"label_selector": labels} if labels else {}
    rv: str | None = None
    failures = 0
    while not stop.is_set():
        try:
            if rv is None:
                listing = await _json(await method(*args, _preload_content=False, **kwargs))
                rv = listing["metadata"]["resourceVersion"]
                failures = 0
                yield "SYNC", listing.get("items") or []
            resp = await method(*args, watch=True, resource_version=rv, allow_watch_bookmarks=True,
                                timeout_seconds=watch_timeout, _preload_content=False, **kwargs)
            try:
                if resp.status >= 400:
                    raise errors.wrap(_api_exc(resp.status, await resp.text()))
                async for line in _lines(resp, stop):
                    event = json.loads(line)
                    kind_ = event.get("type")
                    obj = event.get("object") or {}
                    if kind_ == "ERROR":
                        code = obj.get("code")
                        log.info("watch of %s answered %s %s: re-listing", kind, code, obj.get("message"))
                        rv = None
                        break
                    rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                    failures = 0
                    if kind_ == "BOOKMARK":
                        continue
                    yield kind_, obj
            finally:
                resp.close()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a watcher never dies of a failed call
            failures += 1
            RETRIES["kubernetes watch"] += 1
            delay = backoff(failures, base=0.2, cap=5.0)
            log.warning("watch of %s failed (%s); retrying in %.2fs", kind, errors.wrap(exc), delay)
            if failures >= 3:
                rv = None  # resuming keeps failing: start over from a fresh list
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass


def _api_exc(status: int, body: str):
    from kubernetes_asyncio.client.exceptions import ApiException
    exc = ApiException(status=status)
    exc.body = body
    return exc


async def _json(resp) -> dict:
    try:
        body = await resp.read()
        if resp.status >= 400:
            raise errors.wrap(_api_exc(resp.status, body.decode("utf-8", "replace")))
        return json.loads(body)
    finally:
        resp.release()


async def _lines(resp, stop: asyncio.Event) -> AsyncIterator[bytes]:
    while not stop.is_set():
        line = await resp.content.readline()
        if not line:
            return
        line = line.strip()
        if line:
            yield line
