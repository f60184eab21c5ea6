"""HTTP mode: Slack's one request URL and a health check, served by uvicorn (ASGI) through Starlette.

Bolt's own Starlette adapter calls the synchronous app on the event loop; here each request runs in
a worker thread instead, so one request waiting on the database never stalls the others. Only `threads`
of them run at once: Python runs one thread at a time, and more threads than that only queue for the
interpreter, which made a loaded server answer fewer requests, each more slowly (see the benchmarks).
The health check keeps its own threads, so it answers while every worker is busy."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
from collections.abc import Iterator

import anyio
from slack_bolt import App, BoltRequest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import INSTALL_PATH, REDIRECT_PATH
from bot.health import Health

SLACK_PATH = "/slack/events"
# Slack's largest request (a modal of a hundred filled inputs) is a few hundred kilobytes; anything bigger
# is refused before it is read, or one request could exhaust the memory of a server on a public URL.
MAX_BODY = 1_000_000
log = logging.getLogger("clinic_bot.web")


async def _body_at_most(request: Request, limit: int) -> bytes | None:
    """The request's body, or None as soon as it is known to be longer than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_web_app(bolt: App, health: Health, *, threads: int) -> Starlette:
    workers = anyio.CapacityLimiter(threads)

    async def slack_events(request: Request) -> Response:
        raw = await _body_at_most(request, MAX_BODY)
        if raw is None:
            return Response(status_code=413)
        body = raw.decode("utf-8", errors="replace")
        try:
            bolt_request = BoltRequest(body=body, query=request.url.query, headers=dict(request.headers))
        except Exception:  # Bolt could not even read it (not JSON, not an object): nothing Slack sends
            return Response(status_code=400)
        try:
            bolt_response = await anyio.to_thread.run_sync(bolt.dispatch, bolt_request, limiter=workers)
        except Exception:  # Bolt itself choked on a payload no Slack request has the shape of
            log.warning("unreadable_request")
            return Response(status_code=400)
        return Response(
            status_code=bolt_response.status,
            content=bolt_response.body,
            headers=bolt_response.first_headers_without_set_cookie(),
        )

    async def install(request: Request) -> Response:
        """Slack's OAuth flow: the "Add to Slack" page, then Slack's redirect back with a code."""
        flow = bolt.oauth_flow
        assert flow is not None
        bolt_request = BoltRequest(body="", query=request.url.query, headers=dict(request.headers))
        handle = flow.handle_installation if request.url.path == flow.install_path else flow.handle_callback
        bolt_response = await run_in_threadpool(handle, bolt_request)
        response = Response(
            status_code=bolt_response.status,
            content=bolt_response.body,
            headers=bolt_response.first_headers_without_set_cookie(),
        )
        for cookie in bolt_response.headers.get("set-cookie", []):
            response.headers.append("set-cookie", cookie)
        return response

    async def healthz(_request: Request) -> Response:
        status, report = await run_in_threadpool(health.report)
        return JSONResponse(report, status_code=status)

    routes = [Route(SLACK_PATH, slack_events, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])]
    if bolt.oauth_flow is not None:
        routes += [Route(path, install, methods=["GET"]) for path in (INSTALL_PATH, REDIRECT_PATH)]
    return Starlette(routes=routes)


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound now: a port another process holds stops start-up before the scheduler
    has sent anything (OSError)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve on `sock` until SIGTERM or SIGINT, then return, so that the caller's graceful stop runs.
    `uvicorn.run` raises the signal again once it has stopped serving, which kills the process before
    claimed messages are handed back and the scheduler is stopped."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    Server(uvicorn.Config(app, log_config=None, access_log=False)).run(sockets=[sock])
