"""The schema: every table the bot keeps, as SQLAlchemy 2 typed models. Every row carries its Slack `team_id`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so we store naive UTC and re-attach it)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _next_check_index(name: str) -> Index:
    """What a pass walks: the rows whose check time has come, in order (rows never to check left out)."""
    only_set = text("next_check_at IS NOT NULL")
    return Index(name, "next_check_at", "id", postgresql_where=only_set, sqlite_where=only_set)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class SlackUser(Base):
    """What we cache of a Slack user (time zone, name, whether deactivated, whether a member of the workspace);
    refreshed on `user_change`."""

    __tablename__ = "slack_users"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    deleted: Mapped[bool] = mapped_column(default=False)
    is_bot: Mapped[bool] = mapped_column(default=False)
    # From another organisation (Slack Connect) or another workspace of the same Grid: no duty may be given them.
    outsider: Mapped[bool] = mapped_column(default=False, server_default=false())
    refreshed_at: Mapped[datetime]


class Clinic(Base):
    __tablename__ = "clinics"
    __table_args__ = (UniqueConstraint("team_id", "name_key", name="uq_clinics_team_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(300))  # case folding can triple a name's length
    lead_id: Mapped[str] = mapped_column(String(32))
    sponsor_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    chase_overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)
    celebrate_wins: Mapped[bool] = mapped_column(default=True, server_default=true())

    focus_areas: Mapped[list[FocusArea]] = relationship(
        back_populates="clinic", order_by="FocusArea.position", cascade="all, delete-orphan"
    )


class FocusArea(Base):
    __tablename__ = "focus_areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(150))
    # The clinic method: what the area should achieve, and why it matters (optional for older clinics).
    outcome: Mapped[str | None] = mapped_column(Text)
    why: Mapped[str | None] = mapped_column(Text)

    clinic: Mapped[Clinic] = relationship(back_populates="focus_areas")


class Action(Base):
    __tablename__ = "actions"
    __table_args__ = (
        Index("ix_actions_owner_open", "team_id", "owner_id", "closed_at", "due_at"),
        # Covers every column a clinic's weekly digest counts, so the counting reads the index alone.
        Index(
            "ix_actions_clinic_digest",
            "team_id",
            "clinic_id",
            "closed_at",
            "due_at",
            "created_at",
            "status",
            "last_owner_update_at",
            "focus_area_id",
        ),
        _next_check_index("ix_actions_next_check"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id", ondelete="SET NULL"))
    focus_area_id: Mapped[int | None] = mapped_column(ForeignKey("focus_areas.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    source_link: Mapped[str | None] = mapped_column(String(500))
    owner_id: Mapped[str] = mapped_column(String(32))
    assigner_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[date]
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_owner_update_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Chasing: when a pass should next look at it (NULL: never again until something changes),
    # a snooze, and how far the current chase cycle has gone.
    next_check_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    chase_cycle: Mapped[datetime | None]
    owner_nudges: Mapped[int] = mapped_column(default=0)
    owner_nudged_at: Mapped[datetime | None]
    lead_escalated_at: Mapped[datetime | None]
    sponsor_escalated_at: Mapped[datetime | None]
    reminded_for: Mapped[date | None]
    stalled_for: Mapped[datetime | None]
    # When the lead was first told of it (escalated to), kept past the chase cycle that an owner's update
    # restarts: from then its owner's Need more time asks the lead, until it gets a new deadline from the
    # lead's side or a new owner.
    escalated_at: Mapped[datetime | None]

    clinic: Mapped[Clinic | None] = relationship()
    focus_area: Mapped[FocusArea | None] = relationship()


class ActionEvent(Base):
    """The audit history: one row per change to an action, who made it and what it was."""

    __tablename__ = "action_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """A message the bot decided to send. The unique `dedupe_key` makes deciding twice a no-op."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "state", "not_before"),
        Index("ix_outbox_sent", "team_id", "sent_channel", "sent_ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(32))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    blocks: Mapped[list[Any]] = mapped_column(default=list)
    # What a pass decided, rendered only when sent (so it says how things stand then): when set,
    # `text` and `blocks` are empty.
    payload: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    not_before: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    # Set before each try at posting and cleared once Slack's answer is recorded: still set, an earlier try
    # may have reached Slack (its answer lost to a timeout, a crash, the database going away).
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    sent_channel: Mapped[str | None] = mapped_column(String(32))
    sent_ts: Mapped[str | None] = mapped_column(String(32))

    @property
    def action_ids(self) -> list[int]:
        return actions_named(self.action_id, self.payload)


def actions_named(action_id: int | None, payload: dict[str, Any] | None) -> list[int]:
    """The actions a message is about: its own, or the items of a message about several as it showed them
    when sent (each item starting with an action's id; none for a digest)."""
    if action_id is not None:
        return [action_id]
    payload = payload or {}
    return payload.get("shown") or [item[0] for item in payload.get("items", [])]


class ChaseStep(Base):
    """The ledger of reminders, nudges and escalations decided. Its unique key is what makes a second
    pass, in this process or another replica, decide nothing twice."""

    __tablename__ = "chase_steps"
    __table_args__ = (UniqueConstraint("action_id", "kind", "cycle", "number", name="uq_chase_steps_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    cycle: Mapped[datetime]
    number: Mapped[int]
    recipient: Mapped[str] = mapped_column(String(32))
    planned_at: Mapped[datetime]


class ExtensionRequest(Base):
    """An owner asking for more time on an escalated action: the lead approves or refuses."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str] = mapped_column(String(32))
    decider_id: Mapped[str] = mapped_column(String(32))
    new_date: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    # pending, approved, refused, or withdrawn (its asker no longer owns the action)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class AgendaItem(Base):
    """Something for the next one-to-one between a lead and a person: an action (put there from an
    escalation) or a topic the person raised by replying to their agenda."""

    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    lead_id: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str] = mapped_column(String(32))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    topic: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime]
    discussed_at: Mapped[datetime | None]


class OneOnOneSchedule(Base):
    """A lead's recurring one-to-one with a person: every N weeks on a weekday, from a first date."""

    __tablename__ = "one_on_one_schedules"
    __table_args__ = (UniqueConstraint("team_id", "lead_id", "person_id", name="uq_one_on_one_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    lead_id: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[str] = mapped_column(String(32))
    every_weeks: Mapped[int]
    weekday: Mapped[int]  # Monday is 0
    starts_on: Mapped[date]
    created_at: Mapped[datetime]


class DigestPreference(Base):
    """When a lead or sponsor wants their weekly digest, and whether one for all their clinics."""

    __tablename__ = "digest_preferences"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    weekday: Mapped[int]  # Monday is 0
    at: Mapped[str] = mapped_column(String(5))  # HH:MM, the recipient's local time
    combined: Mapped[bool] = mapped_column(default=False)


class ProcessedEvent(Base):
    """Events API deliveries already handled, keyed by Slack's `event_id`, so a retry changes nothing twice."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]


class Heartbeat(Base):
    """When something periodic last finished (the scheduler's pass), so any process can tell a stall."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime]


class RemovedWorkspace(Base):
    """A workspace that removed the app, or revoked its token, while one bot token (SLACK_BOT_TOKEN) serves
    it: nothing is planned for it until a start finds Slack accepting the token for it again. With installs
    per workspace, a stored installation (`SLACK_BOTS`) says whether a workspace has the app instead."""

    __tablename__ = "removed_workspaces"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    removed_at: Mapped[datetime]


# Slack's own tables for installations in several workspaces (the OAuth flow), as slack_sdk defines them;
# declared here so that migrations create and check them like ours.
SLACK_INSTALLATIONS = SQLAlchemyInstallationStore.build_installations_table(Base.metadata, "slack_installations")
SLACK_BOTS = SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
SLACK_OAUTH_STATES = SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, "slack_oauth_states")


class Indicator(Base):
    """A measure of a focus area: lead (is execution improving now?) or lag (did the outcome move?), with
    its baseline, target, who reports it and how often. `due_on` is the reporter's local day the next
    reading is due; `next_check_at` is when a pass should next look at it, and `report_step` how far
    asking for that reading has gone (0 nothing sent, 1 asked, 2 reminded, 3 the lead told)."""

    __tablename__ = "indicators"
    __table_args__ = (
        UniqueConstraint("clinic_id", "name_key", name="uq_indicators_clinic_name"),
        Index("ix_indicators_team_name", "team_id", "name_key"),
        _next_check_index("ix_indicators_next_check"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    focus_area_id: Mapped[int] = mapped_column(ForeignKey("focus_areas.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(240))  # case folding can triple a name's length
    kind: Mapped[str] = mapped_column(String(8))  # lead | lag
    unit: Mapped[str] = mapped_column(String(20), default="")
    direction: Mapped[str] = mapped_column(String(4))  # up | down: which way is good
    baseline_value: Mapped[float] = mapped_column(Float)
    baseline_date: Mapped[date] = mapped_column(Date)
    target_value: Mapped[float] = mapped_column(Float)
    target_date: Mapped[date] = mapped_column(Date)
    reporter_id: Mapped[str] = mapped_column(String(32))
    cadence: Mapped[str] = mapped_column(String(12))  # weekly | fortnightly | monthly
    due_on: Mapped[date] = mapped_column(Date)
    report_step: Mapped[int] = mapped_column(default=0)
    next_check_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]

    clinic: Mapped[Clinic] = relationship()
    focus_area: Mapped[FocusArea] = relationship()


class IndicatorReading(Base):
    """One reported value of an indicator: one per indicator and day (a second report of a day replaces it)."""

    __tablename__ = "indicator_readings"
    __table_args__ = (UniqueConstraint("indicator_id", "reading_date", name="uq_indicator_readings_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"))
    value: Mapped[float] = mapped_column(Float)
    reading_date: Mapped[date] = mapped_column(Date)
    reported_by: Mapped[str] = mapped_column(String(32))
    reported_at: Mapped[datetime]
