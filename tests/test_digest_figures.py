"""The digest's figures are counted by the database. Here they are checked against the plain definitions,
written out once more over Python objects, for many random clinics' histories on both databases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from bot.digest import STALLED_AFTER, WEEK, WEEKS, Headline, build, week_start
from bot.people import zone
from storage.models import Action, Clinic, FocusArea

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
TEAM = "T0001"


def open_at(a: Action, at: datetime) -> bool:
    return a.created_at <= at and (a.closed_at is None or a.closed_at > at)


def done_within(a: Action, start: datetime, end: datetime) -> bool:
    return a.status == "done" and a.closed_at is not None and start <= a.closed_at < end


def headline(actions: list[Action], start: datetime, at: datetime) -> Headline:
    then = [a for a in actions if open_at(a, at)]
    return Headline(
        open=len(then),
        done=sum(done_within(a, start, at) for a in actions),
        overdue=sum(a.due_at < at for a in then),
        blocked=sum(a.status == "blocked" for a in then),
        stalled=sum(a.due_at >= at and at - (a.last_owner_update_at or a.created_at) >= STALLED_AFTER for a in then),
        due_next_week=sum(at <= a.due_at < at + WEEK for a in then),
    )


def random_history(session: Session, rng: random.Random) -> list[Clinic]:
    clinics = []
    for c in range(3):
        clinic = Clinic(
            team_id=TEAM,
            name=f"Clinic {c}",
            name_key=f"clinic {c}",
            lead_id="ULEAD",
            created_by="ULEAD",
            created_at=NOW - timedelta(weeks=30),
            chase_overrides={},
            focus_areas=[FocusArea(team_id=TEAM, position=p, name=f"Area {c}.{p}") for p in range(2)],
        )
        session.add(clinic)
        clinics.append(clinic)
    session.flush()
    for n in range(400):
        clinic = rng.choice(clinics)
        created = NOW - timedelta(hours=rng.randrange(0, 24 * 7 * 14))
        status = rng.choice(["open", "open", "blocked", "done", "done", "cancelled"])
        closed = None
        if status in ("done", "cancelled"):
            closed = created + timedelta(hours=rng.randrange(1, 24 * 7 * 6))
            if closed > NOW:
                closed = NOW - timedelta(minutes=rng.randrange(1, 600))
                closed = max(closed, created)
        due = created + timedelta(days=rng.randrange(-3, 40))
        updated = created + timedelta(days=rng.randrange(0, 30)) if rng.random() < 0.5 else None
        session.add(
            Action(
                team_id=TEAM,
                clinic_id=clinic.id,
                focus_area_id=rng.choice([None, *(a.id for a in clinic.focus_areas)]),
                title=f"Action {n}",
                owner_id=f"U{rng.randrange(20):04d}",
                assigner_id="ULEAD",
                status=status,
                due_date=due.date(),
                due_at=due,
                created_at=created,
                updated_at=created,
                last_owner_update_at=min(updated, NOW) if updated else None,
                closed_at=closed,
            )
        )
    session.commit()
    return clinics


@pytest.mark.parametrize("seed", [1, 2])
def test_figures_match_their_definitions(engine, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    with Session(engine, expire_on_commit=False) as session:
        clinics = random_history(session, rng)
        actions = list(session.query(Action))
        cases = [(NOW, "Europe/London", None), (NOW + timedelta(days=3, hours=7), "America/New_York", None)]
        # the previous digest went out a month before, on the Thursday after London's clocks went back
        cases.append((NOW, "Europe/London", datetime(2026, 10, 29, 14, 47, tzinfo=UTC)))
        for now, tz, since in cases:
            week_from = since or now - WEEK  # no clock change in the week before these
            for chosen in ([clinics[0]], clinics):
                ids = {c.id for c in chosen}
                mine = [a for a in actions if a.clinic_id in ids]
                digest = build(session, TEAM, "ULEAD", tz, chosen, now, since=since)

                assert digest.headline == headline(mine, week_from, now)
                # the week before `since` on London's calendar, which is 169 hours across the change
                before = week_from - WEEK - timedelta(hours=1 if since else 0)
                assert digest.last_week == headline(mine, before, week_from)
                this_week = datetime.combine(week_start(now, tz), time(0), tzinfo=zone(tz))
                expected_weeks = []
                for back in range(WEEKS, 0, -1):
                    start = this_week - timedelta(weeks=back - 1)
                    end = min(start + WEEK, now)
                    expected_weeks.append(
                        (
                            start.date(),
                            sum(open_at(a, end) for a in mine),
                            sum(open_at(a, end) and a.due_at < end for a in mine),
                            sum(done_within(a, start, end) for a in mine),
                        )
                    )
                assert digest.weeks == expected_weeks

                slipping = sorted(
                    (a for a in mine if open_at(a, now) and (a.due_at < now or a.status == "blocked")),
                    key=lambda a: (a.due_at, a.id),
                )
                assert digest.slipping_total == len(slipping)
                assert [a.id for a in digest.slipping] == [a.id for a in slipping[: len(digest.slipping)]]
                assert len(digest.slipping) == min(len(slipping), 10)
                wins = sorted(  # the latest first
                    (a for a in mine if done_within(a, week_from, now)), key=lambda a: (-a.closed_at.timestamp(), a.id)
                )
                assert [a.id for a in digest.wins] == [a.id for a in wins[:10]]
                coming = sorted((a for a in mine if open_at(a, now) and now <= a.due_at < now + WEEK),
                                key=lambda a: (a.due_at, a.id))  # fmt: skip
                assert [a.id for a in digest.coming] == [a.id for a in coming[:10]]

                expected_areas = [  # done however long ago, not only in the weeks charted
                    (
                        area.name,
                        sum(a.focus_area_id == area.id and open_at(a, now) for a in mine),
                        sum(a.focus_area_id == area.id and a.status == "done" for a in mine),
                    )
                    for clinic in chosen
                    for area in clinic.focus_areas
                ]
                assert [(p.area, p.open, p.done) for p in digest.areas] == expected_areas
                assert digest.headline.open > 0 and digest.headline.done > 0  # the history is not empty
