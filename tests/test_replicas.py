"""Several processes against one PostgreSQL: each nudge is sent once, and a process killed in the middle
of a pass loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.actions import NewAction
from bot.clinics import NewClinic
from bot.people import Person
from tests.conftest import ASSIGNER, BOT_TOKEN, LEAD, SIGNING_SECRET
from tests.helpers import nudges_per_person, text_of

pytestmark = pytest.mark.slow

OWNERS = [f"UNY{n:03d}" for n in range(40)]
ITEMS_EACH = 3
# Monday 30 November, 10:00 in New York: the first overdue nudge for Friday's deadline is due.
MONDAY = "2026-11-30T15:00:00+00:00"


@pytest.fixture
def seeded(postgres_url, slack):
    """Forty owners in New York with three actions each, all due last Friday, assignment DMs delivered."""
    from bot.app import create_app
    from bot.clock import FixedClock
    from bot.settings import Settings
    from storage.db import make_engine, make_session_factory

    engine = make_engine(postgres_url)
    settings = Settings(
        slack_bot_token=BOT_TOKEN, slack_api_url=slack.base_url, database_url=postgres_url, _env_file=None
    )
    bot = create_app(
        settings,
        session_factory=make_session_factory(engine),
        clock=FixedClock(datetime(2026, 11, 24, 10, tzinfo=UTC)),
    )
    for owner in OWNERS:
        slack.add_user(owner, name=owner, tz="America/New_York")
        person = Person(owner, owner, "America/New_York")
        bot.services.people.remember("T0001", person)
        for n in range(ITEMS_EACH):
            bot.services.actions.create(
                NewAction(
                    team_id="T0001",
                    title=f"Item {n} for {owner}",
                    owner_id=owner,
                    assigner_id=ASSIGNER,
                    due_date=date(2026, 11, 27),
                ),
                person,
            )
    lead = Person(LEAD, "Lee Lead", "Europe/London")
    bot.services.people.remember("T0001", lead)
    bot.services.clinics.register(
        NewClinic(team_id="T0001", name="Discharge flow", lead_id=LEAD, created_by=LEAD), lead
    )
    bot.services.delivery.deliver_due()
    bot.close()
    engine.dispose()
    slack.reset()
    return postgres_url


def tick(url: str, slack, now: str, cwd: Path) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).parents[1]),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": url,
        "TICK_TIMEOUT_SECONDS": "120",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "tick", "--now", now],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def nudges_per_owner(slack) -> Counter[str]:
    return nudges_per_person(slack, OWNERS)


def test_two_processes_passing_at_once_send_each_nudge_once(seeded, slack, tmp_path):
    slack.latency = 0.01  # enough for the two passes to overlap
    first, second = tick(seeded, slack, MONDAY, tmp_path), tick(seeded, slack, MONDAY, tmp_path)

    results = [p.communicate(timeout=180) for p in (first, second)]

    assert first.returncode == 0 and second.returncode == 0, results
    assert nudges_per_owner(slack) == Counter({owner: 1 for owner in OWNERS})
    for call in slack.calls_to("chat.postMessage"):
        if call.params["channel"].removeprefix("D") in OWNERS:
            assert text_of(call).count("Item ") == ITEMS_EACH  # all three items, in one message


def test_two_processes_passing_at_once_send_one_weekly_digest(seeded, slack, tmp_path):
    first, second = tick(seeded, slack, MONDAY, tmp_path), tick(seeded, slack, MONDAY, tmp_path)

    results = [p.communicate(timeout=180) for p in (first, second)]

    assert first.returncode == 0 and second.returncode == 0, results
    digests = [c for c in slack.messages_to(LEAD) if text_of(c).startswith("Weekly digest")]
    assert len(digests) == 1 and len(slack.calls_to("files.completeUploadExternal")) == 1


def test_a_process_killed_mid_pass_loses_nothing(seeded, slack, tmp_path):
    slack.latency = 0.1  # forty messages take about four seconds
    victim = tick(seeded, slack, MONDAY, tmp_path)
    slack.wait_for(lambda calls: len(calls) >= 5, timeout=30)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    delivered_before = len(slack.calls_to("chat.postMessage"))
    assert 0 < delivered_before < len(OWNERS)

    # Restarted two minutes later, when the dead process's leases have run out.
    survivor = tick(seeded, slack, "2026-11-30T15:02:00+00:00", tmp_path)
    _out, err = survivor.communicate(timeout=180)

    assert survivor.returncode == 0, err
    counts = nudges_per_owner(slack)
    assert set(counts) == set(OWNERS)  # nobody missed
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= 1, f"{duplicates} owners were nudged twice"  # at most the one in flight at the kill
