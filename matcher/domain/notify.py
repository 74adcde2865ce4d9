"""When a personal notification may go out: a user's quiet hours and their choice of a daily digest.

Plain rules on plain values (no database), so they are tested as a table. Times are the province's wall
clock (Asia/Shanghai, no daylight saving); the outbox stores UTC. A delivery is never dropped by these
rules, only held: a message queued in the quiet hours waits for their end, a digest waits for the digest
hour (and, should that hour fall inside the quiet hours, for their end).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from matcher.errors import Invalid

LOCAL = ZoneInfo("Asia/Shanghai")
CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


def parse_clock(value: str, field: str) -> time:
    """``"22:00"`` → 22:00; anything else is a 422 naming ``field``."""
    m = CLOCK.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise Invalid(f"{field} must be a time of day as HH:MM (00:00–23:59), got {value!r}", field=field)
    return time(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True)
class QuietHours:
    """No personal message between ``start`` and ``end`` (local time; ``start`` after ``end`` wraps past
    midnight, e.g. 22:00–07:30). Equal ends are refused: that would be all day or never."""

    start: time
    end: time

    @classmethod
    def parse(cls, raw: Any) -> QuietHours | None:
        if raw in (None, {}, ""):
            return None
        if not isinstance(raw, dict) or set(raw) - {"start", "end"}:
            raise Invalid("quiet_hours must be {\"start\": \"HH:MM\", \"end\": \"HH:MM\"} or null", field="quiet_hours")
        start = parse_clock(raw.get("start", ""), "quiet_hours.start")
        end = parse_clock(raw.get("end", ""), "quiet_hours.end")
        if start == end:
            raise Invalid("quiet_hours.start and quiet_hours.end must differ", field="quiet_hours")
        return cls(start, end)

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.strftime("%H:%M"), "end": self.end.strftime("%H:%M")}

    def covers(self, clock: time) -> bool:
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def release(self, at: datetime) -> datetime:
        """``at`` itself outside the quiet hours, else the next moment they end (tz-aware, UTC)."""
        local = at.astimezone(LOCAL)
        if not self.covers(local.time()):
            return at.astimezone(UTC)
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(UTC)


def next_digest(at: datetime, hour: int) -> datetime:
    """The next digest time at or after ``at``: ``hour``:00 local time today, else tomorrow."""
    local = at.astimezone(LOCAL)
    slot = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if slot < local:
        slot += timedelta(days=1)
    return slot.astimezone(UTC)


def deliver_at(at: datetime, quiet: QuietHours | None, digest: bool, digest_hour: int) -> datetime:
    """When a personal message queued at ``at`` may be sent under these preferences."""
    when = next_digest(at, digest_hour) if digest else at.astimezone(UTC)
    return quiet.release(when) if quiet is not None else when
