"""Slack's 3-second window: the ack never waits for Slack's Web API, however slow it is."""

from __future__ import annotations

import time

from bot.views import ids
from tests.conftest import ASSIGNER, OWNER
from tests.helpers import actions_in, opened_view, text_of, wait_dms

SLOW = 4.0  # seconds the stand-in takes to answer any Web API call


def timed(call):
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_commands_and_clicks_ack_before_a_slow_slack_answers(user, slack, db):
    user.command(ASSIGNER, f"add <@{OWNER}> Warm up the owner's profile by friday")
    wait_dms(slack, OWNER)
    [action] = actions_in(db)
    slack.latency = SLOW

    for call in (
        lambda: user.command(ASSIGNER, f"add <@{OWNER}> Chase the TTO backlog by friday"),
        lambda: user.command(ASSIGNER, "new"),
        lambda: user.command(ASSIGNER, "add"),
        lambda: user.click(OWNER, ids.ACTION_ON_TRACK, str(action.id)),
        lambda: user.click(OWNER, ids.ACTION_BLOCKED, str(action.id)),
    ):
        answer, took = timed(call)
        assert answer.status == 200
        assert took < SLOW / 2, f"the ack waited {took:.1f}s for Slack"

    # The slow work still happens after the ack.
    slack.wait_for(lambda _calls: len(slack.messages_to(OWNER)) == 2, timeout=4 * SLOW)
    assert "Chase the TTO backlog" in text_of(slack.messages_to(OWNER)[-1])
    assert opened_view(slack, 3)
