"""Append-only audit trail: every change is recorded in the same transaction as the change itself, and the
inbox (``services/inbox``) opens and closes its to-dos from these events in that transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from matcher.storage.models import AuditEvent


def record(session: Session, *, action: str, entity: str, entity_id: str | int, actor_user_id: int | None = None,
           actor_role: str = "system", before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditEvent:
    event = AuditEvent(action=action, entity=entity, entity_id=str(entity_id), actor_user_id=actor_user_id,
                       actor_role=actor_role, before=before, after=after)
    session.add(event)
    # The inbox follows the trail in the same transaction (an outbox: no to-do for a change rolled back).
    from matcher.services.inbox.items import on_event  # the inbox reads the workflow, which writes here

    on_event(session, event)
    return event
