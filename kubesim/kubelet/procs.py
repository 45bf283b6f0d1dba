"""Child processes on the event loop: exit noticed through a pidfd, no thread per child.

`Proc` wraps a `subprocess.Popen` (started by `sandbox.spawn`); `ExecProc`
adds an exec's pipes: its output read straight off the loop (`PipeReader`), its stdin as an asyncio pipe.
"""
from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess


def exit_code(returncode: int) -> int:
    """Popen's returncode as Kubernetes reports it: a signal N is 128+N (SIGKILL → 137)."""
    return 128 - returncode if returncode < 0 else returncode


class Proc:
    def __init__(self, popen: subprocess.Popen):
        self.popen = popen
        self.pid = popen.pid
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._exit: asyncio.Future[int] = loop.create_future()
        try:
            self._pidfd = os.pidfd_open(popen.pid)
        except ProcessLookupError:  # already reaped elsewhere: cannot happen for our own child, but be safe
            self._pidfd = -1
            self._exit.set_result(exit_code(popen.wait()))
            return
        loop.add_reader(self._pidfd, self._reap)

    def _reap(self) -> None:
        rc = self.popen.poll()
        if rc is None:
            return
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = -1
        if not self._exit.done():
            self._exit.set_result(exit_code(rc))

    @property
    def done(self) -> bool:
        return self._exit.done()

    @property
    def returncode(self) -> int | None:
        return self._exit.result() if self._exit.done() else None

    async def wait(self) -> int:
        return await asyncio.shield(self._exit)

    def signal_group(self, sig: int = signal.SIGTERM) -> None:
        """Signal the process group the child leads (containers start in a session of their own)."""
        if self.done:
            return
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass


class PipeReader:
    """A child's output pipe read straight off the event loop (add_reader + os.read): no transport, no
    protocol, no connect round trip. `read()` returns the next chunk, b"" at EOF; reading the pipe pauses
    while more than `limit` bytes wait unread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pipe, limit: int = 1 << 20):
        self._loop = loop
        self._pipe = pipe                      # the Popen's file object: owns (and finally closes) the fd
        self._fd = pipe.fileno()
        os.set_blocking(self._fd, False)
        self._limit = limit
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._eof = False
        self._reading = False
        self._waiter: asyncio.Future | None = None
        self._resume()

    def _resume(self) -> None:
        if not self._reading and not self._eof:
            self._loop.add_reader(self._fd, self._ready)
            self._reading = True

    def _pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def _ready(self) -> None:
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:                        # EIO and the like: as good as EOF
            data = b""
        if data:
            self._chunks.append(data)
            self._size += len(data)
            if self._size > self._limit:
                self._pause()
        else:
            self.close()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def read(self) -> bytes:
        """The next chunk as read off the pipe (at most 64 KiB); b"" at EOF."""
        while not self._chunks:
            if self._eof:
                return b""
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._chunks.popleft()
        self._size -= len(data)
        if self._size <= self._limit:
            self._resume()
        return data

    def close(self) -> None:
        """Stop reading (what is buffered can still be read) and close the pipe."""
        self._pause()
        if not self._eof:
            self._eof = True
            self._pipe.close()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class ExecProc(Proc):
    """An exec: the process plus readers over its output pipes (None where not piped) and its stdin."""

    def __init__(self, popen: subprocess.Popen):
        super().__init__(popen)
        self.stdout: PipeReader | None = None
        self.stderr: PipeReader | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._stdin_proto: asyncio.BaseProtocol | None = None

    async def connect(self) -> "ExecProc":
        loop = self._loop
        if self.popen.stdout is not None:
            self.stdout = PipeReader(loop, self.popen.stdout)
        if self.popen.stderr is not None:
            self.stderr = PipeReader(loop, self.popen.stderr)
        if self.popen.stdin is not None:
            transport, proto = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, self.popen.stdin)
            self._stdin, self._stdin_proto = transport, proto
        return self

    async def write_stdin(self, data: bytes) -> None:
        if self._stdin is None or self._stdin.is_closing():
            return
        self._stdin.write(data)
        try:
            await self._stdin_proto._drain_helper()  # type: ignore[union-attr]
        except (ConnectionResetError, BrokenPipeError):
            pass

    def close_stdin(self) -> None:
        if self._stdin is not None and not self._stdin.is_closing():
            self._stdin.close()

    def kill(self) -> None:
        self.close_stdin()
        self.signal_group(signal.SIGKILL)
        for reader in (self.stdout, self.stderr):
            if reader is not None:
                reader.close()
