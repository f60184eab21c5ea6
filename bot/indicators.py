"""The clinic method's numbers: reading a reported value, when the next reading is due, when to ask,
remind and tell the lead about a missing one, and the plain-words trend of an indicator.

Everything here is a pure function of its arguments (no clock, no database), so the digest, the
`/clinic metric` answer and the scheduler all say the same thing about the same readings.

The trend rule (`trend`, `verdict`):
- Fewer than 2 readings: "too few readings to say" (the baseline alone shows no movement).
- Otherwise take the last 3 readings (or 2), fit a straight line through them by date (least squares),
  and take the change that line makes from the first of them to the last: a zig-zag cancels out,
  a steady move does not.
- That change is "flat" when it is within 5% of the scale: the gap between baseline and target (or,
  when they are equal, the baseline itself; when that is 0, any change counts).
- Otherwise it is "improving" when it moves the good way (`direction` up: rising; down: falling), else
  "worsening"."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from dateutil.relativedelta import relativedelta

from bot.errors import UserError
from bot.working_time import WorkingHours

KINDS = {"lead": "lead indicator: is execution improving now?", "lag": "lag indicator: did the outcome move?"}
DIRECTIONS = {"up": "up is good", "down": "down is good"}
CADENCES = {"weekly": relativedelta(weeks=1), "fortnightly": relativedelta(weeks=2), "monthly": relativedelta(months=1)}

IMPROVING, FLAT, WORSENING, TOO_FEW = "improving", "flat", "worsening", "too few readings to say"
Verdict = Literal["improving", "flat", "worsening", "too few readings to say"]
WINDOW = 3  # readings the trend looks at
MIN_READINGS = 2
FLAT_TOLERANCE = 0.05  # of the baseline-target gap

NAME_LIMIT = 80
UNIT_LIMIT = 20
MAX_MAGNITUDE = 1e12


@dataclass(frozen=True)
class Reading:
    on: date
    value: float


@dataclass(frozen=True)
class Trend:
    """What the readings say. `change` is latest minus previous; `progress_to_target` is how far the latest
    reading has gone from baseline to target (0 at the baseline, 1 on target; below 0 when it went the wrong
    way, above 1 past the target; None without readings or when baseline equals target)."""

    verdict: Verdict
    latest: Reading | None
    previous: Reading | None
    change: float | None
    progress_to_target: float | None
    readings: int


def trend(direction: str, readings: Sequence[Reading], baseline: float, target: float | None = None) -> Trend:
    ordered = sorted(readings, key=lambda r: r.on)
    latest = ordered[-1] if ordered else None
    previous = ordered[-2] if len(ordered) >= 2 else None
    change = latest.value - previous.value if latest and previous else None
    progress = None
    if latest is not None and target is not None and target != baseline:
        progress = (latest.value - baseline) / (target - baseline)
    return Trend(
        verdict=verdict(direction, ordered, baseline, target),
        latest=latest,
        previous=previous,
        change=change,
        progress_to_target=progress,
        readings=len(ordered),
    )


def verdict(direction: str, readings: Sequence[Reading], baseline: float, target: float | None = None) -> Verdict:
    """improving / flat / worsening / too few readings to say: the rule is in the module's docstring."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction is up or down, not {direction!r}")
    window = sorted(readings, key=lambda r: r.on)[-WINDOW:]
    if len(window) < MIN_READINGS:
        return TOO_FEW
    moved = _fitted_change(window)
    scale = abs(target - baseline) if target is not None and target != baseline else abs(baseline)
    if abs(moved) <= FLAT_TOLERANCE * scale:
        return FLAT
    good = moved > 0 if direction == "up" else moved < 0
    return IMPROVING if good else WORSENING


def _fitted_change(window: Sequence[Reading]) -> float:
    """The change a least-squares line through the readings makes from the first day to the last."""
    first = window[0].on
    xs = [float((r.on - first).days) for r in window]
    ys = [r.value for r in window]
    span = xs[-1] - xs[0]
    if span == 0:
        return ys[-1] - ys[0]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    return slope * span


# --- values and units -------------------------------------------------------------------------------

UNIT_WORDS = {
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "pc": "%",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "wk": "weeks",
    "wks": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "£": "£",
    "gbp": "£",
    "$": "$",
    "usd": "$",
    "€": "€",
    "eur": "€",
}
CURRENCIES = "£$€"  # read before the number (`£1,200`) as well as after it
# A comma or space groups thousands only after a leading group of 1-3 digits that does not start with 0:
# `1,500` and `1 500` are 1500, but `0,500` is 0.5 written the European way, refused rather than read as 500.
_NUMBER = re.compile(r"^(?P<sign>[-+]?)(?P<number>[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)$")
_GROUPED = re.compile(r"[-+]? *(?:[1-9]\d{0,2}(?: \d{3})+|[\d,]+)(?:\.\d+)?")
_DECIMAL_COMMA = re.compile(r"(?P<zero>[-+]?0+)[, ](?P<digits>\d+)|(?P<whole>[-+]?\d+)[, ](?P<fraction>\d{1,2})")
_SPLIT = re.compile(rf"^(?P<number>[-+−]?[{CURRENCIES}]?[\d.,]+(?:[eE][-+−]?\d+)?)\s*(?P<unit>[^\d\s].*)?$")
_EXPONENT = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)[eE][-+]?\d+")


def unit_key(unit: str) -> str:
    """One spelling per unit, so `45 min` matches an indicator counted in minutes."""
    word = " ".join(unit.casefold().split()).rstrip(".")
    if word in UNIT_WORDS:
        return UNIT_WORDS[word]
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def is_unit_word(token: str, unit: str) -> bool:
    """Whether words after a value are its unit (`45 min`, `45 per cent`, `600 bed days`) rather than the
    start of a date (`45 monday`)."""
    return bool(re.fullmatch(r"[^\d\s]+(?: [^\d\s]+)*", token)) and (
        token.casefold() in UNIT_WORDS or (bool(unit) and unit_key(token) == unit_key(unit))
    )


def clean_unit(unit: str) -> str:
    unit = " ".join(unit.split())
    if len(unit) > UNIT_LIMIT:
        raise UserError(f"Keep the unit under {UNIT_LIMIT} characters (%, minutes, patients).", field="unit")
    if re.search(r"\d", unit):
        raise UserError("The unit is a word or a sign (%, minutes, patients), without numbers.", field="unit")
    return unit


def read_number(text: str, field: str, what: str = "the value") -> float:
    """A number as people type it: `12`, `12.5`, `3,400`, `3 400`, `-2`. Anything else is a UserError on
    `field`; a comma or space is read only between groups of three digits after a leading group not starting
    with 0, so `42 5` and `0,500` are refused (saying to write 42.5, 0.5), not read as 425 or 500, and `1e9`
    is refused saying to write it in plain digits."""
    raw = text.strip().replace("\u2212", "-")
    compact = raw.replace(" ", "") if _GROUPED.fullmatch(raw) else raw
    match = _NUMBER.match(compact)
    if not raw:
        raise UserError(f"Write {what} as a number, for example 12 or 12.5.", field=field)
    if match is None:
        shown = raw if len(raw) <= 30 else raw[:29] + "…"
        if _EXPONENT.fullmatch(compact):
            raise UserError(_with_an_exponent(shown, float(compact), what), field=field)
        hint = f" (use a point for decimals: {pointed})" if (pointed := _with_a_point(compact)) else ""
        raise UserError(f"\u201c{shown}\u201d is not a number{hint}. Write {what} like 12, 12.5 or 3,400.", field=field)
    value = float(match.group("number").replace(",", ""))
    value = -value if match.group("sign") == "-" else value
    if not math.isfinite(value) or abs(value) >= MAX_MAGNITUDE:
        raise UserError(f"{what.capitalize()} is too large to be a reading.", field=field)
    return value


def _with_an_exponent(shown: str, value: float, what: str) -> str:
    """Why `1e9` is refused: what is wrong is how it is written, so say so, with the digits to write instead
    when they are short enough to copy."""
    if not math.isfinite(value) or abs(value) >= MAX_MAGNITUDE:
        return f"{what.capitalize()} is too large to be a reading."
    digits = typed_value(value)
    written = f": {digits}" if len(digits) <= 20 else ""
    return f"\u201c{shown}\u201d has an exponent; write {what} in plain digits{written}."


def _with_a_point(text: str) -> str | None:
    """`3,4`, `42 5` or `0,500` as the decimal it most likely means (3.4, 42.5, 0.5), or None when it does not
    look like a decimal written with a comma (or a space)."""
    decimal = _DECIMAL_COMMA.fullmatch(text)
    if decimal is None:
        return None
    whole = decimal.group("zero").rstrip("0") + "0" if decimal.group("zero") else decimal.group("whole")  # `00,5`
    fraction = (decimal.group("digits") or decimal.group("fraction")).rstrip("0") or "0"
    return f"{whole}.{fraction}"


def read_value(text: str, unit: str, field: str = "value") -> float:
    """A reported value with an optional unit (`12.5%`, `45 min`, `£1,200`, `$1,200`, `£1.2k` for an
    indicator in £k); a unit that is not the indicator's is refused rather than converted, so a reading is
    never silently misread (`£1,200` for one in £k, `1.2k` for one in patients)."""
    raw = " ".join(text.strip().split())
    split = _SPLIT.match(raw)
    number_text, given = (split.group("number"), split.group("unit") or "") if split else (raw, "")
    currency = number_text.lstrip("-+−")[:1]
    if currency and currency in CURRENCIES:
        # The sign before the number is part of the unit: `£1.2k` is in £k (as `1.2 £k` is), while `£1,200 GBP`
        # names £ twice; `£1,200 USD` is in neither, so it is refused, not read as $1,200.
        given = given if unit_key(given) == unit_key(currency) else currency + given
        number_text = number_text.replace(currency, "", 1)
    value = read_number(number_text, field)
    if given and unit_key(given) != unit_key(unit):
        measured = f"in {unit}" if unit else "as a plain number, without a unit"
        raise UserError(
            f"This indicator is measured {measured}, not in \u201c{given[:20]}\u201d. Nothing was stored.",
            field=field,
        )
    return value


def show_value(value: float, unit: str) -> str:
    """12, 12.5, 3,400 (at most 2 decimals, more where 2 would round a value to a whole number it is not:
    99.996% is not 100%); under 1, up to 3 significant digits, so that a small rate reads as typed (0.004,
    0.0125, 0.123) rather than as 0 or 0.01. With the unit after it (`12.5%`, `45 minutes`), but for a sum of
    money, whose sign goes before it (`£1,200`, `£1.2k`, `-$40 per bed day`)."""
    if value == int(value):
        text = f"{int(value):,}"
    else:
        places = 2 if abs(value) >= 1 else 2 - math.floor(math.log10(abs(value)))
        while places < 6 and round(value, places) == round(value):
            places += 1
        text = f"{value:,.{places}f}".rstrip("0").rstrip(".")
    if unit[:1] and unit[0] in CURRENCIES:
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        return f"{sign}{unit[0]}{digits}{unit[1:]}"
    if not unit:
        return text
    return f"{text}{unit}" if unit in ("%",) else f"{text} {unit}"


def typed_value(value: float) -> str:
    """A stored value as it goes back into a form: every digit kept, no thousands separator, no
    exponent, so that `read_number` reads exactly the same value back (4.375, 0.004, 1234567.5)."""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- when readings are due ------------------------------------------------------------------------


def next_due(cadence: str, after: date) -> date:
    """The day the next reading is due: one cadence after the latest reading (or the baseline)."""
    return after + CADENCES[cadence]


@dataclass(frozen=True)
class ReportState:
    """What asking for one indicator's reading depends on."""

    due_on: date  # the reporter's local day
    reporter_id: str
    reporter_tz: str
    lead_id: str
    lead_tz: str
    step: int  # 0 nothing sent for this due day, 1 asked, 2 reminded, 3 the lead told


ASK, REMIND, LEAD = 1, 2, 3
STEP_KINDS = {ASK: "ask", REMIND: "remind", LEAD: "lead"}


@dataclass(frozen=True)
class ReportStep:
    number: int  # ASK, REMIND or LEAD
    recipient: str
    tz: str
    due_at: datetime

    @property
    def kind(self) -> str:
        return STEP_KINDS[self.number]


def report_plan(state: ReportState, hours: WorkingHours, remind_after: int, lead_after: int) -> list[ReportStep]:
    """Every step for the current due day, in order: ask at the opening of the reporter's working day it
    falls due (or the next), remind `remind_after` working days later, tell the lead `lead_after` working
    days after asking (not when the reporter is the lead), but never before the working day after the
    reminder: a clinic that reminds later than it tells the lead still reminds the reporter first."""
    reporter = state.reporter_tz
    ask_at = hours.next_open(hours.window(state.due_on, reporter)[0], reporter)
    remind_at = hours.start_of_working_day_after(ask_at, remind_after, reporter)
    steps = [
        ReportStep(ASK, state.reporter_id, reporter, ask_at),
        ReportStep(REMIND, state.reporter_id, reporter, remind_at),
    ]
    if state.lead_id != state.reporter_id:
        at = max(
            hours.start_of_working_day_after(ask_at, lead_after, state.lead_tz),
            hours.start_of_working_day_after(remind_at, 1, state.lead_tz),
        )
        steps.append(ReportStep(LEAD, state.lead_id, state.lead_tz, at))
    return steps


@dataclass(frozen=True)
class ReportDecision:
    steps: list[ReportStep]  # to send now
    step: int  # progress once they are queued
    next_check: datetime | None  # None: nothing more until a reading arrives or the indicator changes


def decide_reports(
    state: ReportState, now: datetime, hours: WorkingHours, *, remind_after: int, lead_after: int
) -> ReportDecision:
    """What to send at `now`. At most one message to the reporter (after downtime the latest due, not
    every one missed), and the lead only once the reporter has been reminded: the lead is told so."""
    plan = [s for s in report_plan(state, hours, remind_after, lead_after) if s.number > state.step]
    due = [s for s in plan if s.due_at <= now]
    to_reporter = [s for s in due if s.number in (ASK, REMIND)][-1:]
    reminded = state.step >= REMIND or any(s.number == REMIND for s in to_reporter)
    chosen = to_reporter + [s for s in due if s.number == LEAD and reminded]
    step = max([state.step, *(s.number for s in chosen)])
    later = [s.due_at for s in plan if s.number > step]
    return ReportDecision(chosen, step, min(later, default=None))


def first_due(cadence: str, baseline_date: date, latest: date | None, today: date) -> date:
    """When a new or changed indicator's next reading is due: a cadence after its latest reading (or its
    baseline), but never before today (what was missed before it existed is not chased)."""
    return max(next_due(cadence, latest or baseline_date), today)
