"""Beat under load: 10,000 schedules across 1,000 clusters in RedBeat; tick time, fire lateness, missed slots,
Redis memory.

    .venv/bin/python bench/schedule_bench.py                    # 10,000 one-minute schedules, 2 minutes of ticks
    .venv/bin/python bench/schedule_bench.py --minutes 5 --aligned
    .venv/bin/python bench/schedule_bench.py --schedules 1000 --clusters 100 --minutes 1

A real `redis-server` (started here, in a temporary directory) holds what the API would write: 1,000 cluster
records and 10,000 schedules, each with its RedBeat entry (tasks/schedules/store.py, the API's own code).  Then
the production scheduler (tasks/schedules/scheduler.py `Scheduler`, with its leader lock taken and extended on
every tick as in `celery beat`) runs the loop of celery's `beat.Service.start` — tick, sleep what the tick says —
for `--minutes`, publishing each fired slot to the Redis broker as beat does (nothing consumes them: the
worker's side is not measured here; `tests/unit/schedules/test_firing.py` covers it).

Schedules are one-minute crons.  By default they are spread over the 60 seconds of the minute (6 fields:
`S * * * * *`, S = i mod 60: about 167 due each second, the even load one-minute schedules of many users give);
`--aligned` puts them all at second 0 (5 fields, `* * * * *`: 10,000 due in one tick, the worst case).

Printed: Redis memory for the schedules (and per schedule), tick time (idle ticks and firing ticks: p50, p95,
max), entries fired per tick, lateness of each fire behind its slot (p50, p99, max), and every slot in the
measured window checked: fired once, never missed, never twice.  Targets (issue 5): a tick under 50 ms, no
missed slot at one-minute schedules.  Figures are printed, not asserted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from types import SimpleNamespace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import redis  # noqa: E402
from redbeat.schedulers import acquire_distributed_beat_lock  # noqa: E402

from tasks.celery_app import make_celery  # noqa: E402
from tasks.schedules.beatconf import BeatSettings, configure  # noqa: E402
from tasks.schedules.scheduler import Scheduler  # noqa: E402
from tasks.schedules.store import Schedule, ScheduleStore  # noqa: E402
from tasks.state.clusters import READY, ClusterRecord, ClusterStore  # noqa: E402
from tests.support.servers import RedisServer  # noqa: E402

UTC = timezone.utc


class Measured(Scheduler):
    """The production scheduler, noting when each slot's message was handed to the broker."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[float, str, float]] = []  # (when sent, schedule name, slot)
        self.messages = 0

    def send_task(self, name, args=None, kwargs=None, **options):
        result = super().send_task(name, args, kwargs, **options)
        now = time.time()
        for item in kwargs.get("slots") or [kwargs]:  # brq.scheduled_backups carries many
            self.sent.append((now, item["name"], item["slot"]))
        self.messages += 1
        return result


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    return (f"p50 {pct(values, 50) * 1000:7.1f} ms   p95 {pct(values, 95) * 1000:7.1f} ms   "
            f"max {max(values) * 1000:7.1f} ms   (n={len(values)})")


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def populate(client: redis.Redis, n_schedules: int, n_clusters: int, aligned: bool) -> tuple[float, int]:
    clusters, schedules = ClusterStore(client), ScheduleStore(client)
    t0 = time.perf_counter()
    for c in range(n_clusters):
        clusters.create(ClusterRecord(name=f"c{c:04d}", namespace="bench", storage_types=["local", "s3"],
                                      status=READY))
    mid = used_memory(client)
    for i in range(n_schedules):
        cron = "* * * * *" if aligned else f"{i % 60} * * * * *"
        schedules.create(Schedule(name=f"s{i:05d}", namespace="bench", cluster=f"c{i % n_clusters:04d}", cron=cron,
                                  backup_type="incr" if i % 3 else "full", storage_type="local,s3" if i % 2 else "s3",
                                  options=["--start-fast"]))
    took = time.perf_counter() - t0
    return took, used_memory(client) - mid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--minutes", type=float, default=2.0, help="minutes of ticks measured (after one warm-up)")
    parser.add_argument("--aligned", action="store_true", help="every schedule at second 0 (the worst case)")
    parser.add_argument("--max-interval", type=float, default=5.0, help="BRQ_BEAT_MAX_INTERVAL (default 5)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="brq-schedule-bench-") as tmp:
        server = RedisServer(os.path.join(tmp, "redis")).start()
        client = redis.Redis.from_url(server.url)
        try:
            return run(args, server, client)
        finally:
            client.close()
            server.stop()


def run(args, server: RedisServer, client: redis.Redis) -> int:
    print(f"redis-server {client.info('server')['redis_version']} on {server.url}; "
          f"{args.schedules} schedules across {args.clusters} clusters, "
          f"{'all at second 0 (* * * * *)' if args.aligned else 'spread over the minute (S * * * * *)'}")
    took, schedule_bytes = populate(client, args.schedules, args.clusters, args.aligned)
    total = used_memory(client)
    print(f"\ncreated through ScheduleStore (definition + RedBeat entry, one MULTI each): {took:.1f} s "
          f"({args.schedules / took:.0f}/s)")
    print(f"Redis memory: {total / 2**20:.1f} MiB in all; the schedules {schedule_bytes / 2**20:.1f} MiB "
          f"= {schedule_bytes / args.schedules:.0f} bytes per schedule (definition, indices, RedBeat entry and score)")

    app = make_celery(server.url)
    configure(app, redis_url=server.url, beat=BeatSettings(max_interval=args.max_interval,
                                                           lock_timeout=max(30.0, 3 * args.max_interval)))
    scheduler = Measured(app=app, max_interval=args.max_interval)
    acquire_distributed_beat_lock(sender=SimpleNamespace(scheduler=scheduler))  # as `celery beat` does at start
    assert scheduler.lock is not None and scheduler.lock.owned()

    # warm up until the next minute starts, then measure whole minutes
    now = time.time()
    start = (int(now) // 60 + 1) * 60
    end = start + args.minutes * 60
    print(f"\nticking: warm-up until {datetime.fromtimestamp(start, UTC):%H:%M:%S}, measuring until "
          f"{datetime.fromtimestamp(end, UTC):%H:%M:%S} UTC ({args.minutes:g} min)…", flush=True)
    ticks: list[tuple[float, float, int, int, float]] = []  # (wall time, seconds, loaded, fired, cpu seconds)
    while True:
        t = time.time()
        if t >= end + 2:
            break
        interval = scheduler.tick()
        tick = scheduler.last_tick
        ticks.append((t, tick.seconds, tick.loaded, tick.fired, tick.cpu_seconds))
        if interval and interval > 0:
            time.sleep(interval)
    scheduler.close()
    queued = client.llen("brq")
    app.close()

    measured = [tk for tk in ticks if start <= tk[0] < end]
    idle = [tk[1] for tk in measured if tk[3] == 0]
    firing = [tk[1] for tk in measured if tk[3] > 0]
    per_tick = [tk[3] for tk in measured if tk[3] > 0]
    print(f"\nticks measured: {len(measured)} ({len(firing)} fired something, {len(idle)} idle)")
    print(f"  tick time, firing ticks: {ms(firing)}")
    print(f"  tick time, idle ticks:   {ms(idle)}")
    print(f"  beat's CPU per firing tick: {ms([tk[4] for tk in measured if tk[3] > 0])}")
    print(f"  load average during the run: {os.getloadavg()[0]:.2f} (1 min) on {os.cpu_count()} CPUs — the wall "
          "clock includes waiting for the CPU when others use it")
    if per_tick:
        print(f"  entries fired per firing tick: median {statistics.median(per_tick):.0f}, max {max(per_tick)}; "
              f"per fired entry: {sum(firing) / sum(per_tick) * 1000:.2f} ms")
    over = [x for x in firing + idle if x >= 0.050]
    print(f"  ticks of 50 ms or more: {len(over)} of {len(measured)}")

    # every slot of every schedule in [start, end) fired exactly once?
    fired: dict[tuple[str, float], int] = {}
    late = []
    for sent_at, name, slot in scheduler.sent:
        if start <= slot < end:
            fired[(name, slot)] = fired.get((name, slot), 0) + 1
            late.append(sent_at - slot)
    expected = set()
    for i in range(args.schedules):
        second = 0 if args.aligned else i % 60
        for minute in range(int(start), int(end), 60):
            expected.add((f"s{i:05d}", float(minute + second)))
    missed = expected - set(fired)
    twice = [k for k, v in fired.items() if v > 1]
    unexpected = set(fired) - expected
    print(f"\nslots in the window: {len(expected)}; fired once: {len(expected) - len(missed) - len(twice)}; "
          f"missed: {len(missed)}; fired twice: {len(twice)}; fired but not a slot: {len(unexpected)}")
    print(f"  lateness behind the slot: p50 {pct(late, 50) * 1000:.1f} ms, p99 {pct(late, 99) * 1000:.1f} ms, "
          f"max {max(late) * 1000 if late else float('nan'):.1f} ms")
    print(f"  messages sent: {scheduler.messages} for {len(scheduler.sent)} slots; "
          f"waiting in the broker (no worker here): {queued}; Redis memory now "
          f"{used_memory(client) / 2**20:.1f} MiB")
    target_tick = "met" if firing and pct(firing, 95) < 0.050 and max(firing) < 0.050 else "NOT met"
    print(f"\ntarget: every tick under 50 ms — {target_tick} (max {max(firing + idle) * 1000:.1f} ms); "
          f"no missed slot — {'met' if not missed else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
