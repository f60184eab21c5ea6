"""Action text is not a clinical record. Titles, notes, reasons and one-to-one topics that look like they
identify a patient are refused with an explanation, before anything is stored.

What counts: an NHS number (ten digits, spaced or not, that pass the NHS modulus-11 check), a date of birth
(a date marked "DOB", "born", "date of birth", or a full date at least a year back straight after a
capitalised name: "Board Round 04/12/2026" is a meeting, "Jane Smith 12/03/1954" is a person), and
any of the local record-number patterns an organisation sets (`PATIENT_ID_PATTERNS`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from dateutil import parser as dateparser
from dateutil.relativedelta import relativedelta

from bot.clock import Clock
from bot.errors import UserError

# Ten digits not inside a longer number (1-943-476-5919-2); a hyphen next to a word (NHS-943 476 5919) is
# only punctuation.
_TEN_DIGITS = re.compile(r"(?<!\d)(?<!\d-)(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?!-?\d)")
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}"  # 12/03/1954, 12.3.54
    r"|\d{1,2}(?:st|nd|rd|th)?[ -][A-Z][a-z]{2,8}\.?[ -](?:19|20)\d{2}"  # 3 March 1950, 03-Mar-1950
    r"|(?:19|20)\d{2}-\d{2}-\d{2})"  # 1954-03-12
)
_DOB_MARKED = re.compile(rf"\b(?:d\.?o\.?b\.?|date of birth|born(?: on)?)\s*[:,-]?\s*{_DATE}", re.IGNORECASE)
_NAME = (
    r"(?:[A-Z][a-z]+(?:[ -][A-Z][a-z'-]+)+"  # Jane Smith, Mrs Jane Smith-Jones
    r"|[A-Z][A-Z'-]+, ?[A-Z][a-z'-]+(?:[ -][A-Z][a-z'-]+)*)"  # SMITH, Jane: as NHS systems show names
)
_NAME_THEN_DATE = re.compile(rf"\b{_NAME}\s*[,(]?\s*({_DATE.replace('(?:19|20)?', '(?:19|20)')})")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
# Text pasted from web pages and documents brings no-break, narrow and figure spaces (and tabs); they
# read as the spaces they look like. Line breaks stay breaks.
_SPACE = re.compile(r"[^\S\n]")

ADVICE = (
    "Clinic Bot is not a clinical record, so I don't store anything that could identify a patient. "
    "Use a local reference instead (a ward and bed, or your team's case reference)."
)


def valid_nhs_number(digits: str) -> bool:
    """The NHS modulus-11 check: weights 10..2 on the first nine digits; 11 - (sum mod 11) is the check
    digit, 11 meaning 0 and 10 meaning the number is not valid."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(digits[9])


def _day(written: str) -> date | None:
    """The day a date matched by `_DATE` names, or None for one no calendar has (31/02/1954, 3 Ward 2024)."""
    try:
        if _ISO.fullmatch(written):
            return date.fromisoformat(written)
        return dateparser.parse(written, dayfirst=True).date()
    except (ValueError, OverflowError):  # dateutil's ParserError is a ValueError
        return None


class PatientData:
    def __init__(self, clock: Clock, local_patterns: Sequence[str] = ()) -> None:
        self._clock = clock
        self._local = [re.compile(p) for p in local_patterns]

    def _birth_date_after_name(self, text: str) -> bool:
        a_year_ago = self._clock.now().date() - relativedelta(years=1)
        return any(day <= a_year_ago for match in _NAME_THEN_DATE.finditer(text) if (day := _day(match.group(1))))

    def found_in(self, text: str) -> str | None:
        """What in `text` looks like it identifies a patient, in words, or None."""
        text = _SPACE.sub(" ", text)
        for match in _TEN_DIGITS.finditer(text):
            if valid_nhs_number("".join(match.groups())):
                return "an NHS number"
        if _DOB_MARKED.search(text) or self._birth_date_after_name(text):
            return "a date of birth"
        if any(p.search(text) for p in self._local):
            return "a patient record number"
        return None

    def refuse(self, text: str, field: str) -> str:
        """`text` unchanged, or a UserError (naming the field) when it looks like patient data."""
        found = self.found_in(text)
        if found:
            raise UserError(f"That looks like {found}. {ADVICE}", field=field)
        return text
