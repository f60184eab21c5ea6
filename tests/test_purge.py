"""`clinic-bot purge --closed-before DATE`: closed actions and their history go, open ones never do."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from storage.models import Action, ActionEvent, AgendaItem, OutboxMessage, ProcessedEvent
from tests.conftest import ASSIGNER, LEAD, OWNER, SPONSOR, TEAM
from tests.helpers import actions_in, count, history_kinds
from tests.test_status import add


def purge(url: str, *args: str, command: str = "purge", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", command, *args],
        env={
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(Path(__file__).parents[1]),
            "DATABASE_URL": url,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def three_actions(user, slack, db, bot, clock) -> list[int]:
    """#1 closed on Tue 24 Nov, #2 closed on Wed 25 Nov, #3 still open."""
    for title in ("Closed long ago", "Closed recently", "Still open"):
        add(user, slack, ASSIGNER, OWNER, title, "2026-12-20")
    ids = [a.id for a in actions_in(db)]
    bot.services.delivery.deliver_due()
    user.command(OWNER, f"done {ids[0]}")
    clock.advance(timedelta(days=1))
    user.command(OWNER, f"done {ids[1]}")
    bot.services.delivery.deliver_due()
    return ids


def test_purge_deletes_what_closed_before_the_date_with_its_history(user, slack, db, bot, clock, database_url):
    old, recent, still_open = three_actions(user, slack, db, bot, clock)

    done = purge(database_url, "--closed-before", "2026-11-25")

    assert done.returncode == 0, done.stderr
    assert "deleted 1 action(s) closed before 2026-11-25" in done.stdout
    assert [a.id for a in actions_in(db)] == [recent, still_open]
    assert not db.scalars(select(ActionEvent).where(ActionEvent.action_id == old)).all()
    assert db.scalars(select(ActionEvent).where(ActionEvent.action_id == recent)).all()
    assert not db.scalars(select(OutboxMessage).where(OutboxMessage.action_id == old)).all()


def test_a_dry_run_counts_and_changes_nothing(user, slack, db, bot, clock, database_url):
    three_actions(user, slack, db, bot, clock)
    before = (count(db, Action), count(db, ActionEvent), count(db, OutboxMessage))

    done = purge(database_url, "--closed-before", "2026-11-26", "--dry-run")

    assert done.returncode == 0, done.stderr
    assert "would delete 2 action(s)" in done.stdout
    assert (count(db, Action), count(db, ActionEvent), count(db, OutboxMessage)) == before


def test_a_date_in_the_future_or_not_a_date_is_refused(user, slack, db, bot, clock, database_url):
    three_actions(user, slack, db, bot, clock)

    for bad, reason in (("2999-01-01", "is in the future"), ("last year", "is not an ISO date")):
        done = purge(database_url, "--closed-before", bad)
        assert done.returncode == 2 and reason in done.stderr
    assert count(db, Action) == 3


def test_a_database_file_that_is_not_there_is_refused_not_made(tmp_path):
    """A mistyped SQLite path would otherwise be created, migrated, and reported as purged of nothing."""
    missing = tmp_path / "clinc.db"

    for command, args in (("purge", ("--closed-before", "2026-11-25")), ("forget-workspace", ("--team", "T0OLD"))):
        done = purge(f"sqlite:///{missing}", *args, command=command)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert f"there is no database at {missing}" in done.stderr and "DATABASE_URL" in done.stderr
    assert not missing.exists()


def test_with_a_retention_period_the_scheduler_purges_once_a_day(user, slack, db, bot, clock, settings, engine):
    from bot.app import create_app
    from scheduler import run_pass
    from storage.db import make_session_factory

    _, recent, still_open = three_actions(user, slack, db, bot, clock)
    keeping = create_app(
        settings.model_copy(update={"retention_days": 30}), session_factory=make_session_factory(engine), clock=clock
    )
    try:
        clock.advance(timedelta(days=29, hours=12))  # #1 closed 30½ days ago, #2 29½
        run_pass(keeping.services)
        assert [a.id for a in actions_in(db)] == [recent, still_open]

        clock.advance(timedelta(hours=14))  # #2 is now past the period too, but a purge ran today
        run_pass(keeping.services)
        assert [a.id for a in actions_in(db)] == [recent, still_open]

        clock.advance(timedelta(hours=11))
        run_pass(keeping.services)
        assert [a.id for a in actions_in(db)] == [still_open]
    finally:
        keeping.close()


def topics_one_discussed(user, slack, db, bot, clock) -> None:  # type: ignore[no-untyped-def]
    """The owner raises two topics for their one-to-one with the lead (Wednesday 25 November): the lead
    marks the first discussed that afternoon; the second, raised after, waits for the next one-to-one."""
    from bot.views import ids
    from tests.helpers import wait_response
    from tests.test_one_on_one import day_before_message_to_the_person

    _walk, prep = day_before_message_to_the_person(user, slack, db, bot, clock)
    user.dm_reply(OWNER, prep.sent_channel, prep.sent_ts, "Rota cover over Christmas", event_id="EvROTA")
    agenda = user.command(LEAD, f"1on1 <@{OWNER}>")
    [button] = [
        e
        for b in agenda.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.AGENDA_DISCUSSED
    ]
    user.click(LEAD, ids.AGENDA_DISCUSSED, button["value"])
    wait_response(slack, 1)
    user.dm_reply(OWNER, prep.sent_channel, prep.sent_ts, "Parking for night shifts", event_id="EvPARK")


def topics_kept(db) -> list[str]:  # type: ignore[no-untyped-def]
    db.expire_all()
    return [item.topic for item in db.scalars(select(AgendaItem).order_by(AgendaItem.id)) if item.topic]


def test_purge_deletes_one_to_one_topics_discussed_before_the_date_and_keeps_those_still_to_discuss(
    user, slack, db, bot, clock, database_url
):
    topics_one_discussed(user, slack, db, bot, clock)
    assert topics_kept(db) == ["Rota cover over Christmas", "Parking for night shifts"]

    counted = purge(database_url, "--closed-before", "2026-11-26", "--dry-run")
    assert topics_kept(db) == ["Rota cover over Christmas", "Parking for night shifts"]
    not_yet = purge(database_url, "--closed-before", "2026-11-25")
    assert topics_kept(db) == ["Rota cover over Christmas", "Parking for night shifts"]
    done = purge(database_url, "--closed-before", "2026-11-26")

    assert counted.returncode == not_yet.returncode == done.returncode == 0, done.stderr
    assert topics_kept(db) == ["Parking for night shifts"]
    agenda = user.command(LEAD, f"1on1 <@{OWNER}>")
    assert "Parking for night shifts" in agenda.text and "Rota cover" not in agenda.text


def test_purge_says_how_many_one_to_one_topics_it_deletes_or_would(user, slack, db, bot, clock, database_url):
    """The dry run the operator's guide recommends before purging counts a person's discussed topic, and the
    real run says it went."""
    topics_one_discussed(user, slack, db, bot, clock)

    counted = purge(database_url, "--closed-before", "2026-11-26", "--dry-run")
    done = purge(database_url, "--closed-before", "2026-11-26")

    assert counted.returncode == done.returncode == 0, done.stderr
    assert topics_kept(db) == ["Parking for night shifts"]
    assert "would delete 0 action(s)" in counted.stdout and "1 one-to-one agenda item(s)" in counted.stdout
    assert "deleted 0 action(s)" in done.stdout and "1 one-to-one agenda item(s)" in done.stdout


def test_with_a_retention_period_discussed_topics_go_once_discussed_longer_ago(user, slack, db, bot, clock, settings):
    from bot.app import create_app
    from scheduler import run_pass

    topics_one_discussed(user, slack, db, bot, clock)
    keeping = create_app(
        settings.model_copy(update={"retention_days": 30}), session_factory=bot.services.sessions, clock=clock
    )
    try:
        clock.advance(timedelta(days=29))
        run_pass(keeping.services)
        assert topics_kept(db) == ["Rota cover over Christmas", "Parking for night shifts"]

        clock.advance(timedelta(days=2))
        run_pass(keeping.services)
        assert topics_kept(db) == ["Parking for night shifts"]
    finally:
        keeping.close()


def test_a_purge_keeps_the_record_that_stops_this_weeks_digest_going_out_again(user, slack, db, bot, clock):
    """An admin purges up to today on a Wednesday: the record of Monday's digest stays (it is what says the
    digest went out this week), the record of older messages goes (but for those about open actions), and the
    lead gets no second digest."""
    from storage.queries import purge as purge_now
    from tests.test_digest import clinic_with_actions, digests_to

    walk = clinic_with_actions(user, slack, db, bot, clock)
    walk.settle()
    walk.until(datetime(2026, 12, 9, 12, tzinfo=UTC))  # Wednesday of the next week
    assert [t.local("Europe/London") for t in digests_to(walk, LEAD)] == ["Mon 30 Nov 09:00", "Mon 07 Dec 09:00"]
    db.expire_all()
    assert db.scalar(select(func.min(OutboxMessage.created_at))) < datetime(2026, 11, 29, tzinfo=UTC)

    with bot.services.sessions.begin() as session:
        purged = purge_now(session, datetime(2026, 12, 9, tzinfo=UTC), now=clock.now())
    walk.until(datetime(2026, 12, 10, 12, tzinfo=UTC))

    assert purged.messages > 0
    db.expire_all()
    older = db.scalars(select(OutboxMessage).where(OutboxMessage.created_at < datetime(2026, 11, 29, tzinfo=UTC)))
    still_open = {a.id for a in actions_in(db) if a.closed_at is None}
    assert {m.kind for m in older if still_open.isdisjoint(m.action_ids)} == set()  # kept: threads of open actions
    assert [t.local("Europe/London") for t in digests_to(walk, LEAD)] == ["Mon 30 Nov 09:00", "Mon 07 Dec 09:00"]
    assert [t.local("Asia/Kolkata") for t in digests_to(walk, SPONSOR)] == ["Mon 30 Nov 09:00", "Mon 07 Dec 09:00"]


def test_the_record_of_slack_events_handled_is_kept_only_while_slack_may_send_them_again(user, slack, db, bot, clock):
    """Each handled event's id is kept so that Slack's retries change nothing twice; Slack retries within the
    hour, so a purge deletes the ids older than the records it keeps, and they do not pile up for ever."""
    from storage.queries import purge as purge_now
    from tests.test_notes import assigned

    action_id, channel, ts = assigned(user, slack, db)
    user.dm_reply(OWNER, channel, ts, "Spoke to the audit team", event_id="EvOLD")
    clock.advance(timedelta(days=30))
    user.dm_reply(OWNER, channel, ts, "Booked the room", event_id="EvNEW")

    with bot.services.sessions.begin() as session:
        purged = purge_now(session, clock.now(), now=clock.now())
    user.dm_reply(OWNER, channel, ts, "Booked the room", event_id="EvNEW", retry=1)  # Slack trying again

    db.expire_all()
    assert purged.events == 1 and list(db.scalars(select(ProcessedEvent.event_id))) == ["EvNEW"]
    assert history_kinds(db, action_id) == ["created", "note", "note"]


def test_the_workspace_the_bot_token_still_serves_is_not_forgotten(user, slack, db, bot, database_url):
    add(user, slack, ASSIGNER, OWNER, "Still wanted", "2026-12-20")
    token = {"SLACK_BOT_TOKEN": "xoxb-still-serving", "SLACK_API_URL": slack.base_url}

    served = purge(database_url, "--team", TEAM, command="forget-workspace", **token)
    slack.fail_next("auth.test", status=503)
    unsure = purge(database_url, "--team", TEAM, command="forget-workspace", **token)
    kept = [a.title for a in actions_in(db)]
    slack.fail_next("auth.test", error="token_revoked")  # the app was removed from the workspace
    removed = purge(database_url, "--team", TEAM, command="forget-workspace", **token)

    assert served.returncode == 2 and f"workspace {TEAM} is still served by SLACK_BOT_TOKEN" in served.stderr
    assert unsure.returncode == 2 and "Slack could not say" in unsure.stderr and "Nothing was deleted" in unsure.stderr
    assert kept == ["Still wanted"]
    assert removed.returncode == 0 and "from actions" in removed.stdout, removed.stderr
    assert actions_in(db) == []


def test_a_purge_leaves_the_dm_thread_of_an_action_still_open_taking_notes(user, slack, db, bot, clock, settings):
    """Open actions are never purged, so neither is what ties the owner's DM thread to one: an owner replying
    under the message that assigned them a long-running action, after the retention period, is still noted."""
    from bot.app import create_app
    from scheduler import run_pass
    from tests.test_notes import sent_thread

    add(user, slack, ASSIGNER, OWNER, "Redesign the discharge letter", "2027-06-30")
    bot.services.delivery.deliver_due()
    [action] = actions_in(db)
    channel, ts = sent_thread(db, action.id)
    keeping = create_app(
        settings.model_copy(update={"retention_days": 30}), session_factory=bot.services.sessions, clock=clock
    )
    try:
        clock.advance(timedelta(days=45))
        run_pass(keeping.services)
    finally:
        keeping.close()

    answer = user.dm_reply(OWNER, channel, ts, "Draft letter agreed with the ward clerks", event_id="EvLATE")

    assert answer.status == 200
    assert [a.status for a in actions_in(db)] == ["open"]
    assert history_kinds(db, action.id)[-1] == "note"


def test_a_nudge_about_several_actions_is_kept_while_one_of_them_is_open(user, slack, db, bot, clock):
    """A reply under a nudge names the action it is about; the nudge's record goes once all it named are closed."""
    from bot.actions import Status
    from bot.demo.walk import Walk
    from storage.queries import purge as purge_now

    for title in ("Chase the pharmacy", "Book the audit room"):
        add(user, slack, ASSIGNER, OWNER, title, "2026-11-27")
    walk = Walk(bot, slack, clock)
    walk.settle()
    walk.until(datetime(2026, 12, 1, tzinfo=UTC))  # nudged about both in one message
    db.expire_all()
    nudge = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "chase", OutboxMessage.state == "sent")).all()[
        -1
    ]
    first, second = (a.id for a in actions_in(db))
    assert nudge.action_ids == [first, second]
    nudge_id = nudge.id

    def purge_all() -> None:
        later = clock.now() + timedelta(days=60)
        with bot.services.sessions.begin() as session:
            purge_now(session, later, now=later)

    bot.services.actions.set_status(TEAM, first, OWNER, Status.DONE)
    purge_all()
    user.dm_reply(OWNER, nudge.sent_channel, nudge.sent_ts, f"#{second} room booked for Friday", event_id="EvNAMED")
    slack.wait_for(lambda _c: bool(slack.calls_to("reactions.add")))
    assert history_kinds(db, second).count("note") == 1

    bot.services.actions.set_status(TEAM, second, OWNER, Status.DONE)
    purge_all()
    db.expire_all()
    assert db.get(OutboxMessage, nudge_id) is None
