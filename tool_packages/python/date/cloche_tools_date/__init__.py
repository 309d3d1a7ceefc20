"""date.add, date.diff, date.info and date.now: calendar arithmetic on ISO 8601 dates."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Annotated, TypedDict

from cloche import Field, ToolError, tool

__all__ = ["add", "diff", "info", "now"]

DateOrDateTime = Annotated[
    dt.date | dt.datetime,
    Field(
        description="A date (2025-01-31) or date and time (2025-01-31T09:30:00, optional offset)."
    ),
]
_BUSINESS_DAY_LIMIT = 100_000


class Added(TypedDict):
    """The shifted date.

    Attributes:
        result: The new date (or date and time), ISO 8601.
        weekday: Its day of the week, e.g. Monday.
    """

    result: str
    weekday: str


class Difference(TypedDict):
    """How far apart two dates are (negative when end is before start).

    Attributes:
        days: Whole days from start to end.
        weeks: The same in weeks (fractional).
        business_days: Days from Monday to Friday in [start, end), weekends skipped.
        years: Whole calendar years in the difference...
        months: ...then whole months...
        remaining_days: ...then the days left over.
        total_seconds: The exact difference in seconds.
    """

    days: int
    weeks: float
    business_days: int
    years: int
    months: int
    remaining_days: int
    total_seconds: float


class DateInfo(TypedDict):
    """Calendar facts about a date.

    Attributes:
        date: The date, ISO 8601.
        weekday: Day of the week, e.g. Monday.
        iso_weekday: 1 for Monday to 7 for Sunday.
        iso_week: ISO 8601 week number.
        iso_year: The year the ISO week belongs to.
        day_of_year: 1 for January 1st.
        quarter: 1 to 4.
        days_in_month: Days in the date's month.
        is_leap_year: Whether the year has February 29th.
    """

    date: str
    weekday: str
    iso_weekday: int
    iso_week: int
    iso_year: int
    day_of_year: int
    quarter: int
    days_in_month: int
    is_leap_year: bool


class Now(TypedDict):
    """The current time.

    Attributes:
        utc: Date and time in UTC, ISO 8601.
        date: Today's date in UTC.
        weekday: Today's day of the week in UTC.
        unix_seconds: Seconds since 1970-01-01T00:00:00Z.
    """

    utc: str
    date: str
    weekday: str
    unix_seconds: float


@tool(title="Add to a date", read_only=True, idempotent=True, open_world=False)
def add(
    start: DateOrDateTime,
    years: int = 0,
    months: int = 0,
    weeks: int = 0,
    days: int = 0,
    hours: int = 0,
    minutes: int = 0,
    business_days: Annotated[
        int, Field(minimum=-_BUSINESS_DAY_LIMIT, maximum=_BUSINESS_DAY_LIMIT)
    ] = 0,
) -> Added:
    """Add (or, with negative numbers, subtract) years, months, weeks, days, hours, minutes and
    business days to a date. A month step that lands past a month's end stays on its last day
    (January 31 + 1 month = February 28 or 29).

    Args:
        start: The date to start from.
        business_days: Days Monday to Friday to step over, skipping weekends (applied last).
    """
    if (hours or minutes) and not isinstance(start, dt.datetime):
        start = dt.datetime.combine(start, dt.time())
    try:
        result = _add_months(start, years * 12 + months)
        result = result + dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
        result = _add_business_days(result, business_days)
    except OverflowError:
        raise ToolError("the result is outside the years 1 to 9999") from None
    return {"result": result.isoformat(), "weekday": result.strftime("%A")}


def _add_months(value: dt.date, months: int) -> dt.date:
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def _add_business_days(value: dt.date, count: int) -> dt.date:
    step = 1 if count > 0 else -1
    rest = abs(count)
    while rest:
        value = value + dt.timedelta(days=step)
        if value.weekday() < 5:
            rest -= 1
    return value


@tool(title="Difference between dates", read_only=True, idempotent=True, open_world=False)
def diff(start: DateOrDateTime, end: DateOrDateTime) -> Difference:
    """How far apart two dates are: in days, weeks, business days, in calendar years, months
    and days, and in seconds.

    Args:
        start: The earlier date, usually.
        end: The later date, usually.
    """
    a, b = _comparable(start, end)
    sign = -1 if b < a else 1
    low, high = (a, b) if sign == 1 else (b, a)
    low_day, high_day = _day(low), _day(high)
    months = (high_day.year - low_day.year) * 12 + high_day.month - low_day.month
    if _add_months(low, months) > high:
        months -= 1
    remaining = (high - _add_months(low, months)).days if months >= 0 else 0
    seconds = (b - a).total_seconds()
    return {
        "days": (_day(b) - _day(a)).days
        if not isinstance(a, dt.datetime)
        else int(seconds / 86400),
        "weeks": round(seconds / 604800, 4),
        "business_days": sign * _business_days(low_day, high_day),
        "years": sign * (months // 12),
        "months": sign * (months % 12),
        "remaining_days": sign * remaining,
        "total_seconds": seconds,
    }


def _comparable(a: dt.date, b: dt.date) -> tuple[dt.date, dt.date]:
    """Both dates, or both datetimes (a date means midnight); naive and aware cannot mix."""
    if isinstance(a, dt.datetime) or isinstance(b, dt.datetime):
        a, b = _as_datetime(a), _as_datetime(b)
        assert isinstance(a, dt.datetime) and isinstance(b, dt.datetime)
        if (a.tzinfo is None) != (b.tzinfo is None):
            raise ToolError("cannot compare a time with a UTC offset to one without")
    return a, b


def _as_datetime(value: dt.date) -> dt.date:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _business_days(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days in [start, end)."""
    total = (end - start).days
    weeks, rest = divmod(total, 7)
    count = weeks * 5
    for offset in range(rest):
        if (start.weekday() + offset) % 7 < 5:
            count += 1
    return count


@tool(title="Date facts", read_only=True, idempotent=True, open_world=False)
def info(value: Annotated[dt.date, Field(description="A date, e.g. 2025-01-31.")]) -> DateInfo:
    """Calendar facts about a date: weekday, ISO week, day of the year, quarter, days in its
    month and whether its year is a leap year."""
    iso = value.isocalendar()
    return {
        "date": value.isoformat(),
        "weekday": value.strftime("%A"),
        "iso_weekday": iso.weekday,
        "iso_week": iso.week,
        "iso_year": iso.year,
        "day_of_year": value.timetuple().tm_yday,
        "quarter": (value.month - 1) // 3 + 1,
        "days_in_month": calendar.monthrange(value.year, value.month)[1],
        "is_leap_year": calendar.isleap(value.year),
    }


@tool(title="Current date and time", read_only=True, idempotent=False, open_world=False)
def now() -> Now:
    """The current date and time in UTC, from the clock of the machine running the tool."""
    moment = dt.datetime.now(dt.UTC)
    return {
        "utc": moment.isoformat(timespec="seconds"),
        "date": moment.date().isoformat(),
        "weekday": moment.strftime("%A"),
        "unix_seconds": moment.timestamp(),
    }
