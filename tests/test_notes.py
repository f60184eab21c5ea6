"""Replies in the thread of the owner's DM become progress notes on the action."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import select

from bot.app import create_app
from bot.demo.driver import SlackDriver
from bot.demo.walk import Walk
from storage.db import make_session_factory
from storage.models import ActionEvent, OutboxMessage
from tests.conftest import ASSIGNER, OTHER, OWNER, SIGNING_SECRET
from tests.helpers import actions_in, history_kinds, text_of, wait_dms
from tests.test_escalation_tools import reassign
from tests.test_status import add


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


def hint_to(slack, user_id: str, thread_ts: str) -> str:
    slack.wait_for(lambda _c: bool(slack.calls_to("chat.postEphemeral")))
    [told] = slack.calls_to("chat.postEphemeral")
    assert (told.params["user"], told.params["thread_ts"]) == (user_id, thread_ts)
    return told.params["text"]


def test_a_reply_from_an_owner_the_action_was_handed_away_from_is_not_kept_and_they_are_told_why(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)
    reassign(user, slack, action_id, OTHER, by=ASSIGNER)

    for retry in (0, 1):  # Slack delivering it again repeats no hint
        user.dm_reply(OWNER, channel, ts, "Spoke to the audit team", event_id="EvNOLONGER", retry=retry)

    told = hint_to(slack, OWNER, ts)
    assert told.startswith("I didn't keep that note.") and f"Only the owner of action #{action_id}" in told
    assert history_kinds(db, action_id) == ["created", "reassigned"]


def test_a_reply_too_long_for_a_note_is_not_cut_short_but_refused_with_the_limit(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)

    user.dm_reply(OWNER, channel, ts, "Spoke to the audit team. " * 150, event_id="EvLONG")  # 3,750 characters

    told = hint_to(slack, OWNER, ts)
    assert "3,749 characters" in told and "at most 3,000" in told and "didn't keep it" in told
    assert history_kinds(db, action_id) == ["created"]
    assert slack.calls_to("reactions.add") == []


def test_a_reply_to_a_nudge_about_several_actions_is_noted_on_the_one_it_names(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    for title in ("Chase the pharmacy", "Book the audit room"):
        add(user, slack, ASSIGNER, OWNER, title, "2026-11-27")
    walk.settle()
    walk.until(datetime(2026, 12, 1, tzinfo=UTC))  # reminded, then nudged: each time one message about both
    sent = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "chase", OutboxMessage.state == "sent"))
    nudge = list(sent)[-1]
    first, second = (a.id for a in actions_in(db))
    assert nudge.action_ids == [first, second]

    user.dm_reply(OWNER, nudge.sent_channel, nudge.sent_ts, "Still waiting on them", event_id="EvVAGUE")
    slack.wait_for(lambda _c: bool(slack.calls_to("chat.postEphemeral")))
    [told] = slack.calls_to("chat.postEphemeral")
    assert (told.params["user"], told.params["thread_ts"]) == (OWNER, nudge.sent_ts)
    assert f"about #{first}, #{second}" in told.params["text"] and f"\u201c#{first} " in told.params["text"]

    user.dm_reply(OWNER, nudge.sent_channel, nudge.sent_ts, "Still waiting on them", event_id="EvVAGUE")  # again
    user.dm_reply(OWNER, nudge.sent_channel, nudge.sent_ts, f"#{second} room booked for Friday", event_id="EvNAMED")
    slack.wait_for(lambda _c: bool(slack.calls_to("reactions.add")))
    assert history_kinds(db, first).count("note") == 0
    assert history_kinds(db, second).count("note") == 1
    assert len(slack.calls_to("chat.postEphemeral")) == 1  # Slack's redelivery brought no second hint


def test_a_reply_to_a_nudge_is_about_the_items_it_showed_not_those_it_was_decided_with(user, slack, db, bot, clock):
    """A nudge about two actions waits for the owner's morning; one is done before it goes out, so it shows
    only the other, and a plain reply under it is about that one."""
    walk = Walk(bot, slack, clock)
    add(user, slack, ASSIGNER, OWNER, "First thing", "2026-11-25")
    add(user, slack, ASSIGNER, OWNER, "Second thing", "2026-11-25")
    walk.settle()
    one, two = actions_in(db)
    for action in (one, two):
        user.command(OWNER, f"snooze {action.id} until 7 Dec")
    walk.until(datetime(2026, 12, 7, 13, tzinfo=UTC))  # decided, waiting for 09:00 in New York
    user.command(OWNER, f"done {one.id}")
    walk.until(datetime(2026, 12, 7, 14, 30, tzinfo=UTC))
    nudge = slack.messages_to(OWNER)[-1]
    assert "Second thing" in text_of(nudge) and "First thing" not in text_of(nudge)

    db.expire_all()
    sent = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "chase").order_by(OutboxMessage.id)).all()[-1]
    user.dm_reply(OWNER, sent.sent_channel, sent.sent_ts, "waiting on pharmacy", event_id="EvSHOWN")

    slack.wait_for(lambda _c: bool(slack.calls_to("reactions.add")))
    assert history_kinds(db, two.id).count("note") == 1


def test_a_reply_is_noted_as_typed_from_what_slack_sends(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)

    user.dm_reply(OWNER, channel, ts, "A&amp;E said &lt;4h is fine, see <@ULEAD>", event_id="EvTYPED")

    note = db.scalar(select(ActionEvent).where(ActionEvent.kind == "note"))
    assert note.detail == {"text": "A&E said <4h is fine, see <@ULEAD>"}
    shown = user.command(OWNER, f"show {action_id}").text
    assert "noted: _A&amp;E said &lt;4h is fine" in shown and "&amp;amp;" not in shown


def reply_event(channel: str, thread_ts: str, ts: str, subtype: str, text: str, **fields: object) -> dict:
    """A reply in the owner's DM thread as Slack sends it with a subtype: a file attached (`file_share`), or
    also sent to the conversation (`thread_broadcast`)."""
    return {
        "type": "message",
        "subtype": subtype,
        "text": text,
        "user": OWNER,
        "channel": channel,
        "channel_type": "im",
        "ts": ts,
        "thread_ts": thread_ts,
        "event_ts": ts,
        **fields,
    }


def test_a_thread_reply_with_a_file_attached_is_noted_as_typed(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)
    files = [{"id": "F0001", "name": "rota.pdf", "title": "rota.pdf", "mimetype": "application/pdf"}]

    answer = user.event(
        reply_event(channel, ts, "1700099999.000100", "file_share", "Signed-off rota attached", files=files)
        | {"upload": False, "display_as_bot": False},
        event_id="EvFILE1",
    )

    assert answer.status == 200
    assert history_kinds(db, action_id) == ["created", "note"]
    note = db.scalar(select(ActionEvent).where(ActionEvent.kind == "note"))
    assert note.detail == {"text": "Signed-off rota attached"} and note.actor_id == OWNER
    slack.wait_for(lambda calls: any(c.method == "reactions.add" for c in calls))


def test_a_thread_reply_of_files_alone_is_noted_by_their_names(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)
    files = [{"id": "F0001", "name": "rota.pdf"}, {"id": "F0002", "name": "minutes.docx", "title": "Minutes"}]

    user.event(reply_event(channel, ts, "1700099999.000200", "file_share", "", files=files), event_id="EvFILE2")

    assert history_kinds(db, action_id) == ["created", "note"]
    note = db.scalar(select(ActionEvent).where(ActionEvent.kind == "note"))
    assert note.detail == {"text": "Attached rota.pdf, minutes.docx"}
    assert "noted: _Attached rota.pdf, minutes.docx" in user.command(OWNER, f"show {action_id}").text


def test_a_thread_reply_also_sent_to_the_conversation_is_noted(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)
    root = {"type": "message", "user": "UBOT", "bot_id": "B0001", "text": "", "ts": ts, "thread_ts": ts}

    user.event(
        reply_event(channel, ts, "1700099998.000100", "thread_broadcast", "Pharmacy agreed the new rota", root=root),
        event_id="EvBCAST1",
    )

    assert history_kinds(db, action_id) == ["created", "note"]
    note = db.scalar(select(ActionEvent).where(ActionEvent.kind == "note"))
    assert note.detail == {"text": "Pharmacy agreed the new rota"}


def test_edits_deletions_and_bot_messages_in_the_thread_are_not_noted(user, slack, db):
    action_id, channel, ts = assigned(user, slack, db)
    edited = {"type": "message", "user": OWNER, "text": "Edited words", "ts": "1700099990.000100", "thread_ts": ts}

    user.event(reply_event(channel, ts, "1700099991.000100", "message_changed", "", message=edited))
    user.event(reply_event(channel, ts, "1700099992.000100", "message_deleted", "", deleted_ts="1700099990.000100"))
    user.event(reply_event(channel, ts, "1700099993.000100", "bot_message", "From a bot", bot_id="B0002"))
    user.event(reply_event(channel, ts, "1700099994.000100", "file_share", "A bot's file", bot_id="B0002"))
    user.event(reply_event(channel, ts, "1700099995.000100", "thread_broadcast", "A bot's echo", bot_id="B0002"))

    assert history_kinds(db, action_id) == ["created"]


def test_a_thread_reply_right_after_a_restart_while_slack_blips_is_noted(user, slack, db, settings, engine, clock):
    """A fresh process has not asked Slack who its token speaks for: a 503 from Slack then must not
    swallow the reply with a 200 that Slack never resends."""
    action_id, channel, ts = assigned(user, slack, db)
    restarted = create_app(settings, session_factory=make_session_factory(engine), clock=clock)
    try:
        slack.fail_next("auth.test", status=503, times=3)
        driver = SlackDriver(restarted.bolt, SIGNING_SECRET, slack.response_url("r"))
        reply = driver.dm_reply(OWNER, channel, ts, "Spoke to the pharmacy lead", event_id="EvBLIP0001")
    finally:
        restarted.close()

    assert reply.status == 200, reply
    assert history_kinds(db, action_id) == ["created", "note"]
