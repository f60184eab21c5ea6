"""`/clinic add @owner <title> by <date>`: the one-line way to assign an action."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from storage.models import Action, OutboxMessage
from tests.conftest import GONE, LEAD, OTHER, OWNER, ROBOT
from tests.helpers import actions_in, buttons_of, count, text_of, wait_dms, wait_response


def test_quick_add_assigns_the_action_and_dms_the_owner_in_their_time_zone(user, slack, db):
    answer = user.command(LEAD, f"add <@{OWNER}|olu> Call the rota team about weekend cover by friday")

    assert answer.status == 200
    [dm] = wait_dms(slack, OWNER)
    shown = text_of(dm)
    assert "Call the rota team about weekend cover" in shown
    assert "Fri 27 Nov" in shown
    assert f"<@{LEAD}>" in shown
    assert buttons_of(dm)[:4] == ["Done", "On track", "Blocked", "Need more time"]

    [action] = actions_in(db)
    assert action.owner_id == OWNER and action.assigner_id == LEAD
    assert action.due_date == date(2026, 11, 27)
    # End of Friday in New York, where the owner is.
    assert action.due_at == datetime(2026, 11, 28, 4, 59, 59, tzinfo=UTC)
    [confirmation] = wait_response(slack)
    assert f"#{action.id}" in text_of(confirmation) and f"<@{OWNER}>" in text_of(confirmation)


@pytest.mark.parametrize(("saturday_or_sunday", "said"), [(28, "this friday"), (29, "This Friday")])
def test_this_friday_said_on_a_weekend_is_the_coming_friday(user, slack, db, clock, saturday_or_sunday, said):
    """On a Saturday, "this friday" was refused as yesterday's: the week just ending has no Friday left."""
    clock.set(datetime(2026, 11, saturday_or_sunday, 15, 0, tzinfo=UTC))  # 10:00 in New York, the owner's

    user.command(LEAD, f"add <@{OWNER}> Call the rota team by {said}")

    [dm] = wait_dms(slack, OWNER)
    assert "Fri 4 Dec" in text_of(dm)
    [action] = actions_in(db)
    assert action.due_date == date(2026, 12, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"add <@{OWNER}> Call the rota team by soonish", "couldn't read"),
        (f"add <@{OWNER}> Call the rota team by 2026-11-01", "in the past"),
        (f"add <@{OWNER}> Call the rota team by 4 Jan 26", "Sun 4 Jan is in the past"),  # not next January
        (f"add <@{OWNER}> Call the rota team by 29 Feb", "2027 has no 29 Feb"),  # not moved to the 28th
        (f"add <@{OWNER}> Call the rota team by friday 5 dec", "5 Dec 2026 is a Saturday, not a Friday"),
        (f"add <@{OWNER}> Call the rota team by 2099-01-01", "Thu 1 Jan 2099 is more than 5 years away"),
        (f"add <@{GONE}> Call the rota team by friday", "deactivated"),
        (f"add <@{ROBOT}> Call the rota team by friday", "Bots cannot own an action"),
        ("add <@UNOBODY> Call the rota team by friday", "can't find"),
    ],
)
def test_quick_add_with_a_bad_part_says_what_is_wrong_and_creates_nothing(user, slack, db, text, expected):
    answer = user.command(LEAD, text)

    assert answer.status == 200
    [reply] = wait_response(slack)
    assert expected in text_of(reply)
    assert "Nothing was added" in text_of(reply)
    assert count(db, Action) == 0
    assert count(db, OutboxMessage) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("add Call the rota team by friday", "Start with the owner"),
        (f"add <@{OWNER}> Call the rota team", "Add a deadline"),
        (f"add <@{OWNER}> by friday", "Say what will be done"),
    ],
)
def test_quick_add_that_cannot_be_read_is_answered_in_the_ack(user, slack, db, text, expected):
    answer = user.command(LEAD, text)

    assert answer.body["response_type"] == "ephemeral"
    assert expected in answer.text
    assert "/clinic add @owner" in answer.text
    assert count(db, Action) == 0


def test_quick_add_stores_the_title_as_typed_from_what_slack_sends(user, slack, db):
    # A typed "&", "<" and ">" arrive encoded; Slack's own mention keeps its brackets.
    user.command(LEAD, f"add <@{OWNER}|olu> Fix A&amp;E triage &lt;4h by friday")

    [dm] = wait_dms(slack, OWNER)
    [action] = actions_in(db)
    assert action.owner_id == OWNER and action.title == "Fix A&E triage <4h"
    assert "Fix A&amp;E triage &lt;4h" in text_of(dm) and "&amp;amp;" not in text_of(dm)


def test_mentions_and_links_in_a_quick_add_title_read_as_words_not_slack_markup(user, slack, db):
    user.command(
        LEAD,
        f"add <@{OWNER}|olu> Call <@{OTHER}|otto> and <!here> in <#C0CLINIC|rota> about <https://x.nhs.uk/a|the audit>"
        " &lt;@U9&gt; by friday",
    )

    [dm] = wait_dms(slack, OWNER)
    [action] = actions_in(db)
    assert action.title == "Call @otto and @here in #rota about the audit <@U9>"
    assert "Call @otto and @here in #rota about the audit &lt;@U9&gt;" in text_of(dm)


def test_a_typed_mention_names_nobody(user, slack, db):
    answer = user.command(LEAD, f"add &lt;@{OWNER}&gt; Call the rota team by friday")

    assert "Start with the owner" in answer.text
    assert count(db, Action) == 0


def test_quick_add_refuses_an_owner_from_another_workspace(user, slack, db):
    """A person from another organisation (a Slack Connect channel) is not on the clinic's team: the action
    and what it says must not go to them, and the assigner hears why."""
    slack.add_user("UFOREIGN", name="Fay Foreign", team_id="T0OTHER")

    user.command(LEAD, "add <@UFOREIGN> Call the rota team by friday")

    [reply] = wait_response(slack)
    assert "Nothing was added" in text_of(reply), text_of(reply)
    assert count(db, Action) == 0
    assert slack.messages_to("UFOREIGN") == []
