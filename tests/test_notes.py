"""Replies in the thread of the owner's DM become progress notes on the action."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from storage.models import ActionEvent, OutboxMessage
from tests.conftest import ASSIGNER, OTHER, OWNER
from tests.helpers import actions_in, history_kinds, wait_dms


def sent_thread(db, action_id: int) -> tuple[str, str]:
    """The channel and ts of the owner's DM about the action, once delivery has recorded them."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        db.expire_all()
        row = db.scalar(
            select(OutboxMessage).where(OutboxMessage.action_id == action_id, OutboxMessage.kind == "assigned")
        )
        if row is not None and row.sent_ts:
            return row.sent_channel, row.sent_ts
        time.sleep(0.02)
    raise AssertionError("the owner's DM was never recorded as sent")


def assigned(user, slack, db) -> tuple[int, str, str]:
    user.command(ASSIGNER, f"add <@{OWNER}> Note me by friday")
    wait_dms(slack, OWNER)
    [action] = actions_in(db)
    return (action.id, *sent_thread(db, action.id))


def test_a_thread_reply_is_noted_once_even_when_slack_redelivers_it(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)

    first = user.dm_reply(OWNER, channel, ts, "Spoke to the audit team", event_id="EvNOTE1")
    again = user.dm_reply(OWNER, channel, ts, "Spoke to the audit team", event_id="EvNOTE1", retry=1)

    assert (first.status, again.status) == (200, 200)
    assert history_kinds(db, action_id) == ["created", "note"]
    note = db.scalar(select(ActionEvent).where(ActionEvent.kind == "note"))
    assert note.detail == {"text": "Spoke to the audit team"} and note.actor_id == OWNER
    assert actions_in(db)[0].last_owner_update_at is not None
    slack.wait_for(lambda calls: any(c.method == "reactions.add" for c in calls))


def test_the_same_event_delivered_to_two_replicas_at_once_is_noted_once(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)
    start = threading.Barrier(4)

    def deliver() -> int:
        start.wait()
        return user.dm_reply(OWNER, channel, ts, "Spoke to the audit team", event_id="EvTWICE").status

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _n: deliver(), range(4)))

    assert statuses == [200, 200, 200, 200]
    assert history_kinds(db, action_id) == ["created", "note"]


def test_replies_that_are_not_about_an_action_change_nothing(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)

    user.dm_reply(OTHER, channel, ts, "I should not be able to write here")
    user.dm_reply(OWNER, channel, "1111111111.000100", "Unrelated thread")
    user.event(
        {
            "type": "message",
            "channel": channel,
            "channel_type": "im",
            "user": OWNER,
            "text": "no thread",
            "ts": "1.1",
        }
    )

    assert history_kinds(db, action_id) == ["created"]
