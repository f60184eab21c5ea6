"""Seeding a database with many actions, fast: Core executemany with every column present (so the
statement never splits), and PostgreSQL's COPY for the big table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select, text, update

from storage.models import Action, ChaseStep, Clinic, OutboxMessage, SlackUser

TEAM = "T0BENCH"
CLINICS = 100
ACTIONS_PER_OWNER = 20
# Monday 30 November 2026, 10:00 in London: nudges for last Friday's deadlines are due.
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
PAST_DUE = date(2026, 11, 27)
FUTURE_DUE = date(2027, 3, 5)
LATER = NOW + timedelta(days=30)


def owner_of(n: int) -> str:
    return f"U{n // ACTIONS_PER_OWNER:07d}"


def seed(engine: Engine, count: int) -> None:
    """`count` open actions over `count / 20` owners in 100 clinics; none due yet (see `make_due`)."""
    owners = (count + ACTIONS_PER_OWNER - 1) // ACTIONS_PER_OWNER
    with engine.begin() as connection:
        connection.execute(
            insert(SlackUser),
            [
                {
                    "team_id": TEAM,
                    "user_id": f"U{n:07d}",
                    "name": f"Owner {n}",
                    "tz": "Europe/London",
                    "deleted": False,
                    "is_bot": False,
                    "refreshed_at": NOW,
                }
                for n in range(owners)
            ]
            + [
                {
                    "team_id": TEAM,
                    "user_id": f"UL{n:06d}",
                    "name": f"Lead {n}",
                    "tz": "Europe/London",
                    "deleted": False,
                    "is_bot": False,
                    "refreshed_at": NOW,
                }
                for n in range(CLINICS * 2)
            ],
        )
        connection.execute(
            insert(Clinic),
            [
                {
                    "id": n + 1,
                    "team_id": TEAM,
                    "name": f"Clinic {n}",
                    "name_key": f"clinic {n}",
                    "lead_id": f"UL{n:06d}",
                    "sponsor_id": f"UL{n + CLINICS:06d}",
                    "channel_id": None,
                    "created_by": f"UL{n:06d}",
                    "created_at": NOW - timedelta(days=60),
                    "chase_overrides": {},
                }
                for n in range(CLINICS)
            ],
        )
    rows = (_action_row(n) for n in range(count))
    if engine.dialect.name == "postgresql":
        _copy_actions(engine, rows)
    else:
        with engine.begin() as connection:
            batch: list[dict] = []
            for row in rows:
                batch.append(row)
                if len(batch) == 20_000:
                    connection.execute(insert(Action), batch)
                    batch = []
            if batch:
                connection.execute(insert(Action), batch)


def _action_row(n: int) -> dict:
    created = NOW - timedelta(days=20)
    due_at = datetime(2027, 3, 5, 23, 59, 59, tzinfo=UTC)
    return {
        "id": n + 1,
        "team_id": TEAM,
        "clinic_id": n % CLINICS + 1,
        "focus_area_id": None,
        "title": f"Action {n}",
        "notes": "",
        "source_link": None,
        "owner_id": owner_of(n),
        "assigner_id": f"UL{n % CLINICS:06d}",
        "status": "open",
        "blocked_reason": None,
        "due_date": FUTURE_DUE,
        "due_at": due_at,
        "created_at": created,
        "updated_at": created,
        "last_owner_update_at": None,
        "closed_at": None,
        "next_check_at": LATER,
        "snoozed_until": None,
        "chase_cycle": None,
        "owner_nudges": 0,
        "owner_nudged_at": None,
        "lead_escalated_at": None,
        "sponsor_escalated_at": None,
        "reminded_for": None,
        "stalled_for": None,
        "escalated_at": None,
    }


def _copy_actions(engine: Engine, rows) -> None:  # type: ignore[no-untyped-def]
    columns = list(Action.__table__.columns.keys())
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(f"COPY actions ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_pg(row[c]) for c in columns])
        raw.commit()
    finally:
        raw.close()


def _pg(value):  # type: ignore[no-untyped-def]
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # stored as naive UTC
    return value


def make_due(engine: Engine, every: int) -> int:
    """Make one action in `every` overdue since Friday and due a check now; undo the last pass's work."""
    reset = {
        "owner_nudges": 0,
        "owner_nudged_at": None,
        "chase_cycle": None,
        "lead_escalated_at": None,
        "reminded_for": None,
        "stalled_for": None,
        "escalated_at": None,
    }
    with engine.begin() as connection:
        connection.execute(delete(ChaseStep))
        connection.execute(delete(OutboxMessage))
        connection.execute(
            update(Action)
            .where(Action.next_check_at != LATER)
            .values(
                due_date=FUTURE_DUE,
                due_at=datetime(2027, 3, 5, 23, 59, 59, tzinfo=UTC),
                next_check_at=LATER,
                **reset,
            )
        )
        connection.execute(
            update(Action)
            .where(Action.id % every == 0)
            .values(
                due_date=PAST_DUE,
                due_at=datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC),
                next_check_at=NOW - timedelta(minutes=1),
                **reset,
            )
        )
        due = int(connection.scalar(select(func.count()).where(Action.next_check_at <= NOW)) or 0)
    vacuum(engine)
    return due


def vacuum(engine: Engine) -> None:
    """What autovacuum would have done by now on PostgreSQL. The throwaway server commits without waiting
    for the log, and VACUUM marks no page all-visible until it is written: a checkpoint writes it."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("CHECKPOINT"))
            connection.execute(text("VACUUM ANALYZE actions"))
