"""A pass writes its batches in bulk, past the column types' own conversions on PostgreSQL: what it stores
must be what the ORM would have stored, and a column it could not store faithfully is refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from storage import queries
from storage.models import Action, ChaseStep, OutboxMessage


def test_bulk_rows_read_back_as_the_orm_writes_them(engine) -> None:  # type: ignore[no-untyped-def]
    # An instant given in another zone, with microseconds, is stored as the same instant.
    at = datetime(2026, 11, 30, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    on_the_second = at.replace(microsecond=0)
    with Session(engine) as session:
        action = Action(
            team_id="T1",
            title="Audit the discharge letters",
            owner_id="U1",
            assigner_id="U2",
            status="open",
            due_date=date(2026, 11, 27),
            due_at=at,
            created_at=at,
            updated_at=at,
        )
        session.add(action)
        session.flush()
        queries.save_chase_progress(
            session,
            [
                {
                    "id": action.id,
                    "owner_nudges": 2,
                    "reminded_for": date(2026, 11, 27),
                    "next_check_at": at,
                    "lead_escalated_at": on_the_second,
                }
            ],
        )
        fresh = queries.record_steps(
            session,
            [
                {
                    "team_id": "T1",
                    "action_id": action.id,
                    "kind": "overdue",
                    "cycle": at,
                    "number": 2,
                    "recipient": "U1",
                    "planned_at": at,
                }
            ],
        )
        queries.enqueue_many(
            session,
            [
                {
                    "team_id": "T1",
                    "dedupe_key": "k1",
                    "kind": "chase",
                    "recipient": "U1",
                    "action_id": None,
                    "text": "",
                    "blocks": [],
                    "payload": {"tz": "Europe/London", "items": [[action.id, "overdue", 2]], "day": None},
                    "created_at": on_the_second,
                    "not_before": at,
                }
            ],
        )
        session.commit()
        action_id = action.id
    with Session(engine) as session:
        stored = session.get_one(Action, action_id)
        step = session.scalars(select(ChaseStep)).one()
        message = session.scalars(select(OutboxMessage)).one()
        assert (stored.owner_nudges, stored.reminded_for, stored.next_check_at) == (2, date(2026, 11, 27), at)
        assert fresh == {(action_id, "overdue", at, 2)}
        assert (step.cycle, step.planned_at) == (at, at)
        assert step.cycle.tzinfo is UTC
        assert (message.not_before, message.action_id, message.blocks) == (at, None, [])
        assert (message.state, message.attempts) == ("pending", 0)  # the model's defaults
        assert message.payload == {"tz": "Europe/London", "items": [[action_id, "overdue", 2]], "day": None}
        # and what is compared in SQL compares as the instant it is
        for column in (Action.next_check_at, Action.due_at):
            assert session.scalar(select(func.count()).where(column <= at)) == 1
            assert session.scalar(select(func.count()).where(column < at)) == 0
        # an instant on the second is stored as any other write stores it, so that equal compares equal
        for column in (Action.lead_escalated_at, OutboxMessage.created_at):
            assert session.scalar(select(func.count()).where(column == on_the_second)) == 1


class Sealed(TypeDecorator[str]):
    """A type that changes its value on the way in, as an encrypting column would."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:  # type: ignore[no-untyped-def]
        return None if value is None else value[::-1]


def test_a_bulk_write_refuses_a_column_it_would_store_unconverted(engine) -> None:  # type: ignore[no-untyped-def]
    table = Table("probe", MetaData(), Column("id", Integer, primary_key=True), Column("secret", Sealed()))
    table.create(engine)
    with Session(engine) as session:
        with pytest.raises(TypeError, match=r"probe\.secret"):
            queries._insert_many(session, table, [{"id": 1, "secret": "abc"}], conflict=["id"])
        with pytest.raises(TypeError, match=r"probe\.secret"):
            queries._update_many(session, table, [{"id": 1, "secret": "abc"}])
        session.commit()
        assert session.scalar(select(func.count()).select_from(table)) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_pass_leaves_an_action_changed_since_it_read_it_as_the_change_left_it(bot, db, user, slack):
    """On SQLite a pass cannot lock the rows it reads: an owner who moves the deadline while the pass plans
    must not have their action given the plan made for the old deadline. (On PostgreSQL the pass holds the
    rows it read locked, so such a change waits for it.)"""
    from tests.conftest import ASSIGNER, OWNER
    from tests.helpers import actions_in
    from tests.test_status import add

    add(user, slack, ASSIGNER, OWNER, "Audit the discharge letters", "2026-12-04")
    [action] = actions_in(db)
    read = {action.id: action.next_check_at}  # as the pass read it
    later = action.next_check_at + timedelta(minutes=5)
    with bot.services.sessions.begin() as session:  # meanwhile, a change asks for it to be looked at again
        session.get(Action, action.id).next_check_at = later

    with bot.services.sessions.begin() as session:
        queries.save_chase_progress(session, [{"id": action.id, "owner_nudges": 3, "next_check_at": None}], read)
        queries.save_chase_progress(session, [{"id": action.id, "reminded_for": date(2026, 12, 4)}])  # no guard

    [action] = actions_in(db)
    assert (action.owner_nudges, action.next_check_at) == (0, later)
    assert action.reminded_for == date(2026, 12, 4)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_batch_larger_than_one_statement_records_each_new_step_once(engine) -> None:  # type: ignore[no-untyped-def]
    """More steps than SQLite takes values in one statement (here built to take the fewest it may be built
    with): every one is recorded, and only those not recorded before come back as new."""
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with Session(engine) as session:
        action = Action(
            team_id="T1",
            title="Audit the discharge letters",
            owner_id="U1",
            assigner_id="U2",
            status="open",
            due_date=date(2026, 11, 27),
            due_at=at,
            created_at=at,
            updated_at=at,
        )
        session.add(action)
        session.flush()
        session.connection().connection.dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)

        def step(number: int) -> dict[str, object]:
            cycle = at + timedelta(minutes=number % 7)
            return {"team_id": "T1", "action_id": action.id, "kind": "overdue", "cycle": cycle, "number": number}

        first = queries.record_steps(
            session, [{**step(n), "recipient": "U1", "planned_at": at} for n in range(0, 1200, 2)]
        )
        again = queries.record_steps(session, [{**step(n), "recipient": "U1", "planned_at": at} for n in range(1200)])
        session.commit()
        assert len(first) == 600
        assert again == {(action.id, "overdue", step(n)["cycle"], n) for n in range(1, 1200, 2)}
        assert session.scalar(select(func.count()).select_from(ChaseStep)) == 1200
