"""Reading the deadlines people type ("friday", "in 2 weeks", "4 Dec") and turning a day into the instant
that ends it in someone's time zone. Nothing here reads the clock: `today` is always given."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as dateparser
from dateutil.relativedelta import FR, MO, relativedelta, weekday

DATE_HELP = (
    "Write the date like 2026-12-04, 4 Dec, Dec 4, tomorrow, friday, next friday, in 3 days, "
    "in 2 weeks or end of month."
)
PAST_GRACE_DAYS = 60  # "4 Nov" typed in late November is a mistake, not next November
MAX_YEARS_AHEAD = 5

_WEEKDAYS = {
    name: weekday(index)
    for index, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}


def weekday_number(word: str) -> int | None:
    """Monday 0 to Sunday 6 for a day's full name or its usual short forms (`tue`, `tues`, `thurs`), in any
    case; None for anything else. Not a prefix match: `month` is not Monday, nor `sunrise` Sunday."""
    day = _WEEKDAYS.get(word.lower())
    return None if day is None else day.weekday


_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_IN = re.compile(r"^in (\d{1,3}|[a-z]+) (day|week|month)s?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SLASHED = re.compile(r"^\d{1,2}/\d{1,2}/\d+$")
_WORDY = re.compile(r"^(?=.*[a-z]{3})[a-z0-9 ,]+$")
_NUMBER = re.compile(r"\b\d+\b")
_LEAP_YEAR = 2000  # reads a day and month alone, so that 29 Feb is a day until we know its year


class DueDateError(ValueError):
    """The text is not a deadline we can read; `str(err)` is a complete, friendly sentence for the user."""


def parse_due_date(text: str, today: date) -> date:
    """The day a typed deadline means, seen from `today`.

    Numeric slashed dates are day first, as written in UK hospitals: 04/12/2026 is 4 December.
    "this <weekday>" is that day of the current week, so on a Wednesday "this monday" is refused as past;
    said on a weekend, it is the first such day from today on ("this friday" on a Saturday is the coming one).
    A two-digit year is this century's (4 Dec 26 is 4 December 2026); a year of one or three digits is refused.
    A day and month without a year mean the first such day from 60 days ago on: a day within those 60
    days (last December's, typed in January) is a mistake and refused; an earlier one means next year's.
    29 Feb without a year follows the same rule, and when that year has no 29 February it is refused with
    the next real one to write instead: a deadline years away should be typed, never guessed, and the day
    typed is never moved to the 28th. A weekday written beside a date ("friday 4 dec") must be that date's,
    or the text is refused naming the date's real weekday."""
    if len(text) > 100:
        raise _unreadable(text)
    cleaned = " ".join(text.lower().strip().rstrip(".").split())
    cleaned = re.sub(r"^(by|on) ", "", cleaned)
    if not cleaned:
        raise DueDateError("The deadline is missing. " + DATE_HELP)
    day = _relative(cleaned, today)
    if day is None:
        year, month, day_of_month, named = _calendar(cleaned, text)
        if year is None:
            # the first such day from 60 days ago: one in those 60 days is taken for a mistake (and refused
            # as past), not for next year's, in January as in November
            cutoff = today - timedelta(days=PAST_GRACE_DAYS)
            year = cutoff.year + ((month, day_of_month) < (cutoff.month, cutoff.day))
        day = _real_day(year, month, day_of_month, _next_leap_day(today))
        _check_weekday(day, named)
    if day < today:
        raise DueDateError(f"{describe_date(day, today)} is in the past. Pick today or a later date. {DATE_HELP}")
    check_horizon(day, today)
    return day


def check_horizon(day: date, today: date) -> None:
    """Refuses a deadline more than MAX_YEARS_AHEAD years after `today`: 2099 is a slip (for 2029, or a
    placeholder), and an action due then is never chased. Typed and picked deadlines all pass through here."""
    if day > today + relativedelta(years=MAX_YEARS_AHEAD):
        raise DueDateError(
            f"{describe_date(day, today)} is more than {MAX_YEARS_AHEAD} years away; "
            "pick a nearer deadline and move it later if needed."
        )


def _relative(text: str, today: date) -> date | None:
    if text == "today":
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if text in _WEEKDAYS:
        return today + relativedelta(days=1, weekday=_WEEKDAYS[text])
    first, _, rest = text.partition(" ")
    if first == "this" and rest in _WEEKDAYS and today.weekday() >= 5:
        # said on a Saturday or Sunday, "this friday" is the coming one: the week just ending has no days left
        return today + relativedelta(weekday=_WEEKDAYS[rest])
    if first in ("next", "this") and rest in _WEEKDAYS:
        monday = today + relativedelta(weekday=MO(-1))
        if first == "next":
            monday += timedelta(days=7)
        return monday + relativedelta(weekday=_WEEKDAYS[rest])
    if text in ("end of month", "end of the month"):
        return today + relativedelta(day=31)
    if text in ("end of next month", "end of the next month"):
        return today + relativedelta(months=1, day=31)
    if text in ("end of week", "end of the week", "end of this week"):
        return today + relativedelta(weekday=FR)  # on a weekend, the coming Friday
    if text == "next week":
        return today + relativedelta(days=1, weekday=MO)
    if text == "next month":
        return today + relativedelta(months=1, day=1)
    match = _IN.match(text)
    if match:
        amount_text, unit = match.groups()
        amount = int(amount_text) if amount_text.isdigit() else _NUMBER_WORDS.get(amount_text)
        if not amount or amount > 999:
            raise _unreadable(text)
        return today + relativedelta(**{unit + "s": amount})
    return None


def _calendar(cleaned: str, original: str) -> tuple[int | None, int, int, set[int]]:
    """The year (None when none was typed), month and day written in `cleaned`, and the weekdays (Monday 0)
    named beside them, which dateutil would otherwise drop.

    We read the year ourselves, so that a two-digit one always means this century's and never depends on the
    clock of the machine; dateutil reads only the day and month."""
    if _ISO.match(cleaned):
        try:
            day = date.fromisoformat(cleaned)
        except ValueError:
            raise _unreadable(original) from None
        return day.year, day.month, day.day, set()
    if _SLASHED.match(cleaned):
        day_and_month, _, year_text = cleaned.rpartition("/")
    elif _WORDY.match(cleaned):
        day_and_month, year_text = _split_year(re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", cleaned), original)
    else:
        raise _unreadable(original)
    year = int(year_text) + (2000 if len(year_text) == 2 else 0) if year_text else None
    if len(year_text) not in (0, 2, 4) or year == 0:  # four digits, or two meaning 20YY
        raise _unreadable(original)
    # Two different defaults tell us whether the text named a day and a month itself.
    try:
        first = dateparser.parse(day_and_month, dayfirst=True, default=datetime(_LEAP_YEAR, 1, 1))
        second = dateparser.parse(day_and_month, dayfirst=True, default=datetime(_LEAP_YEAR, 2, 2))
    except (ValueError, OverflowError, dateparser.ParserError):
        raise _unreadable(original) from None
    if first != second or first.year != _LEAP_YEAR or (first.hour, first.minute) != (0, 0):
        raise _unreadable(original)
    named = {_WEEKDAYS[word].weekday for word in re.findall(r"[a-z]+", day_and_month) if word in _WEEKDAYS}
    return year, first.month, first.day, named


def _split_year(text: str, original: str) -> tuple[str, str]:
    """Words with the year taken out, and the year's digits ("" when none). A date in words holds at most
    two numbers, the day and the year; the year is the four-digit one ("2026 Dec 4"), or else the last."""
    numbers = list(_NUMBER.finditer(text))
    if len(numbers) > 2:
        raise _unreadable(original)
    years = [number for number in numbers if len(number.group()) == 4] or numbers[1:]
    if not years:
        return text, ""
    year = years[0]
    return text[: year.start()] + text[year.end() :], year.group()


def _real_day(year: int, month: int, day: int, suggested_leap_day: date) -> date:
    """The date, or a refusal naming a real 29 February: a day that does not exist is never moved."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        raise DueDateError(f"{year} has no 29 Feb. Pick another day, or write 29 Feb {suggested_leap_day.year}.")
    return date(year, month, day)


def _check_weekday(day: date, named: set[int]) -> None:
    """A weekday typed beside a date ("friday 5 dec") must be that date's: when they disagree, either may be
    the mistake, so neither is guessed."""
    wrong = sorted(named - {day.weekday()})
    if wrong:
        raise DueDateError(
            f"{day.day} {day:%b %Y} is a {day:%A}, not a {calendar.day_name[wrong[0]]}. "
            "Check which day you mean and write it again."
        )


def _next_leap_day(today: date) -> date:
    """The first 29 February on or after `today`."""
    year = today.year + ((today.month, today.day) > (2, 29))
    while not calendar.isleap(year):
        year += 1
    return date(year, 2, 29)


def _last_leap_day(today: date) -> date:
    """The latest 29 February on or before `today`."""
    year = today.year - ((today.month, today.day) < (2, 29))
    while not calendar.isleap(year):
        year -= 1
    return date(year, 2, 29)


def _unreadable(text: str) -> DueDateError:
    shown = " ".join(text.split())
    shown = shown if len(shown) <= 40 else shown[:39] + "…"
    return DueDateError(f"I couldn't read \u201c{shown}\u201d as a date. {DATE_HELP}")


def end_of_day(day: date, tz: str) -> datetime:
    """The instant that ends `day` in the time zone `tz` (23:59:59 local), as an aware UTC datetime."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone).astimezone(UTC)


def describe_date(day: date, today: date) -> str:
    """Short words for a day: "today", "tomorrow", "Fri 27 Nov", or "Fri 27 Nov 2027" in another year."""
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    text = f"{day:%a} {day.day} {day:%b}"
    return text if day.year == today.year else f"{text} {day.year}"


READING_DATE_HELP = "Write the day like 2026-11-20, 20 Nov, Nov 20, today, yesterday, monday or last friday."
_AGO = re.compile(r"^(\d{1,3}|[a-z]+) (day|week)s? ago$")


def parse_past_date(text: str, today: date) -> date:
    """The day a reading was taken: today or before. A weekday means the latest one (today included),
    a day and month without a year the latest such day; a day in the future is refused. 29 Feb without a
    year, when the latest such day falls in a year without one, is refused with the last real one to write."""
    if len(text) > 100:
        raise _unreadable(text)
    cleaned = " ".join(text.lower().strip().rstrip(".").split())
    cleaned = re.sub(r"^(on|for) ", "", cleaned)
    if not cleaned or cleaned == "today":
        return today
    if cleaned == "yesterday":
        return today - timedelta(days=1)
    first, _, rest = cleaned.partition(" ")
    if cleaned in _WEEKDAYS or (first == "last" and rest in _WEEKDAYS):
        day = today + relativedelta(weekday=_WEEKDAYS[rest or cleaned](-1))
        return day - timedelta(days=7) if first == "last" and day == today else day
    ago = _AGO.match(cleaned)
    if ago:
        amount = int(ago.group(1)) if ago.group(1).isdigit() else _NUMBER_WORDS.get(ago.group(1))
        if not amount:
            raise DueDateError(f"I couldn't read \u201c{text.strip()[:40]}\u201d as a day. {READING_DATE_HELP}")
        return today - relativedelta(**{ago.group(2) + "s": amount})
    try:
        year, month, day_of_month, named = _calendar(cleaned, text)
    except DueDateError:
        shown = " ".join(text.split())[:40]
        raise DueDateError(f"I couldn't read \u201c{shown}\u201d as a day. {READING_DATE_HELP}") from None
    if year is None:  # the latest such day: 4 Dec, said in November, is last December's
        year = today.year if (month, day_of_month) <= (today.month, today.day) else today.year - 1
    day = _real_day(year, month, day_of_month, _last_leap_day(today))
    _check_weekday(day, named)
    if day > today:
        raise DueDateError(
            f"{describe_date(day, today)} is in the future: a reading is what was measured, "
            "so give today or an earlier day."
        )
    return day
