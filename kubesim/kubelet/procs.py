"""Child processes on the event loop: exit noticed through a pidfd, no thread per child.

`Proc` wraps a `subprocess.Popen` (started by `sandbox.spawn`); `ExecProc`
adds asyncio streams for an exec's stdin/stdout/stderr pipes.
"""
from __future__ import annotations

import asyncio
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


class ExecProc(Proc):
    """An exec: the process plus asyncio streams over its pipes (None where not piped)."""

    def __init__(self, popen: subprocess.Popen):
        super().__init__(popen)
        self.stdout: asyncio.StreamReader | None = None
        self.stderr: asyncio.StreamReader | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._stdin_proto: asyncio.BaseProtocol | None = None

    async def connect(self) -> "ExecProc":
        loop = self._loop
        for attr in ("stdout", "stderr"):
            pipe = getattr(self.popen, attr)
            if pipe is not None:
                reader = asyncio.StreamReader(limit=1 << 20)
                await loop.connect_read_pipe(lambda r=reader: asyncio.StreamReaderProtocol(r), pipe)
                setattr(self, attr, reader)
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
