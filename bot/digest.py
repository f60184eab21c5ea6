"""The weekly digest for clinic leads and sponsors: where each clinic stands, what slipped, who to thank,
what is coming, and an eight-week chart. Built from the database when it is sent (or previewed)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_
from sqlalchemy.orm import Session

from bot.clinics import MAX_FOCUS_AREAS
from bot.dates import weekday_number
from bot.errors import UserError
from bot.indicators import WORSENING, Reading, Trend
from bot.people import zone
from bot.reporting import MAX_PER_AREA, indicator_trend
from storage import queries
from storage.models import Action, Clinic, DigestPreference, Indicator, OutboxMessage

if TYPE_CHECKING:
    from bot.charts import Series

WEEKS = 8
WEEK = timedelta(weeks=1)
STALLED_AFTER = timedelta(days=14)
# A reader's week starts where their previous digest ended; one sent longer ago than this (the bot was stopped,
# or they led no clinic for a while) starts it at their previous slot instead.
LOOK_BACK = timedelta(weeks=3)


@dataclass(frozen=True)
class Headline:
    open: int
    done: int
    overdue: int
    blocked: int
    stalled: int
    due_next_week: int


@dataclass(frozen=True)
class IndicatorProgress:
    """An indicator as the digest shows it: its latest readings (oldest first) and what they say."""

    indicator: Indicator
    readings: list[Reading]
    trend: Trend


@dataclass(frozen=True)
class AreaProgress:
    clinic: str
    area: str
    open: int
    done: int
    outcome: str | None = None
    indicators: list[IndicatorProgress] = field(default_factory=list)

    @property
    def rethink(self) -> bool:
        """Its indicators worsen though every action linked to it is done: maybe not the right actions."""
        worse = any(i.trend.verdict == WORSENING for i in self.indicators)
        return worse and self.open == 0 and self.done > 0


@dataclass
class Digest:
    recipient: str
    title: str
    clinics: list[Clinic]
    week_of: date  # the Monday this digest covers, in the recipient's time zone
    now: datetime
    headline: Headline
    last_week: Headline
    # The first few of each list (see SHOWN), each with how many there are in all.
    slipping: list[Action] = field(default_factory=list)  # overdue or blocked, most overdue first
    slipping_total: int = 0
    wins: list[Action] = field(default_factory=list)  # done this week, the latest first
    coming: list[Action] = field(default_factory=list)
    areas: list[AreaProgress] = field(default_factory=list)
    weeks: list[tuple[date, int, int, int]] = field(default_factory=list)  # (week start, open, overdue, done)


SHOWN = 10  # more than a digest's list ever shows
READINGS = 12  # an indicator's latest readings, for its trend and its chart
# Every indicator one clinic may have gets a panel (20 rows of two, 770 by 5,412 pixels); only a combined
# digest of clinics with more between them leaves some out, and says which.
CHART_PANELS = MAX_FOCUS_AREAS * MAX_PER_AREA


def week_start(now: datetime, tz: str) -> date:
    local = now.astimezone(zone(tz)).date()
    return local - timedelta(days=local.weekday())


def week_before(at: datetime, tz: str) -> datetime:
    """The same time of day seven days before `at` on the calendar of `tz`: not 168 hours across a clock change."""
    local = at.astimezone(zone(tz))
    return datetime.combine(local.date() - WEEK, local.time(), tzinfo=zone(tz))


def build(
    session: Session,
    team_id: str,
    recipient: str,
    tz: str,
    clinics: Sequence[Clinic],
    now: datetime,
    *,
    since: datetime | None = None,
    last_week: Headline | None = None,
) -> Digest:
    """The digest as things stand at `now`, for the clinics given, seen from the recipient's time zone.
    "This week" (its wins, what was done) is the time since `since`, where the reader's previous digest
    ended (a week on their calendar when not given), so that no win falls between two digests or into both;
    `last_week` is what that digest said, rebuilt as things stood at `since` when not given.

    The figures are counted without loading the actions: every definition below compares a date with a
    few instants (now, since, each week's end...). The database sorts the clinics' actions into the
    slots between those instants and counts each slot; since every action in a slot compares alike, the
    definitions are then applied to one stand-in per slot. Only the few actions a digest names are loaded."""
    since = since or week_before(now, tz)
    before = week_before(since, tz)  # where the week of last week's figures started
    monday = week_start(now, tz)
    this_week = datetime.combine(monday, time(0), tzinfo=zone(tz))
    weeks = [this_week - timedelta(weeks=back - 1) for back in range(WEEKS, 0, -1)]
    ends = [min(start + WEEK, now) for start in weeks]
    clinic_ids = [c.id for c in clinics]
    instants = _instants(now, since, before, weeks, ends)
    slots = queries.count_in_slots(session, team_id, clinic_ids, min(weeks[0] - WEEK, before), instants)
    digest = Digest(
        recipient=recipient,
        title=clinics[0].name if len(clinics) == 1 else "your clinics",
        clinics=list(clinics),
        week_of=monday,
        now=now,
        headline=_headline(slots, since, now),
        last_week=last_week or _headline(slots, before, since),
        slipping_total=sum(n for a, n in slots if _slipping(a, now)),
    )
    first = partial(queries.first_clinic_actions, session, team_id, clinic_ids, limit=SHOWN)
    open_now = Action.closed_at.is_(None)  # nothing is closed in the future
    digest.slipping = first(and_(open_now, or_(Action.due_at < now, Action.status == "blocked")), Action.due_at)
    # The latest first: a week of more wins than the list shows thanks the freshest, and counts the others.
    digest.wins = first(
        and_(Action.status == "done", Action.closed_at >= since, Action.closed_at < now), Action.closed_at.desc()
    )
    digest.coming = first(and_(open_now, Action.due_at >= now, Action.due_at < now + WEEK), Action.due_at)
    indicators = queries.indicators_of_clinics(session, team_id, clinic_ids)
    latest = queries.latest_readings(session, team_id, [i.id for i in indicators], limit=READINGS)
    measures = defaultdict(list)
    for indicator in indicators:
        rows = latest[indicator.id]
        readings = [Reading(r.reading_date, r.value) for r in rows]
        measures[indicator.focus_area_id].append(
            IndicatorProgress(indicator, readings, indicator_trend(indicator, rows))
        )
    done = queries.done_per_area(session, team_id, clinic_ids)  # the slots hold only the weeks charted
    for clinic in clinics:
        for area in clinic.focus_areas:
            digest.areas.append(
                AreaProgress(
                    clinic.name,
                    area.name,
                    sum(n for a, n in slots if a.focus_area_id == area.id and _open_at(a, now)),
                    done.get(area.id, 0),
                    area.outcome,
                    measures[area.id],
                )
            )
    digest.weeks = [
        (
            start.date(),
            sum(n for a, n in slots if _open_at(a, end)),
            sum(n for a, n in slots if _open_at(a, end) and a.due_at < end),
            sum(n for a, n in slots if _done_within(a, start, end)),
        )
        for start, end in zip(weeks, ends, strict=True)
    ]
    return digest


def _instants(
    now: datetime, since: datetime, before: datetime, weeks: list[datetime], ends: list[datetime]
) -> dict[str, list[datetime]]:
    """Every instant the definitions below compare each date with. `x <= t` is `x < t + 1 µs`."""
    tick = timedelta(microseconds=1)
    points = [now, since, *ends]
    return {
        "created_at": [p + tick for p in points],
        "closed_at": [p + tick for p in points] + [before, since, now, *weeks, *ends],
        "due_at": [*points, now + WEEK, since + WEEK],
        "touched_at": [now - STALLED_AFTER + tick, since - STALLED_AFTER + tick],
    }


def _open_at(action: queries.Slot, at: datetime) -> bool:
    return action.created_at <= at and (action.closed_at is None or action.closed_at > at)


def _done_within(action: queries.Slot, start: datetime, end: datetime) -> bool:
    return action.status == "done" and action.closed_at is not None and start <= action.closed_at < end


def _slipping(action: queries.Slot, at: datetime) -> bool:
    return _open_at(action, at) and (action.due_at < at or action.status == "blocked")


def _headline(slots: list[tuple[queries.Slot, int]], start: datetime, at: datetime) -> Headline:
    """The numbers as they stood at `at`: done since `start`, due in the week after it."""
    then = [(a, n) for a, n in slots if _open_at(a, at)]
    return Headline(
        open=sum(n for _a, n in then),
        done=sum(n for a, n in slots if _done_within(a, start, at)),
        overdue=sum(n for a, n in then if a.due_at < at),
        blocked=sum(n for a, n in then if a.status == "blocked"),
        stalled=sum(n for a, n in then if a.due_at >= at and at - a.touched_at >= STALLED_AFTER),
        due_next_week=sum(n for a, n in then if at <= a.due_at < at + WEEK),
    )


def charted(digest: Digest) -> tuple[list[IndicatorProgress], list[IndicatorProgress]]:
    """The indicators the chart has a panel for, in the digest's order, and those it has none for."""
    every = [p for area in digest.areas for p in area.indicators]
    return every[:CHART_PANELS], every[CHART_PANELS:]


def chart_series(digest: Digest) -> list[Series]:
    from bot.charts import Series  # matplotlib loads only where charts are drawn

    return [
        Series(
            p.indicator.name,
            p.indicator.unit,
            [(r.on, r.value) for r in p.readings],
            (p.indicator.baseline_date, p.indicator.baseline_value),
            (p.indicator.target_date, p.indicator.target_value),
            p.trend.verdict,
        )
        for p in charted(digest)[0]
    ]


# --- when digests go out ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    weekday: int
    at: time
    combined: bool


DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
SETTINGS_EXAMPLE = "`/clinic digest settings friday 16:00 combined`"


def read_preference(text: str, current: Preference) -> Preference:
    """`friday`, `16:00`, `combined` or `separate`, in any order; what is not said stays as it was."""
    weekday, at, combined = current.weekday, current.at, current.combined
    for word in text.lower().replace(",", " ").split():
        if (day := weekday_number(word)) is not None:
            weekday = day
        elif word in ("combined", "together", "one"):
            combined = True
        elif word in ("separate", "each", "per-clinic"):
            combined = False
        else:
            at = _time_of_day(word)
    return Preference(weekday, at, combined)


_TIME = re.compile(r"(\d{1,2})(?::?(\d\d))?(am|pm)?")


def _time_of_day(word: str) -> time:
    """`16:00`, `9:30`, `0930`, `9`, `4pm`, `4:30pm`."""
    match = _TIME.fullmatch(word)
    hour, minute = (int(match[1]), int(match[2] or 0)) if match else (-1, 0)
    if match and match[3]:
        hour = hour % 12 + (12 if match[3] == "pm" else 0) if 1 <= hour <= 12 else -1
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise UserError(f"I don't understand \u201c{word[:20]}\u201d. For example {SETTINGS_EXAMPLE}.")
    return time(hour, minute)


class DigestPlanner:
    """Queues each lead's and sponsor's digest once a week, at their own day and time (a digest missed
    on its day goes out at the next pass, not next week), keyed by ISO week so a second pass or another
    replica queues nothing twice."""

    def __init__(self, session_factory, clock, default: Preference, *, oauth_client_id: str | None = None) -> None:  # type: ignore[no-untyped-def]
        """`oauth_client_id`: the OAuth client when workspaces install the app, None with one token; a
        workspace that removed the app gets none."""
        self._sessions = session_factory
        self._clock = clock
        self.default = default
        self._oauth_client_id = oauth_client_id

    def preference(self, session: Session, team_id: str, user_id: str) -> Preference:
        row = queries.get_digest_preference(session, team_id, user_id)
        if row is None:
            return self.default
        return Preference(row.weekday, time.fromisoformat(row.at), row.combined)

    def plan(self) -> int:
        now = self._clock.now()
        queued = 0
        with self._sessions.begin() as session:
            leaders = queries.clinic_leaders(session, self._oauth_client_id)
            people = queries.users_by_id(session, set(leaders))
            rows = []
            for (team_id, user_id), clinics in leaders.items():
                person = people.get((team_id, user_id))
                tz = person.tz if person else "UTC"
                pref = self.preference(session, team_id, user_id)
                monday = week_start(now, tz)
                slot = datetime.combine(monday + timedelta(days=pref.weekday), pref.at, tzinfo=zone(tz))
                if now < slot:
                    continue
                # A clinic registered after this week's slot gets its first digest next week: left out now,
                # it neither joins this week's combined digest nor changes its key (which would send it twice).
                ids = sorted(c.id for c in clinics if c.created_at <= slot)
                units = ([ids] if ids else []) if pref.combined else [[i] for i in ids]
                for clinic_ids in units:
                    key = digest_key(team_id, user_id, monday, clinic_ids)
                    # The week starts at the previous slot, unless a digest went out since (_since_previous).
                    since = week_before(slot, tz).astimezone(UTC).isoformat()
                    payload = {"clinic_ids": clinic_ids, "tz": tz, "digest_key": key, "since": since}
                    common = {
                        "team_id": team_id,
                        "recipient": user_id,
                        "action_id": None,
                        "text": "",
                        "blocks": [],
                        "created_at": now,
                        "not_before": now,
                    }
                    rows.append({**common, "dedupe_key": key, "kind": "digest", "payload": payload})
                    rows.append({**common, "dedupe_key": "chart:" + key, "kind": "digest_chart", "payload": payload})
            fresh = queries.missing_keys(session, [r["dedupe_key"] for r in rows])
            rows = _not_had_this_week(session, [r for r in rows if r["dedupe_key"] in fresh], now)
            if rows:
                _since_previous(session, rows, now)
                queries.enqueue_many(session, rows)
                queued = len(rows) // 2
        return queued

    def render(self, session: Session, message) -> tuple[str, list] | None:  # type: ignore[no-untyped-def]
        """The digest as things stand now; when it was made and its headline figures are kept with it, for
        next week's to start its week there and compare with (as they stood, not as today's state would
        rebuild them)."""
        from bot.views.digest import digest_message

        digest = self._build(session, message)
        if digest is None:
            return None
        made = digest.now.astimezone(UTC).isoformat()
        message.payload = {**message.payload, "now": made, "headline": asdict(digest.headline)}
        return digest_message(digest, message.payload["tz"])

    def render_chart(self, session: Session, message):  # type: ignore[no-untyped-def]
        """The chart goes into the digest's DM, under it: wait until the digest itself is there."""
        from bot.charts import weekly_chart
        from bot.delivery import Upload
        from bot.slack import SlackUnavailable
        from bot.views.digest import chart_alt_text

        sent = queries.outbox_by_key(session, message.payload["digest_key"])
        if sent is None or sent.state in ("failed", "dropped"):
            return None
        if sent.state != "sent":
            raise SlackUnavailable("waiting for the digest to be sent first")
        digest = self._build(session, message)
        if digest is None:
            return None
        png = weekly_chart(f"{digest.title}: the last {WEEKS} weeks", digest.weeks, chart_series(digest))
        return Upload(
            png,
            "clinic-digest.png",
            f"{digest.title}: open, overdue and done per week",
            sent.sent_channel,
            sent.sent_ts,
            chart_alt_text(digest),
        )

    def _build(self, session: Session, message) -> Digest | None:  # type: ignore[no-untyped-def]
        """The queued digest as things stand, of the clinics its reader still leads or sponsors."""
        queued = (queries.get_clinic(session, message.team_id, i) for i in message.payload["clinic_ids"])
        clinics = [c for c in queued if c and message.recipient in (c.lead_id, c.sponsor_id)]
        if not clinics:
            return None
        payload = message.payload
        # No `since`: queued by a version that did not keep it.
        since = datetime.fromisoformat(payload["since"]) if "since" in payload else None
        return build(
            session,
            message.team_id,
            message.recipient,
            payload["tz"],
            clinics,
            self._clock.now(),
            since=since,
            last_week=_headline_said(payload.get("last_week")),
        )

    def change_preference(self, team_id: str, user_id: str, text: str) -> Preference:
        with self._sessions.begin() as session:
            pref = (
                read_preference(text, self.preference(session, team_id, user_id))
                if text
                else self.preference(session, team_id, user_id)
            )
            if text:
                queries.save_digest_preference(
                    session,
                    DigestPreference(
                        team_id=team_id,
                        user_id=user_id,
                        weekday=pref.weekday,
                        at=pref.at.strftime("%H:%M"),
                        combined=pref.combined,
                    ),
                )
            return pref

    def preview(self, team_id: str, user_id: str, tz: str) -> Digest | None:
        with self._sessions() as session:
            clinics = queries.clinics_of_leader(session, team_id, user_id)
            if not clinics:
                return None
            now = self._clock.now()
            sent = queries.sent_digests_since(session, {(team_id, user_id)}, now - LOOK_BACK)
            previous = _previous(sent, [c.id for c in clinics])
            if previous is None:
                return build(session, team_id, user_id, tz, clinics, now)
            since, said = previous
            return build(session, team_id, user_id, tz, clinics, now, since=since, last_week=_headline_said(said))


def digest_key(team_id: str, user_id: str, monday: date, clinic_ids: Sequence[int]) -> str:
    """The outbox key of a person's digest of these clinics for the week of `monday` (ISO week)."""
    year, week, _ = monday.isocalendar()
    return f"digest:{team_id}:{user_id}:{year}-W{week:02d}:{'-'.join(map(str, clinic_ids))}"


def _not_had_this_week(session: Session, rows: list[dict], now: datetime) -> list[dict]:
    """Leaves out every new digest of a person who already had one this week: one of the same clinics after
    switching to one combined digest or back, and one of a clinic they became lead or sponsor of midweek
    (it joins next week's; no record says when a clinic changed hands, but all of a week's digests are
    queued by one pass, so a clinic missing from them was not the person's at this week's slot). Asked
    only when some digest is new, so a pass with nothing new costs nothing here."""
    people = {(r["team_id"], r["recipient"]) for r in rows}
    had = {key.rpartition(":")[0] for key in queries.digest_keys_since(session, people, now - timedelta(days=8))}
    return [r for r in rows if r["payload"]["digest_key"].rpartition(":")[0] not in had]


def _since_previous(session: Session, rows: list[dict], now: datetime) -> None:
    """Starts each new digest's week where its reader's previous digest ended, and gives it what that digest
    said when it was about the same clinics. One query for all the readers of a pass."""
    sent: dict[tuple[str, str], list[OutboxMessage]] = defaultdict(list)
    for message in queries.sent_digests_since(session, {(r["team_id"], r["recipient"]) for r in rows}, now - LOOK_BACK):
        sent[message.team_id, message.recipient].append(message)
    for row in rows:
        previous = _previous(sent[row["team_id"], row["recipient"]], row["payload"]["clinic_ids"])
        if previous is not None:
            since, said = previous
            row["payload"] = {**row["payload"], "since": since.isoformat(), "last_week": said}


def _previous(sent: list[OutboxMessage], clinic_ids: Sequence[int]) -> tuple[datetime, dict | None] | None:
    """When the reader's previous digest was made, and the headline it said if it was about these clinics:
    of the digests of the latest week they had any, the one of the same clinics, else the last made.
    None when none was sent."""
    if not sent:
        return None
    week = max(m.dedupe_key.rpartition(":")[0] for m in sent)
    that_week = [m for m in sent if m.dedupe_key.rpartition(":")[0] == week]
    same = [m for m in that_week if m.dedupe_key.rpartition(":")[2] == "-".join(map(str, clinic_ids))]
    last = same[0] if same else max(that_week, key=_made)
    return _made(last), (last.payload or {}).get("headline") if same else None


def _made(digest: OutboxMessage) -> datetime:
    """When a sent digest was made: kept with it, or for one sent by a version that did not keep it, when it
    was sent (a moment after)."""
    made = (digest.payload or {}).get("now")
    return datetime.fromisoformat(made) if made else digest.sent_at or digest.created_at


def _headline_said(said: dict | None) -> Headline | None:
    """A headline kept in a digest's payload, if it was kept by this version."""
    known = said is not None and set(said) == {f.name for f in fields(Headline)}
    return Headline(**said) if known else None
