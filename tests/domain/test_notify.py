"""When a personal notification may go out (``domain/notify``): quiet hours (also past midnight) and the
daily digest, as a table of local (Beijing) times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from matcher.domain.notify import LOCAL, QuietHours, deliver_at, parse_clock
from matcher.errors import Invalid


def local(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=LOCAL).astimezone(UTC)


NIGHT = QuietHours.parse({"start": "22:00", "end": "07:30"})
LUNCH = QuietHours.parse({"start": "12:00", "end": "13:30"})


@pytest.mark.parametrize(("queued", "quiet", "digest", "expected"), [
    (local(3, 15), None, False, local(3, 15)),          # at once
    (local(3, 23), NIGHT, False, local(4, 7, 30)),      # in the night: at its end, the next morning
    (local(4, 1), NIGHT, False, local(4, 7, 30)),       # after midnight: the same morning
    (local(4, 7, 30), NIGHT, False, local(4, 7, 30)),   # the end itself is no longer quiet
    (local(3, 21, 59), NIGHT, False, local(3, 21, 59)),
    (local(3, 12, 15), LUNCH, False, local(3, 13, 30)),  # a quiet span within the day
    (local(3, 15), None, True, local(4, 8)),            # digest: tomorrow at 08:00
    (local(3, 7), None, True, local(3, 8)),             # digest: today at 08:00
    (local(3, 15), QuietHours.parse({"start": "07:00", "end": "09:00"}), True, local(4, 9)),  # digest held by quiet
])
def test_when_a_message_may_go(queued, quiet, digest, expected) -> None:  # type: ignore[no-untyped-def]
    assert deliver_at(queued, quiet, digest, 8) == expected


@pytest.mark.parametrize(("raw", "field"), [
    ({"start": "25:00", "end": "07:00"}, "quiet_hours.start"),
    ({"start": "22:00", "end": "7"}, "quiet_hours.end"),
    ({"start": "22:00", "end": "22:00"}, "quiet_hours"),
    ({"start": "22:00", "end": "07:00", "tz": "UTC"}, "quiet_hours"),
    ("22-7", "quiet_hours"),
])
def test_bad_quiet_hours_name_the_field(raw, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as bad:
        QuietHours.parse(raw)
    assert bad.value.field == field


def test_no_quiet_hours_and_clock_parsing() -> None:
    assert QuietHours.parse(None) is None and QuietHours.parse({}) is None
    assert parse_clock(" 07:05 ", "x").minute == 5
    assert NIGHT is not None and NIGHT.as_dict() == {"start": "22:00", "end": "07:30"}
