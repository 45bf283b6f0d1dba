"""`pods/exec` over websocket (v4/v5.channel.k8s.io) and `pods/log`, plain or followed.

Exec frames are binary, the first byte the channel: 0 stdin, 1 stdout,
2 stderr, 3 status (a `Status` JSON as the last frame), 4 resize; v5 adds
255: a client frame `FF 00` closes stdin.  An empty frame per output channel
opens the stream, as the kubelet's streaming server does.
"""
from __future__ import annotations

import asyncio
import json
import os

from aiohttp import WSMsgType, web

from . import errors
from .resources import PODS
from .server import Target

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, STATUS, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    if value is None:
        return default
    return value.lower() in ("true", "1")


def _container(pod: dict, name: str | None) -> str:
    containers = [c["name"] for c in pod["spec"].get("containers") or []]
    inits = [c["name"] for c in pod["spec"].get("initContainers") or []]
    if not name:
        if len(containers) == 1:
            return containers[0]
        raise errors.BadRequest(f"a container name must be specified for pod {pod['metadata']['name']}, "
                                f"choose one of: [{' '.join(containers)}]")
    if name not in containers + inits:
        raise errors.BadRequest(f"container {name} is not valid for pod {pod['metadata']['name']}")
    return name


def exit_status(code: int) -> dict:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": f"command terminated with non-zero exit code: error executing command [...], exit code {code}",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


async def exec_handler(request: web.Request, t: Target) -> web.StreamResponse:
    cluster = request.app["cluster"]
    faults = request.app["faults"]
    pod = cluster.store.get(PODS, t.namespace, t.name)
    container = _container(pod, request.query.get("container"))
    argv = request.query.getall("command", [])
    if not argv:
        raise errors.BadRequest("you must specify at least 1 command")
    want_stdin = _flag(request, "stdin")
    want_stdout = _flag(request, "stdout", True)
    want_stderr = _flag(request, "stderr", True)
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, max_msg_size=0)
    if not ws.can_prepare(request).ok:
        raise errors.BadRequest("Upgrade request required (kubesim speaks websocket v4/v5.channel.k8s.io only)")
    proc = await cluster.kubelet.exec_process(pod, container, argv, stdin=want_stdin)
    try:
        await ws.prepare(request)
        v5 = ws.ws_protocol == "v5.channel.k8s.io"
        if want_stdout:
            await ws.send_bytes(bytes([STDOUT]))
        if want_stderr:
            await ws.send_bytes(bytes([STDERR]))
        await ws.send_bytes(bytes([STATUS]))
    except BaseException:       # the client is gone before the upgrade completed: so is the process
        proc.kill()
        raise

    async def pump(reader, channel: int) -> None:
        if reader is None:
            return
        while True:
            chunk = await reader.read()
            if not chunk:
                return
            if (channel == STDOUT and want_stdout) or (channel == STDERR and want_stderr):
                await ws.send_bytes(bytes([channel]) + chunk)

    async def feed() -> None:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, payload = msg.data[0], msg.data[1:]
            if channel == STDIN and want_stdin:
                if payload:
                    await proc.write_stdin(payload)
            elif channel == CLOSE and v5 and payload[:1] == bytes([STDIN]):
                proc.close_stdin()
        # the client went away: nothing more will come on stdin
        proc.close_stdin()

    feeder = asyncio.create_task(feed())
    try:
        await asyncio.gather(pump(proc.stdout, STDOUT), pump(proc.stderr, STDERR))
        code = await proc.wait()
        if faults.take("exec_drop_status"):
            request.transport.close() if request.transport else None
            return ws
        await ws.send_bytes(bytes([STATUS]) + json.dumps(exit_status(code)).encode())
        await ws.close()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        proc.kill()
        feeder.cancel()
    return ws


async def log_handler(request: web.Request, t: Target) -> web.StreamResponse:
    cluster = request.app["cluster"]
    pod = cluster.store.get(PODS, t.namespace, t.name)
    container = _container(pod, request.query.get("container"))
    previous = _flag(request, "previous")
    path = cluster.kubelet.log_path(pod, container, previous=previous)
    if path is None or not os.path.exists(path):
        if previous:
            raise errors.BadRequest(f'previous terminated container "{container}" in pod "{t.name}" not found')
        raise errors.BadRequest(f'container "{container}" in pod "{t.name}" is waiting to start: '
                                "ContainerCreating")
    tail = request.query.get("tailLines")
    limit = request.query.get("limitBytes")
    with open(path, "rb") as f:
        data = f.read()
        offset = f.tell()
    if tail is not None:
        lines = data.splitlines(keepends=True)
        data = b"".join(lines[-int(tail):]) if int(tail) > 0 else b""
    if limit is not None:
        data = data[:int(limit)]
    if not _flag(request, "follow"):
        return web.Response(body=data, content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(data)
    uid = pod["metadata"]["uid"]
    try:
        while True:
            with open(path, "rb") as f:
                f.seek(offset)
                chunk = f.read()
                offset = f.tell()
            if chunk:
                await response.write(chunk)
            elif not cluster.kubelet.container_running(uid, container):
                break
            else:
                await asyncio.sleep(0.1)
        await response.write_eof()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response
