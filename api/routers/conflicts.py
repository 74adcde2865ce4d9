"""Conflicts of interest: declared relations (a talent's, an intermediary's, an official's own, an
organisation's), the organisations they point at and their aliases, and what a talent is kept away from.
The rules and their reasons are the service's (``services/people/conflicts.py``); a talent's token opens
the ``/me`` routes only, as everywhere (``api/deps.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import ActorDep, AnyActorDep, DbDep, Limit, Offset, TalentId
from api.schemas import AliasIn, OrganisationIn, OrganisationKindIn, Page, RelationIn
from matcher.domain.conflicts import SubjectKind
from matcher.services.people import conflicts
from matcher.services.people.conflicts import ConflictView, OrganisationView, RelationSpec, RelationView
from matcher.validation import MAX_ID

router = APIRouter(prefix="/api/v1", tags=["conflicts of interest"])

RelationId = Annotated[int, Path(ge=1, le=MAX_ID)]
OrganisationId = Annotated[int, Path(ge=1, le=MAX_ID)]
IntermediaryId = Annotated[int, Path(ge=1, le=MAX_ID)]
AliasId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _spec(body: RelationIn) -> RelationSpec:
    return RelationSpec(**body.model_dump())


# ------------------------------------------------------------------ the caller's own
@router.get("/me/relations", response_model=list[RelationView],
            summary="My declared relations: a talent's, an intermediary's (its own), an official's own")
def my_relations(db: DbDep, actor: AnyActorDep) -> Any:
    return conflicts.list_mine(db, actor)


@router.post("/me/relations", status_code=201, response_model=RelationView,
             summary="Declare a relation of mine to an organisation (founded, shares, employed, family)")
def declare_mine(db: DbDep, actor: AnyActorDep, body: RelationIn) -> Any:
    return conflicts.declare_mine(db, actor, _spec(body))


@router.delete("/me/relations/{relation_id}", response_model=RelationView, summary="Remove a relation of mine")
def delete_mine(db: DbDep, actor: AnyActorDep, relation_id: RelationId) -> Any:
    return conflicts.delete_relation(db, actor, relation_id, mine=True)


@router.get("/me/conflicts", response_model=list[ConflictView],
            summary="The organisations I am not proposed to, and why — talents")
def my_conflicts(db: DbDep, actor: AnyActorDep) -> Any:
    return conflicts.talent_conflicts_view(db, actor)


# ------------------------------------------------------------------ talents, intermediaries (officials)
@router.get("/talents/{talent_id}/relations", response_model=list[RelationView],
            summary="A talent's declared relations — officials and admins")
def talent_relations(db: DbDep, actor: ActorDep, talent_id: TalentId) -> Any:
    return conflicts.list_relations(db, actor, SubjectKind.TALENT, talent_id)


@router.post("/talents/{talent_id}/relations", status_code=201, response_model=RelationView,
             summary="Declare a talent's relation on their behalf — officials and admins")
def declare_for_talent(db: DbDep, actor: ActorDep, talent_id: TalentId, body: RelationIn) -> Any:
    return conflicts.declare(db, actor, SubjectKind.TALENT, talent_id, _spec(body))


@router.get("/talents/{talent_id}/conflicts", response_model=list[ConflictView],
            summary="The organisations a talent is not proposed to, and why — officials and admins")
def talent_conflicts(db: DbDep, actor: ActorDep, talent_id: TalentId) -> Any:
    return conflicts.talent_conflicts_view(db, actor, talent_id)


@router.get("/intermediaries/{intermediary_id}/relations", response_model=list[RelationView],
            summary="An intermediary's declared relations — its own users, officials and admins")
def intermediary_relations(db: DbDep, actor: ActorDep, intermediary_id: IntermediaryId) -> Any:
    return conflicts.list_relations(db, actor, SubjectKind.INTERMEDIARY, intermediary_id)


@router.post("/intermediaries/{intermediary_id}/relations", status_code=201, response_model=RelationView,
             summary="Declare an intermediary's relation — its own users, officials and admins")
def declare_for_intermediary(db: DbDep, actor: ActorDep, intermediary_id: IntermediaryId, body: RelationIn) -> Any:
    return conflicts.declare(db, actor, SubjectKind.INTERMEDIARY, intermediary_id, _spec(body))


@router.delete("/relations/{relation_id}", response_model=RelationView,
               summary="Remove a relation the caller may manage (a talent uses /me/relations/{id})")
def delete_relation(db: DbDep, actor: ActorDep, relation_id: RelationId) -> Any:
    return conflicts.delete_relation(db, actor, relation_id)


# ------------------------------------------------------------------ organisations (officials)
@router.get("/organisations", response_model=Page[OrganisationView],
            summary="Organisations by any of their names or their credit code — officials and admins")
def list_organisations(db: DbDep, actor: ActorDep, q: str | None = Query(None, max_length=100),
                       kind: OrganisationKindIn | None = None, limit: Limit = 50, offset: Offset = 0) -> Any:
    items, total = conflicts.list_organisations(db, actor, q=q, kind=kind, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/organisations", status_code=201, response_model=OrganisationView,
             summary="Record an organisation (a university, an institute …) — officials and admins")
def create_organisation(db: DbDep, actor: ActorDep, body: OrganisationIn) -> Any:
    return conflicts.create_organisation(db, actor, body.name, body.credit_code, body.kind, body.enterprise_id)


@router.get("/organisations/{organisation_id}", response_model=OrganisationView,
            summary="One organisation with its aliases — officials and admins")
def get_organisation(db: DbDep, actor: ActorDep, organisation_id: OrganisationId) -> Any:
    return conflicts.get_organisation(db, actor, organisation_id)


@router.post("/organisations/{organisation_id}/aliases", status_code=201, response_model=OrganisationView,
             summary="Another name of the organisation (太原理工 for 太原理工大学) — officials and admins")
def add_alias(db: DbDep, actor: ActorDep, organisation_id: OrganisationId, body: AliasIn) -> Any:
    return conflicts.add_alias(db, actor, organisation_id, body.alias, merge=body.merge)


@router.delete("/organisations/{organisation_id}/aliases/{alias_id}", response_model=OrganisationView,
               summary="Remove an alias — officials and admins")
def remove_alias(db: DbDep, actor: ActorDep, organisation_id: OrganisationId, alias_id: AliasId) -> Any:
    return conflicts.remove_alias(db, actor, organisation_id, alias_id)


@router.get("/organisations/{organisation_id}/relations", response_model=list[RelationView],
            summary="What the organisation founded or holds shares in — officials and admins")
def organisation_relations(db: DbDep, actor: ActorDep, organisation_id: OrganisationId) -> Any:
    return conflicts.list_relations(db, actor, SubjectKind.ORGANISATION, organisation_id)


@router.post("/organisations/{organisation_id}/relations", status_code=201, response_model=RelationView,
             summary="Record that the organisation founded or holds shares in another (the enterprise) — "
                     "officials and admins")
def declare_for_organisation(db: DbDep, actor: ActorDep, organisation_id: OrganisationId, body: RelationIn) -> Any:
    return conflicts.declare(db, actor, SubjectKind.ORGANISATION, organisation_id, _spec(body))
