"""Dates and times as Indonesian officials write them: '20 Feb 2025', '14.05 WIB'."""

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date

WIB = ZoneInfo("Asia/Jakarta")


@lru_cache(maxsize=4096)  # Babel is slow and a board shows the same few dates many times
def format_day_date(value: date) -> str:
    """'20 Feb 2025' (Indonesian month abbreviations: Mei, Agu, Okt, Des)."""
    return format_date(value, "d MMM y", locale="id")


def parse_typed_date(text: str) -> date:
    """A date as typed: "15/12/2026" (day/month/year, as written in Indonesian offices, with
    "/", "-" or "."), or ISO "2026-12-15" (what a browser's date picker sends). ValueError
    otherwise."""
    value = text.strip()
    if len(value) >= 8 and value[4] == "-" and value[:4].isdigit():
        return date.fromisoformat(value)
    parts = value.replace("-", "/").replace(".", "/").split("/")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
        raise ValueError(f"not a date: {text!r}")
    day, month, year = (int(p) for p in parts)
    return date(year, month, day)


def format_long_date(value: date) -> str:
    """'Kamis, 20 Februari 2025'."""
    return format_date(value, "EEEE, d MMMM y", locale="id")


def format_wib_time(instant: datetime) -> str:
    """'20 Feb 2025 14.05 WIB': the instant in Western Indonesian Time."""
    local = instant.astimezone(WIB)
    return f"{format_day_date(local.date())} {local:%H.%M} WIB"
