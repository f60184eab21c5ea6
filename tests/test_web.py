"""The HTTP front: Slack requests run in a bounded number of worker threads, and the health check never
queues behind them."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import uvicorn
from slack_bolt import App
from slack_sdk import WebClient

from bot.demo.driver import sign
from bot.web import create_web_app

SECRET = "web-test-signing-secret"


class _Healthy:
    def report(self) -> tuple[int, dict[str, str]]:
        return 200, {"status": "ok"}


def _command(port: int, user_id: str) -> tuple[int, str]:
    body = urlencode({"team_id": "T1", "user_id": user_id, "command": "/clinic", "text": "status"})
    headers = {"content-type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
    request = Request(f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=headers)
    with urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def test_requests_beyond_the_worker_threads_wait_while_the_health_check_answers(slack):
    release, started = threading.Event(), threading.Event()
    client = WebClient(token="xoxb-web-test", base_url=slack.base_url)  # Bolt asks Slack once who it is
    app = App(signing_secret=SECRET, client=client, token_verification_enabled=False, process_before_response=True)

    @app.command("/clinic")
    def answer(ack, command) -> None:  # type: ignore[no-untyped-def]
        if command["user_id"] == "USLOW":
            started.set()
            release.wait(10)  # a request held up, say by a lock in the database
        ack(f"answered {command['user_id']}")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_web_app(app, _Healthy(), threads=1), port=port, log_config=None))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        while not server.started:
            time.sleep(0.01)
        with ThreadPoolExecutor(2) as pool:
            slow = pool.submit(_command, port, "USLOW")
            assert started.wait(10)
            queued = pool.submit(_command, port, "UQUICK")
            with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                assert response.status == 200  # while the one worker is busy
            time.sleep(0.3)
            assert not queued.done(), "a second request ran beside the first with one worker thread"
            release.set()
            assert slow.result(10) == (200, "answered USLOW")
            assert queued.result(10) == (200, "answered UQUICK")
    finally:
        release.set()
        server.should_exit = True
        serving.join(10)
