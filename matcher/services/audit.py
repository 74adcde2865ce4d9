"""Append-only audit trail: every change is recorded in the same transaction as the change itself, and the
inbox (``services/inbox``) opens and closes its to-dos from these events in that transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from matcher.storage.models import AuditEvent

#: Called with every event as it is recorded, in its transaction. The inbox registers itself here when it is
#: imported (``services/inbox/items``; the runtime, the seeding and the API import it), so the trail does not
#: depend on the inbox, which reads the workflow that writes the trail.
LISTENERS: list[Callable[[Session, AuditEvent], None]] = []


def record(session: Session, *, action: str, entity: str, entity_id: str | int, actor_user_id: int | None = None,
           actor_role: str = "system", before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditEvent:
    event = AuditEvent(action=action, entity=entity, entity_id=str(entity_id), actor_user_id=actor_user_id,
                       actor_role=actor_role, before=before, after=after)
    session.add(event)
    for listener in LISTENERS:  # the inbox: in the same transaction (no to-do for a change rolled back)
        listener(session, event)
    return event
