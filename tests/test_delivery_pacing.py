"""Delivering at Slack's pace: with the stand-in enforcing Slack's limits (about one message a second into a
conversation, a cap on the workspace), a burst of messages all arrive, once each, with no 429s, and a 429
that comes anyway holds back the whole workspace until its Retry-After."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import queries
from storage.models import OutboxMessage
from tests.conftest import LEAD, OTHER, OWNER, SPONSOR
from tests.test_workspaces import install, multi  # noqa: F401 (a fixture: two workspaces installed by OAuth)


def queue(bot, clock, messages: list[tuple[str, str]], team: str = "T0001") -> None:
    """Messages due now, as a pass would queue them: (recipient, text) in that order."""
    with bot.services.sessions.begin() as session:
        for n, (recipient, text) in enumerate(messages):
            queries.enqueue(
                session,
                team_id=team,
                dedupe_key=f"paced-{team}-{n}",
                kind="note",
                recipient=recipient,
                text=text,
                blocks=[],
                created_at=clock.now(),
                not_before=clock.now(),
            )


@pytest.fixture
def pace() -> dict[str, float]:
    return {}  # Slack's pace, as in production


def received(slack, people) -> dict[str, Counter[str]]:
    return {person: Counter(c.params["text"] for c in slack.messages_to(person)) for person in people}


def states(db) -> Counter[str]:
    db.expire_all()
    return Counter(db.scalars(select(OutboxMessage.state)))


def test_a_burst_to_a_few_people_arrives_once_each_without_a_429(bot, slack, db, clock):
    slack.limit(per_channel_per_second=1.0, workspace_per_second=20)
    people = [OWNER, LEAD, SPONSOR]
    queue(bot, clock, [(person, f"{person} {n}") for person in people for n in range(3)])  # each one's together

    bot.services.delivery.deliver_due()

    assert received(slack, people) == {p: Counter({f"{p} {n}": 1 for n in range(3)}) for p in people}
    assert slack.rate_limited == []
    assert states(db) == Counter({"sent": 9})
    # While the owner's conversation waits its second, the others are posted to: no one waits behind them.
    first_three = [c.params["channel"] for c in slack.calls_to("chat.postMessage")[:3]]
    assert sorted(first_three) == sorted(people)


def test_the_workspace_is_posted_to_at_the_dispatchers_pace_not_in_one_rush(bot, slack, db, clock):
    people = [f"UPACE{n:02d}" for n in range(15)]
    for person in people:
        slack.add_user(person, name=person, tz="UTC")
    slack.limit(per_channel_per_second=1.0, workspace_per_second=6)  # a little above the default pace of 5/s
    queue(bot, clock, [(person, f"hello {person}") for person in people])

    started = time.monotonic()
    bot.services.delivery.deliver_due()

    assert received(slack, people) == {p: Counter({f"hello {p}": 1}) for p in people}
    assert slack.rate_limited == []
    assert time.monotonic() - started >= 1.8  # five at once, then five a second


def test_the_background_worker_and_a_pass_keep_one_pace_between_them(bot, slack, db, clock):
    slack.limit(per_channel_per_second=1.0, workspace_per_second=20)
    people = [OWNER, OTHER]
    queue(bot, clock, [(person, f"{person} {n}") for n in range(3) for person in people])

    bot.services.delivery.kick()  # the worker a request would start...
    a_pass = threading.Thread(target=bot.services.delivery.deliver_due)  # ...and the scheduler's pass
    a_pass.start()
    slack.wait_for(lambda _c: sum(map(len, (slack.messages_to(p) for p in people))) >= 6, timeout=10)
    a_pass.join()
    bot.services.delivery.stop()

    assert received(slack, people) == {p: Counter({f"{p} {n}": 1 for n in range(3)}) for p in people}
    assert slack.rate_limited == []


def test_a_429_holds_back_the_whole_workspace_until_retry_after_and_loses_nothing(bot, slack, db, clock):
    slack.limit(per_channel_per_second=1.0, workspace_per_second=20)
    slack.fail_next("chat.postMessage", status=429, retry_after=30)  # Slack knows a limit we do not
    queue(bot, clock, [(OWNER, "first"), (LEAD, "second"), (SPONSOR, "third")])

    bot.services.delivery.deliver_due()
    # Slack's Retry-After is for the app in the workspace: nobody else's message is even tried meanwhile.
    [refused] = slack.rate_limited
    assert refused.params["channel"] in (OWNER, "D" + OWNER)
    assert slack.failed_calls == [refused] and slack.calls_to("chat.postMessage") == []

    clock.advance(timedelta(seconds=29))
    bot.services.delivery.deliver_due()
    assert slack.failed_calls == [refused] and slack.calls_to("chat.postMessage") == []

    clock.advance(timedelta(seconds=1))
    bot.services.delivery.deliver_due()
    assert received(slack, [OWNER, LEAD, SPONSOR]) == {
        OWNER: Counter({"first": 1}),
        LEAD: Counter({"second": 1}),
        SPONSOR: Counter({"third": 1}),
    }
    assert len(slack.rate_limited) == 1
    assert states(db) == Counter({"sent": 3})


def test_a_429_in_one_workspace_holds_back_no_other(multi, slack, db, clock):  # noqa: F811
    assert install(multi, "T0001") == 200 and install(multi, "T0002") == 200
    queue(multi, clock, [(OWNER, "alpha")], team="T0001")
    queue(multi, clock, [(LEAD, "beta")], team="T0002")
    slack.fail_next("chat.postMessage", status=429, retry_after=30)  # the first post, into T0001

    multi.services.delivery.deliver_due()
    [refused] = slack.rate_limited
    assert slack.installed[refused.token] == "T0001"
    assert received(slack, [OWNER, LEAD]) == {OWNER: Counter(), LEAD: Counter({"beta": 1})}

    clock.advance(timedelta(seconds=30))
    multi.services.delivery.deliver_due()
    assert received(slack, [OWNER, LEAD]) == {OWNER: Counter({"alpha": 1}), LEAD: Counter({"beta": 1})}
    assert states(db) == Counter({"sent": 2})
