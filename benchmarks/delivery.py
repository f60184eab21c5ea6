"""Delivery under Slack's limits: 10,000 queued messages to 1,000 recipients, sent by the real `Delivery`
through the Slack stand-in enforcing about one message a second per conversation and a workspace-wide
cap, answering 429 with Retry-After beyond them. Counts what arrived (none lost, none twice), the 429s,
and the total time against the ideal the limits allow.

The workspace cap is 100 messages a second, so that the ideal for 10,000 messages is 100 s and both
databases run in about four minutes; the dispatcher is given the same figure as its pace, as a
deployment would be given Slack's. The queue is in a realistic order: each recipient's ten messages come
in runs of one to three (an owner with several overdue actions is nudged about them together), the runs
of all recipients shuffled."""

from __future__ import annotations

import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from bot.clock import SystemClock
from bot.delivery import Delivery, Pace
from bot.demo.standin import SlackStandIn
from bot.slack import SlackGateway, new_web_client
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import OutboxMessage

START, END = "<!-- benchmarks-delivery:start -->", "<!-- benchmarks-delivery:end -->"
TEAM = "T0BENCH"
TOKEN = "xoxb-benchmark"
PER_CHANNEL_PER_SECOND = 1.0
WORKSPACE_PER_SECOND = 100.0
HEADER = (
    "| database | messages | recipients | delivered | lost | sent twice | 429s (share of calls) "
    "| total time | ideal under the limits | ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


@dataclass(frozen=True)
class Result:
    label: str
    messages: int
    recipients: int
    delivered: int
    lost: int
    duplicated: int
    rate_limited: int
    calls: int
    seconds: float

    @property
    def ideal(self) -> float:
        per_recipient = self.messages / self.recipients
        return max(self.messages / WORKSPACE_PER_SECOND, per_recipient / PER_CHANNEL_PER_SECOND)

    def row(self) -> str:
        share = self.rate_limited / max(self.calls, 1)
        return (
            f"| {self.label} | {self.messages:,} | {self.recipients:,} | {self.delivered:,} | {self.lost:,} "
            f"| {self.duplicated:,} | {self.rate_limited:,} ({share:.2%}) | {self.seconds:,.1f} s "
            f"| {self.ideal:,.1f} s | {self.seconds / self.ideal:.2f}x |"
        )


def recipient(n: int) -> str:
    return f"UD{n:06d}"


def realistic_order(messages: int, recipients: int, rng: random.Random) -> list[tuple[str, int]]:
    """(recipient, number) for every message: each recipient's in runs of one to three, runs shuffled."""
    runs: list[list[tuple[str, int]]] = []
    for r in range(recipients):
        own = [(recipient(r), n) for n in range(messages // recipients)]
        while own:
            size = rng.randint(1, 3)
            runs.append(own[:size])
            own = own[size:]
    rng.shuffle(runs)
    return [message for run in runs for message in run]


def queue(engine, order: list[tuple[str, int]], now: datetime) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {
            "team_id": TEAM,
            "dedupe_key": f"bench:{person}:{n}",
            "kind": "note",
            "recipient": person,
            "action_id": None,
            "text": f"{person} message {n}",
            "blocks": [],
            "payload": None,
            "created_at": now,
            "not_before": now,
            "state": "pending",
            "attempts": 0,
            "last_error": None,
            "lease_owner": None,
            "lease_until": None,
            "sent_at": None,
            "sent_channel": None,
            "sent_ts": None,
        }
        for person, n in order
    ]
    with engine.begin() as connection:
        connection.execute(insert(OutboxMessage), rows)


def measure(url: str, label: str, messages: int, recipients: int) -> Result:
    upgrade(url)
    engine = make_engine(url)
    clock = SystemClock()
    order = realistic_order(messages, recipients, random.Random(4))
    queue(engine, order, clock.now() - timedelta(seconds=1))
    with SlackStandIn(team_id=TEAM) as slack:
        for r in range(recipients):
            slack.add_user(recipient(r), tz="UTC", team_id=TEAM)
        slack.limit(per_channel_per_second=PER_CHANNEL_PER_SECOND, workspace_per_second=WORKSPACE_PER_SECOND)
        gateway = SlackGateway(new_web_client(TOKEN, slack.base_url))
        delivery = Delivery(
            make_session_factory(engine),
            clock,
            lambda _team: gateway,
            {},
            pace=Pace(per_channel=1 / PER_CHANNEL_PER_SECOND, per_second=WORKSPACE_PER_SECOND, burst=10),
        )
        started = time.perf_counter()
        while delivery.owed():
            if not delivery.deliver_due().sent:
                time.sleep(0.1)  # what a 429 sent back waits out its Retry-After
        seconds = time.perf_counter() - started
        posts = Counter(call.params["text"] for call in slack.calls_to("chat.postMessage"))
        rate_limited = len(slack.rate_limited)
    with engine.connect() as connection:
        delivered = connection.execute(
            select(func.count()).where(OutboxMessage.state == "sent", OutboxMessage.team_id == TEAM)
        ).scalar_one()
    engine.dispose()
    expected = {f"{person} message {n}" for person, n in order}
    result = Result(
        label=label,
        messages=len(order),
        recipients=recipients,
        delivered=delivered,
        lost=len(expected - set(posts)),
        duplicated=sum(n - 1 for n in posts.values()),
        rate_limited=rate_limited,
        calls=sum(posts.values()) + rate_limited,
        seconds=seconds,
    )
    print(f"  {label}: {result.row()}", file=sys.stderr)
    return result


def table(results: list[Result]) -> str:
    lines = [HEADER, *(r.row() for r in results)]
    return "\n".join(lines) + (
        f"\n\nLimits enforced by the stand-in: {PER_CHANNEL_PER_SECOND:g} message a second per conversation, "
        f"{WORKSPACE_PER_SECOND:g} a second per workspace (HTTP 429 with Retry-After beyond them). "
        "Ideal = the larger of messages / workspace cap and messages per recipient / per-conversation rate.\n"
    )


def into_readme(text: str, result: str) -> str:
    return re.sub(f"{START}.*?{END}", f"{START}\n{result}{END}", text, flags=re.S)


def run(databases, messages: int) -> str:  # type: ignore[no-untyped-def]
    """`databases`: (label, new_database(name) -> url) pairs, as `python -m benchmarks` makes them."""
    recipients = max(1, messages // 10)
    return table([measure(new(f"bench_delivery_{messages}"), label, messages, recipients) for label, new in databases])
