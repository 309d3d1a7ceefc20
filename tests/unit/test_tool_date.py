"""date.add, date.diff, date.info and date.now."""

import datetime as dt
import json

import pytest
from _tool_support import import_tool_package

from cloche import McpServer, ToolError

date = import_tool_package("date")


@pytest.mark.parametrize(
    ("start", "kwargs", "expected"),
    [
        (dt.date(2024, 1, 31), {"months": 1}, "2024-02-29"),
        (dt.date(2023, 1, 31), {"months": 1}, "2023-02-28"),
        (dt.date(2024, 2, 29), {"years": 1}, "2025-02-28"),
        (dt.date(2025, 3, 31), {"months": -1}, "2025-02-28"),
        (dt.date(2025, 12, 15), {"weeks": 3}, "2026-01-05"),
        (dt.date(2025, 1, 3), {"business_days": 1}, "2025-01-06"),
        (dt.date(2025, 1, 4), {"business_days": 5}, "2025-01-10"),
        (dt.date(2025, 1, 6), {"business_days": -1}, "2025-01-03"),
        (dt.date(2025, 1, 1), {"hours": 36}, "2025-01-02T12:00:00"),
        (
            dt.datetime(2025, 1, 1, 23, 30, tzinfo=dt.UTC),
            {"minutes": 45},
            "2025-01-02T00:15:00+00:00",
        ),
    ],
)
def test_add(start: dt.date, kwargs: dict[str, int], expected: str) -> None:
    assert date.add(start, **kwargs)["result"] == expected


def test_add_names_the_weekday_and_refuses_years_past_9999() -> None:
    assert date.add(dt.date(2025, 1, 1), days=1)["weekday"] == "Thursday"
    with pytest.raises(ToolError, match="outside the years 1 to 9999"):
        date.add(dt.date(9999, 12, 1), months=1)


def test_diff_in_days_business_days_and_calendar_units() -> None:
    assert date.diff(dt.date(2024, 1, 31), dt.date(2025, 3, 1)) == {
        "days": 395,
        "weeks": 56.4286,
        "business_days": 283,
        "years": 1,
        "months": 1,
        "remaining_days": 1,
        "total_seconds": 34128000.0,
    }


def test_diff_backwards_is_negative() -> None:
    result = date.diff(dt.date(2025, 1, 10), dt.date(2025, 1, 3))
    assert (result["days"], result["business_days"], result["remaining_days"]) == (-7, -5, -7)


def test_diff_with_times_and_offsets() -> None:
    result = date.diff(dt.datetime(2025, 1, 1, 12), dt.date(2025, 1, 3))
    assert (result["days"], result["total_seconds"]) == (1, 129600.0)
    with pytest.raises(ToolError, match="UTC offset"):
        date.diff(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 1, 2))


def test_info_of_a_date_in_the_next_iso_year() -> None:
    assert date.info(dt.date(2024, 12, 30)) == {
        "date": "2024-12-30",
        "weekday": "Monday",
        "iso_weekday": 1,
        "iso_week": 1,
        "iso_year": 2025,
        "day_of_year": 365,
        "quarter": 4,
        "days_in_month": 31,
        "is_leap_year": True,
    }


def test_now_is_utc_and_current() -> None:
    result = date.now()
    moment = dt.datetime.fromisoformat(result["utc"])
    assert moment.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC).timestamp() - result["unix_seconds"]) < 5


def test_through_mcp_dates_and_datetimes_are_parsed_from_iso_text() -> None:
    server = McpServer([date.add, date.diff])

    def call(name: str, arguments: dict[str, object]) -> dict[str, object]:
        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
        message["params"] = {"name": name, "arguments": arguments}  # type: ignore[assignment]
        return json.loads(server.handle(json.dumps(message)) or "")  # type: ignore[no-any-return]

    reply = call("add", {"start": "2025-01-31T10:00:00+02:00", "months": 1})
    assert reply["result"]["structuredContent"]["result"] == "2025-02-28T10:00:00+02:00"  # type: ignore[index]
    reply = call("diff", {"start": "2025-01-01", "end": "31.01.2025"})
    assert reply["error"]["code"] == -32602  # type: ignore[index]
    assert "end: expected a date (YYYY-MM-DD) or a date and time" in reply["error"]["message"]  # type: ignore[index]
