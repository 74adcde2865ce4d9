"""Invitations: how a talent gets an account. An official issues a one-time code for a talent record; the
talent signs in with it (console ``/invite`` or ``POST /api/v1/invitations/accept``) and receives their own
API token. Codes are random, shown once, stored hashed, expire, and work once."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from matcher.domain.vocabulary import Role
from matcher.errors import Conflict, Forbidden, NotFound, Unauthorized
from matcher.services.access import Actor, require
from matcher.services.audit import record
from matcher.services.people.users import hash_token
from matcher.storage.db import Database
from matcher.storage.models import ConsoleSession, Invitation, Talent, User
from matcher.views import InvitationView

VALID_DAYS = 14


def invite(db: Database, actor: Actor, talent_id: int, days: int = VALID_DAYS) -> InvitationView:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    code = "inv_" + secrets.token_urlsafe(18)
    with db.session() as s:
        t = s.get(Talent, talent_id)
        if t is None:
            raise NotFound(f"talent {talent_id} not found", field="talent_id")
        if t.withdrawn_at is not None or t.merged_into_id is not None:
            raise Conflict("this record was withdrawn or merged into another one; invite that one instead",
                           field="talent_id")
        # One valid code per talent: a new one replaces every unused older one.
        s.execute(update(Invitation).where(Invitation.talent_id == t.id, Invitation.used_at.is_(None),
                                           Invitation.revoked_at.is_(None)).values(revoked_at=datetime.now(UTC)))
        inv = Invitation(talent_id=t.id, code_hash=hash_token(code), created_by=actor.user_id,
                         expires_at=datetime.now(UTC) + timedelta(days=days))
        s.add(inv)
        s.flush()
        record(s, action="invite", entity="talent", entity_id=t.id, actor_user_id=actor.user_id, actor_role=actor.role,
               after={"invitation_id": inv.id, "expires_at": inv.expires_at.isoformat()})
        return InvitationView(talent_id=t.id, code=code, expires_at=inv.expires_at.isoformat())


def revoke(db: Database, actor: Actor, talent_id: int) -> int:
    """End every unused code of this talent (a code sent to the wrong address, a record under review)."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        if s.get(Talent, talent_id) is None:
            raise NotFound(f"talent {talent_id} not found", field="talent_id")
        done = s.execute(update(Invitation).where(Invitation.talent_id == talent_id, Invitation.used_at.is_(None),
                                                  Invitation.revoked_at.is_(None)).values(revoked_at=datetime.now(UTC)))
        n = int(done.rowcount or 0)  # type: ignore[attr-defined]
        record(s, action="revoke_invitations", entity="talent", entity_id=talent_id, actor_user_id=actor.user_id,
               actor_role=actor.role, after={"revoked": n})
        return n


def accept(db: Database, code: str) -> str:
    """Redeem a code: the talent's account (created on first use) gets a new API token, returned once;
    earlier tokens and console sessions of that account end."""
    token = "mt_" + secrets.token_urlsafe(32)
    with db.session() as s:
        inv = s.scalar(select(Invitation).where(Invitation.code_hash == hash_token(code.strip())))
        if inv is None:
            raise Unauthorized("unknown invitation code")
        expires = inv.expires_at if inv.expires_at.tzinfo else inv.expires_at.replace(tzinfo=UTC)
        if inv.used_at is not None or expires < datetime.now(UTC):
            raise Unauthorized("this invitation code was used already or has expired; ask the office for a new one")
        if inv.revoked_at is not None:
            raise Unauthorized("this invitation code was replaced by a newer one or revoked; use the newest code")
        # Used once, even under concurrent redemption: only the request that flips used_at goes on.
        done = s.execute(update(Invitation).where(Invitation.id == inv.id, Invitation.used_at.is_(None))
                         .values(used_at=datetime.now(UTC)).execution_options(synchronize_session=False))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Unauthorized("this invitation code was used already")
        t = s.get(Talent, inv.talent_id)
        if t is None or t.withdrawn_at is not None or t.merged_into_id is not None:
            raise Unauthorized("this talent record is no longer active")
        user = s.scalar(select(User).where(User.talent_id == t.id, User.role == Role.TALENT))
        if user is None:
            user = User(username=f"talent_{t.id}", display_name=t.name, role=Role.TALENT.value, talent_id=t.id,
                        token_hash=hash_token(token))
            s.add(user)
        elif not user.active:
            # an administrator ended this account: an invitation does not bring it back
            raise Forbidden("this talent account was deactivated by an administrator; contact the office")
        else:
            user.token_hash = hash_token(token)
            s.execute(update(ConsoleSession).where(ConsoleSession.user_id == user.id).values(revoked=True))
        s.flush()
        inv.user_id = user.id
        record(s, action="accept_invitation", entity="user", entity_id=user.id, actor_user_id=user.id,
               actor_role=Role.TALENT.value, after={"talent_id": t.id, "invitation_id": inv.id})
    return token
