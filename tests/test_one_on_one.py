"""`/clinic 1on1 @person`: an agenda prepared from the real state of the person's actions."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.views import ids
from tests.conftest import ASSIGNER, LEAD, OTHER, OWNER, SPONSOR
from tests.helpers import actions_in, wait_response
from tests.test_clinics import register_clinic
from tests.test_status import add


def test_the_agenda_brings_what_slipped_what_is_blocked_wins_and_the_coaching_questions(user, slack, db, clock):
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Slipped thing", "2026-11-25", clinic_id)
    add(user, slack, ASSIGNER, OWNER, "Blocked thing", "2026-12-20", clinic_id)
    add(user, slack, ASSIGNER, OWNER, "Finished thing", "2026-12-20", clinic_id)
    add(user, slack, ASSIGNER, OTHER, "Someone else's", "2026-11-25", clinic_id)
    slipped, blocked, finished, _ = actions_in(db)
    user.submit(
        OWNER,
        ids.BLOCKED_MODAL,
        {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "No IT access"}},
        private_metadata=f'{{"action_id": {blocked.id}}}',
    )
    user.command(OWNER, f"done {finished.id}")
    user.click(LEAD, ids.ESCALATION_AGENDA, str(slipped.id))
    wait_response(slack)
    clock.set(datetime(2026, 11, 30, 10, tzinfo=UTC))

    answer = user.command(LEAD, f"1on1 <@{OWNER}|olu>")

    text = answer.text
    assert answer.body["response_type"] == "ephemeral"
    assert "You put these on the agenda" in text and "Slipped thing" in text.split("Overdue")[0]
    assert "No IT access" in text and "Finished thing" in text.split("Recognise")[1]
    assert "how committed are you to this change" in text and "9 or 10" in text
    assert "Someone else's" not in text


def test_an_agenda_shows_only_what_the_caller_may_see(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Private to them", "2026-11-25")

    answer = user.command(OTHER, f"1on1 <@{OWNER}>")

    assert "Private to them" not in answer.text and "Nothing open that you can see" in answer.text
