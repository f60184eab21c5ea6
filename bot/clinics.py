"""Clinics: registering one with its lead, sponsor, channel and focus areas."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.actions import tell
from bot.chasing import ChasePolicy
from bot.clock import Clock
from bot.errors import NotAllowed, NotFound, UserError
from bot.names import clean_name
from bot.nudges import chase_row
from bot.patient_data import PatientData
from bot.people import Person, check_active
from bot.views import actions as action_views
from bot.views import clinics as views
from bot.working_time import WorkingHours
from storage import queries
from storage.db import SessionFactory
from storage.models import Clinic, FocusArea

MAX_FOCUS_AREAS = 4
NAME_LIMIT = 100
AREA_LIMIT = 150
OUTCOME_LIMIT = 500
TOO_MANY_AREAS = (
    f"A clinic agrees at most {MAX_FOCUS_AREAS} focus areas, so that each gets real attention. Merge or drop one."
)


@dataclass(frozen=True)
class Area:
    """A focus area as a lead writes it: its name, the outcome it should achieve and why that matters."""

    name: str
    outcome: str = ""
    why: str = ""


@dataclass(frozen=True)
class NewClinic:
    team_id: str
    name: str
    lead_id: str
    created_by: str
    sponsor_id: str | None = None
    channel_id: str | None = None
    focus_areas: Sequence[str] = field(default_factory=tuple)
    # Aligned with `focus_areas`, slot by slot (the form's rows); empty when not given.
    outcomes: Sequence[str] = field(default_factory=tuple)
    whys: Sequence[str] = field(default_factory=tuple)

    def areas(self) -> list[Area]:
        def at(values: Sequence[str], i: int) -> str:
            return values[i] if i < len(values) else ""

        return [Area(name, at(self.outcomes, i), at(self.whys, i)) for i, name in enumerate(self.focus_areas)]


@dataclass(frozen=True)
class Roles:
    """The lead, sponsor and channel picked in a clinic's edit form (the people as Slack last described
    them), and the ids the form showed when it opened: a picker left as shown keeps whatever the clinic
    has by then, so a form opened before someone else's hand-over does not undo it."""

    lead: Person
    sponsor: Person | None
    channel_id: str | None
    shown: tuple[str | None, str | None, str | None]


def _check_roles(lead: Person | None, sponsor: Person | None, lead_id: str, sponsor_id: str | None) -> None:
    """`lead` and `sponsor`: whoever newly takes the role (None: no change); the ids: who will hold them."""
    if sponsor_id is not None and sponsor_id == lead_id:
        raise UserError(
            "The executive sponsor should be someone other than the lead: they are who escalations go to next.",
            field="sponsor",
        )
    if lead is not None:
        check_active(lead, "lead", "lead a clinic")
    if sponsor is not None:
        check_active(sponsor, "sponsor", "sponsor a clinic")


def _hand_over(
    session: Session, clinic: Clinic, actor_id: str, roles: Roles, now: datetime, hours: WorkingHours
) -> set[str]:
    """Give the clinic's roles to the people picked; who took a role or gave it up. They hear it from the
    actor, and the lead's pending decisions on requests for more time go to the new lead; this hour's wins
    post goes to the new channel. What was waiting to go to whoever gave up a role goes to whoever took it,
    in their working hours (`hours`)."""
    picked = (roles.lead.user_id, roles.sponsor.user_id if roles.sponsor else None, roles.channel_id)
    held = (clinic.lead_id, clinic.sponsor_id, clinic.channel_id)
    new_lead, new_sponsor, channel = (p if p != s else h for p, s, h in zip(picked, roles.shown, held, strict=True))
    old_lead, old_sponsor = clinic.lead_id, clinic.sponsor_id
    _check_roles(
        roles.lead if new_lead != old_lead else None,
        roles.sponsor if new_sponsor != old_sponsor else None,
        new_lead,
        new_sponsor,
    )
    if channel != clinic.channel_id:
        queries.move_pending_wins(session, clinic.team_id, clinic.id, channel)
    clinic.lead_id, clinic.sponsor_id, clinic.channel_id = new_lead, new_sponsor, channel
    holders = {new_lead, new_sponsor}
    for role, old, new in (("lead", old_lead, new_lead), ("executive sponsor", old_sponsor, new_sponsor)):
        if old == new:
            continue
        told = [new] if new and new != actor_id else []
        if old and old not in (actor_id, *holders):  # one who swaps roles hears only of the new one
            told.append(old)
        for recipient in told:
            message = views.role_changed_message(clinic, role, actor_id, recipient, new)
            key = f"clinic_role:{clinic.id}:{recipient}:{now.isoformat()}"
            queries.notify(session, clinic.team_id, key, "clinic_role", recipient, message, now)
    for kind, old, new in (("lead", old_lead, new_lead), ("sponsor", old_sponsor, new_sponsor)):
        if old is not None and old != new:
            _pass_on_escalations(session, clinic, kind, old, new, now, hours)
    if new_lead != old_lead:
        _pass_on_missed_readings(session, clinic, old_lead, new_lead, now, hours)
        for request, action in queries.pending_extensions_of_clinic(session, clinic.id, decider_id=old_lead):
            request.decider_id = new_lead
            message = action_views.extension_request(action, request, roles.lead, now)
            tell(session, action, "extension_request", new_lead, message, now, unique=str(request.id))
    if (old_lead, old_sponsor) == (new_lead, new_sponsor):
        return set()
    return {old_lead, old_sponsor, new_lead, new_sponsor} - {None}


def _pass_on_escalations(
    session: Session, clinic: Clinic, kind: str, old: str, new: str | None, now: datetime, hours: WorkingHours
) -> None:
    """Escalations about the clinic's actions still waiting to go to whoever gave up the role (for their
    working hours, or their owner's nudge first) go to whoever took it, no sooner and in their working
    hours; with nobody in the role, to nobody. One whose earlier try may have reached Slack (or is being
    sent now) is left as it is, to be found posted or, tried again, to leave out what is no longer theirs;
    whoever took the role is sent its items in a message of their own."""
    for message in queries.unsent_to(session, clinic.team_id, old, "chase"):
        items = message.payload["items"]
        ours = queries.actions_in_clinic(session, clinic.id, [item[0] for item in items if item[1] == kind])
        moving = [item for item in items if item[1] == kind and item[0] in ours]
        if not moving:
            continue
        staying = [item for item in items if item not in moving]
        in_doubt = message.sending_at is not None
        if new is not None and not in_doubt and not staying:  # readdressed whole: undone at once, it moves back
            tz = queries.tz_of(session, clinic.team_id, new)
            message.recipient, message.payload = new, {**message.payload, "tz": tz}
            message.not_before = hours.next_open(max(message.not_before, now), tz)
            continue
        if not in_doubt:
            message.payload = {**message.payload, "items": staying}
            if not staying:
                message.state, message.last_error = "dropped", "the clinic has nobody in that role"
        if new is not None:
            tz = queries.tz_of(session, clinic.team_id, new)
            at = hours.next_open(max(message.not_before, now), tz)
            queries.enqueue_many(session, [chase_row(clinic.team_id, new, tz, moving, now, at)])


def _pass_on_missed_readings(
    session: Session, clinic: Clinic, old_lead: str, new_lead: str, now: datetime, hours: WorkingHours
) -> None:
    """The notes of the clinic's missed readings still waiting to go to its old lead go to the new one, in
    their working hours. One whose earlier try may have reached Slack is left as it is (a retry finds it
    posted, or leaves it unsent to someone no longer the lead), and the new lead is sent one of their own."""
    indicators = {indicator.id for indicator in queries.indicators_of_clinic(session, clinic.team_id, clinic.id)}
    tz = queries.tz_of(session, clinic.team_id, new_lead)
    for message in queries.unsent_to(session, clinic.team_id, old_lead, "report_missed"):
        if message.payload.get("indicator_id") not in indicators:
            continue
        payload, at = {**message.payload, "tz": tz}, hours.next_open(max(message.not_before, now), tz)
        if message.sending_at is None:
            message.recipient, message.payload, message.not_before = new_lead, payload, at
            continue
        copy = {
            "team_id": message.team_id,
            "dedupe_key": f"{message.dedupe_key}:{new_lead}",
            "kind": message.kind,
            "recipient": new_lead,
            "action_id": None,
            "text": "",
            "blocks": [],
            "payload": payload,
            "created_at": now,
            "not_before": at,
        }
        queries.enqueue_many(session, [copy])


def clean_areas(
    slots: Sequence[Area], patient_data: PatientData | None, dropping: Collection[int] = ()
) -> list[tuple[int, Area]]:
    """The filled slots, tidied and checked, with their slot number (1-based): at most four, each named,
    outcome and why only on a named area, nothing that identifies a patient. In the `dropping` slots (the
    areas a clinic has, in its edit form), a cleared name drops the area, whatever its outcome and why."""
    filled: list[tuple[int, Area]] = []
    for slot, area in enumerate(slots, start=1):
        name, outcome, why = clean_name(area.name), area.outcome.strip(), area.why.strip()
        if not name:
            if (outcome or why) and slot not in dropping:
                raise UserError(f"Give focus area {slot} a name, or clear its outcome and why.", field=f"focus:{slot}")
            continue
        if len(name) > AREA_LIMIT:
            raise UserError(f"Keep each focus area under {AREA_LIMIT} characters.", field=f"focus:{slot}")
        for text, what in ((outcome, "outcome"), (why, "why")):
            if len(text) > OUTCOME_LIMIT:
                raise UserError(f"Keep the {what} under {OUTCOME_LIMIT} characters.", field=f"{what}:{slot}")
            if patient_data is not None:
                patient_data.refuse(text, f"{what}:{slot}")
        if patient_data is not None:
            patient_data.refuse(name, f"focus:{slot}")
        filled.append((slot, Area(name, outcome, why)))
    if len(filled) > MAX_FOCUS_AREAS:
        raise UserError(TOO_MANY_AREAS, field="focus")
    keys = [a.name.casefold() for _, a in filled]
    for slot, area in filled:
        if keys.count(area.name.casefold()) > 1:
            raise UserError(f"Two focus areas are called \u201c{area.name}\u201d.", field=f"focus:{slot}")
    return filled


def may_lead_clinic(clinic: Clinic, user_id: str) -> bool:
    """The clinic's own tools (chasing, wins, focus areas, indicators): its lead and sponsor."""
    return user_id in (clinic.lead_id, clinic.sponsor_id)


class ClinicService:
    def __init__(
        self,
        session_factory: SessionFactory,
        clock: Clock,
        hours: WorkingHours,
        patient_data: PatientData | None = None,
    ) -> None:
        """`hours`: when a message passed on to someone who takes a role over may reach them."""
        self._sessions = session_factory
        self._clock = clock
        self._hours = hours
        self._patient_data = patient_data

    def register(self, new: NewClinic, lead: Person, sponsor: Person | None = None) -> Clinic:
        """`lead` and `sponsor`: the people `new` names, as Slack last described them."""
        name = clean_name(new.name)
        if not name:
            raise UserError("The clinic needs a name.", field="name")
        if len(name) > NAME_LIMIT:
            raise UserError(f"Keep the name under {NAME_LIMIT} characters.", field="name")
        if self._patient_data is not None:
            self._patient_data.refuse(name, "name")
        areas = [area for _, area in clean_areas(new.areas(), self._patient_data)]
        _check_roles(lead, sponsor, lead.user_id, sponsor.user_id if sponsor else None)
        now = self._clock.now()
        key = queries.name_key(name)
        try:
            with self._sessions.begin() as session:
                if queries.find_clinic_by_name(session, new.team_id, name) is not None:
                    raise _duplicate(name)
                clinic = Clinic(
                    team_id=new.team_id,
                    name=name,
                    name_key=key,
                    lead_id=new.lead_id,
                    sponsor_id=new.sponsor_id,
                    channel_id=new.channel_id,
                    created_by=new.created_by,
                    created_at=now,
                    focus_areas=[
                        FocusArea(
                            team_id=new.team_id,
                            position=i,
                            name=area.name,
                            outcome=area.outcome or None,
                            why=area.why or None,
                        )
                        for i, area in enumerate(areas, start=1)
                    ],
                )
                session.add(clinic)
                session.flush()
                for recipient in {new.lead_id, new.sponsor_id} - {None, new.created_by}:
                    message = views.clinic_role_message(clinic, recipient)
                    key = f"clinic_role:{clinic.id}:{recipient}"
                    queries.notify(session, new.team_id, key, "clinic_role", recipient, message, now)
                return clinic
        except IntegrityError:
            # Two people registering the same name at once: the unique constraint decides.
            raise _duplicate(name) from None

    def by_id(self, team_id: str, clinic_id: int) -> Clinic | None:
        with self._sessions() as session:
            clinic = queries.get_clinic(session, team_id, clinic_id)
            if clinic is not None:
                _ = list(clinic.focus_areas)
            return clinic

    def for_leader(self, team_id: str, clinic_name: str, actor_id: str) -> Clinic:
        """A clinic to change, with its focus areas, for its lead or sponsor only."""
        with self._sessions() as session:
            clinic = _named(session, team_id, clinic_name)
            if not may_lead_clinic(clinic, actor_id):
                raise NotAllowed(f"Only the lead and sponsor of {clinic.name} can change it. Nothing was changed.")
            _ = list(clinic.focus_areas)
            return clinic

    def edit(
        self, team_id: str, clinic_id: int, actor_id: str, slots: Sequence[Area], roles: Roles | None = None
    ) -> set[str]:
        """Rename, describe, add or clear focus areas, slot by slot (slot n is the area at position n), and
        hand the clinic's roles to others (`roles`: None from a form without them); who took a role or gave
        one up. Clearing an area that actions serve or indicators measure is refused: they would lose their
        place."""
        with self._sessions.begin() as session:
            clinic = queries.get_clinic(session, team_id, clinic_id)
            if clinic is None:
                raise NotFound("That clinic no longer exists.")
            if not may_lead_clinic(clinic, actor_id):
                raise NotAllowed(f"Only the lead and sponsor of {clinic.name} can change it. Nothing was changed.")
            existing = {area.position: area for area in clinic.focus_areas}
            filled = dict(clean_areas(slots, self._patient_data, dropping=existing))
            concerned = _hand_over(session, clinic, actor_id, roles, self._clock.now(), self._hours) if roles else set()
            for slot in sorted(set(existing) - set(filled)):
                area = existing[slot]
                actions, indicators = queries.focus_area_users(session, team_id, area.id)
                if actions or indicators:
                    held = " and ".join(
                        f"{n} {what}{'s' if n != 1 else ''}"
                        for n, what in ((actions, "action"), (indicators, "indicator"))
                        if n
                    )
                    raise UserError(
                        f"\u201c{area.name}\u201d has {held}, so it stays. Rename it instead.",
                        field=f"focus:{slot}",
                    )
            for slot, area in filled.items():
                row = existing.get(slot)
                if row is None:
                    row = FocusArea(team_id=team_id, position=slot, name=area.name)
                    clinic.focus_areas.append(row)
                row.name, row.outcome, row.why = area.name, area.outcome or None, area.why or None
            for slot in set(existing) - set(filled):
                clinic.focus_areas.remove(existing[slot])
            return concerned

    def celebrate_wins(self, team_id: str, clinic_name: str, actor_id: str, on: bool) -> Clinic:
        """Turn the clinic channel's celebration of done actions on or off (its lead or sponsor)."""
        with self._sessions.begin() as session:
            clinic = _named(session, team_id, clinic_name)
            if actor_id not in (clinic.lead_id, clinic.sponsor_id):
                raise NotAllowed("Only the clinic's lead or sponsor can change that.")
            if on and not clinic.channel_id:
                raise UserError(
                    f"\u201c{clinic.name}\u201d reports to no channel, so there is nowhere to celebrate its wins. "
                    "Nothing was changed."
                )
            clinic.celebrate_wins = on
            return clinic

    def list(self, team_id: str) -> Sequence[Clinic]:
        with self._sessions() as session:
            return queries.list_clinics(session, team_id)


def _duplicate(name: str) -> UserError:
    return UserError(f"There is already a clinic called \u201c{name}\u201d here.", field="name")


CHASE_KEYS = {
    "reminder": "reminder",
    "repeat": "repeat_every_days",
    "nudges": "owner_nudges",
    "lead_after": "lead_after_days",
    "sponsor_after": "sponsor_after_days",
    "stalled_after": "stalled_after_days",
}
CHASE_EXAMPLE = "`/clinic chase Discharge flow nudges=2 lead_after=5 reminder=off`"


def read_chase_settings(pairs: dict[str, str]) -> dict[str, object]:
    """Friendly `key=value` words into policy fields; unknown keys and bad values are refused."""
    fields: dict[str, object] = {}
    for key, raw in pairs.items():
        field = CHASE_KEYS.get(key.lower())
        if field is None:
            raise UserError(
                f"I don't know the setting `{key}`. Settings: {', '.join(CHASE_KEYS)}. For example {CHASE_EXAMPLE}. "
                "Nothing was changed."
            )
        if field == "reminder":
            if raw.lower() not in ("on", "off", "yes", "no", "true", "false"):
                raise UserError("`reminder` is on or off. Nothing was changed.")
            fields[field] = raw.lower() in ("on", "yes", "true")
        elif re.fullmatch(r"[0-9]{1,4}", raw):  # not str.isdigit(): "²" is a digit int() cannot read
            fields[field] = int(raw)
        else:
            raise UserError(f"`{key}` takes a whole number of days, for example {key}=3. Nothing was changed.")
    return fields


class ClinicChasing:
    """A clinic lead's own chasing settings, over the workspace's defaults."""

    def __init__(self, session_factory: SessionFactory, clock: Clock, defaults: ChasePolicy) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._defaults = defaults

    def show(self, team_id: str, clinic_name: str) -> tuple[Clinic, ChasePolicy]:
        with self._sessions() as session:
            clinic = _named(session, team_id, clinic_name)
            return clinic, self._defaults.model_copy(update=clinic.chase_overrides)

    def change(
        self, team_id: str, clinic_name: str, actor_id: str, pairs: dict[str, str]
    ) -> tuple[Clinic, ChasePolicy]:
        fields = read_chase_settings(pairs)
        with self._sessions.begin() as session:
            clinic = _named(session, team_id, clinic_name)
            if actor_id not in (clinic.lead_id, clinic.sponsor_id):
                raise NotAllowed("Only the clinic's lead or sponsor can change how its actions are chased.")
            merged = {**clinic.chase_overrides, **fields}
            try:
                policy = ChasePolicy(**{**self._defaults.model_dump(), **merged})
            except ValidationError as exc:  # named as the lead writes it, with the range it must be in
                problem = exc.errors()[0]
                field = ChasePolicy.model_fields[str(problem["loc"][0])]
                low, high = (next(getattr(m, b) for m in field.metadata if hasattr(m, b)) for b in ("ge", "le"))
                key = next(k for k, f in CHASE_KEYS.items() if f == problem["loc"][0])
                raise UserError(f"`{key}` is {low} to {high} ({field.description}). Nothing was changed.") from None
            if not policy.escalates_in_order:
                raise UserError(
                    f"`sponsor_after` ({policy.sponsor_after_days}) should be more than `lead_after` "
                    f"({policy.lead_after_days}): the sponsor hears after the lead. Nothing was changed."
                )
            clinic.chase_overrides = merged
            # Every open action of the clinic is looked at again under the new settings.
            queries.recheck_clinic_actions(session, team_id, clinic.id, self._clock.now())
            return clinic, policy


def _named(session, team_id: str, name: str) -> Clinic:  # type: ignore[no-untyped-def]
    clinic = queries.find_clinic_by_name(session, team_id, name)
    if clinic is None:
        raise NotFound(f"There is no clinic called \u201c{name}\u201d here.")
    return clinic
