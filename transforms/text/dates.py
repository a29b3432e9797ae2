"""Finding publication dates in article text and metadata.

Plain-text articles often carry their date as a line of page furniture
("Oct 10, 2024, 3:36pm EDT"). trafilatura cannot see it (it returns nothing on
plain text), so this module reads the common English spellings: month names,
day-month order, and ISO 8601. Numeric forms like 07/08/2024 are ambiguous
between US and European order and are deliberately not guessed.

A time-zone abbreviation after the time ("EDT", "CEST", "WIB") is read with
dateparser's table, which gives each one offset (its documented pick where the
tz database has several), except where threadwatch has always read one
otherwise (``_READ_AS_BEFORE``). An unknown one, or none, is UTC.
"""

import datetime as dt
import re

from dateparser.timezone_parser import pop_tz_offset_from_string

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

#: Where dateparser's table reads an abbreviation otherwise than threadwatch
#: did before it used the table: IST is Israel Standard Time (+2) there, and
#: India Standard Time here, as in the Indian outlets' datelines we read
#: (tests/transforms/text/test_dates.py pins it).
_READ_AS_BEFORE = {"IST": dt.timedelta(hours=5, minutes=30)}

_MONTH = (
    r"(?P<mon>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?"
    r"|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_TIME = (
    r"(?:\s*(?:,|at|-|–|—)?\s*(?P<hour>\d{1,2})(?:[:.](?P<minute>\d{2}))?\s*"
    r"(?P<ampm>[aApP]\.?[mM]\.?)?(?:\s*(?P<tz>[A-Z]{1,4}\b))?)?"
)
_MONTH_FIRST = re.compile(
    r"\b"
    + _MONTH
    + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\s*,?\s+(?P<year>(?:19|20)\d{2})\b"
    + _TIME
)
_DAY_FIRST = re.compile(
    r"\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r",?\s+(?P<year>(?:19|20)\d{2})\b"
)
_ISO = re.compile(
    r"\b(?P<year>(?:19|20)\d{2})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?"
    r"\s*(?P<offset>Z|[+-]\d{2}:?\d{2})?)?\b"
)


def _tz(name: str | None, offset: str | None) -> dt.tzinfo:
    if offset:
        if offset == "Z":
            return dt.UTC
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:4])
        return dt.timezone(sign * dt.timedelta(minutes=minutes))
    if name:
        name = name.upper()
        if name in _READ_AS_BEFORE:
            return dt.timezone(_READ_AS_BEFORE[name])
        zone = pop_tz_offset_from_string(f" {name}")[1]  # a whole word only
        if zone is not None:
            return dt.timezone(zone.utcoffset(None))
    return dt.UTC


def _build(match: re.Match[str]) -> dt.datetime | None:
    groups = match.groupdict()
    try:
        mon = groups.get("mon")
        month = _MONTHS[mon[:3].lower()] if mon else int(groups["month"])
        day = int(groups["day"])
        year = int(groups["year"])
        hour = int(groups["hour"]) if groups.get("hour") else 0
        minute = int(groups["minute"]) if groups.get("minute") else 0
        second = int(groups["second"]) if groups.get("second") else 0
        ampm = (groups.get("ampm") or "").lower().replace(".", "")
        if ampm:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        elif groups.get("hour") and not groups.get("minute") and not groups.get("offset"):
            # A bare number after a date ("May 3, 2013 12 people…") is not a time.
            hour = 0
        tzinfo = _tz(groups.get("tz"), groups.get("offset"))
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=tzinfo)
    except (ValueError, KeyError):
        return None


def find_date(text: str) -> tuple[dt.datetime, str] | None:
    """Returns the first date written in ``text``, with the matched string.

    "First" is by position in the text: the date a page shows near its top is
    the publication date far more often than dates quoted in the body.
    """
    best: tuple[int, dt.datetime, str] | None = None
    for pattern in (_MONTH_FIRST, _DAY_FIRST, _ISO):
        for match in pattern.finditer(text):
            value = _build(match)
            if value is None:
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), value, match.group(0).strip())
            break
    if best is None:
        return None
    return best[1], best[2]


def parse_dateline(line: str) -> dt.datetime | None:
    """Parses a line that consists of a date and nothing else (page furniture)."""
    stripped = line.strip().strip("|•·-–— ")
    if not stripped or len(stripped) > 60:
        return None
    for pattern in (_MONTH_FIRST, _DAY_FIRST, _ISO):
        match = pattern.fullmatch(stripped)
        if match:
            return _build(match)
    # "Published: Oct 10, 2024" and "Updated Oct 10, 2024 3:36pm EDT".
    prefixed = re.fullmatch(r"(?:published|updated|posted)(?: on)?:?\s+(.*)", stripped, re.I)
    if prefixed:
        return parse_dateline(prefixed.group(1))
    return None


def parse_datetime(value: str) -> dt.datetime:
    """Parses a metadata timestamp (ISO 8601 or a written date); raises ValueError.

    A value without a time zone is taken as UTC so that the same input always
    gives the same instant, whatever the machine's zone.
    """
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        found = parse_dateline(text)
        if found is None:
            raise ValueError(f"not a date: {value!r}") from None
        parsed = found
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed
