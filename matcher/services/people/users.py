"""Users and their API tokens. Tokens are random, shown once, and stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from matcher.domain.offices import OfficeLevel, office_tree
from matcher.domain.vocabulary import Role
from matcher.errors import NotFound
from matcher.services.audit import record
from matcher.storage.db import Database
from matcher.storage.models import ConsoleSession, Enterprise, InstanceFlag, Intermediary, Talent, User

DEMO_PREFIX = "demo-"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(db: Database, username: str, role: str, *, display_name: str = "", enterprise: str | None = None,
                intermediary: str | None = None, office: str | None = None, token: str | None = None) -> str:
    """Create a user and return its token (``token`` is only given for the documented demo accounts). An
    official belongs to ``office`` — a province, city or county code of the region, or a county's name —
    and the province office when it is not given."""
    role = Role(role).value
    office_code = resolve_office(office) if office else None
    if office_code is not None and role != Role.OFFICIAL:
        raise ValueError("only an official belongs to an office (--office)")
    token = token or "mt_" + secrets.token_urlsafe(32)
    with db.session() as s:
        if s.scalar(select(User).where(User.username == username)):
            raise ValueError(f"user '{username}' already exists")
        user = User(username=username, display_name=display_name or username, role=role, token_hash=hash_token(token),
                    office_code=office_code)
        if role == Role.ENTERPRISE:
            ent = s.scalar(select(Enterprise).where(Enterprise.name == enterprise)) if enterprise else None
            if ent is None:
                raise ValueError("an enterprise user needs --enterprise with the name of an existing enterprise")
            user.enterprise_id = ent.id
        if role == Role.INTERMEDIARY:
            agency = s.scalar(select(Intermediary).where(Intermediary.name == intermediary)) if intermediary else None
            if agency is None:
                raise ValueError("an intermediary user needs --intermediary with the name of an existing agency")
            user.intermediary_id = agency.id
        s.add(user)
        s.flush()
        after = {"username": username, "role": role} | ({"office_code": office_code} if office_code else {})
        record(s, action="create", entity="user", entity_id=user.id, after=after)
    return token


def resolve_office(text: str) -> str:
    """An office's code from its code, a city's name (太原 / 太原市) or a county's (太原市小店区), or the
    province's name; a ``ValueError`` naming what was given otherwise."""
    tree = office_tree()
    text = text.strip()
    if text in tree:
        return text
    if text in (tree.province.name, tree.province.name.removesuffix("省")):
        return tree.province.code
    office = tree.city(text) or tree.find(text)
    if office is None:
        raise ValueError(f"'{text}' is no office of {tree.province.name}: give its code (e.g. 140105) or its "
                         "name with the city (e.g. 太原市小店区)")
    return office.code


DEMO_USERS = (
    ("official", "official", "省人才办审核员", None, None),
    ("admin", "admin", "平台管理员", None, None),
    ("enterprise", "enterprise", "潞安化工煤基清洁能源公司技术部", "潞安化工集团煤基清洁能源公司", None),
    ("intermediary", "intermediary", "山西省人才交流服务中心经办人", None, "山西省人才交流服务中心"),
)


#: The demo's offices below the province: the city and the county the demo enterprise is located in, so
#: their queues hold its demands (``demo-city_official``, ``demo-county_official``).
DEMO_OFFICIALS = (("city_official", OfficeLevel.CITY), ("county_official", OfficeLevel.COUNTY))


def is_demo_database(session: Session) -> bool:
    """Only a database the demo seed created carries the marker (see ``seeding.seed_demo``)."""
    return session.get(InstanceFlag, "demo") is not None


def ensure_demo_users(db: Database) -> dict[str, str]:
    """Demo accounts with well-known tokens (``demo-<role>``), for the demo database only: in a database
    that holds real data (no demo marker) nothing is created and an empty dict is returned."""
    tokens: dict[str, str] = {}
    with db.session() as s:
        if not is_demo_database(s):
            return tokens
        existing = {u.username for u in s.scalars(select(User))}
    for username, role, display, ent, agency in DEMO_USERS:
        token = f"{DEMO_PREFIX}{username}"
        if f"demo_{username}" not in existing:
            create_user(db, f"demo_{username}", role, display_name=display, enterprise=ent, intermediary=agency,
                        token=token)
        tokens[username] = token
    with db.session() as s:
        county = s.scalar(select(Enterprise.county_code).where(Enterprise.name == DEMO_USERS[2][3]))
    if county and county in office_tree():
        tree = office_tree()
        here = tree.get(county)
        for username, level in DEMO_OFFICIALS:
            office = here if level == OfficeLevel.COUNTY else tree.get(here.parent or tree.province.code)
            token = f"{DEMO_PREFIX}{username}"
            if f"demo_{username}" not in existing:
                create_user(db, f"demo_{username}", Role.OFFICIAL, display_name=f"{office.display_name}人才办审核员",
                            office=office.code, token=token)
            tokens[username] = token
    tokens["talent"] = _ensure_demo_talent(db, existing)
    return tokens


def _ensure_demo_talent(db: Database, existing: set[str]) -> str:
    """The demo's talent account (``demo-talent``): the first demo talent, as if they had redeemed an
    invitation. Their consents stay as imported (pending), so the page asks them to decide."""
    token = f"{DEMO_PREFIX}talent"
    if "demo_talent" in existing:
        return token
    with db.session() as s:
        t = s.scalar(select(Talent).order_by(Talent.id).limit(1))
        if t is None:
            return token
        user = User(username="demo_talent", display_name=t.name, role=Role.TALENT.value, talent_id=t.id,
                    token_hash=hash_token(token))
        s.add(user)
        s.flush()
        record(s, action="create", entity="user", entity_id=user.id, after={"username": "demo_talent",
                                                                            "role": "talent", "talent_id": t.id})
    return token


def _user(s: Session, username: str) -> User:
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"user '{username}' not found", field="username")
    return user


def _revoke_sessions(s: Session, user_id: int) -> None:
    s.execute(update(ConsoleSession).where(ConsoleSession.user_id == user_id).values(revoked=True))


def deactivate_user(db: Database, username: str, actor_user_id: int | None = None,
                    actor_role: str = "system") -> None:
    """The user's token stops working at once and its console sessions end."""
    with db.session() as s:
        user = _user(s, username)
        user.active = False
        _revoke_sessions(s, user.id)
        record(s, action="deactivate", entity="user", entity_id=user.id, actor_user_id=actor_user_id,
               actor_role=actor_role, after={"username": username, "active": False})


def rotate_token(db: Database, username: str, actor_user_id: int | None = None, actor_role: str = "system") -> str:
    """A new random token (returned once); the old one stops working and console sessions end."""
    token = "mt_" + secrets.token_urlsafe(32)
    with db.session() as s:
        user = _user(s, username)
        user.token_hash = hash_token(token)
        _revoke_sessions(s, user.id)
        record(s, action="rotate_token", entity="user", entity_id=user.id, actor_user_id=actor_user_id,
               actor_role=actor_role, after={"username": username})
    return token
