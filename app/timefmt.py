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


def format_long_date(value: date) -> str:
    """'Kamis, 20 Februari 2025'."""
    return format_date(value, "EEEE, d MMMM y", locale="id")


def format_wib_time(instant: datetime) -> str:
    """'20 Feb 2025 14.05 WIB': the instant in Western Indonesian Time."""
    local = instant.astimezone(WIB)
    return f"{format_day_date(local.date())} {local:%H.%M} WIB"
