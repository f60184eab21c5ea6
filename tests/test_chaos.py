"""Chaos: three scheduler replicas on PostgreSQL, one killed every half second and replaced, PostgreSQL
restarted once, and Slack answering 10% of calls with a 429 and 5% with a 500. Every owner must be nudged
once: a message a killed replica may have posted is looked for in the owner's DM before it is sent again."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import func, select

from bot.actions import NewAction
from bot.app import create_app
from bot.clock import FixedClock
from bot.people import Person
from bot.settings import Settings
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import OutboxMessage
from tests.conftest import ASSIGNER, BOT_TOKEN
from tests.helpers import nudges_per_person

pytestmark = pytest.mark.slow

OWNERS = [f"UCH{n:03d}" for n in range(40)]
# Every hour of every day is working time here, so that what is due is due whenever the suite runs.
ALWAYS = {"WORKING_DAYS": "mon,tue,wed,thu,fri,sat,sun", "WORKING_HOURS": "00:00-23:59"}


@pytest.fixture
def overdue(own_postgres, slack) -> str:
    """Forty owners, each with two actions overdue by a week (by the real clock)."""
    url = own_postgres.create_database("chaos")
    upgrade(url)
    engine = make_engine(url)
    settings = Settings(slack_bot_token=BOT_TOKEN, slack_api_url=slack.base_url, database_url=url, _env_file=None)
    fortnight_ago = datetime.now(UTC) - timedelta(days=14)  # assigned then, due a week later
    bot = create_app(settings, session_factory=make_session_factory(engine), clock=FixedClock(fortnight_ago))
    due = (fortnight_ago + timedelta(days=7)).date()
    for owner in OWNERS:
        slack.add_user(owner, name=owner, tz="UTC")
        person = Person(owner, owner, "UTC")
        bot.services.people.remember("T0001", person)
        for n in range(2):
            new = NewAction(
                team_id="T0001", title=f"Item {n} for {owner}", owner_id=owner, assigner_id=ASSIGNER, due_date=due
            )
            bot.services.actions.create(new, person)
    bot.services.delivery.deliver_due()  # the assignment DMs
    bot.close()
    engine.dispose()
    slack.reset()
    return url


def replica(url: str, slack, cwd: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).parents[1]),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": url,
        "PASS_EVERY_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
        **ALWAYS,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "scheduler"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def nudges(slack) -> Counter[str]:
    return nudges_per_person(slack, OWNERS)


def unsent(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                select(func.count()).where(OutboxMessage.state == "pending", OutboxMessage.kind == "chase")
            ).scalar_one()
    finally:
        engine.dispose()


def run_chaos(
    url: str, slack, cluster, tmp_path: Path, *, stop: signal.Signals, restart_postgres: bool
) -> tuple[Counter[str], int]:
    rng = random.Random(7)
    slack.latency = 0.05  # a pass takes a few seconds, so kills land in the middle of sending
    slack.misbehave(rate_limited=0.10, server_error=0.05, seed=7)
    log = (tmp_path / "replicas.log").open("ab")
    replicas = [replica(url, slack, tmp_path, log) for _ in range(3)]
    stops = 0
    try:
        started = time.monotonic()
        restarted = False
        while time.monotonic() - started < 20:
            time.sleep(0.5)
            victim = replicas.pop(rng.randrange(len(replicas)))
            victim.send_signal(stop)
            if stop == signal.SIGTERM:
                victim.wait(timeout=60)
            stops += 1
            replicas.append(replica(url, slack, tmp_path, log))
            if restart_postgres and not restarted and time.monotonic() - started > 8:
                cluster.restart("fast")
                restarted = True
        deadline = time.monotonic() + 240  # leases of killed replicas run out after a minute
        while time.monotonic() < deadline and (set(nudges(slack)) != set(OWNERS) or unsent(url)):
            time.sleep(1)
    finally:
        for process in replicas:
            process.send_signal(signal.SIGTERM)
        for process in replicas:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
    return nudges(slack), stops


def test_killed_replicas_a_postgres_restart_and_a_throttling_slack_lose_no_nudge(
    overdue, slack, own_postgres, tmp_path, record_property
):
    counts, kills = run_chaos(overdue, slack, own_postgres, tmp_path, stop=signal.SIGKILL, restart_postgres=True)

    missing = sorted(set(OWNERS) - set(counts))
    duplicates = sum(n - 1 for n in counts.values())
    record_property("chaos_kills", kills)
    record_property("chaos_duplicates", duplicates)
    print(
        f"\nchaos: {kills} replicas killed, {len(slack.failed_calls)} Slack calls failed, {duplicates} duplicate nudges"
    )
    assert missing == []
    assert duplicates == 0


def test_replicas_stopped_gracefully_send_nothing_twice(overdue, slack, own_postgres, tmp_path):
    counts, stops = run_chaos(overdue, slack, own_postgres, tmp_path, stop=signal.SIGTERM, restart_postgres=False)

    assert sorted(set(OWNERS) - set(counts)) == []
    assert {owner: n for owner, n in counts.items() if n > 1} == {}, f"after {stops} graceful stops"
