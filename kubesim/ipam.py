"""Pod address ranges: each running kubesim claims its own 127.N.0.0/16 so that two of them never hand out
the same pod IP (PostgreSQL in both would fight over 127.N.x.y:5432).

A range is claimed by holding an exclusive `flock` on `/tmp/.kubesim-ranges/N.lock` for the life of the process;
the kernel releases it when the process dies, however it dies.
"""
from __future__ import annotations

import fcntl
import os
import random

LOCK_DIR = "/tmp/.kubesim-ranges"


class RangeClaim:
    def __init__(self, octet: int, fd: int):
        self.octet = octet
        self._fd = fd

    @property
    def cidr(self) -> str:
        return f"127.{self.octet}.0.0/16"

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def claim(preferred: int | None = None) -> RangeClaim:
    """Claim a free 127.N.0.0/16 (N in 1..254), trying `preferred` first, then the others in random order."""
    os.makedirs(LOCK_DIR, mode=0o1777, exist_ok=True)
    candidates = list(range(1, 255))
    random.shuffle(candidates)
    if preferred is not None:
        candidates.remove(preferred)
        candidates.insert(0, preferred)
    for octet in candidates:
        fd = os.open(os.path.join(LOCK_DIR, f"{octet}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return RangeClaim(octet, fd)
    raise RuntimeError("every pod address range 127.1-254.0.0/16 is claimed by another kubesim")
