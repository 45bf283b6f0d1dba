"""The watcher's re-sends of stale tasks back off: a task waiting behind a long queue is not re-sent every period."""
from __future__ import annotations

from tasks.watcher import resend_hold


def test_each_stale_re_send_waits_twice_as_long_as_the_one_before():
    gaps = [15 + resend_hold(n, stale=15) for n in range(1, 9)]  # stale wait + hold after re-send n
    assert gaps == [15, 30, 60, 120, 240, 480, 960, 960]
