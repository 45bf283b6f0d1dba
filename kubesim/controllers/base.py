"""A controller: store events map to keys, keys are reconciled one at a time, deduplicated.

Reconcile functions are synchronous (the store is in-process), so a reconcile
sees and writes a consistent state; timers (`requeue_after`) handle deadlines
and back-off.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable, Iterable

from ..store import Event, Store

log = logging.getLogger("kubesim.controllers")

Key = tuple[str, str]  # (namespace, name) of the object a controller owns


class Controller:
    name = "controller"

    def __init__(self, store: Store):
        self.store = store
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._pending: set[Key] = set()
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._task: asyncio.Task | None = None
        store.add_listener(self._on_event)

    # subclasses: which keys an event touches, and what to do for one key
    def keys_for(self, event: Event) -> Iterable[Key]:
        raise NotImplementedError

    def reconcile(self, key: Key) -> None:
        raise NotImplementedError

    def _on_event(self, event: Event) -> None:
        for key in self.keys_for(event):
            self.enqueue(key)

    def enqueue(self, key: Key) -> None:
        if key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    def requeue_after(self, key: Key, seconds: float) -> None:
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(max(seconds, 0.0), self._fire, key)

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.enqueue(key)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key)
            try:
                self.reconcile(key)
            except Exception:  # noqa: BLE001 - one bad object must not stop the controller
                log.exception("%s: reconcile %s failed", self.name, key)
                self.requeue_after(key, 1.0)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for timer in self._timers.values():
            timer.cancel()


def owner_keys(event: Event, kind: str) -> list[Key]:
    """Keys of the controller owners of `kind` named in the event's object (and its previous version)."""
    out = []
    for obj in (event.obj, event.old):
        if obj is None:
            continue
        for ref in obj["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == kind and ref.get("controller"):
                out.append((obj["metadata"].get("namespace", ""), ref["name"]))
    return out


def controller_ref(owner: dict, block: bool = True) -> dict:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": block}


def owned_by(obj: dict, uid: str) -> bool:
    return any(r.get("uid") == uid and r.get("controller") for r in obj["metadata"].get("ownerReferences") or [])


Predicate = Callable[[dict], bool]
