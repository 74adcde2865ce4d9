"""Console sessions, kept on the server: the cookie holds a random session id (stored hashed), so the
permanent API token never sits in a browser, and a session can end (logout, expiry, deactivation,
token rotation) without touching the token. Each session has a CSRF token its forms send back."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from matcher.errors import Unauthorized
from matcher.services.access import Actor, actor_of, authenticate
from matcher.services.audit import record
from matcher.services.people.users import hash_token
from matcher.storage.db import Database
from matcher.storage.models import ConsoleSession, User

SESSION_HOURS = 8


@dataclass(frozen=True)
class SignedIn:
    actor: Actor
    csrf: str


def sign_in(db: Database, api_token: str) -> tuple[str, SignedIn]:
    """Check the API token and open a session; returns (session id for the cookie, the session)."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    with db.session() as s:
        actor = authenticate(s, api_token)
        s.add(ConsoleSession(token_hash=hash_token(session_id), user_id=actor.user_id, csrf=csrf,
                             expires_at=datetime.now(UTC) + timedelta(hours=SESSION_HOURS)))
        record(s, action="sign_in", entity="user", entity_id=str(actor.user_id), actor_user_id=actor.user_id,
               actor_role=actor.role)
    return session_id, SignedIn(actor, csrf)


def current(db: Database, session_id: str | None) -> SignedIn:
    if not session_id:
        raise Unauthorized("not signed in")
    with db.session() as s:
        row = s.execute(select(ConsoleSession, User).join(User, User.id == ConsoleSession.user_id)
                        .where(ConsoleSession.token_hash == hash_token(session_id))).first()
        if row is None:
            raise Unauthorized("unknown session")
        sess, user = row
        expires = sess.expires_at if sess.expires_at.tzinfo else sess.expires_at.replace(tzinfo=UTC)
        if sess.revoked or not user.active or expires < datetime.now(UTC):
            raise Unauthorized("session ended; sign in again")
        return SignedIn(actor_of(s, user), sess.csrf)


def csrf_ok(signed_in: SignedIn, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(signed_in.csrf, str(sent))


def sign_out(db: Database, session_id: str | None) -> None:
    if session_id:
        with db.session() as s:
            s.execute(update(ConsoleSession).where(ConsoleSession.token_hash == hash_token(session_id))
                      .values(revoked=True))
