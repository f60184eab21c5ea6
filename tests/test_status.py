"""`/clinic status` and friends: what is open, overdue first, limited to what the caller may see."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.actions import NewAction, Status
from bot.app import create_app
from bot.demo.driver import TEAM, SlackDriver
from bot.people import Person
from bot.views import ids
from storage.db import make_session_factory
from tests.conftest import ASSIGNER, LEAD, OTHER, OWNER, SIGNING_SECRET, SPONSOR
from tests.helpers import actions_in, history_kinds, opened_view, text_of, wait_response
from tests.test_clinics import register_clinic


def add(user, slack, who, owner, title, due, clinic_id=None):
    values = {
        ids.ACTION_TITLE: {"type": "plain_text_input", "value": title},
        ids.ACTION_OWNER: {"type": "users_select", "selected_user": owner},
        ids.ACTION_DUE: {"type": "datepicker", "selected_date": due},
    }
    if clinic_id:
        values[ids.ACTION_CLINIC_AREA] = {
            "type": "static_select",
            "selected_option": {"value": f"clinic:{clinic_id}"},
        }
    answer = user.submit(who, ids.ADD_ACTION_MODAL, values)
    assert answer.body.get("response_action") is None, answer.body


def test_status_lists_my_open_actions_overdue_first(user, slack, db, clock):
    add(user, slack, ASSIGNER, OWNER, "Later thing", "2026-12-20")
    add(user, slack, ASSIGNER, OWNER, "Soon thing", "2026-11-25")
    add(user, slack, ASSIGNER, OWNER, "Middle thing", "2026-12-01")
    clock.advance(timedelta(days=3))  # "Soon thing" is now overdue

    answer = user.command(OWNER, "status")

    assert answer.body["response_type"] == "ephemeral"
    text = answer.text
    assert text.index("Soon thing") < text.index("Middle thing") < text.index("Later thing")
    assert "overdue" in text.split("Soon thing")[1].split("Middle thing")[0]
    buttons = [e["action_id"] for b in answer.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons.count(ids.ACTION_DONE) == 3


def test_how_late_is_counted_on_the_readers_calendar(user, slack, db, clock):
    """Due Thursday in New York (Friday 04:59 in London), read in London on Friday: a day late. Due Tuesday
    in Kolkata (13:29 in New York), read in New York that afternoon: overdue since 13:29 there."""
    add(user, slack, LEAD, OWNER, "New York thing", "2026-11-26")
    add(user, slack, OWNER, SPONSOR, "Kolkata thing", "2026-12-01")

    clock.set(datetime(2026, 11, 27, 10, tzinfo=UTC))
    assert "was due Thu 26 Nov, 1 day ago" in user.command(LEAD, f"status <@{OWNER}>").text
    clock.set(datetime(2026, 12, 1, 20, tzinfo=UTC))
    assert "was due today, ended 13:29 your time" in user.command(OWNER, f"status <@{SPONSOR}>").text


def test_status_shows_nothing_of_other_peoples_actions(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Owner's private thing", "2026-12-20")

    mine = user.command(OTHER, "status")
    theirs = user.command(OTHER, f"status <@{OWNER}|olu>")

    assert "Owner's private thing" not in mine.text and "Nothing open" in mine.text
    assert "Owner's private thing" not in theirs.text


def test_lead_sees_the_clinic_by_name_and_by_channel_with_its_numbers(user, slack, db):
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Clinic thing", "2026-12-20", clinic_id)
    add(user, slack, ASSIGNER, OWNER, "Unrelated thing", "2026-12-20")

    by_name = user.command(LEAD, "status discharge flow")
    by_channel = user.command(SPONSOR, "status <#C0CLINIC|discharge-clinic>")

    for answer in (by_name, by_channel):
        assert "Clinic thing" in answer.text and "Unrelated thing" not in answer.text
        assert "1 open · 0 overdue · 0 blocked" in answer.text


def test_a_member_sees_the_clinic_summary_but_only_the_actions_they_own_or_assigned(user, slack, db):
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Owner thing", "2026-12-20", clinic_id)
    add(user, slack, ASSIGNER, OTHER, "Other thing", "2026-12-20", clinic_id)

    answer = user.command(OTHER, "status Discharge flow")
    assigned = user.command(ASSIGNER, "status Discharge flow")

    assert "2 open" in answer.text
    assert "Other thing" in answer.text and "Owner thing" not in answer.text
    # whoever assigned them sees them, as `/clinic status @owner` shows them
    assert "Other thing" in assigned.text and "Owner thing" in assigned.text


def test_status_overdue_and_share(user, slack, db, clock):
    add(user, slack, ASSIGNER, OWNER, "Late thing", "2026-11-24")
    add(user, slack, ASSIGNER, OWNER, "Fine thing", "2026-12-24")
    clock.advance(timedelta(days=2))

    answer = user.command(ASSIGNER, "status overdue share")

    assert answer.body["response_type"] == "in_channel"
    assert "Late thing" in answer.text and "Fine thing" not in answer.text


def test_status_of_an_unknown_clinic_lists_the_real_ones(user, slack, db):
    register_clinic(user, slack, db)

    answer = user.command(OTHER, "status Cardiology")

    assert "no clinic with that name" in answer.text and "Discharge flow" in answer.text


def test_done_by_number_closes_the_action(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Close me", "2026-12-20")
    [action] = actions_in(db)

    answer = user.command(OWNER, f"done {action.id}")

    assert "Closed" in answer.text and "Close me" in answer.text
    assert actions_in(db)[0].status == "done"
    assert history_kinds(db, action.id) == ["created", "status"]


def test_done_by_someone_else_is_refused(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Not yours", "2026-12-20")
    [action] = actions_in(db)

    answer = user.command(OTHER, f"done #{action.id}")

    assert "Only the owner" in answer.text
    assert actions_in(db)[0].status == "open"


def test_show_gives_the_history(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Show me", "2026-12-20")
    [action] = actions_in(db)

    answer = user.command(OWNER, f"show {action.id}")

    assert "Show me" in answer.text and "History" in answer.text and "created it" in answer.text


def test_a_long_history_shows_its_start_and_latest_and_says_how_many_between_are_left_out(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Long running thing", "2026-12-04")
    [action] = actions_in(db)
    for n in range(45):
        user.command(OWNER, f"snooze {action.id} until {date(2026, 11, 26) + timedelta(days=n):%Y-%m-%d}")
    assert history_kinds(db, action.id) == ["created"] + ["snoozed"] * 45

    shown = user.command(OWNER, f"show {action.id}").text
    user.click(OWNER, ids.ACTION_HISTORY, str(action.id))
    modal = json.dumps(opened_view(slack))

    for text in (shown, modal):
        assert "created it, due 2026-12-04" in text
        assert "7 earlier events not shown" in text and "/clinic export" in text
        assert "until 2026-12-02" not in text and "until 2026-12-03" in text  # the 7th snooze left out, not the 8th
        assert "until 2027-01-09" in text  # the latest


def test_help_lists_every_subcommand_and_unknown_gets_help(user):
    helped = user.command(OTHER, "help")
    unknown = user.command(OTHER, "frobnicate")
    empty = user.command(OTHER, "")
    quoted = user.command(OTHER, "fro`bni`cate")

    for sub in ("new", "add", "status", "done", "show", "help"):
        assert f"/clinic {sub}" in helped.text
    assert "I don't know `frobnicate`" in unknown.text and "/clinic status" in unknown.text
    assert "I don't know `fro'bni'cate`" in quoted.text  # a backtick typed cannot end the quote early
    assert "full history" not in helped.text  # a long history is shortened in Slack, whole in an export
    [edit] = [line for line in helped.text.splitlines() if "/clinic edit" in line]
    assert "new lead or sponsor" in edit and "another channel" in edit
    assert "/clinic add" in empty.text


def test_a_blocked_action_says_why_in_every_status_list(user, slack, db):
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Order the new pumps", "2026-12-20", clinic_id)
    [action] = actions_in(db)
    user.click(OWNER, ids.ACTION_BLOCKED, str(action.id))
    modal = opened_view(slack)
    reason = {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "Waiting for the budget sign-off"}}
    user.submit(OWNER, ids.BLOCKED_MODAL, reason, private_metadata=modal["private_metadata"])

    for who, asked in ((OWNER, "status"), (LEAD, "status discharge flow"), (ASSIGNER, f"status <@{OWNER}|olu>")):
        line = user.command(who, asked).text.split("Order the new pumps")[1]
        assert "blocked: _Waiting for the budget sign-off_" in line, (who, asked)


def test_status_of_a_person_names_them_in_the_heading(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Call the rota", "2026-12-20")

    answer = user.command(ASSIGNER, f"status <@{OWNER}|olu>")

    header = next(b for b in answer.body["blocks"] if b["type"] == "header")["text"]["text"]
    assert header == "Open actions of Olu Owner that you can see"
    assert "Call the rota" in answer.text


def test_status_of_a_channel_without_clinics_says_so_without_a_raw_id(user, slack, db):
    answer = user.command(LEAD, "status <#C0CLINIC|discharge-clinic>")

    assert "No clinic reports to that channel" in answer.text
    assert "C0CLINIC" not in answer.text


def test_status_of_a_channel_with_many_clinics_fits_in_one_message(user, slack, db):
    clinic_ids = [register_clinic(user, slack, db, name=f"Clinic {n:02}", areas=()) for n in range(18)]
    for n in range(16):
        add(user, slack, LEAD, OWNER, f"Task {n:02}", "2026-12-20", clinic_ids[0])

    answer = user.command(LEAD, "status <#C0CLINIC|discharge-clinic>")

    assert len(answer.body["blocks"]) <= 50
    assert "*Clinic 09*" in answer.text and "*Clinic 10*" not in answer.text
    assert "…and 8 more clinics reporting here" in answer.text
    assert "Task 00" in answer.text and "…and 1 more" in answer.text


def test_status_finds_a_clinic_whose_name_slack_sent_encoded(user, slack, db):
    clinic_id = register_clinic(user, slack, db, name="A&E flow")
    add(user, slack, ASSIGNER, OWNER, "Triage within 4h", "2026-12-20", clinic_id)

    answer = user.command(LEAD, "status A&amp;E flow")

    assert "Triage within 4h" in answer.text and "*A&amp;E flow*" in answer.text


def owned(bot, count: int, *, clinic_id: int | None = None) -> list[int]:  # type: ignore[no-untyped-def]
    """`count` open actions of the owner's, one due each day from Sat 5 Dec, the odd-numbered ones in
    `clinic_id` if given: their ids."""
    owner = Person(OWNER, "Olu Owner", "America/New_York")
    made = []
    for n in range(count):
        due = date(2026, 12, 5) + timedelta(days=n)
        new = NewAction(team_id=TEAM, title=f"Item {n:03}", owner_id=OWNER, assigner_id=ASSIGNER, due_date=due)
        made.append(bot.services.actions.create(replace(new, clinic_id=clinic_id) if n % 2 else new, owner).id)
    return made


def test_status_says_how_many_more_however_many_there_are(user, slack, db, bot):
    owned(bot, 221, clinic_id=register_clinic(user, slack, db))

    mine = user.command(OWNER, "status").text
    clinic = user.command(LEAD, "status Discharge flow").text  # the 110 in the clinic

    assert "Item 000" in mine and "Item 014" in mine and "Item 015" not in mine
    assert "…and 206 more" in mine
    assert "Item 001" in clinic and "Item 029" in clinic and "Item 031" not in clinic
    assert "…and 95 more" in clinic


def paging(blocks: list[dict]) -> dict[str, tuple[str, str]]:
    """The status answer's paging buttons: label to (action id, value)."""
    return {
        e["text"]["text"]: (e["action_id"], e["value"])
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") in (ids.STATUS_PAGE, ids.STATUS_BACK)
    }


def test_a_long_status_is_paged_through_in_place_with_next_and_previous(user, slack, db, bot):
    clinic_id = register_clinic(user, slack, db)
    owner = Person(OWNER, "Olu Owner", "America/New_York")
    for n in range(40):
        due = date(2026, 12, 5) + timedelta(days=n)
        new = NewAction(team_id=TEAM, title=f"Item {n:03}", owner_id=OWNER, assigner_id=ASSIGNER, due_date=due)
        bot.services.actions.create(replace(new, clinic_id=clinic_id), owner)

    first = user.command(LEAD, "status Discharge flow").body
    assert list(paging(first["blocks"])) == ["Next 15 ›"]
    user.click(LEAD, *paging(first["blocks"])["Next 15 ›"], ephemeral=True)
    [second] = wait_response(slack)
    user.click(LEAD, *paging(second.params["blocks"])["Next 10 ›"], ephemeral=True)
    third = wait_response(slack, 2)[-1]
    user.click(LEAD, *paging(third.params["blocks"])["‹ Previous 15"], ephemeral=True)
    back = wait_response(slack, 3)[-1]

    shown = [[t for n in range(40) if (t := f"Item {n:03}") in text_of(c)] for c in (second, third, back)]
    assert shown == [[f"Item {n:03}" for n in page] for page in (range(15, 30), range(30, 40), range(15, 30))]
    assert all(c.params["replace_original"] is True for c in (second, third, back))
    assert "16–30 of 40" in text_of(second) and "…and 10 more" in text_of(second)
    assert list(paging(third.params["blocks"])) == ["‹ Previous 15"]
    shared = user.command(LEAD, "status Discharge flow share")  # for everyone in the channel: no paging
    assert paging(shared.body["blocks"]) == {} and "…and 25 more" in shared.text


def test_a_page_of_status_shows_only_what_the_person_pressing_may_see(user, slack, db, bot):
    """The button's value says which list and page; who may see what is decided again for whoever pressed."""
    clinic_id = register_clinic(user, slack, db)
    owner = Person(OWNER, "Olu Owner", "America/New_York")
    for n in range(20):
        new = NewAction(
            team_id=TEAM, title=f"Item {n:03}", owner_id=OWNER, assigner_id=ASSIGNER, due_date=date(2026, 12, 5)
        )
        bot.services.actions.create(replace(new, clinic_id=clinic_id), owner)
    button = paging(user.command(LEAD, "status Discharge flow").body["blocks"])["Next 5 ›"]

    user.click(OTHER, *button, ephemeral=True)

    [answer] = wait_response(slack)
    assert "Item" not in text_of(answer)


def test_next_pressed_after_actions_were_closed_meanwhile_shows_the_last_page_there_is(user, slack, db, bot):
    made = owned(bot, 20)
    button = paging(user.command(OWNER, "status").body["blocks"])["Next 5 ›"]
    for action_id in made[:10]:
        bot.services.actions.set_status(TEAM, action_id, OWNER, Status.DONE)

    user.click(OWNER, *button, ephemeral=True)

    [answer] = wait_response(slack)
    shown = text_of(answer)
    assert "Nothing open" not in shown and "Item 010" in shown and "Item 019" in shown, shown


def test_a_garbled_page_button_gives_the_first_page_of_their_own_actions_not_an_error(user, slack, db, bot):
    owned(bot, 3)

    for value in ('{"kind": "person", "target": "", "page": 1}', '{"kind": "clinic", "page": 99}', "[]", "x"):
        user.click(OWNER, ids.STATUS_PAGE, value, ephemeral=True)

    for answer in wait_response(slack, 4):
        assert "Your open actions" in text_of(answer) and "Item 000" in text_of(answer), text_of(answer)


def test_each_next_button_says_how_many_the_next_page_shows_up_to_where_narrowing_down_takes_over(user, slack, db, bot):
    owned(bot, 230)
    answer = user.command(OWNER, "status").body
    pages = 1
    while nexts := [(k, v) for k, v in paging(answer["blocks"]).items() if k.startswith("Next")]:
        [(label, button)] = nexts
        user.click(OWNER, *button, ephemeral=True)
        answer = wait_response(slack, pages)[-1].params
        shown = [n for n in range(230) if f"Item {n:03}" in json.dumps(answer)]
        assert label == f"Next {len(shown)} ›" and shown[0] == 15 * pages, (label, shown)
        pages += 1

    assert pages == 13 and "…and 35 more. Narrow it down" in text_of(wait_response(slack, 12)[-1])


def test_status_right_after_a_restart_while_slack_blips_is_answered_not_told_to_reinstall(
    slack, settings, engine, clock
):
    """A fresh process has not asked Slack who its token speaks for: a 503 from Slack then must not tell
    the person the app is no longer installed."""
    app = create_app(settings, session_factory=make_session_factory(engine), clock=clock)
    try:
        slack.fail_next("auth.test", status=503, times=3)
        answer = SlackDriver(app.bolt, SIGNING_SECRET, slack.response_url("r")).command(OWNER, "status")
    finally:
        app.close()

    said = json.dumps(answer.body).lower()
    assert answer.status == 200
    assert "reinstall" not in said and "no longer available" not in said, said
