"""Fault switches for reliability tests, changed at run time, all off by default.

`GET /kubesim/faults` shows them, `PUT` replaces them, `PATCH` changes some;
`KUBESIM_FAULTS` (the same JSON) sets them at start.  Counters say how often
each fault fired, so a test can assert that the fault it switched on was hit.
"""
from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    error_rate: float = 0.0          # fraction (0..1) of API requests answered with an error instead
    error_codes: list[int] = field(default_factory=lambda: [500, 503])  # picked at random
    latency_ms: float = 0.0          # added before every API request is handled
    latency_jitter_ms: float = 0.0   # plus up to this much, uniformly
    watch_drop_after: int = 0        # end every watch stream after this many events (0: never)
    watch_expire_next: int = 0       # the next N watches that resume from a resourceVersion get a 410
    exec_drop_status: int = 0        # the next N execs close their socket without the status frame
    job_pod_fail_next: int = 0       # the next N Job pods fail at once (exit code below) without running
    job_pod_fail_exit_code: int = 1
    match_paths: list[str] = field(default_factory=list)  # error_rate/latency only for paths containing one of these

    counters: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def update(self, changes: dict[str, Any], *, replace: bool = False) -> None:
        known = {f.name: f for f in dataclasses.fields(self) if f.name != "counters"}
        unknown = set(changes) - set(known) - {"counters"}
        if unknown:
            raise ValueError(f"unknown fault switches: {sorted(unknown)}; known: {sorted(known)}")
        base = Faults() if replace else self
        for name in known:
            value = changes.get(name, getattr(base, name))
            default = getattr(Faults(), name)
            if isinstance(default, (int, float)) and not isinstance(value, (int, float)):
                raise ValueError(f"fault switch {name} must be a number")
            if isinstance(default, list) and not isinstance(value, list):
                raise ValueError(f"fault switch {name} must be a list")
            setattr(self, name, value)
        if changes.get("counters") == {}:
            self.counters = {}

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def _applies(self, path: str) -> bool:
        return not self.match_paths or any(p in path for p in self.match_paths)

    def pick_error(self, path: str) -> int | None:
        if self.error_rate > 0 and self._applies(path) and random.random() < self.error_rate:
            self.count("errors")
            return random.choice(self.error_codes or [500])
        return None

    def delay_seconds(self, path: str) -> float:
        if (self.latency_ms <= 0 and self.latency_jitter_ms <= 0) or not self._applies(path):
            return 0.0
        self.count("delayed")
        return (self.latency_ms + random.uniform(0, self.latency_jitter_ms)) / 1000.0

    def take(self, name: str) -> bool:
        """Consume one of a `*_next` style budget; True if this call should fail."""
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            self.count(name)
            return True
        return False


def from_env(value: str | None) -> Faults:
    faults = Faults()
    if value:
        faults.update(json.loads(value))
    return faults
