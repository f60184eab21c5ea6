"""Reading typed deadlines, and the instant that ends a day in someone's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.dates import DATE_HELP, DueDateError, describe_date, end_of_day, parse_due_date, parse_past_date

TUESDAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-04", date(2026, 12, 4)),
        ("4 Dec", date(2026, 12, 4)),
        ("Dec 4", date(2026, 12, 4)),
        ("4th December", date(2026, 12, 4)),
        ("December 4, 2026", date(2026, 12, 4)),
        ("04/12/2026", date(2026, 12, 4)),  # day first
        ("today", TUESDAY),
        ("tomorrow", date(2026, 11, 25)),
        ("friday", date(2026, 11, 27)),
        ("Fri", date(2026, 11, 27)),
        ("friday 4 dec", date(2026, 12, 4)),  # the weekday agrees with the date
        ("Fri 4th December 2026", date(2026, 12, 4)),
        ("tuesday", date(2026, 12, 1)),  # the next one, not today
        ("next friday", date(2026, 12, 4)),
        ("this friday", date(2026, 11, 27)),
        ("in 3 days", date(2026, 11, 27)),
        ("in 2 weeks", date(2026, 12, 8)),
        ("in a week", date(2026, 12, 1)),
        ("in two weeks", date(2026, 12, 8)),
        ("in 1 month", date(2026, 12, 24)),
        ("end of month", date(2026, 11, 30)),
        ("end of the month", date(2026, 11, 30)),
        ("end of next month", date(2026, 12, 31)),
        ("end of week", date(2026, 11, 27)),
        ("next week", date(2026, 11, 30)),
        ("next month", date(2026, 12, 1)),
        ("10 Jan", date(2027, 1, 10)),  # passed long ago this year: next year
        ("4 Dec 26", date(2026, 12, 4)),  # a two-digit year is this century's
        ("Dec 4 27", date(2027, 12, 4)),
        ("04/12/26", date(2026, 12, 4)),
        ("  By Friday. ", date(2026, 11, 27)),
    ],
)
def test_reads_the_forms_people_type(text, expected):
    assert parse_due_date(text, TUESDAY) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "missing"),
        ("soonish", "couldn't read"),
        ("32 Dec", "couldn't read"),
        ("2026-02-30", "couldn't read"),
        ("5", "couldn't read"),
        ("x" * 150, "couldn't read"),
        ("4 Nov", "in the past"),  # last month: a mistake, not next November
        ("2026-11-01", "in the past"),
        ("2040-01-01", "years away"),
        ("4 Jan 26", "Sun 4 Jan is in the past"),  # not next January: the year typed is kept
        ("4 Dec 12", "Tue 4 Dec 2012 is in the past"),
        ("4 Dec 1", "couldn't read"),  # a year is four digits, or two
        ("4 Dec 202", "couldn't read"),
        ("4/12/202", "couldn't read"),
        ("4 Dec 0000", "couldn't read"),
        ("29 Feb 2027", "2027 has no 29 Feb. Pick another day, or write 29 Feb 2028."),
        ("friday 5 dec", "5 Dec 2026 is a Saturday, not a Friday."),  # neither is guessed
        ("Fri, 5th December 2026", "5 Dec 2026 is a Saturday, not a Friday."),
        ("monday friday 4 dec", "4 Dec 2026 is a Friday, not a Monday."),
    ],
)
def test_refuses_what_it_cannot_use_and_says_how_to_write_it(text, says):
    with pytest.raises(DueDateError) as caught:
        parse_due_date(text, TUESDAY)
    assert says in str(caught.value)
    if says == "couldn't read":
        assert DATE_HELP in str(caught.value)
        assert len(str(caught.value)) < 300  # the user's text is quoted back, shortened


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        (date(2026, 11, 27), "friday", date(2026, 12, 4)),  # on a Friday, "friday" is next week's
        (date(2026, 11, 28), "end of week", date(2026, 12, 4)),  # on a Saturday, the coming Friday
        (date(2026, 11, 29), "next friday", date(2026, 12, 4)),
        (date(2027, 1, 31), "end of month", date(2027, 1, 31)),
        (date(2028, 2, 3), "end of month", date(2028, 2, 29)),  # leap year
        (date(2026, 12, 30), "2 Jan", date(2027, 1, 2)),
        (date(2027, 1, 15), "1 Nov", date(2027, 11, 1)),  # more than 60 days ago: next year's
    ],
)
def test_calendar_edges(today, text, expected):
    assert parse_due_date(text, today) == expected


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        (date(2026, 11, 28), "this friday", date(2026, 12, 4)),  # Saturday: the coming Friday, not yesterday's
        (date(2026, 11, 29), "this friday", date(2026, 12, 4)),  # Sunday
        (date(2026, 11, 29), "this monday", date(2026, 11, 30)),
        (date(2026, 11, 29), "this saturday", date(2026, 12, 5)),
        (date(2026, 11, 28), "this saturday", date(2026, 11, 28)),  # today
        (date(2026, 11, 28), "this sunday", date(2026, 11, 29)),
        (date(2026, 11, 27), "this friday", date(2026, 11, 27)),  # on a weekday, this week's, as before
    ],
)
def test_this_weekday_said_on_a_weekend_is_the_coming_one(today, text, expected):
    assert parse_due_date(text, today) == expected


def test_this_weekday_already_gone_on_a_weekday_is_still_refused_as_past():
    with pytest.raises(DueDateError, match="Mon 23 Nov is in the past"):
        parse_due_date("this monday", TUESDAY)


@pytest.mark.parametrize(("today", "text"), [(date(2027, 1, 15), "20 Dec"), (date(2027, 1, 3), "1 Dec")])
def test_a_day_just_past_across_new_year_is_a_mistake_as_in_any_month(today, text):
    """Typed in January, last December's day is refused as past, not taken for a deadline eleven months off."""
    with pytest.raises(DueDateError, match="in the past"):
        parse_due_date(text, today)


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        (date(2027, 12, 1), "29 Feb", date(2028, 2, 29)),  # the next one is next year's
        (date(2028, 1, 10), "Feb 29", date(2028, 2, 29)),
        (date(2028, 2, 29), "29 Feb", date(2028, 2, 29)),
        (date(2027, 12, 1), "29/02/28", date(2028, 2, 29)),
    ],
)
def test_29_february_is_read_in_a_leap_year(today, text, expected):
    assert parse_due_date(text, today) == expected


@pytest.mark.parametrize(
    ("today", "text", "says"),
    [
        # next year has no 29 February: the next real one is years away, so it must be typed, not guessed
        (date(2028, 5, 1), "Feb 29", "2029 has no 29 Feb. Pick another day, or write 29 Feb 2032."),
        (date(2027, 1, 10), "29 Feb", "2027 has no 29 Feb. Pick another day, or write 29 Feb 2028."),
        (date(2028, 3, 15), "29 Feb", "Tue 29 Feb is in the past"),  # within the 60 days: a mistake
    ],
)
def test_29_february_in_a_year_without_one_is_refused_never_moved(today, text, says):
    with pytest.raises(DueDateError) as caught:
        parse_due_date(text, today)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        (TUESDAY, "10 Jan 25", date(2025, 1, 10)),  # the year typed, not this January
        (TUESDAY, "10/01/25", date(2025, 1, 10)),
        (TUESDAY, "4 Dec", date(2025, 12, 4)),  # the latest such day
        (date(2028, 3, 15), "29 Feb", date(2028, 2, 29)),
        (date(2027, 1, 15), "29 Feb 2024", date(2024, 2, 29)),
    ],
)
def test_reading_dates(today, text, expected):
    assert parse_past_date(text, today) == expected


@pytest.mark.parametrize(
    ("today", "text", "says"),
    [
        (date(2028, 1, 15), "29 Feb", "2027 has no 29 Feb. Pick another day, or write 29 Feb 2024."),
        (date(2027, 3, 1), "29 Feb", "2027 has no 29 Feb. Pick another day, or write 29 Feb 2024."),
        (TUESDAY, "4 Dec 26", "Fri 4 Dec is in the future"),
        (TUESDAY, "10 Jan 5", "couldn't read"),
        (TUESDAY, "friday 23 nov", "23 Nov 2026 is a Monday, not a Friday."),
    ],
)
def test_reading_dates_refused(today, text, says):
    with pytest.raises(DueDateError) as caught:
        parse_past_date(text, today)
    assert says in str(caught.value)


@pytest.mark.parametrize(
    ("day", "tz", "utc"),
    [
        (date(2026, 3, 29), "Europe/London", datetime(2026, 3, 29, 22, 59, 59, tzinfo=UTC)),  # clocks went forward
        (date(2026, 10, 25), "Europe/London", datetime(2026, 10, 25, 23, 59, 59, tzinfo=UTC)),  # and back
        (date(2026, 11, 27), "America/New_York", datetime(2026, 11, 28, 4, 59, 59, tzinfo=UTC)),
        (date(2026, 11, 27), "Asia/Kolkata", datetime(2026, 11, 27, 18, 29, 59, tzinfo=UTC)),
        (date(2026, 11, 27), "Pacific/Auckland", datetime(2026, 11, 27, 10, 59, 59, tzinfo=UTC)),
        (date(2026, 11, 27), "Not/AZone", datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_end_of_day_is_the_last_second_of_that_day_locally(day, tz, utc):
    assert end_of_day(day, tz) == utc


def test_describe_date():
    assert describe_date(TUESDAY, TUESDAY) == "today"
    assert describe_date(date(2026, 11, 25), TUESDAY) == "tomorrow"
    assert describe_date(date(2026, 11, 27), TUESDAY) == "Fri 27 Nov"
    assert describe_date(date(2027, 1, 8), TUESDAY) == "Fri 8 Jan 2027"


todays = st.dates(date(2020, 1, 1), date(2035, 12, 31))


@given(todays, st.integers(0, 4 * 365))
def test_any_written_date_reads_back(today, ahead):
    day = today + timedelta(days=ahead)
    assert parse_due_date(day.isoformat(), today) == day
    assert parse_due_date(f"{day.day} {day:%b} {day.year}", today) == day
    assert parse_due_date(f"{day.day} {day:%b} {day:%y}", today) == day
    assert parse_due_date(f"{day:%d/%m/%y}", today) == day
    assert parse_due_date(f"{day:%A} {day.day} {day:%b} {day.year}", today) == day


@given(todays, st.integers(1, 365))
def test_in_n_days(today, n):
    assert parse_due_date(f"in {n} days", today) == today + timedelta(days=n)


@given(todays, st.sampled_from(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]))
def test_weekday_names(today, name):
    day = parse_due_date(name, today)
    assert 1 <= (day - today).days <= 7 and f"{day:%A}".lower() == name
    following = parse_due_date(f"next {name}", today)
    monday_next_week = today + timedelta(days=7 - today.weekday())
    assert monday_next_week <= following < monday_next_week + timedelta(days=7)


@given(todays, st.text(max_size=120))
def test_any_text_is_a_date_from_today_or_a_clear_refusal(today, text):
    try:
        assert parse_due_date(text, today) >= today
    except DueDateError as exc:
        assert str(exc)


@given(
    st.dates(date(2020, 1, 1), date(2035, 12, 31)),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney"]),
)
def test_end_of_day_is_always_that_local_day(day, tz):
    local = end_of_day(day, tz).astimezone(ZoneInfo(tz))
    assert (local.date(), local.hour, local.minute, local.second) == (day, 23, 59, 59)


days_of_a_leap_year = st.one_of(st.just(date(2028, 2, 29)), st.dates(date(2028, 1, 1), date(2028, 12, 31)))


@given(todays, days_of_a_leap_year)
def test_a_day_and_month_keep_the_day_and_month_typed(today, day):
    """Whatever the year chosen, the day is the one typed, or the answer is a clear refusal."""
    for parse in (parse_due_date, parse_past_date):
        try:
            read = parse(f"{day.day} {day:%b}", today)
        except DueDateError as exc:
            assert str(exc)
        else:
            assert (read.month, read.day) == (day.month, day.day)
