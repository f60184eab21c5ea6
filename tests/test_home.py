"""The App Home tab: my actions by when they are due, my clinics' numbers, paged inside Slack's limits."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from slack_sdk.models.views import View

from bot.actions import NewAction
from bot.clinics import NewClinic
from bot.home import PAGE
from bot.people import Person
from bot.views import ids
from tests.conftest import ASSIGNER, LEAD, OWNER, SPONSOR
from tests.helpers import actions_in, wait_dms
from tests.test_clinics import register_clinic
from tests.test_status import add

OLU, LEE = Person(OWNER, "Olu", "America/New_York"), Person(LEAD, "Lee", "Europe/London")


def home_showing(slack, who: str, showing: str) -> dict:
    """The first Home tab published for `who` that shows `showing` (the tab is republished after changes)."""

    def views() -> list[dict]:
        return [c.params["view"] for c in slack.calls_to("views.publish") if c.params["user_id"] == who]

    slack.wait_for(lambda _c: any(showing in text(v) for v in views()))
    return next(v for v in views() if showing in text(v))


def home_event(user, who: str):
    return user.event({"type": "app_home_opened", "user": who, "channel": "D" + who, "tab": "home", "event_ts": "1.1"})


def text(view: dict) -> str:
    from bot.demo.standin import text_in

    return text_in(view)


def test_home_shows_my_actions_by_when_they_are_due_and_my_clinics(user, slack, db, clock):
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Later thing", "2026-12-20", clinic_id)
    add(user, slack, ASSIGNER, OWNER, "Soon thing", "2026-11-27", clinic_id)

    home_event(user, OWNER)
    home_event(user, LEAD)

    mine = text(home_showing(slack, OWNER, "Soon thing"))
    order = ["Due in the next 7 days", "Soon thing", "Later", "Later thing"]
    assert [mine.index(shown) for shown in order] == sorted(mine.index(shown) for shown in order)
    lead = text(home_showing(slack, LEAD, "2 open"))  # the card is refreshed as each action is added: the last
    assert "Discharge flow" in lead and "2 open · 0 overdue · 0 blocked" in lead


def sections(view: dict) -> dict[str, list[str]]:
    """The Home tab's sections as shown: each heading with the lines under it, in order."""
    shown: dict[str, list[str]] = {}
    for line in text(view).splitlines():
        if line.startswith("*:"):
            shown[line.strip("*")] = lines = []
        elif shown:
            lines.append(line)
    return shown


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 11, 27, 15, tzinfo=UTC), datetime(2026, 11, 28, 4, 30, tzinfo=UTC)],
    ids=["Friday 10:00 in New York", "Friday 23:30 in New York, already Saturday in UTC"],
)
def test_due_in_the_next_7_days_holds_what_is_due_from_today_to_six_days_on_in_the_readers_time_zone(
    user, slack, db, clock, now
):
    """Read on Friday 27 Nov, the section headed "Due this week" listed an action due next Thursday. Its
    heading now says what it holds: what is due within 7 days from now, today to Thursday 3 Dec for a
    reader in New York (whatever the day is in UTC); Friday 4 Dec on is "Later"."""
    clock.set(now)
    for title, due in [("Due today", "2026-11-27"), ("Due next Thursday", "2026-12-03"),
                       ("Due next Friday", "2026-12-04"), ("Due in December", "2026-12-20")]:  # fmt: skip
        add(user, slack, OWNER, OWNER, title, due)

    home_event(user, OWNER)

    shown = sections(home_showing(slack, OWNER, "Due in December"))
    assert list(shown) == [":calendar: Due in the next 7 days", ":spiral_calendar_pad: Later"], shown
    soon, later = (" ".join(lines) for lines in shown.values())
    assert "Due today" in soon and "Due next Thursday" in soon, soon
    assert "Due next Friday" in later and "Due in December" in later, later


def lead_clinics(bot, how_many: int) -> list[str]:
    """`how_many` clinics that LEAD leads, by name."""
    names = [f"Clinic {n:02d}" for n in range(1, how_many + 1)]
    for name in names:
        bot.services.clinics.register(NewClinic(team_id="T0001", name=name, lead_id=LEAD, created_by=LEAD), LEE)
    return names


def cards(view: dict) -> list[str]:
    """The clinics with a card on a Home tab, by name."""
    return re.findall(r"^\*(Clinic \d+)\* \(you are its lead", text(view), re.MULTILINE)


def test_a_lead_of_nine_clinics_sees_a_card_for_each(user, slack, bot):
    names = lead_clinics(bot, 9)

    home_event(user, LEAD)

    view = home_showing(slack, LEAD, "Clinic 09")
    assert cards(view) == names and "more:" not in text(view)


@pytest.mark.parametrize("actions", [0, 2 * PAGE], ids=["no actions", "a full page of actions"])
def test_clinics_beyond_the_home_tabs_block_limit_are_counted_with_where_to_see_them(user, slack, bot, actions):
    names = lead_clinics(bot, 60)
    owe(bot, actions, LEE)

    home_event(user, LEAD)

    view = home_showing(slack, LEAD, "Clinic 01")
    View(**view).validate_json()
    shown = cards(view)
    assert shown == names[: len(shown)] and len(view["blocks"]) > 100 - 2  # as many as fit, in order
    assert f"…and {60 - len(shown)} more: `/clinic status &lt;name&gt;`" in text(view)


def test_home_refreshes_after_a_change(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Finish me", "2026-12-20")
    wait_dms(slack, OWNER)
    [action] = actions_in(db)

    user.click(OWNER, ids.ACTION_DONE, str(action.id), home=True)

    view = home_showing(slack, OWNER, "Done in the last week")
    assert "Finish me" in text(view).split("Done in the last week")[1]


def test_a_refused_press_on_the_home_tab_is_explained_in_a_modal_and_the_tab_refreshed(user, slack, db):
    """A Home tab has no response_url: the refusal cannot go where a message's would."""
    add(user, slack, ASSIGNER, OWNER, "Finish me", "2026-12-20")
    wait_dms(slack, OWNER)
    [action] = actions_in(db)
    user.command(OWNER, f"done {action.id}")  # from another window: the tab still shows its buttons
    slack.reset()

    user.click(OWNER, ids.ACTION_ON_TRACK, str(action.id), home=True)

    slack.wait_for(lambda calls: any(c.method == "views.open" for c in calls))
    [modal] = [c.params["view"] for c in slack.calls_to("views.open")]
    assert "already done" in text(modal)
    home_showing(slack, OWNER, "Done in the last week")
    assert slack.calls_to("response_url") == []


def owe(bot, how_many: int, owner: Person = OLU) -> None:
    """`how_many` open actions for `owner`, due on the days of December in turn."""
    bot.services.people.remember("T0001", owner)
    for n in range(how_many):
        bot.services.actions.create(
            NewAction(
                team_id="T0001",
                title=f"Item {n:03d}",
                owner_id=owner.user_id,
                assigner_id=ASSIGNER,
                due_date=date(2026, 12, 1 + n % 28),
            ),
            owner,
        )


def test_three_hundred_actions_page_within_the_block_limit(user, slack, db, bot):
    owe(bot, 300)

    home_event(user, OWNER)
    first = home_showing(slack, OWNER, "Page 1 of 12")
    View(**first).validate_json()
    assert len(first["blocks"]) <= 100 and "Page 1 of 12" in text(first)
    more = next(
        e
        for b in first["blocks"]
        if b["type"] == "actions" and b.get("block_id") == "home_paging"
        for e in b["elements"]
    )

    user.click(OWNER, ids.HOME_PAGE, more["value"])
    second = home_showing(slack, OWNER, "Page 2 of 12")
    assert "Page 2 of 12" in text(second) and len(second["blocks"]) <= 100
    # Back and Show more side by side: Slack refuses a block whose buttons share an action_id.
    [paging] = [b for b in second["blocks"] if b.get("block_id") == "home_paging"]
    back, forward = paging["elements"]
    assert back["action_id"] != forward["action_id"] and (back["value"], forward["value"]) == ("0", "2")
    published = len(slack.calls_to("views.publish"))
    user.click(OWNER, back["action_id"], back["value"])
    slack.wait_for(lambda _c: len(slack.calls_to("views.publish")) > published)
    assert "Page 1 of 12" in text(slack.calls_to("views.publish")[-1].params["view"])


def page_of_home(user, slack, who: str, page: int) -> dict:
    """Open the Home tab and press Show more until it shows page `page` (counted from 1)."""
    home_event(user, who)
    shown = home_showing(slack, who, "Page 1 of")
    for n in range(2, page + 1):
        [more] = [
            e
            for b in shown["blocks"]
            if b.get("block_id") == "home_paging"
            for e in b["elements"]
            if e["action_id"] == ids.HOME_PAGE
        ]
        user.click(who, ids.HOME_PAGE, more["value"], home_view=shown)
        shown = home_showing(slack, who, f"Page {n} of")
    return shown


def first_done_button(view: dict) -> str:
    """The value of the first Done button on a view: the id of the action it closes."""
    return next(
        e["value"]
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.ACTION_DONE
    )


def home_after_press(user, slack, who: str, shown: dict, action_id: str, value: str) -> dict:
    """The Home tab `who` sees once a press on it (`shown`) has been answered."""

    def views() -> list[dict]:
        return [c.params["view"] for c in slack.calls_to("views.publish") if c.params["user_id"] == who]

    published = len(views())
    user.click(who, action_id, value, home_view=shown)
    slack.wait_for(lambda _c: len(views()) > published)
    return views()[-1]


def test_a_press_on_page_two_of_the_home_tab_leaves_it_on_page_two(user, slack, bot):
    owe(bot, 60)
    second = page_of_home(user, slack, OWNER, 2)

    after = home_after_press(user, slack, OWNER, second, ids.ACTION_DONE, first_done_button(second))

    assert "Page 2 of 3" in text(after)


def test_closing_the_last_action_of_the_last_page_shows_the_page_before(user, slack, bot):
    owe(bot, 26)
    last = page_of_home(user, slack, OWNER, 2)
    assert text(last).count("Item ") == 1

    after = home_after_press(user, slack, OWNER, last, ids.ACTION_DONE, first_done_button(last))

    assert "Page " not in text(after) and text(after).count("Item ") == 25 + 1  # 25 open and the one done


def test_a_change_by_someone_else_refreshes_the_owners_home(user, slack, db):
    add(user, slack, ASSIGNER, OWNER, "Closed by the assigner", "2026-12-20")
    wait_dms(slack, OWNER)
    [action] = actions_in(db)

    user.command(ASSIGNER, f"done {action.id}")

    view = home_showing(slack, OWNER, "Done in the last week")
    assert "Closed by the assigner" in text(view).split("Done in the last week")[1]


@pytest.mark.parametrize(
    ("now", "sixth_day_on", "seventh_day_on"),
    [
        # Mon 26 Oct 00:30 in New York: clocks go back on Sun 1 Nov, so that week is 7 days and an hour long.
        (datetime(2026, 10, 26, 4, 30, tzinfo=UTC), "2026-11-01", "2026-11-02"),
        # Sun 1 Mar 23:30 in New York: clocks go forward on Sun 8 Mar, so that week is an hour short.
        (datetime(2026, 3, 2, 4, 30, tzinfo=UTC), "2026-03-07", "2026-03-08"),
    ],
    ids=["New York clocks go back", "New York clocks go forward"],
)
def test_due_in_the_next_7_days_counts_calendar_days_across_a_daylight_saving_change(
    user, slack, db, clock, now, sixth_day_on, seventh_day_on
):
    """Today and the six days after are "Due in the next 7 days" for the owner, whatever the clocks do."""
    clock.set(now)
    add(user, slack, OWNER, OWNER, "Due six days on", sixth_day_on)
    add(user, slack, OWNER, OWNER, "Due seven days on", seventh_day_on)

    home_event(user, OWNER)

    shown = sections(home_showing(slack, OWNER, "Due seven days on"))
    soon = " ".join(shown.get(":calendar: Due in the next 7 days", []))
    later = " ".join(shown.get(":spiral_calendar_pad: Later", []))
    assert "Due six days on" in soon and "Due seven days on" in later, shown


def test_a_change_to_a_clinics_action_refreshes_the_clinic_card_on_its_leads_and_sponsors_home(user, slack, db):
    """The lead has the Home tab open with the clinic's card; the owner closes the clinic's only action: the
    card's numbers change, so the lead's and the sponsor's tabs are published again, as the owner's is."""
    clinic_id = register_clinic(user, slack, db)
    add(user, slack, ASSIGNER, OWNER, "Weekend discharge audit", "2026-12-20", clinic_id)
    wait_dms(slack, OWNER)
    [action] = actions_in(db)
    home_event(user, LEAD)
    home_event(user, SPONSOR)
    home_showing(slack, LEAD, "1 open · 0 overdue · 0 blocked")
    home_showing(slack, SPONSOR, "1 open · 0 overdue · 0 blocked")

    user.command(OWNER, f"done {action.id}")

    home_showing(slack, OWNER, "Done in the last week")  # the owner's tab is refreshed
    for leader in (LEAD, SPONSOR):
        assert "0 open · 0 overdue · 0 blocked" in text(home_showing(slack, leader, "0 open · 0 overdue"))


def test_marking_blocked_from_page_two_of_the_home_tab_leaves_it_on_page_two(user, slack, bot):
    """Blocked asks for the reason in a modal: once it is submitted, the tab refreshes on the page the button was
    pressed on, as it does after Done (the README: "on the page they were looking at")."""
    owe(bot, 60)
    second = page_of_home(user, slack, OWNER, 2)
    action_id = first_done_button(second)

    def views() -> list[dict]:
        return [c.params["view"] for c in slack.calls_to("views.publish") if c.params["user_id"] == OWNER]

    before = len(views())
    user.click(OWNER, ids.ACTION_BLOCKED, action_id, home_view=second)
    slack.wait_for(lambda _c: bool(slack.calls_to("views.open")) and len(views()) > before)  # the press refreshes
    [modal] = [c.params["view"] for c in slack.calls_to("views.open")]

    published = len(views())
    user.submit(
        OWNER,
        modal["callback_id"],
        {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "Waiting on estates"}},
        private_metadata=modal.get("private_metadata", ""),
    )
    slack.wait_for(lambda _c: len(views()) > published)

    after = views()[-1]
    assert re.findall(r"Page \d+ of \d+", text(after)) == ["Page 2 of 3"]
    assert "Waiting on estates" in text(after)
