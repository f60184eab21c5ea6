"""Indicators and their readings: defining what a focus area measures, recording readings (`/clinic metric`
and the "time to report" button), and the scheduler's part: asking each reporter on their cadence, in
their working hours, reminding them, then telling the clinic lead when a reading is missed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.chasing import ChasePolicy
from bot.clinics import may_lead_clinic
from bot.clock import Clock
from bot.commands import METRIC_EXAMPLE
from bot.dates import DueDateError, describe_date, parse_past_date
from bot.errors import NotAllowed, NotFound, UserError
from bot.indicators import (
    CADENCES,
    CURRENCIES,
    DIRECTIONS,
    KINDS,
    LEAD,
    NAME_LIMIT,
    ReportState,
    Trend,
    clean_unit,
    decide_reports,
    first_due,
    is_unit_word,
    read_number,
    read_value,
    show_value,
    trend,
)
from bot.indicators import Reading as Point
from bot.names import clean_name
from bot.patient_data import PatientData
from bot.people import Person, check_active, zone
from bot.working_time import WorkingHours
from storage import queries
from storage.db import SessionFactory
from storage.models import Clinic, Indicator, IndicatorReading, OutboxMessage

MAX_PER_AREA = 10
BATCH = 500


@dataclass(frozen=True)
class IndicatorForm:
    """What a lead typed into the indicator form, unchecked."""

    name: str
    kind: str
    unit: str
    direction: str
    baseline: str
    baseline_date: date | None
    target: str
    target_date: date | None
    reporter_id: str | None
    cadence: str


@dataclass(frozen=True)
class Recorded:
    indicator: Indicator
    value: float
    day: date
    replaced: float | None  # the value it replaced, when that day already had a reading
    trend: Trend
    next_due: date


def indicator_trend(indicator: Indicator, readings: Sequence[IndicatorReading]) -> Trend:
    """The trend of an indicator from its stored readings (what the digest shows, too)."""
    points = [Point(r.reading_date, r.value) for r in readings]
    return trend(indicator.direction, points, indicator.baseline_value, indicator.target_value)


class IndicatorService:
    def __init__(self, session_factory: SessionFactory, clock: Clock, patient_data: PatientData) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._patient_data = patient_data

    # --- reading them ---------------------------------------------------------------------------

    def of_clinic(self, team_id: str, clinic_id: int) -> list[Indicator]:
        with self._sessions() as session:
            return list(queries.indicators_of_clinic(session, team_id, clinic_id))

    def get_for_leader(self, team_id: str, indicator_id: int, actor_id: str) -> Indicator:
        with self._sessions() as session:
            indicator = queries.get_indicator(session, team_id, indicator_id)
            if indicator is None:
                raise NotFound("That indicator no longer exists.")
            _check_leader(indicator.clinic, actor_id)
            return indicator

    def area_for_leader(self, team_id: str, focus_area_id: int, actor_id: str) -> tuple[Clinic, int, str]:
        """(clinic, area id, area name) of a focus area its clinic's lead or sponsor is adding to."""
        with self._sessions() as session:
            area = queries.get_focus_area(session, team_id, focus_area_id)
            if area is None:
                raise NotFound("That focus area no longer exists.")
            _check_leader(area.clinic, actor_id)
            return area.clinic, area.id, area.name

    def reportable(self, team_id: str, indicator_id: int, actor_id: str) -> tuple[Indicator, IndicatorReading | None]:
        """An indicator someone may report, with its latest reading (for the reporting form)."""
        with self._sessions() as session:
            indicator = queries.get_indicator(session, team_id, indicator_id)
            if indicator is None:
                raise NotFound("That indicator no longer exists.")
            _check_reporter(indicator, actor_id)
            readings = queries.readings_of(session, team_id, indicator.id, limit=1)
            return indicator, (readings[-1] if readings else None)

    # --- defining them --------------------------------------------------------------------------

    def save(
        self,
        team_id: str,
        actor_id: str,
        focus_area_id: int,
        form: IndicatorForm,
        reporter: Person | None,
        *,
        indicator_id: int | None = None,
        today: date,
    ) -> Indicator:
        """Add an indicator to a focus area, or change one; every field checked, nothing stored on a mistake.
        `today` is the lead's own day (a baseline cannot be measured in the future)."""
        name = clean_name(form.name)
        if not name:
            raise UserError("Name the indicator, for example \u201cDischarges before noon\u201d.", field="name")
        if len(name) > NAME_LIMIT:
            raise UserError(f"Keep the name under {NAME_LIMIT} characters.", field="name")
        if re.search(r"\s/\s", name) or re.fullmatch(r"[\d.,%\s-]+", name):
            raise UserError("Use words in the name (not a number, nor \u201c / \u201d).", field="name")
        self._patient_data.refuse(name, "name")
        if form.kind not in KINDS:
            raise UserError("Pick whether it is a lead or a lag indicator.", field="kind")
        unit = self._patient_data.refuse(clean_unit(form.unit), "unit")
        if form.direction not in DIRECTIONS:
            raise UserError("Pick which way is good: up or down.", field="direction")
        baseline = read_number(form.baseline, "baseline", "the baseline")
        if form.baseline_date is None:
            raise UserError("Pick the day the baseline was measured.", field="baseline_date")
        if form.baseline_date > today:
            raise UserError(
                "The baseline is what was measured before: pick today or an earlier day.", field="baseline_date"
            )
        target = read_number(form.target, "target", "the target")
        if target == baseline:
            raise UserError("The target should differ from the baseline: where should it get to?", field="target")
        if (target > baseline) != (form.direction == "up"):
            better = "above" if form.direction == "up" else "below"
            raise UserError(
                f"With {DIRECTIONS[form.direction]}, the target should be {better} the baseline "
                f"({show_value(baseline, unit)}).",
                field="target",
            )
        if form.target_date is None:
            raise UserError("Pick the day the target should be reached by.", field="target_date")
        if form.target_date <= form.baseline_date:
            raise UserError("The target date should come after the baseline's.", field="target_date")
        if not form.reporter_id or reporter is None:
            raise UserError("Pick who reports it.", field="reporter")
        check_active(reporter, "reporter", "report an indicator")
        if form.cadence not in CADENCES:
            raise UserError("Pick how often it is reported: weekly, fortnightly or monthly.", field="cadence")
        now = self._clock.now()
        with self._sessions.begin() as session:
            area = queries.get_focus_area(session, team_id, focus_area_id)
            if area is None:
                raise NotFound("That focus area no longer exists.")
            _check_leader(area.clinic, actor_id)
            same = queries.indicator_named(session, team_id, area.clinic_id, queries.name_key(name))
            if same is not None and same.id != indicator_id:
                raise UserError(
                    f"{area.clinic.name} already has an indicator called \u201c{same.name}\u201d.", field="name"
                )
            if indicator_id is None:
                siblings = [
                    i
                    for i in queries.indicators_of_clinic(session, team_id, area.clinic_id)
                    if i.focus_area_id == area.id
                ]
                if len(siblings) >= MAX_PER_AREA:
                    raise UserError(
                        f"A focus area keeps at most {MAX_PER_AREA} indicators, so that the few that matter stand out.",
                        field="name",
                    )
                indicator = Indicator(team_id=team_id, clinic_id=area.clinic_id, created_by=actor_id, created_at=now)
                latest = None
            else:
                found = queries.get_indicator(session, team_id, indicator_id, lock=True)
                if found is None or found.focus_area_id != area.id:
                    raise NotFound("That indicator no longer exists.")
                indicator = found
                latest = queries.latest_reading_date(session, team_id, indicator.id)
                if latest is not None and form.baseline_date > latest:
                    raise UserError(
                        f"It has readings from {describe_date(latest, today)}: the baseline comes before them.",
                        field="baseline_date",
                    )
            reporter_today = now.astimezone(zone(reporter.tz)).date()
            schedule = (form.cadence, form.baseline_date)
            if indicator_id is None or (indicator.cadence, indicator.baseline_date) != schedule:
                due = first_due(form.cadence, form.baseline_date, latest, reporter_today)
            else:  # renamed, retargeted or handed to another reporter: the reading is as due (or overdue) as it was
                due = indicator.due_on
            indicator.focus_area_id = area.id
            indicator.name, indicator.name_key = name, queries.name_key(name)
            indicator.kind, indicator.unit = form.kind, unit
            indicator.direction, indicator.cadence = form.direction, form.cadence
            indicator.baseline_value, indicator.baseline_date = baseline, form.baseline_date
            indicator.target_value, indicator.target_date = target, form.target_date
            if (indicator.due_on, indicator.reporter_id) != (due, reporter.user_id):
                indicator.report_step = 0
            indicator.reporter_id, indicator.due_on = reporter.user_id, due
            indicator.next_check_at = now  # the next pass works out when to ask
            session.add(indicator)
            session.flush()
            return queries.get_indicator(session, team_id, indicator.id)  # type: ignore[return-value]

    # --- readings -------------------------------------------------------------------------------

    def find(self, team_id: str, actor_id: str, text: str) -> tuple[Indicator, str]:
        """The indicator `/clinic metric` names at the start of `text`, and what follows its name. Names are
        matched whole (case and spacing aside), the longest first, else as the start of one name, among the
        indicators the person may report before all the others (another clinic's longer name never takes the
        value typed after one's own); the same name in two clinics is told apart by `Clinic / indicator`, or by
        who reports it."""
        words = text.split()
        with self._sessions() as session:
            everything = list(queries.indicators_of_team(session, team_id))
            everything, words = _in_clinic_named(everything, words)
            # Where the value starts, for a name given by its first words only.
            name_end = next(
                (n for n, word in enumerate(words) if n and re.match(rf"[-+.{CURRENCIES}]?\d", word)), len(words)
            )
            theirs = [i for i in everything if may_report(i, actor_id)]
            matches, taken = _named(theirs, words, name_end)
            if matches:
                mine = [i for i in matches if i.reporter_id == actor_id]
                matches = mine if len(mine) == 1 else matches
            else:
                matches, taken = _named(everything, words, name_end)
            if not matches:
                shown = " ".join(words[:name_end])[:80] or "that"
                raise NotFound(
                    f"There is no indicator called \u201c{shown}\u201d. "
                    + _yours(everything, actor_id)
                    + f" For example {METRIC_EXAMPLE}."
                )
            if len(matches) > 1:
                choices = ", ".join(f"`{i.clinic.name} / {i.name}`" for i in matches[:10])
                raise UserError(f"Which one? Several indicators match: {choices}. Name it as one of these.")
            [indicator] = matches
            return indicator, " ".join(words[taken:])

    def report(self, team_id: str, actor_id: str, actor_tz: str, text: str) -> Recorded:
        """`/clinic metric <indicator> <value> [unit] [date]`."""
        indicator, rest = self.find(team_id, actor_id, text)
        if not rest:
            raise UserError(f"Give the value after the name, for example {METRIC_EXAMPLE}.")
        tokens = rest.split()
        # The value, then its unit if one follows (the longest that is one: `45 per cent`), then the day.
        unit_words = next(
            (
                n
                for n in range(min(3, len(tokens) - 1), 0, -1)
                if is_unit_word(" ".join(tokens[1 : 1 + n]), indicator.unit)
            ),
            0,
        )
        value_text, day_text = " ".join(tokens[: 1 + unit_words]), " ".join(tokens[1 + unit_words :])
        return self.record(team_id, actor_id, indicator.id, value_text, day_text=day_text, actor_tz=actor_tz)

    def record(
        self,
        team_id: str,
        actor_id: str,
        indicator_id: int,
        value_text: str,
        *,
        actor_tz: str,
        day: date | None = None,
        day_text: str = "",
    ) -> Recorded:
        """Store a reading (replacing that day's, if any), move the next due day on, and say the trend."""
        now = self._clock.now()
        today = now.astimezone(zone(actor_tz)).date()
        with self._sessions.begin() as session:
            indicator = queries.get_indicator(session, team_id, indicator_id, lock=True)
            if indicator is None:
                raise NotFound("That indicator no longer exists.")
            _check_reporter(indicator, actor_id)
            value = read_value(value_text, indicator.unit)
            if day is None:
                try:
                    day = parse_past_date(day_text, today)
                except DueDateError as exc:
                    raise UserError(str(exc), field="day") from None
            elif day > today:
                raise UserError(
                    f"{describe_date(day, today)} is in the future: give today or an earlier day.", field="day"
                )
            if day < indicator.baseline_date:
                raise UserError(
                    f"That is before the baseline ({describe_date(indicator.baseline_date, today)}), which the trend "
                    "starts from. To change the baseline, edit the indicator (`/clinic edit`).",
                    field="day",
                )
            existing = queries.reading_on(session, team_id, indicator.id, day)
            replaced = existing.value if existing is not None else None
            if existing is None:
                session.add(
                    IndicatorReading(
                        team_id=team_id,
                        indicator_id=indicator.id,
                        value=value,
                        reading_date=day,
                        reported_by=actor_id,
                        reported_at=now,
                    )
                )
            else:
                existing.value, existing.reported_by, existing.reported_at = value, actor_id, now
            session.flush()
            latest = queries.latest_reading_date(session, team_id, indicator.id)
            reporter_today = now.astimezone(zone(queries.tz_of(session, team_id, indicator.reporter_id))).date()
            due = first_due(indicator.cadence, indicator.baseline_date, latest, reporter_today)
            if latest == day and due != indicator.due_on:
                # The reading asked for arrived: what was queued about the old day is dropped when due.
                indicator.due_on, indicator.report_step, indicator.next_check_at = due, 0, now
            readings = queries.readings_of(session, team_id, indicator.id)
            return Recorded(indicator, value, day, replaced, indicator_trend(indicator, readings), indicator.due_on)


def _in_clinic_named(indicators: list[Indicator], words: list[str]) -> tuple[list[Indicator], list[str]]:
    """`Clinic / indicator ...`: the indicators of the clinic named before a ` / `, and the words after it.
    An indicator's name never holds ` / `, but a clinic's may: every split is tried, the longest clinic name
    found wins."""
    splits = [n for n, word in enumerate(words) if word == "/"]
    for split in reversed(splits):
        key = queries.name_key(" ".join(words[:split]))
        found = [i for i in indicators if i.clinic.name_key == key]
        if found:
            return found, words[split + 1 :]
    if splits:
        clinic = " ".join(words[: splits[0]])
        raise NotFound(f"There is no clinic called \u201c{clinic[:100]}\u201d with indicators.")
    return indicators, words


def _named(indicators: list[Indicator], words: list[str], name_end: int) -> tuple[list[Indicator], int]:
    """The indicators named by the longest run of `words` that is a whole name, else those whose name starts
    with the words before the value; and how many words the name took. Names are taken word by word, never
    by length: a name may change length when case-folded (`Maß`, `mass`)."""
    for taken in range(len(words), 0, -1):
        key = queries.name_key(" ".join(words[:taken]))
        whole = [i for i in indicators if i.name_key == key]
        if whole:
            return whole, taken
    start = queries.name_key(" ".join(words[:name_end]))
    return [i for i in indicators if start and i.name_key.startswith(start)], name_end


def _yours(indicators: Sequence[Indicator], actor_id: str) -> str:
    mine = [i.name for i in indicators if i.reporter_id == actor_id][:8]
    return f"You report: {', '.join(mine)}." if mine else ""


def _check_leader(clinic: Clinic, actor_id: str) -> None:
    if not may_lead_clinic(clinic, actor_id):
        raise NotAllowed(
            f"Only the lead and sponsor of {clinic.name} can change its focus areas and indicators. "
            "Nothing was changed."
        )


def may_report(indicator: Indicator, actor_id: str) -> bool:
    """Its reporter, and its clinic's lead and sponsor."""
    return actor_id == indicator.reporter_id or may_lead_clinic(indicator.clinic, actor_id)


def _check_reporter(indicator: Indicator, actor_id: str) -> None:
    if not may_report(indicator, actor_id):
        raise NotAllowed(
            f"Only whoever reports {indicator.name}, and the lead and sponsor of {indicator.clinic.name}, "
            "can report it. Nothing was stored."
        )


# --- the scheduler's part ---------------------------------------------------------------------------


class ReportPlanner:
    """Asks reporters for readings when due, reminds them, and tells the lead of a missed one. Each message
    is keyed by (indicator, due day, reporter, step), so a second pass or replica queues nothing twice, and is
    rendered when sent: if the reading arrived meanwhile, it is dropped."""

    def __init__(
        self,
        session_factory: SessionFactory,
        clock: Clock,
        hours: WorkingHours,
        policy_for: Any,
        *,
        oauth_client_id: str | None = None,
    ) -> None:
        """`policy_for(clinic) -> ChasePolicy`: the clinic's chasing numbers (reminder after its
        `repeat` working days, the lead after its `lead_after`). `oauth_client_id`: the OAuth client when
        workspaces install the app, None with one token; a workspace that removed the app is not asked for
        readings until it has it again."""
        self._sessions = session_factory
        self._clock = clock
        self._hours = hours
        self._policy_for = policy_for
        self._oauth_client_id = oauth_client_id

    def plan(self) -> int:
        now = self._clock.now()
        queued = 0
        while True:
            with self._sessions.begin() as session:
                indicators = queries.indicators_to_check(
                    session, now, limit=BATCH, oauth_client_id=self._oauth_client_id
                )
                if not indicators:
                    return queued
                rows = [row for indicator in indicators for row in self._plan_one(session, indicator, now)]
                fresh = queries.missing_keys(session, [r["dedupe_key"] for r in rows])
                rows = [r for r in rows if r["dedupe_key"] in fresh]
                if rows:
                    queries.enqueue_many(session, rows)
                queued += len(rows)

    def _plan_one(self, session: Session, indicator: Indicator, now: datetime) -> list[dict[str, Any]]:
        state = _report_state(session, indicator)
        policy: ChasePolicy = self._policy_for(indicator.clinic)
        decision = decide_reports(
            state, now, self._hours, remind_after=policy.repeat_every_days, lead_after=policy.lead_after_days
        )
        indicator.report_step = decision.step
        indicator.next_check_at = decision.next_check
        # Whose reading is chased is part of the key: a new reporter is asked for a day the last one was.
        chase = f"report:{indicator.id}:{indicator.due_on.isoformat()}:{indicator.reporter_id}"
        return [
            {
                "team_id": indicator.team_id,
                "dedupe_key": f"{chase}:{step.kind}",
                "kind": "report_missed" if step.number == LEAD else "report_due",
                "recipient": step.recipient,
                "action_id": None,
                "text": "",
                "blocks": [],
                "payload": {
                    "indicator_id": indicator.id,
                    "due_on": indicator.due_on.isoformat(),
                    "step": step.kind,
                    "tz": step.tz,
                },
                "created_at": now,
                "not_before": self._hours.next_open(now, step.tz),
            }
            for step in decision.steps
        ]

    def render(self, session: Session, message: OutboxMessage) -> tuple[str, list[dict[str, Any]]] | None:
        """The "time to report" DM (or the lead's note of a missed reading) as things stand now; None when
        the reading arrived meanwhile, the indicator changed hands or is gone."""
        from bot.views.indicators import missed_message, report_due_message

        payload = message.payload or {}
        indicator = queries.get_indicator(session, message.team_id, int(payload.get("indicator_id") or 0))
        if indicator is None or indicator.due_on.isoformat() != payload.get("due_on"):
            return None
        if message.recipient != (indicator.reporter_id if message.kind == "report_due" else indicator.clinic.lead_id):
            return None  # the indicator or the clinic changed hands since
        if message.kind == "report_missed" and message.recipient == indicator.reporter_id:
            return None  # the reporter has taken the clinic over: nobody is told of their own missed reading
        readings = queries.readings_of(session, message.team_id, indicator.id, limit=12)
        reader = Person(message.recipient, "", payload.get("tz") or "UTC")
        now = self._clock.now()
        if message.kind == "report_missed":
            state = _report_state(session, indicator)
            ask_at = self._hours.next_open(self._hours.window(state.due_on, state.reporter_tz)[0], state.reporter_tz)
            late = self._hours.working_days_between(ask_at, now, state.reporter_tz)
            return missed_message(indicator, readings, reader, now, late)
        return report_due_message(indicator, readings, reader, now, reminder=payload.get("step") != "ask")


def _report_state(session: Session, indicator: Indicator) -> ReportState:
    clinic = indicator.clinic
    return ReportState(
        due_on=indicator.due_on,
        reporter_id=indicator.reporter_id,
        reporter_tz=queries.tz_of(session, indicator.team_id, indicator.reporter_id),
        lead_id=clinic.lead_id,
        lead_tz=queries.tz_of(session, indicator.team_id, clinic.lead_id),
        step=indicator.report_step,
    )
