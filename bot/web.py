"""HTTP mode: Slack's one request URL and a health check, served by uvicorn (ASGI) through Starlette.

Bolt's own Starlette adapter calls the synchronous app on the event loop; here each request runs in
the thread pool instead, so one slow request never stalls the others."""

from __future__ import annotations

from slack_bolt import App, BoltRequest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storage.db import ping

SLACK_PATH = "/slack/events"


def create_web_app(bolt: App, engine) -> Starlette:  # type: ignore[no-untyped-def]
    async def slack_events(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", errors="replace")
        bolt_request = BoltRequest(body=body, query=request.url.query, headers=dict(request.headers))
        bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
        return Response(
            status_code=bolt_response.status,
            content=bolt_response.body,
            headers=bolt_response.first_headers_without_set_cookie(),
        )

    async def healthz(_request: Request) -> Response:
        try:
            await run_in_threadpool(ping, engine)
        except Exception:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    return Starlette(
        routes=[
            Route(SLACK_PATH, slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
