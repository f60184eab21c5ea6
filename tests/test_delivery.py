"""Delivering the outbox through Slack's failures: nothing lost, nothing sent twice, nothing retried forever."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.walk import Walk
from bot.slack import SlackGateway, new_web_client, outbox_metadata
from scheduler import run_pass
from storage import queries
from storage.models import Action, OutboxMessage
from tests.conftest import ASSIGNER, BOT_TOKEN, OWNER
from tests.helpers import text_of
from tests.test_status import add


def queued(db) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_server_error_is_retried_later_and_delivered_once(user, slack, db, bot, clock):
    slack.fail_next("chat.postMessage", status=500, times=2)

    user.command(ASSIGNER, f"add <@{OWNER}> Survive an outage by friday")
    slack.wait_for(lambda _c: len(slack.failed_calls) >= 1)
    bot.services.delivery.stop()  # the background delivery gives up for now; the scheduler's pass takes over
    [message] = queued(db)
    assert message.state == "pending" and message.last_error == "http_500"

    for _ in range(5):
        clock.advance(timedelta(minutes=5))
        bot.services.delivery.deliver_due()

    [message] = queued(db)
    assert message.state == "sent"
    assert len(slack.messages_to(OWNER)) == 1 and "Survive an outage" in text_of(slack.messages_to(OWNER)[0])


def test_a_nudge_left_with_nothing_to_say_is_counted_as_dropped_not_sent(user, slack, db, bot, clock):
    user.command(ASSIGNER, f"add <@{OWNER}> Sign off the rota by 2026-11-27")
    slack.wait_for(lambda _c: len(slack.messages_to(OWNER)) == 1)
    bot.services.delivery.stop()
    clock.set(datetime(2026, 11, 30, 15, 0, tzinfo=UTC))  # the Monday after, 10:00 in New York: a nudge is due
    bot.services.planner.plan()
    # done before the nudge went out
    with bot.services.sessions.begin() as session:
        action = session.scalars(select(Action)).one()
        action.status, action.closed_at = "done", clock.now()

    report = bot.services.delivery.deliver_due()

    assert (report.sent, report.failed, report.dropped) == (0, 0, 1)
    assert [m.state for m in queued(db) if m.kind == "chase"] == ["dropped"]
    assert len(slack.messages_to(OWNER)) == 1  # only the message that told them of it


def test_a_message_that_cannot_be_written_is_given_up_and_holds_back_no_other(bot, slack, db, clock):
    """A fault in writing one message (a bug, a limit Slack's blocks enforce) must not leave it pending:
    the oldest message is claimed first on every pass, and it would hold back every other."""
    from bot.delivery import Delivery

    def broken(_session, _message):  # type: ignore[no-untyped-def]
        raise ValueError("text attribute cannot exceed 3000 characters")

    with bot.services.sessions.begin() as session:
        for n, kind in enumerate(["broken", "notice"]):  # the broken one the older
            at = clock.now() - timedelta(minutes=2 - n)
            queries.enqueue(
                session, team_id="T0001", dedupe_key=f"k{n}", kind=kind, recipient=OWNER, action_id=None,
                text=f"message {n}", blocks=[], created_at=at, not_before=at,
            )  # fmt: skip
    delivery = Delivery(bot.services.sessions, clock, bot.services.workspaces.tokens.gateway, {"broken": broken})

    report = delivery.deliver_due()

    assert (report.sent, report.failed) == (1, 1)
    assert [text_of(c) for c in slack.messages_to(OWNER)] == ["message 1"]
    broken_message = next(m for m in queued(db) if m.kind == "broken")
    assert (broken_message.state, broken_message.last_error) == ("failed", "could not be written (ValueError)")


def test_a_rate_limit_waits_for_retry_after(user, slack, db, bot, clock):
    slack.fail_next("chat.postMessage", status=429, retry_after=120)

    user.command(ASSIGNER, f"add <@{OWNER}> Be patient by friday")
    slack.wait_for(lambda _c: len(slack.failed_calls) >= 1)
    bot.services.delivery.stop()

    clock.advance(timedelta(seconds=60))
    bot.services.delivery.deliver_due()
    assert slack.messages_to(OWNER) == []  # Slack asked for two minutes
    clock.advance(timedelta(seconds=61))
    bot.services.delivery.deliver_due()

    assert len(slack.messages_to(OWNER)) == 1
    assert queued(db)[0].state == "sent"


def test_a_rate_limit_uses_up_none_of_the_tries_a_message_has(user, slack, db, bot, clock):
    refusals = bot.services.settings.delivery_attempts + 2  # Slack throttles us longer than we would retry
    slack.fail_next("chat.postMessage", status=429, retry_after=30, times=refusals)

    user.command(ASSIGNER, f"add <@{OWNER}> Be patient by friday")
    slack.wait_for(lambda _c: len(slack.failed_calls) >= 1)
    bot.services.delivery.stop()
    for _ in range(refusals - 1):
        clock.advance(timedelta(seconds=30))
        bot.services.delivery.deliver_due()

    assert len(slack.rate_limited) == refusals and slack.messages_to(OWNER) == []
    [message] = queued(db)
    assert (message.state, message.attempts) == ("pending", 0)
    assert message.last_error == "ratelimited (Retry-After 30 s)"

    clock.advance(timedelta(seconds=30))
    bot.services.delivery.deliver_due()

    [message] = queued(db)
    assert (message.state, message.attempts) == ("sent", 1)
    [dm] = slack.messages_to(OWNER)
    assert "Be patient" in text_of(dm)


def test_after_too_many_failures_a_message_is_given_up_with_its_reason(user, slack, db, bot, clock):
    slack.fail_next("chat.postMessage", status=500, times=50)
    user.command(ASSIGNER, f"add <@{OWNER}> Never arrives by friday")
    slack.wait_for(lambda _c: len(slack.failed_calls) >= 1)
    bot.services.delivery.stop()

    for _ in range(25):
        clock.advance(timedelta(hours=1))
        bot.services.delivery.deliver_due()

    message, notice = queued(db)
    assert message.state == "failed" and "gave up after 20 tries" in message.last_error
    assert (notice.kind, notice.recipient) == ("delivery_failed", ASSIGNER)  # whoever assigned it is told


def test_a_slack_outage_of_hours_loses_nothing(user, slack, db, bot, clock):
    slack.fail_next("chat.postMessage", status=503, times=14)
    user.command(ASSIGNER, f"add <@{OWNER}> Arrives after the outage by friday")
    slack.wait_for(lambda _c: len(slack.failed_calls) >= 1)
    bot.services.delivery.stop()

    for _ in range(24):  # six hours of passes, a try at most every quarter of an hour
        clock.advance(timedelta(minutes=15))
        bot.services.delivery.deliver_due()

    [message] = queued(db)
    assert (message.state, message.attempts) == ("sent", 15)
    [dm] = slack.messages_to(OWNER)
    assert "Arrives after the outage" in text_of(dm)


@pytest.mark.parametrize("error", ["channel_not_found", "user_not_found", "account_inactive", "invalid_auth"])
def test_a_permanent_error_is_recorded_and_told_once_never_retried(user, slack, db, bot, clock, error):
    slack.fail_next("chat.postMessage", error=error)
    user.command(ASSIGNER, f"add <@{OWNER}> Cannot arrive by friday")
    slack.wait_for(lambda _c: len(slack.failed_calls) >= 1)
    bot.services.delivery.stop()

    for _ in range(3):
        clock.advance(timedelta(hours=1))
        bot.services.delivery.deliver_due()

    message, notice = queued(db)
    assert message.state == "failed" and message.attempts == 1 and error in message.last_error
    assert (notice.kind, notice.recipient, notice.state) == ("delivery_failed", ASSIGNER, "sent")
    assert len([c for c in slack.failed_calls if c.params.get("channel") in (OWNER, "D" + OWNER)]) == 1


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_slack_that_does_not_answer_in_time_is_tried_again_not_lost(user, slack, db, bot, clock):
    add(user, slack, ASSIGNER, OWNER, "Arrive in the end", "2026-11-27")
    Walk(bot, slack, clock).settle()
    bot.services.delivery.stop()
    slack.latency = 11  # longer than delivery's 10-second timeout

    clock.set(datetime(2026, 11, 26, 14, 5, tzinfo=UTC))  # Thu 09:05 in New York: the reminder is due
    run_pass(bot.services)

    [reminder] = [m for m in queued(db) if m.kind == "chase"]
    assert reminder.state == "pending" and "timeout" in (reminder.last_error or "").lower()
    slack.latency = 0
    clock.advance(timedelta(minutes=10))
    run_pass(bot.services)
    [reminder] = [m for m in queued(db) if m.kind == "chase"]
    assert reminder.state == "sent"
    # Slack took the first try after the bot stopped waiting: found in the DM, not posted again.
    assert sum("Due tomorrow" in text_of(c) for c in slack.messages_to(OWNER)) == 1
    assert reminder.sent_ts == "1764000002.000100"  # the stand-in's second message: the first try's


def test_threads_of_one_process_delivering_at_the_same_instant_send_each_message_once(bot, slack, db, clock):
    bot.services.delivery.stop()
    with bot.services.sessions.begin() as session:  # forty messages due now, as a pass would queue them
        for n in range(40):
            queries.enqueue(
                session,
                team_id="T0001",
                dedupe_key=f"note-{n}",
                kind="note",
                recipient=OWNER,
                text=f"Message {n}",
                blocks=[],
                created_at=clock.now(),
                not_before=clock.now(),
            )
    start = threading.Barrier(4)

    def deliver() -> None:
        start.wait()
        bot.services.delivery.deliver_due()  # the clock does not move: every claim is at the same instant

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sent = Counter(c.params["text"] for c in slack.messages_to(OWNER))
    assert sent == Counter({f"Message {n}": 1 for n in range(40)})


def queue_note(bot, clock, key: str, text: str) -> int:
    with bot.services.sessions.begin() as session:
        queries.enqueue(
            session,
            team_id="T0001",
            dedupe_key=key,
            kind="note",
            recipient=OWNER,
            text=text,
            blocks=[],
            created_at=clock.now(),
            not_before=clock.now(),
        )
        return queries.outbox_by_key(session, key).id


def died_while_sending(bot, clock, message_id: int) -> None:
    """What a process leaves behind when it dies after it began posting, before it recorded Slack's answer."""
    with bot.services.sessions.begin() as session:
        message = session.get(OutboxMessage, message_id)
        message.lease_owner, message.lease_until = "dead", clock.now() + timedelta(minutes=1)
        message.sending_at = clock.now()


def test_a_message_slack_took_before_its_sender_died_is_found_in_the_dm_not_posted_twice(bot, slack, db, clock):
    bot.services.delivery.stop()
    message_id = queue_note(bot, clock, "note-died", "Your clinic meets on Thursday")
    died_while_sending(bot, clock, message_id)
    # The try that reached Slack, as the process that died made it: the real gateway, with the message's key.
    first = SlackGateway(new_web_client(BOT_TOKEN, slack.base_url)).post(
        OWNER, "Your clinic meets on Thursday", metadata=outbox_metadata("note-died")
    )
    clock.advance(timedelta(minutes=2))  # its lease has run out

    report = bot.services.delivery.deliver_due()

    assert report.sent == 1
    assert [text_of(c) for c in slack.messages_to(OWNER)] == ["Your clinic meets on Thursday"]
    [message] = queued(db)
    assert (message.state, message.sent_channel, message.sent_ts) == ("sent", first.channel, first.ts)
    assert message.sending_at is None


def test_a_message_whose_sender_died_before_slack_took_it_is_posted_once(bot, slack, db, clock):
    bot.services.delivery.stop()
    message_id = queue_note(bot, clock, "note-lost", "Bring the discharge figures")
    died_while_sending(bot, clock, message_id)
    clock.advance(timedelta(minutes=2))

    bot.services.delivery.deliver_due()

    assert [text_of(c) for c in slack.messages_to(OWNER)] == ["Bring the discharge figures"]
    assert len(slack.calls_to("conversations.history")) == 1  # looked once, found nothing, posted
    [message] = queued(db)
    assert message.state == "sent" and message.sending_at is None


def test_looking_for_an_earlier_try_while_slack_is_down_posts_nothing_blind(bot, slack, db, clock):
    bot.services.delivery.stop()
    message_id = queue_note(bot, clock, "note-down", "The audit moved to Friday")
    died_while_sending(bot, clock, message_id)
    SlackGateway(new_web_client(BOT_TOKEN, slack.base_url)).post(
        OWNER, "The audit moved to Friday", metadata=outbox_metadata("note-down")
    )
    slack.fail_next("conversations.history", status=503)
    clock.advance(timedelta(minutes=2))

    bot.services.delivery.deliver_due()
    [message] = queued(db)
    assert message.state == "pending" and message.sending_at is not None  # still in doubt: look again later

    clock.advance(timedelta(minutes=5))
    bot.services.delivery.deliver_due()
    [message] = queued(db)
    assert message.state == "sent"
    assert [text_of(c) for c in slack.messages_to(OWNER)] == ["The audit moved to Friday"]


def test_slack_throttling_the_look_for_an_earlier_try_uses_up_none_of_the_tries(bot, slack, db, clock):
    """Reading the DM has its own limits: its 429 is a wait for that message, as a post's is, not a failure."""
    bot.services.delivery.stop()
    refusals = bot.services.settings.delivery_attempts + 2
    message_id = queue_note(bot, clock, "note-throttled", "The ward round starts at nine")
    died_while_sending(bot, clock, message_id)
    slack.fail_next("conversations.history", status=429, retry_after=20, times=refusals)
    clock.advance(timedelta(minutes=2))

    for _ in range(refusals):
        bot.services.delivery.deliver_due()
        [message] = queued(db)
        assert (message.state, message.attempts, message.sending_at is not None) == ("pending", 0, True)
        assert message.not_before == clock.now() + timedelta(seconds=20)  # Retry-After, not a growing backoff
        clock.advance(timedelta(seconds=20))

    bot.services.delivery.deliver_due()

    [message] = queued(db)
    assert (message.state, message.attempts) == ("sent", 1)
    assert [text_of(c) for c in slack.messages_to(OWNER)] == ["The ward round starts at nine"]


def test_a_dm_the_bot_may_not_read_is_sent_again_rather_than_lost(bot, slack, db, clock):
    """An install whose token lacks `im:history`: at least once, as before."""
    bot.services.delivery.stop()
    message_id = queue_note(bot, clock, "note-noscope", "Please send the rota")
    died_while_sending(bot, clock, message_id)
    slack.fail_next("conversations.history", error="missing_scope")
    clock.advance(timedelta(minutes=2))

    bot.services.delivery.deliver_due()

    [message] = queued(db)
    assert message.state == "sent" and message.last_error is None
    assert [text_of(c) for c in slack.messages_to(OWNER)] == ["Please send the rota"]
