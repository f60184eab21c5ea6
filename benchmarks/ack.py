"""The ack path, digests and memory at scale, each beside its floor.

- `/clinic status` by an owner with 20 open actions, signed like Slack signs it: in process
  (`app.dispatch`) and over HTTP on the production server (uvicorn, one worker) at concurrency 1 and 16,
  beside a bare Bolt app whose listener only acks, measured in the same run on the same server code.
- The same in process while Slack's Web API takes 2 s to answer: the ack must not wait for it.
- Building the weekly digest of every one of the 100 clinics.
- Peak memory of a `clinic-bot run` process once it has planned a pass and the Monday digests and sent them."""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from sqlalchemy import delete, func, select

from benchmarks.seed import CLINICS, NOW, TEAM, make_due, owner_of
from bot.app import create_app
from bot.cli import freeze_start_up_objects
from bot.clock import FixedClock
from bot.demo.driver import sign
from bot.demo.standin import SlackStandIn
from bot.settings import Settings
from storage.db import make_session_factory
from storage.models import Heartbeat, OutboxMessage

SECRET = "benchmark-signing-secret"
TOKEN = "xoxb-benchmark"
ROOT = Path(__file__).parents[1]


@dataclass(frozen=True)
class Latency:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def status_body(user_id: str) -> str:
    return urlencode(
        {
            "team_id": TEAM,
            "channel_id": "C0BENCH",
            "user_id": user_id,
            "command": "/clinic",
            "text": "status",
            "response_url": "http://127.0.0.1:9/response",
            "trigger_id": "t-1",
        }
    )


def bare_bolt(api_url: str) -> App:
    """The floor: the same framework, signature check included, doing nothing but ack. (Like Clinic Bot,
    it asks the Slack stand-in once who it is.)"""
    app = App(
        signing_secret=SECRET,
        client=WebClient(token=TOKEN, base_url=api_url),
        token_verification_enabled=False,
        process_before_response=True,
    )

    @app.command("/clinic")
    def ack_only(ack) -> None:  # type: ignore[no-untyped-def]
        ack()

    return app


def in_process(app: App, body: str, count: int) -> Latency:
    times = []
    started = time.perf_counter()
    for _ in range(count):
        request = BoltRequest(
            body=body, headers={"content-type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
        )
        begin = time.perf_counter()
        response = app.dispatch(request)
        times.append(time.perf_counter() - begin)
        assert response.status == 200, response.body
    return _latency(times, time.perf_counter() - started)


def _latency(times: list[float], seconds: float) -> Latency:
    quantiles = statistics.quantiles(times, n=100)
    return Latency(len(times), seconds, quantiles[49] * 1000, quantiles[98] * 1000)


def clinic_app(url: str, slack: SlackStandIn):  # type: ignore[no-untyped-def]
    from storage.db import make_engine

    settings = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.base_url,
        database_url=url,
        log_level="WARNING",
        _env_file=None,
    )
    return create_app(settings, session_factory=make_session_factory(make_engine(url)), clock=FixedClock(NOW))


# --- over HTTP, with wrk ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, *argv],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server on port {port} did not start")


def wrk(port: int, body: str, connections: int, seconds: int = 5) -> Latency:
    headers = sign(SECRET, body)  # one signature serves the whole run: it stays valid for five minutes
    script = "\n".join(
        [
            'wrk.method = "POST"',
            f"wrk.body = {_lua(body)}",
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
            *(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in headers.items()),
        ]
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
        file.write(script)
    threads = min(connections, 2)
    done = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", file.name,
         f"http://127.0.0.1:{port}/slack/events"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    os.unlink(file.name)
    out = done.stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Latency(requests, seconds, _ms(out, "50%"), _ms(out, "99%"))


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ms(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def over_http(url: str, slack: SlackStandIn, body: str) -> dict[tuple[str, int], Latency]:
    if shutil.which("wrk") is None:
        print("  wrk is not installed (apt-get install wrk): skipping the HTTP measurements", file=sys.stderr)
        return {}
    results = {}
    env = {"DATABASE_URL": url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": slack.base_url, "LOG_LEVEL": "WARNING"}  # fmt: skip
    for name, argv in (
        ("Clinic Bot", ["-m", "bot.cli", "run", "--mode", "http", "--host", "127.0.0.1", "--no-scheduler"]),
        ("bare Bolt", ["-m", "benchmarks.bare"]),
    ):
        port = _free_port()
        server = _serve([*argv, "--port", str(port)], env, port)
        try:
            wrk(port, body, 4, seconds=2)  # warm up
            for connections in (1, 16):
                results[(name, connections)] = wrk(port, body, connections)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return results


# --- digests and memory -----------------------------------------------------------------------------


def digests(app) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for n in range(CLINICS):
        assert app.services.digests.preview(TEAM, f"UL{n:06d}", "Europe/London") is not None
    return time.perf_counter() - started


def run_peak_rss_mb(url: str, slack: SlackStandIn, engine) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    """Peak memory of `clinic-bot run` (HTTP mode, scheduler on) once its first pass, with 0.1% due, has
    planned the nudges and the Monday digests, and every message is sent or refused (charts included)."""
    make_due(engine, 1000)
    for n in range(CLINICS * 2):  # the leads and sponsors, so that their digests and charts are sent
        slack.add_user(f"UL{n:06d}", name=f"Lead {n}")
    with engine.begin() as connection:
        connection.execute(delete(Heartbeat))  # "a pass ran" must mean this process's pass
    port = _free_port()
    server = _serve(
        ["-m", "benchmarks.run_at", "--mode", "http", "--host", "127.0.0.1", "--port", str(port)],
        {"DATABASE_URL": url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
         "SLACK_API_URL": slack.base_url, "LOG_LEVEL": "WARNING",
         # memory is measured here, not Slack's pace (the stand-in sets no limits; see benchmarks/delivery.py)
         "SEND_PER_SECOND": "1000", "SEND_BURST": "1000", "SEND_GAP_PER_CONVERSATION_SECONDS": "0"},
        port,
    )  # fmt: skip
    count = select(func.count())
    try:
        deadline = time.monotonic() + 1800
        while True:
            with engine.connect() as connection:
                passed = connection.scalar(count.select_from(Heartbeat))
                pending = connection.scalar(count.where(OutboxMessage.state == "pending"))
            if passed and not pending:
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"`clinic-bot run` did not settle: {pending} messages pending")
            time.sleep(0.5)
        status = Path(f"/proc/{server.pid}/status").read_text()
        peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    finally:
        server.terminate()
        server.wait(timeout=60)
    with engine.connect() as connection:
        sent = int(connection.scalar(count.where(OutboxMessage.state == "sent")) or 0)
    # Only the owner of the status requests is known to the stand-in: nudges to the others are refused.
    return peak_kb / 1024, sent


def measure(url: str, engine, label: str, size: int, requests: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Everything in this module for one seeded database; Markdown table rows."""
    owner = owner_of(0)
    body = status_body(owner)
    rows = []
    with SlackStandIn(team_id=TEAM) as slack:
        slack.add_user(owner, name="Owner 0", tz="Europe/London")
        app = clinic_app(url, slack)
        bare = bare_bolt(slack.base_url)
        freeze_start_up_objects()  # as `clinic-bot run` does before it serves
        in_process(app.bolt, body, 50)  # warm up caches and connections
        ours, floor = in_process(app.bolt, body, requests), in_process(bare, body, requests)
        rows.append(_row(label, size, "in process, one at a time", ours, floor))
        slack.latency = 2.0
        slow = in_process(app.bolt, body, 200)
        rows.append(_row(label, size, "in process, Slack answering after 2 s", slow, None))
        slack.latency = 0.0
        took = digests(app)
        rows.append(f"| {label} | {size:,} | digests of all {CLINICS} clinics | {took * 1000:,.0f} ms in all | | |")
        app.close()
        http = over_http(url, slack, body)
        for connections in (1, 16):
            if ("Clinic Bot", connections) in http:
                rows.append(
                    _row(label, size, f"HTTP, {connections} at a time", http[("Clinic Bot", connections)],
                         http[("bare Bolt", connections)], rate=True)
                )  # fmt: skip
        peak, sent = run_peak_rss_mb(url, slack, engine)
        what = f"`clinic-bot run`: after a pass and the digests, {sent:,} sent"
        rows.append(f"| {label} | {size:,} | {what} | peak RSS {peak:,.0f} MB | | |")
    return rows


def _row(label: str, size: int, what: str, ours: Latency, floor: Latency | None, rate: bool = False) -> str:
    speed = f"{ours.per_second:,.0f}/s, " if rate else ""
    shown = f"{speed}p50 {ours.p50_ms:.2f} ms, p99 {ours.p99_ms:.2f} ms"
    if floor is None:
        return f"| {label} | {size:,} | {what} | {shown} | | |"
    floor_speed = f"{floor.per_second:,.0f}/s, " if rate else ""
    return (
        f"| {label} | {size:,} | {what} | {shown} | {floor_speed}p50 {floor.p50_ms:.2f} ms, "
        f"p99 {floor.p99_ms:.2f} ms | {ours.p99_ms / floor.p99_ms:.1f}x |"
    )


HEADER = (
    "| database | stored actions | measured | Clinic Bot | bare Bolt (acks only) | p99 ratio |\n"
    "|---|---:|---|---|---|---:|"
)
