"""Versioned object storage with a bounded event history: kubesim's etcd.

Objects are JSON-shaped dicts, stored per resource under (namespace, name).
Stored objects are never mutated in place: every write stores a new dict, so an
object handed out (to a watcher, to the history) stays as it was when handed
out.  Every write takes the next value of one global `resourceVersion` counter
and appends an `Event` to the history; watches replay the history from a
resourceVersion and then follow live events.  Callers that want to change an
object copy it first (`copy_obj`).

Single-threaded by design: everything runs on one asyncio loop, so a
read-modify-write without an `await` in between is atomic.
"""
from __future__ import annotations

import asyncio
import copy
import uuid
from collections import deque
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator

from . import errors
from .resources import Resource

Obj = dict[str, Any]

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def copy_obj(obj: Obj) -> Obj:
    return copy.deepcopy(obj)


def meta(obj: Obj) -> Obj:
    return obj.setdefault("metadata", {})


class Event:
    """One change: `type` is ADDED/MODIFIED/DELETED; `old` is the object before a MODIFIED."""

    __slots__ = ("type", "resource", "obj", "old", "rv", "line")

    def __init__(self, type_: str, resource: Resource, obj: Obj, old: Obj | None, rv: int):
        self.type = type_
        self.resource = resource
        self.obj = obj
        self.old = old
        self.rv = rv
        self.line: bytes | None = None  # the serialized watch line, cached by the server

    @property
    def namespace(self) -> str:
        return self.obj["metadata"].get("namespace", "")

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]


class Watch:
    """A live subscription: events arrive on `queue`; `None` means the store closed it."""

    def __init__(self, store: "Store", resource: Resource, namespace: str | None,
                 predicate: Callable[[Obj], bool] | None):
        self.store = store
        self.resource = resource
        self.namespace = namespace
        self.predicate = predicate
        self.queue: asyncio.Queue[tuple[str, Event] | None] = asyncio.Queue()

    def _matches(self, obj: Obj | None) -> bool:
        if obj is None:
            return False
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.predicate is None or self.predicate(obj)

    def offer(self, event: Event) -> None:
        """Translate a store event into what this watch sees (selector edges become ADDED/DELETED)."""
        now_in = self._matches(event.obj)
        if event.type == MODIFIED:
            was_in = self._matches(event.old)
            if now_in and not was_in:
                self.queue.put_nowait((ADDED, event))
            elif was_in and not now_in:
                self.queue.put_nowait((DELETED, event))
            elif now_in:
                self.queue.put_nowait((MODIFIED, event))
        elif now_in:
            self.queue.put_nowait((event.type, event))

    def close(self) -> None:
        self.store._unwatch(self)
        self.queue.put_nowait(None)


class Store:
    """All objects of all resources, one resourceVersion counter, one bounded history."""

    def __init__(self, history_size: int = 50_000):
        self.rv = 0
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._history: deque[Event] = deque()
        self._history_size = history_size
        self._compacted = 0  # the newest resourceVersion dropped from the history
        self._watches: dict[str, set[Watch]] = {}
        self._listeners: list[Callable[[Event], None]] = []

    # -- reads -----------------------------------------------------------------------------------

    def _table(self, resource: Resource) -> dict[tuple[str, str], Obj]:
        return self._objects.setdefault(resource.key, {})

    def get(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        obj = self._table(resource).get((namespace or "", name))
        if obj is None:
            raise errors.NotFound.of(resource, name)
        return obj

    def find(self, resource: Resource, namespace: str | None, name: str) -> Obj | None:
        return self._table(resource).get((namespace or "", name))

    def list(self, resource: Resource, namespace: str | None = None,
             predicate: Callable[[Obj], bool] | None = None) -> list[Obj]:
        """Objects sorted by (namespace, name), as the real API server lists them."""
        table = self._table(resource)
        out = []
        for key in sorted(table):
            if namespace is not None and key[0] != namespace:
                continue
            obj = table[key]
            if predicate is None or predicate(obj):
                out.append(obj)
        return out

    def iter_all(self, resource: Resource) -> Iterable[Obj]:
        return list(self._table(resource).values())

    # -- writes ----------------------------------------------------------------------------------

    def _next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def create(self, resource: Resource, obj: Obj) -> Obj:
        """Store a new object, filling server-set metadata. AlreadyExists if the name is taken."""
        md = obj.setdefault("metadata", {})
        ns = md.get("namespace", "") if resource.namespaced else ""
        name = md["name"]
        table = self._table(resource)
        if (ns, name) in table:
            raise errors.AlreadyExists.of(resource, name)
        rv = self._next_rv()
        md["uid"] = md.get("uid") or str(uuid.uuid4())
        md["resourceVersion"] = str(rv)
        md["creationTimestamp"] = md.get("creationTimestamp") or now_rfc3339()
        md.setdefault("generation", 1)
        if not resource.namespaced:
            md.pop("namespace", None)
        obj["kind"] = resource.kind
        obj["apiVersion"] = resource.api_version
        table[(ns, name)] = obj
        self._emit(Event(ADDED, resource, obj, None, rv))
        return obj

    def replace(self, resource: Resource, obj: Obj, *, expect_rv: str | None = None) -> Obj:
        """Store a new version of an existing object (NotFound / Conflict on a stale expect_rv).

        Returns the stored object; if nothing changed but the resourceVersion, the old
        object is kept and returned (no event, as the real server does for no-op updates).
        """
        md = obj["metadata"]
        ns = md.get("namespace", "") if resource.namespaced else ""
        table = self._table(resource)
        old = table.get((ns, md["name"]))
        if old is None:
            raise errors.NotFound.of(resource, md["name"])
        if expect_rv and expect_rv != old["metadata"]["resourceVersion"]:
            raise errors.Conflict.stale(resource, md["name"])
        # server-owned fields cannot be changed by an update
        for key in ("uid", "creationTimestamp"):
            md[key] = old["metadata"][key]
        md["resourceVersion"] = old["metadata"]["resourceVersion"]
        obj["kind"] = resource.kind
        obj["apiVersion"] = resource.api_version
        if obj == old:
            return old
        rv = self._next_rv()
        md["resourceVersion"] = str(rv)
        table[(ns, md["name"])] = obj
        self._emit(Event(MODIFIED, resource, obj, old, rv))
        return obj

    def mutate(self, resource: Resource, namespace: str | None, name: str,
               fn: Callable[[Obj], Any]) -> Obj:
        """Copy the object, apply `fn` to the copy, store it if it changed. NotFound if missing."""
        new = copy_obj(self.get(resource, namespace, name))
        fn(new)
        return self.replace(resource, new)

    def remove(self, resource: Resource, namespace: str | None, name: str) -> Obj:
        """Delete the object now (no finalizers, no grace): emits DELETED with the final object."""
        ns = namespace or "" if resource.namespaced else ""
        table = self._table(resource)
        old = table.pop((ns, name), None)
        if old is None:
            raise errors.NotFound.of(resource, name)
        rv = self._next_rv()
        final = dict(old)
        final["metadata"] = {**old["metadata"], "resourceVersion": str(rv)}
        self._emit(Event(DELETED, resource, final, None, rv))
        return final

    # -- events ----------------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        self._history.append(event)
        if len(self._history) > self._history_size:
            self._compacted = self._history.popleft().rv
        for watch in tuple(self._watches.get(event.resource.key, ())):
            watch.offer(event)
        for listener in self._listeners:
            listener(event)

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        """In-process subscribers (controllers, kubelet): called synchronously for every event."""
        self._listeners.append(fn)

    def watch(self, resource: Resource, namespace: str | None, *, since: str | None,
              predicate: Callable[[Obj], bool] | None = None) -> Watch:
        """Subscribe. `since` None or "0": current objects as ADDED first; else events after it.

        Expired (410) when `since` is older than the kept history.
        """
        w = Watch(self, resource, namespace, predicate)
        if since in (None, "", "0"):
            for obj in self.list(resource, namespace, predicate):
                w.queue.put_nowait((ADDED, Event(ADDED, resource, obj, None, int(obj["metadata"]["resourceVersion"]))))
        else:
            try:
                since_rv = int(since)
            except ValueError:
                raise errors.BadRequest(f'invalid resource version "{since}"') from None
            if since_rv < self._compacted:
                raise errors.Expired(f"too old resource version: {since_rv} ({self._compacted + 1})")
            for event in self._events_after(since_rv):
                if event.resource.key == resource.key:
                    w.offer(event)
        self._watches.setdefault(resource.key, set()).add(w)
        return w

    def _events_after(self, rv: int) -> Iterator[Event]:
        if not self._history or self._history[-1].rv <= rv:
            return iter(())
        # scan back from the newest: resumes are nearly always recent
        idx = len(self._history)
        while idx > 0 and self._history[idx - 1].rv > rv:
            idx -= 1
        return (self._history[i] for i in range(idx, len(self._history)))

    def _unwatch(self, w: Watch) -> None:
        self._watches.get(w.resource.key, set()).discard(w)

    def close_watches(self) -> None:
        for watches in list(self._watches.values()):
            for w in list(watches):
                w.close()

    @property
    def compacted_rv(self) -> int:
        return self._compacted
