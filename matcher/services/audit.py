"""Append-only audit trail: every change is recorded in the same transaction as the change itself."""

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
    return event
