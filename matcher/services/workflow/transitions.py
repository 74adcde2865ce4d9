"""Every state change as a compare-and-set on the row's current state.

Why: reading a row, checking the workflow and writing it back lets two concurrent requests both pass
the check (approve and reject both answered 200; the last commit won). Here the write itself carries
the check: ``UPDATE … SET status = target WHERE id = ? AND status IN (sources)``. The database applies
one such update at a time per row (a write lock in SQLite, a row lock in PostgreSQL, which re-evaluates
the condition after the lock is granted), so of two racing requests exactly one changes the row and the
other sees zero rows changed and gets a 409 naming the state it found.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from matcher.domain.workflow import Transition, check
from matcher.errors import Conflict
from matcher.storage.models import Demand, Match


def change_state(session: Session, model: type[Demand] | type[Match], row_id: int,
                 table: dict[str, Transition], action: str, role: str, current: str,
                 values: dict[str, Any] | None = None, extra_where: Iterable[ColumnElement[bool]] = (),
                 entity: str | None = None) -> str:
    """Apply ``action`` to the row if, and only if, it is still in one of the action's source states.

    ``current`` is the state the caller read (it decides 403/409 before any write, with a clear
    message); the UPDATE re-checks it atomically. ``values`` are written in the same statement;
    ``extra_where`` adds conditions (e.g. an unchanged contact log). Returns the target state."""
    name = entity or ("demand" if model is Demand else "match")
    target = check(table, action, current, role, name)
    sources = table[action].sources
    stmt = (update(model).where(model.id == row_id, model.status.in_(sources), *extra_where)
            .values(status=target, **(values or {})).execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        found = session.scalar(select(model.status).where(model.id == row_id))
        verb = action.replace("_", " ")
        raise Conflict(f"cannot {verb} a {name} in state '{found}' (it changed meanwhile)", field="status")
    return target
