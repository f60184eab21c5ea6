"""`/clinic add` with no text opens a form; the "Make a clinic action" shortcut opens it from a message."""

from __future__ import annotations

import json
import re

import pytest

from bot.views import ids
from handlers.replies import TRY_AGAIN
from tests.conftest import ASSIGNER, FOREIGN, GONE, LEAD, OWNER
from tests.helpers import actions_in, database_down, opened_view, text_of, wait_dms, wait_response
from tests.test_clinics import register_clinic


def form(title="Fix the TTO backlog", owner=OWNER, due="2026-12-04", **extra):
    values = {
        ids.ACTION_TITLE: {"type": "plain_text_input", "value": title},
        ids.ACTION_OWNER: {"type": "users_select", "selected_user": owner},
        ids.ACTION_DUE: {"type": "datepicker", "selected_date": due},
    }
    values.update(extra)
    return values


def test_add_opens_a_form_offering_the_clinics_and_their_focus_areas(user, slack, db):
    register_clinic(user, slack, db, areas=("Weekend discharges", "Pharmacy TTOs"))
    slack.reset()

    user.command(LEAD, "add")

    view = opened_view(slack)
    assert view["callback_id"] == ids.ADD_ACTION_MODAL
    select = next(b for b in view["blocks"] if b.get("block_id") == ids.ACTION_CLINIC_AREA)["element"]
    labels = [o["text"]["text"] for g in select["option_groups"] for o in g["options"]]
    assert labels == ["Discharge flow (no focus area)", "Weekend discharges", "Pharmacy TTOs"]


def test_submitting_the_form_assigns_the_action_with_its_focus_area(user, slack, db):
    clinic_id = register_clinic(user, slack, db, areas=("Weekend discharges",))
    from storage.models import FocusArea

    area_id = db.query(FocusArea.id).scalar()
    answer = user.submit(
        ASSIGNER,
        ids.ADD_ACTION_MODAL,
        form(
            **{
                ids.ACTION_CLINIC_AREA: {
                    "type": "static_select",
                    "selected_option": {"value": f"area:{area_id}"},
                }
            }
        ),
        private_metadata=json.dumps({"channel": "C0CLINIC"}),
    )

    assert answer.status == 200 and answer.body.get("response_action") is None
    [action] = actions_in(db)
    assert (action.clinic_id, action.focus_area_id) == (clinic_id, area_id)
    [dm] = wait_dms(slack, OWNER)
    assert "Discharge flow › Weekend discharges" in text_of(dm)
    slack.wait_for(lambda calls: any(c.method == "chat.postEphemeral" for c in calls))
    [confirmation] = slack.calls_to("chat.postEphemeral")
    assert confirmation.params["user"] == ASSIGNER and f"#{action.id}" in text_of(confirmation)


@pytest.mark.parametrize(
    ("values", "block", "message"),
    [
        (form(title="  "), ids.ACTION_TITLE, "needs a title"),
        (form(title="x" * 201), ids.ACTION_TITLE, "under 200"),
        (form(owner=None), ids.ACTION_OWNER, "Pick who owns"),
        (form(owner=GONE), ids.ACTION_OWNER, "Gwen Gone is deactivated"),  # a name: field errors are plain text
        (form(owner=FOREIGN), ids.ACTION_OWNER, "Fay Foreign is not a member of this workspace"),
        (form(due=None), ids.ACTION_DUE, "Pick the date"),
        (form(due="2026-11-20"), ids.ACTION_DUE, "in the past"),
        (form(due="2099-01-01"), ids.ACTION_DUE, "Thu 1 Jan 2099 is more than 5 years away"),
        (form(due="2031-11-25"), ids.ACTION_DUE, "more than 5 years away"),  # today is 24 Nov 2026 for the owner
        (form(due="not-a-date"), ids.ACTION_DUE, "from the calendar"),
    ],
)
def test_a_bad_form_gets_inline_field_errors_and_creates_nothing(user, slack, db, values, block, message):
    answer = user.submit(ASSIGNER, ids.ADD_ACTION_MODAL, values)

    assert answer.body["response_action"] == "errors"
    assert message in answer.body["errors"][block]
    assert actions_in(db) == []
    assert slack.messages_to(OWNER) == []


def test_a_deadline_five_years_off_is_the_furthest_the_form_takes(user, slack, db):
    answer = user.submit(ASSIGNER, ids.ADD_ACTION_MODAL, form(due="2031-11-24"))

    assert answer.body.get("response_action") is None, answer.body
    assert [a.due_date.isoformat() for a in actions_in(db)] == ["2031-11-24"]


@pytest.mark.parametrize(
    "invisible",
    # format characters (zero-width, joiners, direction marks, BOM, soft hyphen), then the letters drawn as blanks:
    # the Hangul fillers and the empty Braille cell
    [
        "\u200b",
        " \u200b\u200d\u2060 ",
        "\ufeff",
        "\u200f\u200e",
        "\u00ad",
        "\u3164",
        "\u115f\u1160",
        "\uffa0",
        "\u2800 \u2800",
    ],
)
def test_a_title_of_only_invisible_characters_is_refused_like_an_empty_one(user, slack, db, invisible):
    answer = user.submit(ASSIGNER, ids.ADD_ACTION_MODAL, form(title=invisible))

    assert "needs a title" in answer.body["errors"][ids.ACTION_TITLE]
    assert actions_in(db) == []
    assert slack.messages_to(OWNER) == []


def test_a_title_keeps_the_joiner_inside_an_emoji(user, slack, db):
    title = "Thank the \U0001f469\u200d\u2695\ufe0f team"  # one emoji: woman, joiner, health worker

    user.submit(ASSIGNER, ids.ADD_ACTION_MODAL, form(title=title))

    assert actions_in(db)[0].title == title


def test_picking_an_owner_looks_them_up_so_submit_needs_no_slack_call(user, slack, db):
    user.select_user(ASSIGNER, ids.ACTION_OWNER, OWNER)
    looked_up = len(slack.calls_to("users.info"))

    user.submit(ASSIGNER, ids.ADD_ACTION_MODAL, form())

    assert looked_up == 1
    assert len(slack.calls_to("users.info")) == 1
    assert len(actions_in(db)) == 1


def test_the_confirmation_comes_by_dm_when_the_channel_the_form_came_from_refuses_it(user, slack, db):
    """A private channel or a DM between two people that the bot is not in refuses its ephemeral message."""
    slack.fail_next("chat.postEphemeral", error="channel_not_found")

    user.submit(ASSIGNER, ids.ADD_ACTION_MODAL, form(), private_metadata=json.dumps({"channel": "G0PRIVATE"}))

    [action] = actions_in(db)
    slack.wait_for(lambda _c: any(f"Assigned *#{action.id}" in text_of(c) for c in slack.messages_to(ASSIGNER)))


def test_message_shortcut_opens_the_form_with_the_message_as_notes_and_a_link_back(user, slack, db):
    user.shortcut(
        LEAD,
        ids.MAKE_ACTION_SHORTCUT,
        channel="C0CLINIC",
        message_ts="1764000000.000100",
        text="Agreed: <b>Olu</b> to chase TTOs",
    )

    view = opened_view(slack)
    notes = next(b for b in view["blocks"] if b.get("block_id") == ids.ACTION_NOTES)["element"]
    assert notes["initial_value"] == "Agreed: <b>Olu</b> to chase TTOs"
    link = json.loads(view["private_metadata"])["source_link"]
    assert link and "C0CLINIC" in link

    user.submit(
        LEAD,
        ids.ADD_ACTION_MODAL,
        form(**{ids.ACTION_NOTES: {"type": "plain_text_input", "value": notes["initial_value"]}}),
        private_metadata=view["private_metadata"],
    )
    [action] = actions_in(db)
    assert action.source_link == link
    [dm] = wait_dms(slack, OWNER)
    assert "&lt;b&gt;Olu&lt;/b&gt;" in text_of(dm) and "From this message" in text_of(dm)


def shown_texts(blocks) -> list[str]:
    """Each text of a section, context or header, as Slack gets it."""
    texts = []
    for block in blocks:
        texts += [block["text"]["text"]] if "text" in block else []
        texts += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return texts


def test_long_notes_full_of_ampersands_are_stored_and_shown_cut_short(user, slack, db):
    notes = ("A&E <4h " * 400)[:2999]  # escaping makes each line longer than Slack allows a section

    answer = user.submit(
        ASSIGNER, ids.ADD_ACTION_MODAL, form(**{ids.ACTION_NOTES: {"type": "plain_text_input", "value": notes}})
    )

    assert answer.body.get("response_action") is None, answer.body
    [action] = actions_in(db)
    assert action.notes == notes.strip()
    [dm] = wait_dms(slack, OWNER)
    shown = user.command(ASSIGNER, f"show {action.id}").body["blocks"]
    for texts in (shown_texts(dm.params["blocks"]), shown_texts(shown)):
        [said] = [t for t in texts if "A&amp;E &lt;4h" in t]
        assert len(said) <= 3000 and said.endswith("…")
        assert "&" not in re.sub("&(amp|lt|gt);", "", said)  # no escape cut in half


def test_the_shortcut_puts_the_message_in_the_notes_as_typed(user, slack, db):
    user.shortcut(
        LEAD,
        ids.MAKE_ACTION_SHORTCUT,
        channel="C0CLINIC",
        message_ts="1764000000.000100",
        text="A&amp;E waits &lt;4h: <@ULEAD> to chase",
    )

    view = opened_view(slack)
    notes = next(b for b in view["blocks"] if b.get("block_id") == ids.ACTION_NOTES)["element"]
    assert notes["initial_value"] == "A&E waits <4h: <@ULEAD> to chase"


def test_form_values_are_stored_as_typed_even_when_they_look_encoded(user, slack, db):
    user.submit(LEAD, ids.ADD_ACTION_MODAL, form(title="Explain &amp; in the A&E rota"))

    [action] = actions_in(db)
    assert action.title == "Explain &amp; in the A&E rota"


def test_the_shortcut_says_try_again_as_add_does_when_the_database_is_unreachable(user, slack, db, engine):
    db.close()
    database_down(engine)
    added = user.command(LEAD, "add")

    user.shortcut(LEAD, ids.MAKE_ACTION_SHORTCUT, channel="C0CLINIC", message_ts="1764000000.000100", text="Chase TTOs")

    [reply] = wait_response(slack)
    assert text_of(reply) == added.text == TRY_AGAIN
    assert slack.calls_to("views.open") == []


def test_the_shortcut_says_so_as_add_does_when_slack_does_not_open_the_form(user, slack):
    """The trigger lasts 3 seconds: a slow answer from Slack can make it expire before the form opens."""
    slack.fail_next("views.open", error="expired_trigger_id", times=2)
    user.command(LEAD, "add")

    user.shortcut(LEAD, ids.MAKE_ACTION_SHORTCUT, channel="C0CLINIC", message_ts="1764000000.000100", text="Chase TTOs")

    said = [text_of(c) for c in wait_response(slack, 2)]  # one answer to /clinic add, one to the shortcut
    assert all(s.startswith("Something went wrong talking to Slack (ref ") for s in said), said
