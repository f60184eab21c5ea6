"""Delivering the outbox through Slack's failures: nothing lost, nothing sent twice, nothing retried forever."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import OutboxMessage
from tests.conftest import ASSIGNER, OWNER
from tests.helpers import text_of


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


def test_after_too_many_failures_a_message_is_given_up_with_its_reason(user, slack, db, bot, clock):
    slack.fail_next("chat.postMessage", status=500, times=50)
    user.command(ASSIGNER, f"add <@{OWNER}> Never arrives by friday")
    slack.wait_for(lambda _c: len(slack.failed_calls) >= 1)
    bot.services.delivery.stop()

    for _ in range(12):
        clock.advance(timedelta(hours=1))
        bot.services.delivery.deliver_due()

    message, notice = queued(db)
    assert message.state == "failed" and "gave up after 8 tries" in message.last_error
    assert (notice.kind, notice.recipient) == ("delivery_failed", ASSIGNER)  # whoever assigned it is told
