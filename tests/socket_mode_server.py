"""A local websocket server that speaks Slack's Socket Mode: it says hello, sends envelopes
(slash commands, interactions, events) and collects the app's acknowledgements."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from concurrent.futures import Future
from typing import Any

from websockets.asyncio.server import ServerConnection, serve


class SocketModeServer:
    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._connections: list[ServerConnection] = []
        self._pending: dict[str, Future[dict[str, Any]]] = {}
        self._connected = threading.Event()
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def start(self) -> SocketModeServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=5)
        return self

    async def _start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, connection: ServerConnection) -> None:
        self._connections.append(connection)
        await connection.send(
            json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}})
        )
        self._connected.set()
        async for raw in connection:
            message = json.loads(raw)
            future = self._pending.pop(message.get("envelope_id", ""), None)
            if future is not None:
                future.set_result(message.get("payload") or {})

    def wait_connected(self, timeout: float = 15) -> None:
        if not self._connected.wait(timeout):
            raise AssertionError("the app never connected over Socket Mode")

    def send(self, kind: str, payload: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send one envelope and wait for the app's acknowledgement; returns its response payload."""
        envelope_id = str(uuid.uuid4())
        future: Future[dict[str, Any]] = Future()
        self._pending[envelope_id] = future
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        asyncio.run_coroutine_threadsafe(self._connections[-1].send(json.dumps(envelope)), self._loop).result(timeout=5)
        return future.result(timeout=timeout)

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
