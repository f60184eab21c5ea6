"""The weekly digest: at each reader's own Monday 09:00 (or the day and time they chose), once a week
whatever the replicas, with its chart under it, and still delivered when the chart cannot be."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.walk import Walk
from bot.digest import DigestPlanner
from bot.views import ids
from storage.models import DigestPreference, OutboxMessage
from tests.conftest import ASSIGNER, LEAD, OTHER, OWNER, SPONSOR
from tests.helpers import actions_in, opened_view, text_of
from tests.test_clinic_roles import edit
from tests.test_clinics import register_clinic
from tests.test_export import uploaded
from tests.test_status import add


def digests_to(walk: Walk, who: str) -> list:
    return [t for t in walk.to(who, digests=True) if "Weekly digest" in text_of(t.call)]


def clinic_with_actions(user, slack, db, bot, clock) -> Walk:
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-26", clinic_id)
    add(user, slack, ASSIGNER, OTHER, "Pharmacy TTO cut-off", "2026-12-03", clinic_id)
    add(user, slack, ASSIGNER, OWNER, "Discharge lounge rota", "2026-12-04", clinic_id)
    walk.settle()
    user.command(OTHER, f"done {actions_in(db)[1].id}")
    return walk


def test_leads_and_sponsors_get_it_at_nine_on_monday_in_their_own_time_zone_once_a_week(user, slack, db, bot, clock):
    walk = clinic_with_actions(user, slack, db, bot, clock)
    walk.settle()

    walk.until(datetime(2026, 12, 8, 12, tzinfo=UTC), step=timedelta(minutes=30))

    assert [t.local("Europe/London") for t in digests_to(walk, LEAD)] == ["Mon 30 Nov 09:00", "Mon 07 Dec 09:00"]
    assert [t.local("Asia/Kolkata") for t in digests_to(walk, SPONSOR)] == ["Mon 30 Nov 09:00", "Mon 07 Dec 09:00"]
    first = text_of(digests_to(walk, LEAD)[0].call)
    assert "Weekly digest: Discharge flow" in first
    assert "Audit weekend discharges" in first  # overdue since Thursday
    assert f"<@{OTHER}>: Pharmacy TTO cut-off" in first  # a win to thank them for
    assert "Discharge lounge rota" in first.split("Due in the coming week")[1]


def test_days_and_updates_are_counted_on_each_readers_calendar(user, slack, db, bot, clock):
    """Due Thursday, read on Monday: four days overdue wherever the reader is. The owner's update at 19:00
    UTC on Friday is Friday in London and already Saturday in Kolkata."""
    walk = clinic_with_actions(user, slack, db, bot, clock)
    walk.until(datetime(2026, 11, 27, 19, tzinfo=UTC))
    user.click(OWNER, ids.ACTION_ON_TRACK, str(actions_in(db)[0].id))
    walk.settle()

    walk.until(datetime(2026, 11, 30, 10, tzinfo=UTC))

    line = "*Audit weekend discharges* · 4 days overdue · last update "
    assert line + "Fri 27 Nov" in text_of(digests_to(walk, LEAD)[0].call)
    assert line + "Sat 28 Nov" in text_of(digests_to(walk, SPONSOR)[0].call)


def test_the_chart_is_uploaded_under_the_digest(user, slack, db, bot, clock):
    walk = clinic_with_actions(user, slack, db, bot, clock)
    walk.settle()

    walk.until(datetime(2026, 11, 30, 10, tzinfo=UTC))

    [_digest] = digests_to(walk, LEAD)
    [complete] = [c for c in slack.calls_to("files.completeUploadExternal") if c.params["channel_id"] == "D" + LEAD]
    [upload] = [c for c in slack.calls_to("upload") if c.params["file_id"] == complete.params["files"][0]["id"]]
    assert upload.params["data"][:8] == b"\x89PNG\r\n\x1a\n" and upload.params["bytes"] > 5000
    db.expire_all()
    sent = db.scalar(select(OutboxMessage).where(OutboxMessage.kind == "digest", OutboxMessage.recipient == LEAD))
    assert complete.params["thread_ts"] == sent.sent_ts


def test_when_the_chart_cannot_be_uploaded_the_digest_still_arrives(user, slack, db, bot, clock):
    walk = clinic_with_actions(user, slack, db, bot, clock)
    walk.settle()
    slack.fail_next("files.getUploadURLExternal", error="not_allowed_token_type", times=50)

    walk.until(datetime(2026, 11, 30, 12, tzinfo=UTC))

    assert len(digests_to(walk, LEAD)) == 1
    db.expire_all()
    chart = db.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "digest_chart", OutboxMessage.recipient == LEAD)
    )
    assert chart.state in ("pending", "failed") and chart.last_error


def test_a_digest_missed_on_monday_goes_out_at_the_next_pass(user, slack, db, bot, clock):
    walk = clinic_with_actions(user, slack, db, bot, clock)
    walk.settle()
    clock.set(datetime(2026, 12, 1, 14, tzinfo=UTC))  # the bot was down all Monday

    walk.run()

    assert [t.local("Europe/London") for t in digests_to(walk, LEAD)] == ["Tue 01 Dec 14:00"]


def test_two_replicas_queue_one_digest(user, slack, db, bot, clock):
    clinic_with_actions(user, slack, db, bot, clock)
    clock.set(datetime(2026, 11, 30, 10, tzinfo=UTC))
    planners = [DigestPlanner(bot.services.sessions, clock, bot.services.digests.default) for _ in range(4)]
    threads = [threading.Thread(target=p.plan) for p in planners]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    db.expire_all()
    kinds = [m.kind for m in db.scalars(select(OutboxMessage).where(OutboxMessage.recipient == LEAD))]
    assert kinds.count("digest") == 1 and kinds.count("digest_chart") == 1


def test_each_person_chooses_their_day_and_time(user, slack, db, bot, clock):
    walk = clinic_with_actions(user, slack, db, bot, clock)
    answer = user.command(LEAD, "digest settings friday 16:00")
    walk.settle()

    walk.until(datetime(2026, 12, 1, tzinfo=UTC))

    assert "Friday at 16:00" in answer.text
    assert [t.local("Europe/London") for t in digests_to(walk, LEAD)] == ["Fri 27 Nov 16:00"]
    assert [t.local("Asia/Kolkata") for t in digests_to(walk, SPONSOR)] == ["Mon 30 Nov 09:00"]


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        ("tue 7:00", "Tuesday at 07:00"),
        ("wednesday 4:30pm", "Wednesday at 16:30"),
        ("thursday 0930", "Thursday at 09:30"),
        ("THURS 9", "Thursday at 09:00"),
    ],
)
def test_a_time_may_be_written_the_ways_people_write_it(user, db, said, shown):
    assert shown in user.command(LEAD, f"digest settings {said}").text


@pytest.mark.parametrize("said", ["friday 24:00", "friday 13pm", "friday 9:75", "friday noonish"])
def test_a_time_that_is_not_one_is_refused_and_nothing_changes(user, db, said):
    answer = user.command(LEAD, f"digest settings {said}")

    assert "I don't understand" in answer.text
    assert "Monday at 09:00" in user.command(LEAD, "digest settings").text


@pytest.mark.parametrize("said", ["monthly", "sunrise 9:00", "wedding"])
def test_a_word_that_only_starts_like_a_day_is_refused_and_nothing_is_saved(user, db, said):
    answer = user.command(LEAD, f"digest settings {said}")

    assert "I don't understand" in answer.text
    assert db.scalars(select(DigestPreference)).all() == []
    assert "Monday at 09:00" in user.command(LEAD, "digest settings").text


def test_digest_preview_now_and_for_someone_who_leads_nothing(user, slack, db, bot, clock):
    clinic_with_actions(user, slack, db, bot, clock)

    preview = user.command(LEAD, "digest")
    nothing = user.command(OWNER, "digest")

    assert preview.body["response_type"] == "ephemeral" and "Weekly digest: Discharge flow" in preview.text
    assert "Open*\n2" in preview.text
    assert "don't lead or sponsor" in nothing.text


def test_long_lists_end_with_and_n_more_within_slacks_limits(user, slack, db, bot, clock):
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    for n in range(30):
        add(user, slack, ASSIGNER, OWNER, f"Overdue item {n} " + "x" * 150, "2026-11-25", clinic_id)
    clock.set(datetime(2026, 11, 30, 10, tzinfo=UTC))

    preview = user.command(LEAD, "digest")

    assert "…and 22 more: `/clinic status Discharge flow`" in preview.text
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in preview.body["blocks"])


def listed(answer, title: str) -> str:  # type: ignore[no-untyped-def]
    """The digest's list under `title`, as the reader sees it."""
    [section] = [t for b in answer.body["blocks"] if (t := b.get("text", {}).get("text", "")).startswith(f"*{title}")]
    return section


def test_each_cut_list_points_to_where_the_actions_it_leaves_out_are(user, slack, db, bot, clock):
    """The wins are closed, which `/clinic status` never lists: the export has them. What falls due, and
    what is blocked before its deadline, is not overdue: a combined digest sends the reader to each clinic's
    status, not to `/clinic status overdue`."""
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Discharge flow")
    theatre_id = register_clinic(user, slack, db, lead=LEAD, sponsor=None, name="Theatre utilisation")
    wins = [f"Win {n:02}" for n in range(10)]
    coming = [f"Coming {n:02}" for n in range(10)]
    blocked = [f"Blocked {n:02}" for n in range(10)]
    for title in wins + coming:
        add(user, slack, ASSIGNER, OWNER, title, "2026-11-27", clinic_id)
    for title in blocked:
        add(user, slack, ASSIGNER, OWNER, title, "2026-12-18", theatre_id)
    for action in actions_in(db):
        if action.title in wins:
            user.command(OWNER, f"done {action.id}")
        elif action.title in blocked:
            values = {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "No rota yet"}}
            user.submit(OWNER, ids.BLOCKED_MODAL, values, private_metadata=json.dumps({"action_id": action.id}))
    clock.set(datetime(2026, 11, 25, 10, tzinfo=UTC))

    one = user.command(SPONSOR, "digest")  # sponsors one clinic
    combined = user.command(LEAD, "digest")  # leads both

    def last_lines(answer) -> list[str]:  # type: ignore[no-untyped-def]
        titles = ("Overdue and blocked", "Wins this week", "Due in the coming week")
        return [listed(answer, title).splitlines()[-1] for title in titles]

    assert last_lines(one) == [
        "Nothing overdue or blocked. :tada:",  # what is blocked is in the other clinic
        "…and 2 more: `/clinic export Discharge flow` (every action, with when it was closed)",
        "…and 2 more: `/clinic status Discharge flow`",
    ]
    assert last_lines(combined) == [
        "…and 2 more: `/clinic status` with a clinic's name",
        "…and 2 more: `/clinic export` with a clinic's name (every action, with when it was closed)",
        "…and 2 more: `/clinic status` with a clinic's name",
    ]
    # Followed, each pointer shows the actions the list left out.
    for title, listing, clinic in (
        ("Due in the coming week", coming, "Discharge flow"),
        ("Overdue and blocked", blocked, "Theatre utilisation"),
    ):
        left_out = [t for t in listing if t not in listed(combined, title)]
        status = user.command(LEAD, f"status {clinic}").text
        assert len(left_out) == 2 and all(t in status for t in left_out), (title, status)
    left_out = [t for t in wins if t not in listed(combined, "Wins this week")]
    slack.reset()
    user.command(LEAD, "export Discharge flow json")
    [data] = uploaded(slack)
    closed = {a["title"] for a in json.loads(data)["clinics"][0]["actions"] if a["status"] == "done" and a["closed_at"]}
    assert len(left_out) == 2 and set(left_out) <= closed


def test_a_week_of_more_wins_than_the_list_shows_thanks_the_latest_and_counts_the_rest(user, slack, db, bot, clock):
    """Those done last are the freshest to thank; the earlier ones of the week are counted, in the export."""
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR)
    wins = [f"Win {n:02}" for n in range(12)]
    for title in wins:
        add(user, slack, ASSIGNER, OWNER, title, "2026-12-18", clinic_id)
    for action in actions_in(db):  # done one an hour, in the order of their titles
        clock.advance(timedelta(hours=1))
        user.command(OWNER, f"done {action.id}")
    clock.set(datetime(2026, 11, 26, 10, tzinfo=UTC))

    lines = listed(user.command(LEAD, "digest"), "Wins this week").splitlines()[1:]

    assert [w for w in reversed(wins) if any(w in line for line in lines)] == wins[:3:-1]  # Win 11 to Win 04
    assert lines[0].endswith("Win 11") and lines[-1].startswith("…and 4 more: `/clinic export Discharge flow`")


def test_digest_time_holds_across_the_clock_change(user, slack, db, bot, clock):
    slack.add_user("UBERLIN", name="Bea Berlin", tz="Europe/Berlin")
    clock.set(datetime(2026, 10, 13, 10, tzinfo=UTC))
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db, lead="UBERLIN", sponsor=None, name="Berlin clinic")
    add(user, slack, ASSIGNER, OWNER, "Something to report", "2026-11-20", clinic_id)
    walk.settle()

    walk.until(datetime(2026, 11, 3, tzinfo=UTC), step=timedelta(minutes=30))

    sent = digests_to(walk, "UBERLIN")
    assert [t.local("Europe/Berlin") for t in sent] == ["Mon 19 Oct 09:00", "Mon 26 Oct 09:00", "Mon 02 Nov 09:00"]
    assert [t.at.hour for t in sent] == [7, 8, 8]  # summer time ended on Sunday 25 October


def test_a_lead_of_two_clinics_can_have_one_combined_digest(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    first = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Discharge flow")
    second = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Theatre utilisation")
    add(user, slack, ASSIGNER, OWNER, "Flow item", "2026-12-04", first)
    add(user, slack, ASSIGNER, OWNER, "Theatre item", "2026-12-04", second)
    user.command(LEAD, "digest settings combined")
    walk.settle()

    walk.until(datetime(2026, 11, 30, 12, tzinfo=UTC))

    [combined] = digests_to(walk, LEAD)
    assert "Weekly digest: your clinics" in text_of(combined.call)
    assert "Flow item" in text_of(combined.call) and "Theatre item" in text_of(combined.call)
    assert len(digests_to(walk, SPONSOR)) == 2  # the sponsor kept one per clinic


def test_a_clinic_added_midweek_sends_no_second_combined_digest_that_week(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    first = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Discharge flow")
    add(user, slack, ASSIGNER, OWNER, "Flow item", "2026-12-04", first)
    user.command(LEAD, "digest settings combined")
    walk.settle()
    walk.until(datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert len(digests_to(walk, LEAD)) == 1

    clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))  # Wednesday: the lead takes on a second clinic
    second = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Theatre utilisation")
    add(user, slack, ASSIGNER, OWNER, "Theatre item", "2026-12-11", second)
    walk.until(datetime(2026, 12, 7, 12, tzinfo=UTC))

    # One this week; next Monday's covers both clinics.
    assert [t.local("Europe/London") for t in digests_to(walk, LEAD)] == ["Mon 30 Nov 09:00", "Mon 07 Dec 09:00"]
    assert "Theatre item" in text_of(digests_to(walk, LEAD)[-1].call)


def test_switching_to_one_combined_digest_midweek_sends_nothing_more_that_week(user, slack, db, bot, clock):
    walk = Walk(bot, slack, clock)
    first = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Discharge flow")
    second = register_clinic(user, slack, db, lead=LEAD, sponsor=SPONSOR, name="Theatre utilisation")
    add(user, slack, ASSIGNER, OWNER, "Flow item", "2026-12-04", first)
    add(user, slack, ASSIGNER, OWNER, "Theatre item", "2026-12-04", second)
    walk.settle()
    walk.until(datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert len(digests_to(walk, LEAD)) == 2  # one per clinic

    clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))  # Tuesday
    user.command(LEAD, "digest settings combined")
    walk.until(datetime(2026, 12, 7, 12, tzinfo=UTC))

    # Nothing more that week: each clinic's digest was had. Next Monday's is the combined one.
    sent = digests_to(walk, LEAD)
    assert [t.local("Europe/London") for t in sent] == ["Mon 30 Nov 09:00", "Mon 30 Nov 09:00", "Mon 07 Dec 09:00"]
    assert "Weekly digest: your clinics" in text_of(sent[-1].call)


def test_last_weeks_figures_are_what_last_weeks_digest_said(user, slack, db, bot, clock):
    """An action blocked this week was not blocked when last week's digest went out: +1, not 'same'."""
    walk = clinic_with_actions(user, slack, db, bot, clock)
    walk.settle()
    walk.until(datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert "*Blocked*\n0" in text_of(digests_to(walk, LEAD)[0].call)

    clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))
    rota = next(a for a in actions_in(db) if a.title == "Discharge lounge rota")
    opened = len(slack.calls_to("views.open"))
    user.click(OWNER, ids.ACTION_BLOCKED, str(rota.id))
    user.submit(
        OWNER,
        ids.BLOCKED_MODAL,
        {ids.BLOCKED_REASON: {"type": "plain_text_input", "value": "No porters this week"}},
        private_metadata=opened_view(slack, opened + 1)["private_metadata"],
    )
    walk.until(datetime(2026, 12, 7, 12, tzinfo=UTC))

    assert "*Blocked*\n1  (+1 :small_red_triangle:)" in text_of(digests_to(walk, LEAD)[-1].call)


def test_the_chart_carries_alt_text_for_readers_who_cannot_see_it(user, slack, db, bot, clock):
    """The chart holds the eight weeks' figures: uploaded with no alternative text, a lead or sponsor using a
    screen reader hears only the file's name."""
    walk = clinic_with_actions(user, slack, db, bot, clock)
    walk.settle()

    walk.until(datetime(2026, 11, 30, 10, tzinfo=UTC))

    asked = [c for c in slack.calls_to("files.getUploadURLExternal") if c.params.get("filename") == "clinic-digest.png"]
    assert len(asked) == 2  # the lead's and the sponsor's
    assert all(c.params.get("alt_txt") for c in asked), [c.params for c in asked]


def test_a_clinic_handed_over_midweek_joins_the_new_leads_digest_next_week(user, slack, db, bot, clock):
    """README: whatever changes midweek, "taking on another clinic: it joins next week's". A lead who takes
    a clinic over on Wednesday gets a digest of it that Wednesday afternoon, off their Monday 09:00."""
    walk = Walk(bot, slack, clock)
    register_clinic(user, slack, db, lead=OTHER, sponsor=SPONSOR, name="Discharge flow")
    theatre = register_clinic(user, slack, db, lead=LEAD, sponsor=None, name="Theatre utilisation")
    add(user, slack, ASSIGNER, OWNER, "Theatre item", "2026-12-04", theatre)
    walk.settle()
    walk.until(datetime(2026, 11, 30, 12, tzinfo=UTC))
    assert [t.local("Europe/London") for t in digests_to(walk, LEAD)] == ["Mon 30 Nov 09:00"]

    clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))  # Wednesday: Otto hands Discharge flow to Lee
    edit(user, slack, OTHER, lead=LEAD)
    walk.until(datetime(2026, 12, 7, 12, tzinfo=UTC))

    sent = digests_to(walk, LEAD)
    assert [t.local("Europe/London") for t in sent] == ["Mon 30 Nov 09:00", "Mon 07 Dec 09:00", "Mon 07 Dec 09:00"]


def test_a_win_in_the_hour_after_the_digest_of_the_week_the_clocks_go_back_is_thanked_in_the_next_digest(
    user, slack, db, bot, clock
):
    """London's Monday 09:00 digest of 19 October goes out at 08:00 UTC (summer time), the next one at 09:00
    UTC: "this week" of the second starts 168 hours before it, at 10:00 on the 19th. An action done at 09:30
    that Monday, after the first digest, is in neither digest's wins: its owner is never thanked."""
    clock.set(datetime(2026, 10, 13, 10, tzinfo=UTC))
    walk = Walk(bot, slack, clock)
    clinic_id = register_clinic(user, slack, db, lead=LEAD, sponsor=None)
    add(user, slack, ASSIGNER, OWNER, "Audit weekend discharges", "2026-11-20", clinic_id)
    walk.settle()
    walk.until(datetime(2026, 10, 19, 8, 30, tzinfo=UTC))
    assert [t.local("Europe/London") for t in digests_to(walk, LEAD)] == ["Mon 19 Oct 09:00"]

    user.command(OWNER, f"done {actions_in(db)[0].id}")  # 09:30 in London, after the first digest
    walk.until(datetime(2026, 10, 26, 12, tzinfo=UTC))

    sent = digests_to(walk, LEAD)
    assert [t.local("Europe/London") for t in sent] == ["Mon 19 Oct 09:00", "Mon 26 Oct 09:00"]
    assert "Audit weekend discharges" not in listed_text(sent[0].call, "Wins this week")
    assert "Audit weekend discharges" in listed_text(sent[1].call, "Wins this week")


def test_a_win_the_week_the_digest_moves_to_friday_is_thanked_in_the_next_digest(user, slack, db, bot, clock):
    """Monday's digest went out; on Tuesday the lead moves it to Friday 16:00, so the next comes on Friday
    11 December. Its wins are those of the 7 days before it: what was done on Wednesday 2 December falls
    between the two digests and is thanked in neither."""
    walk = clinic_with_actions(user, slack, db, bot, clock)
    walk.settle()
    walk.until(datetime(2026, 11, 30, 12, tzinfo=UTC))
    clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert "Friday at 16:00" in user.command(LEAD, "digest settings friday 16:00").text
    clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))
    rota = next(a for a in actions_in(db) if a.title == "Discharge lounge rota")
    user.command(OWNER, f"done {rota.id}")  # Wednesday

    walk.until(datetime(2026, 12, 11, 17, tzinfo=UTC), step=timedelta(hours=1))

    sent = digests_to(walk, LEAD)
    assert [t.local("Europe/London") for t in sent] == ["Mon 30 Nov 09:00", "Fri 11 Dec 16:00"]
    assert "Discharge lounge rota" in listed_text(sent[1].call, "Wins this week")


def listed_text(call, title: str) -> str:  # type: ignore[no-untyped-def]
    """A sent digest's list under `title`."""
    [section] = [t for b in call.params["blocks"] if (t := b.get("text", {}).get("text", "")).startswith(f"*{title}")]
    return section
