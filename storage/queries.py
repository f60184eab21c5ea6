"""Every query the bot makes, each filtered by `team_id`. Services call these with a session they opened."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased, joinedload, load_only, selectinload

from storage.models import (
    SLACK_BOTS,
    Action,
    ActionEvent,
    AgendaItem,
    Base,
    ChaseStep,
    Clinic,
    DigestPreference,
    ExtensionRequest,
    FocusArea,
    Heartbeat,
    Indicator,
    IndicatorReading,
    OneOnOneSchedule,
    OutboxMessage,
    ProcessedEvent,
    RemovedWorkspace,
    SlackUser,
    UTCDateTime,
    actions_named,
)

# --- workspaces --------------------------------------------------------------------------------


def _installed_only(query: Select[Any], team_id: ColumnElement[str], oauth_client_id: str | None) -> Select[Any]:
    """`query` kept to workspaces that have the app: one that removed it keeps its data, but nothing is
    planned for it until it has the app again. When workspaces install it through OAuth (`oauth_client_id`),
    those with an installation stored; with one token (None), those not marked removed since the last start
    Slack accepted the token at."""
    if oauth_client_id is None:
        return query.where(~exists().where(RemovedWorkspace.team_id == team_id))
    bots = SLACK_BOTS.c
    return query.where(exists().where(bots.client_id == oauth_client_id, bots.team_id == team_id))


def mark_removed(session: Session, team_id: str, at: datetime) -> None:
    """With one token: the workspace removed the app or revoked the token (Slack may say so twice)."""
    statement = _insert(session)(RemovedWorkspace).values(team_id=team_id, removed_at=at)
    session.execute(statement.on_conflict_do_nothing(index_elements=["team_id"]))


def mark_back(session: Session, team_id: str) -> bool:
    """With one token: Slack accepts it for the workspace again; True when it had been marked removed."""
    return session.execute(delete(RemovedWorkspace).where(RemovedWorkspace.team_id == team_id)).rowcount > 0


# --- people -----------------------------------------------------------------------------------


def get_user(session: Session, team_id: str, user_id: str) -> SlackUser | None:
    return session.get(SlackUser, (team_id, user_id))


def save_user(session: Session, user: SlackUser) -> None:
    """Insert or refresh, in one statement: two requests learning the same person at once both succeed."""
    values = {column.name: getattr(user, column.name) for column in SlackUser.__table__.columns}
    statement = _insert(session)(SlackUser).values(**values)
    fresh = {column: statement.excluded[column] for column in values if column not in ("team_id", "user_id")}
    session.execute(statement.on_conflict_do_update(index_elements=["team_id", "user_id"], set_=fresh))


# --- clinics ----------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """How a clinic or indicator name is compared: case and spacing ignored."""
    return " ".join(name.casefold().split())


def get_clinic(session: Session, team_id: str, clinic_id: int) -> Clinic | None:
    clinic = session.get(Clinic, clinic_id)
    return clinic if clinic is not None and clinic.team_id == team_id else None


def find_clinic_by_name(session: Session, team_id: str, name: str) -> Clinic | None:
    return session.scalar(select(Clinic).where(Clinic.team_id == team_id, Clinic.name_key == name_key(name)))


def clinics_in_channel(session: Session, team_id: str, channel_id: str) -> Sequence[Clinic]:
    return session.scalars(
        select(Clinic).where(Clinic.team_id == team_id, Clinic.channel_id == channel_id).order_by(Clinic.name_key)
    ).all()


def teams_with_clinics(session: Session) -> list[str]:
    return list(session.scalars(select(Clinic.team_id).distinct().order_by(Clinic.team_id)))


def indicators_for_one_on_one(
    session: Session, team_id: str, lead_id: str, person_id: str, area_ids: Sequence[int]
) -> Sequence[Indicator]:
    """The indicators a person reports in clinics the lead leads or sponsors, and those of the focus areas
    given (where the person's actions are)."""
    led = select(Clinic.id).where(
        Clinic.team_id == team_id, or_(Clinic.lead_id == lead_id, Clinic.sponsor_id == lead_id)
    )
    return session.scalars(
        select(Indicator)
        .where(
            Indicator.team_id == team_id,
            or_(
                and_(Indicator.reporter_id == person_id, Indicator.clinic_id.in_(led)),
                Indicator.focus_area_id.in_(area_ids),
            ),
        )
        .options(joinedload(Indicator.clinic), joinedload(Indicator.focus_area))
        .order_by(Indicator.clinic_id, Indicator.name_key)
    ).all()


def list_clinics(session: Session, team_id: str) -> Sequence[Clinic]:
    return session.scalars(
        select(Clinic)
        .where(Clinic.team_id == team_id)
        .options(selectinload(Clinic.focus_areas))
        .order_by(Clinic.name_key)
    ).all()


def clinics_of_leader(session: Session, team_id: str, user_id: str) -> Sequence[Clinic]:
    """The clinics someone leads or sponsors."""
    return session.scalars(
        select(Clinic)
        .where(Clinic.team_id == team_id, or_(Clinic.lead_id == user_id, Clinic.sponsor_id == user_id))
        .options(selectinload(Clinic.focus_areas))
        .order_by(Clinic.name_key)
    ).all()


def clinic_leaders(session: Session, oauth_client_id: str | None = None) -> dict[tuple[str, str], list[Clinic]]:
    """Every lead and sponsor, in every workspace that has the app installed, with the clinics they lead or
    sponsor."""
    leaders: dict[tuple[str, str], list[Clinic]] = {}
    query = _installed_only(select(Clinic), Clinic.team_id, oauth_client_id)
    for clinic in session.scalars(query.order_by(Clinic.team_id, Clinic.name_key)):
        for user_id in {clinic.lead_id, clinic.sponsor_id} - {None}:
            leaders.setdefault((clinic.team_id, user_id), []).append(clinic)  # type: ignore[arg-type]
    return leaders


def tz_of(session: Session, team_id: str, user_id: str) -> str:
    user = session.get(SlackUser, (team_id, user_id))
    return user.tz if user else "UTC"


def one_on_one_schedule(session: Session, team_id: str, lead_id: str, person_id: str) -> OneOnOneSchedule | None:
    return session.scalar(
        select(OneOnOneSchedule).where(
            OneOnOneSchedule.team_id == team_id,
            OneOnOneSchedule.lead_id == lead_id,
            OneOnOneSchedule.person_id == person_id,
        )
    )


def one_on_one_schedules(session: Session, oauth_client_id: str | None = None) -> Sequence[OneOnOneSchedule]:
    query = _installed_only(select(OneOnOneSchedule), OneOnOneSchedule.team_id, oauth_client_id)
    return session.scalars(query.order_by(OneOnOneSchedule.id)).all()


def agenda_topics(session: Session, team_id: str, lead_id: str, person_id: str) -> Sequence[AgendaItem]:
    return session.scalars(
        select(AgendaItem)
        .where(
            AgendaItem.team_id == team_id,
            AgendaItem.lead_id == lead_id,
            AgendaItem.person_id == person_id,
            AgendaItem.topic.is_not(None),
            AgendaItem.discussed_at.is_(None),
        )
        .order_by(AgendaItem.added_at, AgendaItem.id)
    ).all()


def mark_discussed(session: Session, team_id: str, lead_id: str, item_ids: Sequence[int], now: datetime) -> int:
    result = session.execute(
        update(AgendaItem)
        .where(
            AgendaItem.team_id == team_id,
            AgendaItem.lead_id == lead_id,
            AgendaItem.id.in_(item_ids),
            AgendaItem.discussed_at.is_(None),
        )
        .values(discussed_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def get_digest_preference(session: Session, team_id: str, user_id: str) -> DigestPreference | None:
    return session.get(DigestPreference, (team_id, user_id))


def save_digest_preference(session: Session, preference: DigestPreference) -> None:
    session.merge(preference)


def get_focus_area(session: Session, team_id: str, focus_area_id: int) -> FocusArea | None:
    area = session.get(FocusArea, focus_area_id)
    return area if area is not None and area.team_id == team_id else None


# --- actions ----------------------------------------------------------------------------------


# An action's clinic and focus area come in the same query (a join, not one query more for each).
WITH_CLINIC = (joinedload(Action.clinic), joinedload(Action.focus_area))

# What a status line shows of an action (`bot.views.actions.action_line`), and nothing more: a status
# answer spent half its time loading columns it never showed. Reading another attribute raises, so a
# line that starts to show more fails its tests rather than quietly loading each row again.
FOR_LINES = (
    load_only(
        Action.id, Action.team_id, Action.clinic_id, Action.focus_area_id, Action.title, Action.owner_id,
        Action.status, Action.blocked_reason, Action.due_date, Action.due_at, Action.closed_at, raiseload=True,
    ),
    joinedload(Action.clinic).load_only(Clinic.id, Clinic.name, raiseload=True),
    joinedload(Action.focus_area).load_only(FocusArea.id, FocusArea.name, FocusArea.outcome, raiseload=True),
)  # fmt: skip


def get_action(session: Session, team_id: str, action_id: int, *, lock: bool = False) -> Action | None:
    query = select(Action).where(Action.team_id == team_id, Action.id == action_id).options(*WITH_CLINIC)
    if lock and not _is_postgres(session):
        # SQLite ignores FOR UPDATE, and its driver begins a transaction only at the first write: two
        # presses at once would both read, both pass a check, then both write. A write that changes
        # nothing, first, takes the database's write lock now (waiting out any other writer), so what
        # this transaction reads next includes what the other committed (the title: in no index or key,
        # nothing else is rewritten). Only callers about to write lock, so it costs them nothing more.
        table = Action.__table__
        session.execute(
            update(table).where(table.c.team_id == team_id, table.c.id == action_id).values(title=table.c.title)
        )
    if lock:
        query = query.with_for_update(of=Action)  # the action's row only, not its clinic's
    return session.scalar(query)


def _open_actions(team_id: str, loading: Sequence[Any]) -> Select[tuple[Action]]:
    return select(Action).where(Action.team_id == team_id, Action.closed_at.is_(None)).options(*loading)


def open_actions_owned_by(
    session: Session, team_id: str, owner_id: str, *, limit: int, loading: tuple[Any, ...] = WITH_CLINIC
) -> Sequence[Action]:
    parameters = {"team_id": team_id, "owner_id": owner_id, "limit": limit}
    return session.scalars(_owned_statement(loading), parameters).all()


def count_open_owned_by(session: Session, team_id: str, owner_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Action.team_id == team_id, Action.closed_at.is_(None), Action.owner_id == owner_id
            )
        )
        or 0
    )


@functools.cache
def _owned_statement(loading: tuple[Any, ...]) -> Select[tuple[Action]]:
    """Built once: building it anew took a tenth of a status answer."""
    return (
        select(Action)
        .where(
            Action.team_id == bindparam("team_id"),
            Action.closed_at.is_(None),
            Action.owner_id == bindparam("owner_id"),
        )
        .options(*loading)
        .order_by(Action.due_at, Action.id)
        .limit(bindparam("limit", type_=Integer))
    )


def recently_done_by(session: Session, team_id: str, owner_id: str, since: datetime, *, limit: int) -> Sequence[Action]:
    return session.scalars(
        select(Action)
        .where(
            Action.team_id == team_id, Action.owner_id == owner_id, Action.status == "done", Action.closed_at >= since
        )
        .options(*WITH_CLINIC)
        .order_by(Action.closed_at.desc())
        .limit(limit)
    ).all()


def recently_done_visible_to(
    session: Session, team_id: str, viewer_id: str, owner_id: str, since: datetime, *, limit: int
) -> Sequence[Action]:
    """What the owner finished since then, of the actions the viewer may see (their wins, on an agenda)."""
    return session.scalars(
        select(Action)
        .where(
            Action.team_id == team_id,
            Action.owner_id == owner_id,
            Action.status == "done",
            Action.closed_at >= since,
            _visible_to(team_id, viewer_id),
        )
        .options(*WITH_CLINIC)
        .order_by(Action.closed_at.desc())
        .limit(limit)
    ).all()


def sees_actions_of(session: Session, team_id: str, viewer_id: str, owner_id: str) -> bool:
    """Whether the owner has any action, open or closed, that the viewer may see."""
    return (
        session.scalar(
            select(Action.id)
            .where(Action.team_id == team_id, Action.owner_id == owner_id, _visible_to(team_id, viewer_id))
            .limit(1)
        )
        is not None
    )


def _visible_to(team_id: str, viewer_id: str) -> ColumnElement[bool]:
    """The one rule for which actions someone may see: theirs, those they assigned, and those of the
    clinics they lead or sponsor."""
    led = select(Clinic.id).where(
        Clinic.team_id == team_id, or_(Clinic.lead_id == viewer_id, Clinic.sponsor_id == viewer_id)
    )
    return or_(
        Action.owner_id == viewer_id,
        Action.assigner_id == viewer_id,
        Action.clinic_id.in_(led.scalar_subquery()),
    )


def open_actions_in_clinics(
    session: Session, team_id: str, clinic_ids: Sequence[int], *, limit: int, loading: Sequence[Any] = WITH_CLINIC
) -> Sequence[Action]:
    if not clinic_ids:
        return []
    return session.scalars(
        _open_actions(team_id, loading)
        .where(Action.clinic_id.in_(clinic_ids))
        .order_by(Action.due_at, Action.id)
        .limit(limit)
    ).all()


def open_actions_visible_to(
    session: Session,
    team_id: str,
    viewer_id: str,
    *,
    owner_id: str | None = None,
    clinic_ids: Collection[int] | None = None,
    overdue_at: datetime | None = None,
    limit: int,
    loading: Sequence[Any] = WITH_CLINIC,
) -> Sequence[Action]:
    """Open actions the viewer may see: theirs, those they assigned, and their clinics' (lead or sponsor)."""
    query = _open_actions(team_id, loading).where(*_visible_open(team_id, viewer_id, owner_id, clinic_ids, overdue_at))
    return session.scalars(query.order_by(Action.due_at, Action.id).limit(limit)).all()


def count_open_visible_to(
    session: Session,
    team_id: str,
    viewer_id: str,
    *,
    owner_id: str | None = None,
    clinic_ids: Collection[int] | None = None,
    overdue_at: datetime | None = None,
) -> int:
    """How many `open_actions_visible_to` would list without a limit."""
    conditions = _visible_open(team_id, viewer_id, owner_id, clinic_ids, overdue_at)
    return (
        session.scalar(select(func.count()).where(Action.team_id == team_id, Action.closed_at.is_(None), *conditions))
        or 0
    )


def _visible_open(
    team_id: str,
    viewer_id: str,
    owner_id: str | None,
    clinic_ids: Collection[int] | None,
    overdue_at: datetime | None,
) -> list[ColumnElement[bool]]:
    conditions = [_visible_to(team_id, viewer_id)]
    if owner_id is not None:
        conditions.append(Action.owner_id == owner_id)
    if clinic_ids is not None:
        conditions.append(Action.clinic_id.in_(clinic_ids))
    if overdue_at is not None:
        conditions.append(Action.due_at < overdue_at)
    return conditions


def count_open_in_clinic(session: Session, team_id: str, clinic_id: int, now: datetime) -> tuple[int, int, int]:
    """(open, overdue, blocked) for one clinic."""
    row = session.execute(
        select(
            func.count(),
            func.count().filter(Action.due_at < now),
            func.count().filter(Action.status == "blocked"),
        ).where(Action.team_id == team_id, Action.clinic_id == clinic_id, Action.closed_at.is_(None))
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def recheck_clinic_actions(session: Session, team_id: str, clinic_id: int, now: datetime) -> None:
    session.execute(
        update(Action)
        .where(Action.team_id == team_id, Action.clinic_id == clinic_id, Action.closed_at.is_(None))
        .values(next_check_at=now)
    )


class Slot(NamedTuple):
    """Actions alike in how their dates compare with given instants: a stand-in date for each (any date
    in the slot compares as it does), the status and the focus area. `touched_at` is the owner's last
    update, or the creation."""

    created_at: datetime
    closed_at: datetime | None
    due_at: datetime
    touched_at: datetime
    status: str
    focus_area_id: int | None


def pending_extension(session: Session, action_id: int, *, asked_by: str) -> ExtensionRequest | None:
    """A request for more time on the action that its decider has not answered yet."""
    return session.scalar(
        select(ExtensionRequest).where(
            ExtensionRequest.action_id == action_id,
            ExtensionRequest.requested_by == asked_by,
            ExtensionRequest.state == "pending",
        )
    )


def move_pending_wins(session: Session, team_id: str, clinic_id: int, channel_id: str | None) -> None:
    """The clinic's wins posts still waiting for their hour go to its new channel (none: not at all). One
    already being sent stays where it was going: Slack may have it."""
    waiting = update(OutboxMessage).where(
        OutboxMessage.team_id == team_id,
        OutboxMessage.kind == "wins",
        OutboxMessage.dedupe_key.startswith(f"wins:{clinic_id}:"),
        OutboxMessage.state == "pending",
        OutboxMessage.sending_at.is_(None),
    )
    if channel_id is None:
        session.execute(waiting.values(state="dropped", last_error="the clinic reports to no channel"))
    else:
        session.execute(waiting.values(recipient=channel_id))


def unsent_to(session: Session, team_id: str, recipient: str, kind: str) -> list[OutboxMessage]:
    """The messages of a kind waiting to go to someone, with those an earlier try may have posted (their
    `sending_at` set)."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.state == "pending",
                OutboxMessage.team_id == team_id,
                OutboxMessage.kind == kind,
                OutboxMessage.recipient == recipient,
            )
            .order_by(OutboxMessage.id)
        )
    )


def actions_in_clinic(session: Session, clinic_id: int, action_ids: Collection[int]) -> set[int]:
    """Those of `action_ids` that are the clinic's."""
    if not action_ids:
        return set()
    return set(session.scalars(select(Action.id).where(Action.clinic_id == clinic_id, Action.id.in_(action_ids))))


def pending_extensions_of_clinic(
    session: Session, clinic_id: int, *, decider_id: str
) -> list[tuple[ExtensionRequest, Action]]:
    """The requests for more time on the clinic's open actions that wait for `decider_id`'s answer."""
    rows = session.execute(
        select(ExtensionRequest, Action)
        .join(Action, Action.id == ExtensionRequest.action_id)
        .where(
            Action.clinic_id == clinic_id,
            Action.closed_at.is_(None),
            ExtensionRequest.decider_id == decider_id,
            ExtensionRequest.state == "pending",
        )
        .order_by(ExtensionRequest.id)
    )
    return [(request, action) for request, action in rows]


def settle_extensions(session: Session, action_id: int, deadline: date, decided_by: str, now: datetime) -> None:
    """Mark as approved the pending requests for more time on the action that `deadline` already grants."""
    session.execute(
        update(ExtensionRequest)
        .where(
            ExtensionRequest.action_id == action_id,
            ExtensionRequest.state == "pending",
            ExtensionRequest.new_date <= deadline,
        )
        .values(state="approved", decided_by=decided_by, decided_at=now)
    )


def lapse_extensions(session: Session, action_id: int, today: date, now: datetime) -> None:
    """Mark as lapsed the pending requests for more time on the action whose date has passed (`today` is the
    owner's): no lead can approve them any more, and they would stop the owner asking again."""
    session.execute(
        update(ExtensionRequest)
        .where(
            ExtensionRequest.action_id == action_id,
            ExtensionRequest.state == "pending",
            ExtensionRequest.new_date < today,
        )
        .values(state="lapsed", decided_at=now)
    )


def decide_extension(session: Session, request_id: int, state: str, decided_by: str, now: datetime) -> bool:
    """Decide a pending request for more time; False when it was no longer pending (decided by someone else
    in the meantime), and then nothing is changed."""
    result = session.execute(
        update(ExtensionRequest)
        .where(ExtensionRequest.id == request_id, ExtensionRequest.state == "pending")
        .values(state=state, decided_by=decided_by, decided_at=now)
        .execution_options(synchronize_session="evaluate")
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def withdraw_extensions(session: Session, action_id: int, asked_by: str, decided_by: str, now: datetime) -> int:
    """Withdraw `asked_by`'s pending requests for more time on the action; how many there were."""
    result = session.execute(
        update(ExtensionRequest)
        .where(
            ExtensionRequest.action_id == action_id,
            ExtensionRequest.requested_by == asked_by,
            ExtensionRequest.state == "pending",
        )
        .values(state="withdrawn", decided_by=decided_by, decided_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def done_per_area(session: Session, team_id: str, clinic_ids: Sequence[int]) -> dict[int, int]:
    """How many of the clinics' actions are done, per focus area, however long ago (the covering index
    serves it)."""
    if not clinic_ids:
        return {}
    rows = session.execute(
        select(Action.focus_area_id, func.count())
        .where(
            Action.team_id == team_id,
            Action.clinic_id.in_(clinic_ids),
            Action.status == "done",
            Action.focus_area_id.is_not(None),
        )
        .group_by(Action.focus_area_id)
    )
    return {area_id: count for area_id, count in rows}


def count_in_slots(
    session: Session, team_id: str, clinic_ids: Sequence[int], since: datetime, instants: dict[str, list[datetime]]
) -> list[tuple[Slot, int]]:
    """The clinics' actions (open, or closed after `since`) counted per slot between the instants given
    for each date: one pass over the rows, which the covering index serves without reading the table."""
    if not clinic_ids:
        return []
    cuts = {name: sorted(at) for name, at in instants.items()}
    statement = _slot_statement(tuple((name, len(at)) for name, at in cuts.items()))
    params = {f"{name}_{n}": at for name, at in cuts.items() for n, at in enumerate(at)}
    rows = session.execute(statement, {"team_id": team_id, "clinic_ids": list(clinic_ids), "since": since, **params})

    def stand_in(name: str, slot: int | None) -> datetime | None:
        if slot is None:
            return None
        return cuts[name][slot - 1] if slot else cuts[name][0] - timedelta(days=3650)

    return [
        (
            Slot(*(stand_in(name, row._mapping[name]) for name in cuts), row.status, row.focus_area_id),
            row.count,
        )
        for row in rows
    ]


@functools.cache
def _slot_statement(sizes: tuple[tuple[str, int], ...]) -> Select[Any]:
    """Built once: each date becomes the number of its instants at or before it (a binary search written
    as nested CASEs, so any database runs it); only `closed_at` may be NULL, and stays so."""
    dates = {
        "created_at": Action.created_at,
        "closed_at": Action.closed_at,
        "due_at": Action.due_at,
        "touched_at": func.coalesce(Action.last_owner_update_at, Action.created_at),
    }

    def slot(column: Any, name: str, low: int, high: int) -> Any:
        if low == high:
            return literal_column(str(low))
        mid = (low + high) // 2
        cut = bindparam(f"{name}_{mid}", type_=Action.created_at.type)
        return case((column < cut, slot(column, name, low, mid)), else_=slot(column, name, mid + 1, high))

    slotted = (
        select(
            *(
                (
                    case((Action.closed_at.is_(None), null()), else_=slot(dates[name], name, 0, size))
                    if name == "closed_at"
                    else slot(dates[name], name, 0, size)
                ).label(name)
                for name, size in sizes
            ),
            Action.status,
            Action.focus_area_id,
        )
        .where(
            Action.team_id == bindparam("team_id"),
            Action.clinic_id.in_(bindparam("clinic_ids", expanding=True)),
            or_(Action.closed_at.is_(None), Action.closed_at >= bindparam("since", type_=Action.closed_at.type)),
        )
        .subquery()
    )
    kept = [slotted.c[name] for name, _ in sizes]
    return select(*kept, slotted.c.status, slotted.c.focus_area_id, func.count().label("count")).group_by(
        *kept, slotted.c.status, slotted.c.focus_area_id
    )


def first_clinic_actions(
    session: Session,
    team_id: str,
    clinic_ids: Sequence[int],
    where: ColumnElement[bool],
    order_by: Any,
    *,
    limit: int,
) -> list[Action]:
    return list(
        session.scalars(
            select(Action)
            .where(Action.team_id == team_id, Action.clinic_id.in_(clinic_ids), where)
            .order_by(order_by, Action.id)
            .limit(limit)
        )
    )


def done_in_clinic(session: Session, team_id: str, clinic_id: int, start: datetime, end: datetime) -> Sequence[Action]:
    return session.scalars(
        select(Action)
        .where(
            Action.team_id == team_id,
            Action.clinic_id == clinic_id,
            Action.status == "done",
            Action.closed_at >= start,
            Action.closed_at < end,
        )
        .order_by(Action.closed_at, Action.id)
    ).all()


def action_history(session: Session, team_id: str, action_id: int) -> Sequence[ActionEvent]:
    return session.scalars(
        select(ActionEvent)
        .where(ActionEvent.team_id == team_id, ActionEvent.action_id == action_id)
        .order_by(ActionEvent.at, ActionEvent.id)
    ).all()


# --- outbox -----------------------------------------------------------------------------------


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return pg_insert if _is_postgres(session) else sqlite_insert


def enqueue(session: Session, **row: Any) -> bool:
    """Queue a message unless one with the same dedupe key exists; True when this call queued it."""
    statement = _insert(session)(OutboxMessage).values(**row)
    statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    return session.execute(statement.returning(OutboxMessage.id)).first() is not None


def notify(
    session: Session,
    team_id: str,
    key: str,
    kind: str,
    recipient: str,
    message: tuple[str, list[dict[str, Any]]],
    now: datetime,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Queue a notice about no one action (a clinic's roles, a one-to-one schedule...), to go out at once."""
    text, blocks = message
    return enqueue(
        session,
        team_id=team_id,
        dedupe_key=key,
        kind=kind,
        recipient=recipient,
        action_id=None,
        text=text,
        blocks=blocks,
        payload=payload,
        created_at=now,
        not_before=now,
    )


def claim_due(
    session: Session,
    now: datetime,
    lease_until: datetime,
    owner: str,
    *,
    limit: int,
    skip_teams: Collection[str] = (),
) -> list[tuple[int, str, str]]:
    """Lease up to `limit` due messages to `owner`: (id, team, recipient) of each claimed. Rows another
    process holds are skipped, not waited on, and so are the workspaces in `skip_teams`."""
    candidates = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.state == "pending",
            OutboxMessage.not_before <= now,
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
        )
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit)
    )
    if skip_teams:
        candidates = candidates.where(OutboxMessage.team_id.not_in(skip_teams))
    if _is_postgres(session):
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    # The conditional update is what makes the claim safe on SQLite, where there is no SKIP LOCKED.
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.state == "pending",
            or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=lease_until)
    )
    claimed = session.execute(
        select(OutboxMessage.id, OutboxMessage.team_id, OutboxMessage.recipient)
        .where(
            OutboxMessage.id.in_(ids),
            and_(OutboxMessage.lease_owner == owner, OutboxMessage.lease_until == lease_until),
        )
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
    )
    return [(row.id, row.team_id, row.recipient) for row in claimed]


def get_outbox(session: Session, message_id: int) -> OutboxMessage | None:
    return session.get(OutboxMessage, message_id)


def outbox_for_message(session: Session, team_id: str, channel: str, ts: str) -> OutboxMessage | None:
    return session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.team_id == team_id,
            OutboxMessage.sent_channel == channel,
            OutboxMessage.sent_ts == ts,
        )
    )


def outbox_by_key(session: Session, key: str) -> OutboxMessage | None:
    return session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))


def digest_keys_since(session: Session, people: Collection[tuple[str, str]], since: datetime) -> list[str]:
    """The keys of the digests queued for these (team, person) since `since`: what they already had this week."""
    if not people:
        return []
    return list(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.kind == "digest",
                OutboxMessage.created_at >= since,
                tuple_(OutboxMessage.team_id, OutboxMessage.recipient).in_(list(people)),
            )
        )
    )


def sent_digests_since(session: Session, people: Collection[tuple[str, str]], since: datetime) -> list[OutboxMessage]:
    """The digests sent to these (team, person) and queued since `since`."""
    if not people:
        return []
    return list(
        session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "digest",
                OutboxMessage.state == "sent",
                OutboxMessage.created_at >= since,
                tuple_(OutboxMessage.team_id, OutboxMessage.recipient).in_(list(people)),
            )
        )
    )


def missing_keys(session: Session, keys: list[str]) -> set[str]:
    """The keys no outbox row has yet (checked before inserting, so a pass inserts only what is new)."""
    if not keys:
        return set()
    present = set(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys))))
    return set(keys) - present


def requeue_dropped(session: Session, rows: list[dict[str, Any]]) -> int:
    """Queue again, as `rows` now say, the messages their keys name that were dropped unsent (a one-to-one's
    agenda dropped because the one-to-ones were stopped, then set up again for the same meeting); how many."""
    if not rows:
        return 0
    keys = [row["dedupe_key"] for row in rows]
    dropped = OutboxMessage.state == "dropped"
    found = set(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys), dropped)))
    for row in rows:  # one query each pass; an update only for the rare one dropped
        if row["dedupe_key"] in found:
            fields = {name: row[name] for name in ("recipient", "payload", "created_at", "not_before")}
            again = {"state": "pending", "attempts": 0, "last_error": None, **fields}
            session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key == row["dedupe_key"]).values(**again))
    return len(found)


def owed_messages(session: Session, now: datetime) -> Sequence[OutboxMessage]:
    """Unsent messages that are due, or were tried and now wait to be tried again: after a failure, or for
    Slack's Retry-After (which uses up no attempt, so the error is what marks them)."""
    return session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.state == "pending",
            or_(OutboxMessage.not_before <= now, OutboxMessage.last_error.is_not(None)),
        )
        .order_by(OutboxMessage.not_before)
    ).all()


# --- events -----------------------------------------------------------------------------------


def mark_event_processed(session: Session, team_id: str, event_id: str, now: datetime) -> bool:
    """Record a Slack event id; False when it was already recorded (a retry of a handled event)."""
    statement = _insert(session)(ProcessedEvent).values(event_id=event_id, team_id=team_id, received_at=now)
    statement = statement.on_conflict_do_nothing(index_elements=["event_id"])
    return session.execute(statement.returning(ProcessedEvent.event_id)).first() is not None


# --- chasing ----------------------------------------------------------------------------------


PASS_LOCK = 0x636C696E  # any constant shared by every process of the bot


def try_pass_lock(session: Session) -> bool:
    """One planner at a time across replicas (PostgreSQL advisory lock, freed if the process dies), so
    one person's items are never split between two passes. SQLite deployments have one process."""
    if not _is_postgres(session):
        return True
    return bool(session.scalar(select(func.pg_try_advisory_lock(PASS_LOCK))))


def release_pass_lock(session: Session) -> None:
    if _is_postgres(session):
        session.scalar(select(func.pg_advisory_unlock(PASS_LOCK)))


class ToCheck(NamedTuple):
    """What a pass needs of one action: its chasing columns, its clinic's people and chasing numbers, and
    the time zones of the people it may message (None: not cached)."""

    id: int
    team_id: str
    status: str
    owner_id: str
    lead_id: str  # the clinic's lead, else whoever assigned it
    sponsor_id: str | None
    chase_overrides: dict[str, Any] | None
    owner_tz: str | None
    lead_tz: str | None
    sponsor_tz: str | None
    created_at: datetime
    due_at: datetime
    due_date: date
    last_owner_update_at: datetime | None
    snoozed_until: datetime | None
    chase_cycle: datetime | None
    owner_nudges: int
    owner_nudged_at: datetime | None
    lead_escalated_at: datetime | None
    sponsor_escalated_at: datetime | None
    reminded_for: date | None
    stalled_for: datetime | None
    escalated_at: datetime | None
    next_check_at: datetime


def actions_to_check(
    session: Session,
    now: datetime,
    *,
    after: tuple[datetime, int] | None,
    limit: int,
    oauth_client_id: str | None = None,
) -> list[ToCheck]:
    """Open actions whose next check is due, walked in (next_check_at, id) order from `after` along the
    partial index, so the cost follows what is due, not what is stored. One query brings each action with
    its clinic and its people's time zones, as plain rows. Rows another replica is planning are skipped
    rather than waited on, and those of a workspace without the app installed are left due until it is.
    The owners' time zones come with the rows; the leads' and sponsors', which a clinic's many actions share,
    in one more query."""
    lead_id = func.coalesce(Clinic.lead_id, Action.assigner_id).label("lead_id")
    owner_tz = (
        select(SlackUser.tz)
        .where(SlackUser.team_id == Action.team_id, SlackUser.user_id == Action.owner_id)
        .scalar_subquery()
    )
    query = (
        select(
            Action.id,
            Action.team_id,
            Action.status,
            Action.owner_id,
            lead_id,
            Clinic.sponsor_id,
            Clinic.chase_overrides,
            owner_tz,
            *(Action.__table__.c[name] for name in ToCheck._fields[10:]),
        )
        .outerjoin(Clinic, Clinic.id == Action.clinic_id)
        .where(Action.next_check_at.is_not(None), Action.next_check_at <= now)
    )
    query = _installed_only(query, Action.team_id, oauth_client_id)
    if after is not None:
        query = query.where(tuple_(Action.next_check_at, Action.id) > tuple_(*after))
    query = query.order_by(Action.next_check_at, Action.id).limit(limit)
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=Action)
    rows = session.connection().execute(query).all()
    people = {(row.team_id, person) for row in rows for person in (row.lead_id, row.sponsor_id) if person is not None}
    zones = _time_zones(session, people)
    return [
        ToCheck(*row[:8], zones.get((row.team_id, row.lead_id)), zones.get((row.team_id, row.sponsor_id)), *row[8:])
        for row in rows
    ]


def _time_zones(session: Session, team_users: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The cached time zones of people, by (team, user): one indexed query per workspace."""
    by_team: dict[str, list[str]] = defaultdict(list)
    for team_id, user_id in team_users:
        by_team[team_id].append(user_id)
    found = {}
    for team_id, user_ids in by_team.items():
        query = select(SlackUser.user_id, SlackUser.tz).where(
            SlackUser.team_id == team_id, SlackUser.user_id.in_(user_ids)
        )
        found.update({(team_id, user_id): tz for user_id, tz in session.connection().execute(query)})
    return found


def save_chase_progress(
    session: Session, rows: list[dict[str, Any]], read_check_at: Mapping[int, datetime] | None = None
) -> None:
    """Write back how far each action's chase has gone and when to look at it next: one statement for a
    batch of {"id": ..., column: value} rows. `read_check_at`: each action's next_check_at as the pass read
    it. On SQLite, where a pass cannot lock what it reads, an action changed since (every change sets its
    next_check_at) is left as that change left it, for the next pass to decide afresh, rather than given a
    plan made for what it was; on PostgreSQL the pass holds the rows locked, so nothing can change them."""
    guard = None if read_check_at is None or _is_postgres(session) else ("next_check_at", read_check_at)
    _update_many(session, Action.__table__, rows, unchanged=guard)


def users_by_id(session: Session, team_users: set[tuple[str, str]]) -> dict[tuple[str, str], SlackUser]:
    """Cached people by (team, user), one indexed query per workspace."""
    by_team: dict[str, set[str]] = {}
    for team_id, user_id in team_users:
        by_team.setdefault(team_id, set()).add(user_id)
    found: dict[tuple[str, str], SlackUser] = {}
    for team_id, user_ids in by_team.items():
        rows = session.scalars(
            select(SlackUser).where(SlackUser.team_id == team_id, SlackUser.user_id.in_(sorted(user_ids)))
        )
        found.update({(row.team_id, row.user_id): row for row in rows})
    return found


def record_steps(session: Session, rows: list[dict[str, Any]]) -> set[tuple[int, str, datetime, int]]:
    """Add steps to the ledger in one statement; the keys of those not already decided before."""
    returned = _insert_many(
        session,
        ChaseStep.__table__,
        rows,
        conflict=["action_id", "kind", "cycle", "number"],
        returning=["action_id", "kind", "cycle", "number"],
    )
    return {(a, k, c, n) for a, k, c, n in returned}


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> None:
    _insert_many(session, OutboxMessage.__table__, rows, conflict=["dedupe_key"])


# Many rows in one short statement. On PostgreSQL the rows travel as one JSON document that the server
# turns back into typed rows: the statement's text stays the same whatever the count (a multi-row
# VALUES list grows with it and the driver parses it anew each time), and encoding one document costs
# a fraction of binding each value. SQLite takes them as an executemany of one statement, which its driver
# runs in a loop without leaving C, given values the columns' own conversions made once per distinct value.


def _insert_many(
    session: Session, table: Table, rows: list[dict[str, Any]], *, conflict: list[str], returning: Sequence[str] = ()
) -> list[Sequence[Any]]:
    """Insert rows unless their `conflict` key exists; the `returning` columns of those inserted."""
    if not rows:
        return []
    names = _bulk_columns(table, rows)
    if not _is_postgres(session):
        return _sqlite_insert_many(session, table, names, rows, conflict, returning)
    statement = pg_insert(table).from_select(names, select(*_from_json(table, names, rows).c))
    statement = statement.on_conflict_do_nothing(index_elements=conflict)
    if not returning:
        session.execute(statement)
        return []
    return list(session.execute(statement.returning(*(table.c[name] for name in returning))))


def _update_many(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    unchanged: tuple[str, Mapping[int, Any]] | None = None,
) -> None:
    """Update rows by their "id" to the other values given; with `unchanged` (a column and each row's value
    as read), only the rows whose column still holds it (SQLite only)."""
    if not rows:
        return
    names = [name for name in _bulk_columns(table, rows) if name != "id"]
    if _is_postgres(session):
        assert unchanged is None, "PostgreSQL callers lock the rows instead"
        values = _from_json(table, ["id", *names], rows)
        session.execute(update(table).where(table.c.id == values.c.id).values({name: values.c[name] for name in names}))
        return
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    sql = f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(name)} = ?' for name in names)} WHERE id = ?"
    params = _sqlite_values(connection, table, [*names, "id"], rows)
    if unchanged is not None:
        column, read = unchanged
        sql += f" AND {quote(column)} = ?"
        was = _sqlite_values(connection, table, [column], [{column: read[row["id"]]} for row in rows])
        params = [(*values, *old) for values, old in zip(params, was, strict=True)]
    connection.exec_driver_sql(sql, params)


def _sqlite_insert_many(
    session: Session,
    table: Table,
    names: list[str],
    rows: list[dict[str, Any]],
    conflict: list[str],
    returning: Sequence[str],
) -> list[Sequence[Any]]:
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    defaults = _scalar_defaults(table, names)
    if defaults:  # what the model's defaults fill in, as an insert through SQLAlchemy would
        names = [*names, *defaults]
        rows = [{**row, **defaults} for row in rows]
    head = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) VALUES "
    row = f"({', '.join('?' * len(names))})"
    tail = f" ON CONFLICT ({', '.join(map(quote, conflict))}) DO NOTHING"
    params = _sqlite_values(connection, table, names, rows)
    if not returning:
        connection.exec_driver_sql(head + row + tail, params)
        return []
    # The driver's executemany drops what RETURNING gives: as many rows per statement as SQLite takes values.
    tail += f" RETURNING {', '.join(map(quote, returning))}"
    dialect, driver = connection.dialect, connection.connection.dbapi_connection
    per_statement = max(1, driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(names))  # type: ignore[union-attr]
    convert = [table.c[name].type.dialect_impl(dialect).result_processor(dialect, None) for name in returning]
    returned = []
    for start in range(0, len(params), per_statement):
        chunk = params[start : start + per_statement]
        flat = tuple(value for values in chunk for value in values)
        for got in connection.exec_driver_sql(head + ", ".join([row] * len(chunk)) + tail, flat):
            returned.append(tuple(value if c is None else c(value) for c, value in zip(convert, got, strict=True)))
    return returned


def _scalar_defaults(table: Table, names: list[str]) -> dict[str, Any]:
    defaults = {}
    for column_ in table.c:
        if column_.name in names or column_.default is None:
            continue
        if not column_.default.is_scalar:
            raise TypeError(f"{table.name}.{column_.name}: only a fixed default is filled in on a bulk write")
        defaults[column_.name] = column_.default.arg
    return defaults


def _sqlite_values(connection: Connection, table: Table, names: list[str], rows: list[dict[str, Any]]) -> list[tuple]:
    """Each row's values as its columns' own conversions store them in SQLite, each distinct value converted
    once (a batch's instants repeat: the pass's own time, working hours' starts, days)."""
    dialect = connection.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    convert = [None if process is None else _once_per_value(process) for process in processors]
    return [
        tuple(row[name] if c is None else c(row[name]) for c, name in zip(convert, names, strict=True)) for row in rows
    ]


def _once_per_value(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return done[value]
        except KeyError:
            done[value] = converted = process(value)
            return converted
        except TypeError:  # unhashable: a JSON document
            return process(value)

    return convert


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# The column types whose values `_json_value` turns into what the column would have stored: a bulk
# write skips the types' own bind processing on PostgreSQL, so any other type (an Enum, a TypeDecorator
# that encodes its value...) is refused rather than stored unprocessed.
_BULK_TYPES = (Integer, String, Text, Date, JSON, UTCDateTime)


def _bulk_columns(table: Table, rows: list[dict[str, Any]]) -> list[str]:
    names = list(rows[0])
    for name in names:
        if type(table.c[name].type) not in _BULK_TYPES:
            raise TypeError(f"{table.name}.{name} ({table.c[name].type!r}) cannot be written in bulk")
    return names


def _from_json(table: Table, names: list[str], rows: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """`rows` as a PostgreSQL table expression with `table`'s column types."""
    document = json.dumps([{name: row[name] for name in names} for row in rows], default=_json_value)
    columns = (column(name, table.c[name].type) for name in names)
    return (
        func.json_to_recordset(cast(bindparam(None, document, type_=Text), JSON))
        .table_valued(*columns)
        .render_derived(with_types=True)
    )


def _json_value(value: Any) -> str:
    """A stored datetime is naive UTC (see `UTCDateTime`), a date its ISO form."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not stored as JSON")


def events_since(
    session: Session, team_id: str, action_id: int, actor_id: str, since: datetime
) -> Sequence[ActionEvent]:
    return session.scalars(
        select(ActionEvent)
        .where(
            ActionEvent.team_id == team_id,
            ActionEvent.action_id == action_id,
            ActionEvent.actor_id == actor_id,
            ActionEvent.at >= since,
        )
        .order_by(ActionEvent.at)
    ).all()


def lead_escalation_failure(session: Session, team_id: str, lead_id: str, action_id: int, cycle: str) -> str | None:
    """Why the lead's escalation about an action in this chasing cycle could not be delivered, if it was not.
    Given-up messages are few, so reading the lead's is cheap."""
    failed = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.state == "failed",
            OutboxMessage.team_id == team_id,
            OutboxMessage.kind == "chase",
            OutboxMessage.recipient == lead_id,
        )
    )
    for message in failed:
        items = (message.payload or {}).get("items", [])
        if any(item[0] == action_id and item[1] == "lead" and item[3] == cycle for item in items):
            return message.last_error
    return None


def last_event_at(
    session: Session, team_id: str, action_id: int, kind: str, *, by: str | None = None
) -> datetime | None:
    """When `kind` was last done to the action (by `by`, if given), if ever."""
    query = select(func.max(ActionEvent.at)).where(
        ActionEvent.team_id == team_id, ActionEvent.action_id == action_id, ActionEvent.kind == kind
    )
    return session.scalar(query if by is None else query.where(ActionEvent.actor_id == by))


# --- retention --------------------------------------------------------------------------------


class Purged(NamedTuple):
    """What a purge deleted (or would): actions, records of messages, one-to-one agenda items, records of
    Slack events handled."""

    actions: int
    messages: int
    agenda_items: int
    events: int


def purge(session: Session, before: datetime, *, now: datetime | None = None, dry_run: bool = False) -> Purged:
    """Delete what was finished with before `before`: actions closed then, with their history, chase ledger,
    requests and agenda items (by the foreign keys' cascades); one-to-one agenda items the lead marked
    discussed then (a topic is the person's own words, and once discussed nothing reads it again); and the
    record of messages about those actions, or sent or given up before `before` and queued before
    `dedupe_horizon(now)` (`now`: the system clock when not given, as `clinic-bot purge` runs), except of one
    about an action still open: it is what ties the owner's replies in its thread to the action; and the ids
    of Slack events handled before both (Slack sends an event again within the hour, not later)."""
    now = now or datetime.now(UTC)  # ok: the one caller without a clock is the command line, on system time
    closed = select(Action.id).where(Action.closed_at.is_not(None), Action.closed_at < before)
    finished_before = and_(
        func.coalesce(OutboxMessage.sent_at, OutboxMessage.created_at) < before,
        OutboxMessage.created_at < dedupe_horizon(now),
    )
    about_open = exists().where(Action.id == OutboxMessage.action_id, Action.closed_at.is_(None))
    old_messages = and_(
        OutboxMessage.state.in_(("sent", "failed")),
        or_(OutboxMessage.action_id.in_(closed), and_(finished_before, ~about_open)),
    )
    # A posted message about several actions names them in its payload, which is read here.
    several = and_(OutboxMessage.action_id.is_(None), OutboxMessage.sent_ts.is_not(None))
    aged_several = session.execute(select(OutboxMessage.id, OutboxMessage.payload).where(old_messages, several)).all()
    named = {row.id: actions_named(None, row.payload) for row in aged_several}
    still_open = _open_among(session, {action_id for ids in named.values() for action_id in ids})
    going = [message_id for message_id, ids in named.items() if still_open.isdisjoint(ids)]
    discussed = and_(AgendaItem.discussed_at.is_not(None), AgendaItem.discussed_at < before)
    handled = ProcessedEvent.received_at < min(before, dedupe_horizon(now))
    if dry_run:
        actions = session.scalar(select(func.count()).select_from(closed.subquery())) or 0
        messages = (session.scalar(select(func.count()).where(old_messages, ~several)) or 0) + len(going)
        items = session.scalar(select(func.count()).where(discussed)) or 0
        events = session.scalar(select(func.count()).where(handled)) or 0
        return Purged(actions, messages, items, events)
    messages = session.execute(delete(OutboxMessage).where(old_messages, ~several)).rowcount
    for start in range(0, len(going), 500):
        session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(going[start : start + 500])))
    messages += len(going)
    items = session.execute(delete(AgendaItem).where(discussed)).rowcount
    actions = session.execute(delete(Action).where(Action.id.in_(closed))).rowcount
    events = session.execute(delete(ProcessedEvent).where(handled)).rowcount
    return Purged(actions, messages, items, events)


def _open_among(session: Session, action_ids: Collection[int]) -> set[int]:
    ids = sorted(action_ids)
    return {
        found
        for start in range(0, len(ids), 500)
        for found in session.scalars(
            select(Action.id).where(Action.id.in_(ids[start : start + 500]), Action.closed_at.is_(None))
        )
    }


def forget_workspace(session: Session, team_id: str, *, dry_run: bool = False) -> dict[str, int]:
    """Delete every row kept for a workspace, in every table that has a `team_id` (its stored token too),
    children before parents; how many went (or would go) from each table that held any."""
    gone = {}
    for table in reversed(Base.metadata.sorted_tables):
        if "team_id" not in table.c:
            continue
        ours = table.c.team_id == team_id
        if dry_run:
            count = session.scalar(select(func.count()).select_from(table).where(ours)) or 0
        else:
            count = session.execute(delete(table).where(ours)).rowcount
        if count:
            gone[table.name] = count
    return gone


def installed(session: Session, team_id: str) -> bool:
    """Whether a workspace has the app installed through OAuth (a token stored for it)."""
    return session.scalar(select(exists().where(SLACK_BOTS.c.team_id == team_id))) or False


def dedupe_horizon(now: datetime) -> datetime:
    """The record of messages queued since then is what stops them being queued again (this week's digest
    is keyed by the reader's ISO week, a one-to-one agenda by its meeting, a wins post by its hour), so a
    purge keeps it whatever its date: from the start of last ISO week (a reader behind UTC may still be in
    it), a day early for the zones ahead of UTC, which start their week before it."""
    today = now.astimezone(UTC).date()
    last_monday = today - timedelta(days=today.weekday() + 7)
    return datetime(last_monday.year, last_monday.month, last_monday.day, tzinfo=UTC) - timedelta(days=1)


# --- health -----------------------------------------------------------------------------------


def beat(session: Session, name: str, now: datetime) -> None:
    statement = _insert(session)(Heartbeat).values(name=name, at=now)
    session.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"at": now}))


def last_beat(session: Session, name: str) -> datetime | None:
    return session.scalar(select(Heartbeat.at).where(Heartbeat.name == name))


def oldest_unsent(session: Session, now: datetime) -> datetime | None:
    """When the longest-waiting message that is due and not yet sent fell due."""
    return session.scalar(
        select(func.min(OutboxMessage.not_before)).where(
            OutboxMessage.state == "pending", OutboxMessage.not_before <= now
        )
    )


def unsent_after_failures(session: Session) -> int:
    """Messages still to be sent that Slack refused or throttled at least once (a retry moves a message's
    due time, so this is what shows a Slack that keeps refusing)."""
    return int(
        session.scalar(
            select(func.count()).where(OutboxMessage.state == "pending", OutboxMessage.last_error.is_not(None))
        )
        or 0
    )


def close_pending_for_team(session: Session, team_id: str, reason: str) -> int:
    """Every message still to be sent in a workspace, closed as failed with the reason (nothing is sent)."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.team_id == team_id, OutboxMessage.state == "pending")
        .values(state="failed", last_error=reason, lease_until=None, lease_owner=None)
    )
    return result.rowcount


def release_claims(session: Session, message_ids: list[int], owner: str) -> None:
    """Give back messages this worker claimed and will not send, for any other worker to take now."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.lease_owner == owner,
            OutboxMessage.state == "pending",
        )
        .values(lease_until=None, lease_owner=None)
    )


# --- focus areas, indicators and readings ---------------------------------------------------------


def focus_area_users(session: Session, team_id: str, focus_area_id: int) -> tuple[int, int]:
    """(actions, indicators) that belong to a focus area."""
    actions = session.scalar(
        select(func.count()).where(Action.team_id == team_id, Action.focus_area_id == focus_area_id)
    )
    indicators = session.scalar(
        select(func.count()).where(Indicator.team_id == team_id, Indicator.focus_area_id == focus_area_id)
    )
    return int(actions or 0), int(indicators or 0)


def get_indicator(session: Session, team_id: str, indicator_id: int, *, lock: bool = False) -> Indicator | None:
    query = select(Indicator).where(Indicator.team_id == team_id, Indicator.id == indicator_id)
    if lock:
        query = query.with_for_update(of=Indicator)
    return session.scalar(query.options(joinedload(Indicator.clinic), joinedload(Indicator.focus_area)))


def indicators_of_team(session: Session, team_id: str) -> Sequence[Indicator]:
    """Every indicator of a workspace with its clinic and focus area (a handful per clinic)."""
    return session.scalars(
        select(Indicator)
        .where(Indicator.team_id == team_id)
        .options(joinedload(Indicator.clinic), joinedload(Indicator.focus_area))
        .order_by(Indicator.clinic_id, Indicator.name_key)
    ).all()


def indicators_of_clinic(session: Session, team_id: str, clinic_id: int) -> Sequence[Indicator]:
    return indicators_of_clinics(session, team_id, [clinic_id])


def indicators_of_clinics(session: Session, team_id: str, clinic_ids: Sequence[int]) -> Sequence[Indicator]:
    return session.scalars(
        select(Indicator)
        .where(Indicator.team_id == team_id, Indicator.clinic_id.in_(clinic_ids))
        .options(joinedload(Indicator.focus_area))
        .order_by(Indicator.clinic_id, Indicator.focus_area_id, Indicator.name_key)
    ).all()


def indicator_named(session: Session, team_id: str, clinic_id: int, name_key: str) -> Indicator | None:
    return session.scalar(
        select(Indicator).where(
            Indicator.team_id == team_id, Indicator.clinic_id == clinic_id, Indicator.name_key == name_key
        )
    )


def readings_of(session: Session, team_id: str, indicator_id: int, *, limit: int = 60) -> list[IndicatorReading]:
    """An indicator's latest readings, oldest first."""
    rows = session.scalars(
        select(IndicatorReading)
        .where(IndicatorReading.team_id == team_id, IndicatorReading.indicator_id == indicator_id)
        .order_by(IndicatorReading.reading_date.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def latest_readings(
    session: Session, team_id: str, indicator_ids: Sequence[int], *, limit: int
) -> dict[int, list[IndicatorReading]]:
    """Each indicator's latest readings, oldest first, in one query (not one per indicator)."""
    if not indicator_ids:
        return {}
    ranked = (
        select(
            IndicatorReading,
            func.row_number()
            .over(partition_by=IndicatorReading.indicator_id, order_by=IndicatorReading.reading_date.desc())
            .label("latest"),
        )
        .where(IndicatorReading.team_id == team_id, IndicatorReading.indicator_id.in_(indicator_ids))
        .subquery()
    )
    reading = aliased(IndicatorReading, ranked)
    found: dict[int, list[IndicatorReading]] = {indicator_id: [] for indicator_id in indicator_ids}
    for row in session.scalars(
        select(reading).where(ranked.c.latest <= limit).order_by(reading.indicator_id, reading.reading_date)
    ):
        found[row.indicator_id].append(row)
    return found


def reading_on(session: Session, team_id: str, indicator_id: int, day: date) -> IndicatorReading | None:
    return session.scalar(
        select(IndicatorReading).where(
            IndicatorReading.team_id == team_id,
            IndicatorReading.indicator_id == indicator_id,
            IndicatorReading.reading_date == day,
        )
    )


def latest_reading_date(session: Session, team_id: str, indicator_id: int) -> date | None:
    return session.scalar(
        select(func.max(IndicatorReading.reading_date)).where(
            IndicatorReading.team_id == team_id, IndicatorReading.indicator_id == indicator_id
        )
    )


def indicators_to_check(
    session: Session, now: datetime, *, limit: int, oauth_client_id: str | None = None
) -> Sequence[Indicator]:
    """Indicators whose reporting needs a look at `now`, along the partial index on `next_check_at`.
    Rows another replica is planning are skipped rather than waited on, and those of a workspace without
    the app installed are left due until it is."""
    query = select(Indicator).where(Indicator.next_check_at.is_not(None), Indicator.next_check_at <= now)
    query = _installed_only(query, Indicator.team_id, oauth_client_id)
    query = query.order_by(Indicator.next_check_at, Indicator.id).limit(limit)
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True, of=Indicator)
    rows = session.scalars(query).all()
    clinic_ids = {row.clinic_id for row in rows}
    if clinic_ids:
        session.scalars(select(Clinic).where(Clinic.id.in_(clinic_ids))).all()  # into the identity map
    return rows
