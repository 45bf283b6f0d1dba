"""Commands in pods over the exec websocket: stdout and stderr apart, the exit code from channel 3.

`exec_in_pod` is how the service runs `pgbackrest info`/`stanza-create` in a
repo host.  A stream that ends without its status frame raises `ExecFailed`
(the outcome is unknown; the caller decides whether the command is safe to
run again); an upgrade refused with a 5xx/429 ran nothing and is retried here.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import aiohttp
from kubernetes_asyncio import client
from kubernetes_asyncio.stream import WsApiClient

from ..retries import retry_async
from . import errors
from .lite import STATUS, STDERR, STDOUT, ExecResult, exit_code_of  # noqa: F401 - one parser of exec frames
from .lite import refused_transiently


async def exec_in_pod(configuration: client.Configuration, *, namespace: str, pod: str, container: str,
                      command: list[str], timeout: float = 300.0,
                      on_output: Callable[[int, bytes], Awaitable[None] | None] | None = None) -> ExecResult:
    """Run `command` in the container and wait for it (at most `timeout` seconds).

    `on_output(channel, data)` sees output as it arrives (the job-runner streams it to its own log).
    """
    out: dict[int, bytearray] = {STDOUT: bytearray(), STDERR: bytearray(), STATUS: bytearray()}
    got_status = False
    async with WsApiClient(configuration) as ws_api:
        core = client.CoreV1Api(ws_api)

        async def connect() -> aiohttp.ClientWebSocketResponse:
            try:
                ws_ctx = await core.connect_get_namespaced_pod_exec(
                    pod, namespace, container=container, command=command, stdout=True, stderr=True, stdin=False,
                    tty=False, _preload_content=False)
                return await ws_ctx
            except Exception as exc:  # noqa: BLE001 - handshake refusals and resets come as client errors
                raise errors.wrap(exc) from exc

        try:
            async with asyncio.timeout(timeout):
                # a handshake the server refused (5xx, 429) ran nothing: trying it again is safe
                ws = await retry_async(connect, retryable=refused_transiently, reason="kubernetes exec")
                async with ws:
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
                            continue
                        channel, data = msg.data[0], msg.data[1:]
                        if channel == STATUS and data:
                            got_status = True
                        if channel in out and data:
                            out[channel] += data
                            if on_output is not None and channel != STATUS:
                                result = on_output(channel, bytes(data))
                                if asyncio.iscoroutine(result):
                                    await result
        except TimeoutError:
            raise errors.ExecFailed(f"exec in {namespace}/{pod} did not finish within {timeout:g}s") from None
        except errors.KubeError:
            raise
        except Exception as exc:  # noqa: BLE001 - handshake refusals and resets come as client errors
            raise errors.wrap(exc) from exc
    if not got_status:
        raise errors.ExecFailed(f"exec stream in {namespace}/{pod} closed without a status frame")
    return ExecResult(exit_code_of(bytes(out[STATUS])), bytes(out[STDOUT]), bytes(out[STDERR]))
