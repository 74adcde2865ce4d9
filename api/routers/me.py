"""A talent's own record (role ``talent``): read it all, correct it, consent, download, access log,
answer proposals, withdraw — and how a talent gets an account (invitations)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.deps import ActorDep, DbDep, MatchId, PoolDep, TalentActorDep, TalentId
from api.downloads import xlsx_download
from api.schemas import AnswerIn, ConsentIn, InvitationAcceptIn, InviteIn, TalentSelfPatch
from matcher.services.people import invitations, me
from matcher.views import (
    AccessLogView,
    InvitationView,
    MyExportView,
    MyProposalView,
    MyRecordView,
    RevokedView,
    TokenView,
)

router = APIRouter(prefix="/api/v1", tags=["talents' own record"])


@router.get("/me/record", response_model=MyRecordView,
            summary="Everything held about me, my consents, how my profile is matched — talents")
def get_me(db: DbDep, actor: TalentActorDep, pool: PoolDep) -> Any:
    return me.get_record(db, actor, pool)


@router.patch("/me/record", response_model=MyRecordView, summary="Correct my record (the pool re-reads it at once)")
def patch_me(db: DbDep, actor: TalentActorDep, pool: PoolDep, body: TalentSelfPatch) -> Any:
    return me.update(db, pool, actor, body.changes())


@router.post("/me/consents", response_model=MyRecordView, summary="Give or withdraw one consent")
def consent(db: DbDep, actor: TalentActorDep, pool: PoolDep, body: ConsentIn) -> Any:
    return me.set_consent(db, pool, actor, body.purpose, body.granted)


@router.get("/me/access-log", response_model=list[AccessLogView],
            summary="Who saw or was given my contact data, when, for which demand")
def access_log(db: DbDep, actor: TalentActorDep) -> Any:
    return me.access_log(db, actor)


@router.get("/me/proposals", response_model=list[MyProposalView], summary="Proposals of me at the contact stage")
def my_proposals(db: DbDep, actor: TalentActorDep) -> Any:
    return me.proposals(db, actor)


@router.post("/me/proposals/{match_id}/answer", response_model=MyProposalView, summary="Accept or decline")
def answer(db: DbDep, actor: TalentActorDep, match_id: MatchId, body: AnswerIn) -> Any:
    return me.answer(db, actor, match_id, body.answer, body.note)


@router.get("/me/export.json", response_model=MyExportView, summary="Download everything held about me (JSON)")
def export_json(db: DbDep, actor: TalentActorDep) -> Any:
    return me.export_data(db, actor)


@router.get("/me/export.xlsx", response_class=FileResponse, summary="Download everything held about me (XLSX)")
def export_xlsx(db: DbDep, actor: TalentActorDep) -> Any:
    return xlsx_download(lambda path: me.export_xlsx(db, actor, path), "my-data.xlsx")


@router.post("/me/withdraw", response_model=MyRecordView,
             summary="Withdraw: no longer proposed, contact data erased, record pseudonymised")
def withdraw(db: DbDep, actor: TalentActorDep, pool: PoolDep) -> Any:
    return me.withdraw(db, pool, actor)


@router.post("/talents/{talent_id}/invitations", status_code=201, response_model=InvitationView,
             summary="Issue a one-time sign-in code for a talent record — officials and admins")
def invite(db: DbDep, actor: ActorDep, talent_id: TalentId, body: InviteIn | None = None) -> Any:
    return invitations.invite(db, actor, talent_id, days=(body or InviteIn()).days)


@router.post("/talents/{talent_id}/invitations/revoke", response_model=RevokedView,
             summary="End every unused invitation code of a talent — officials and admins")
def revoke(db: DbDep, actor: ActorDep, talent_id: TalentId) -> RevokedView:
    return RevokedView(talent_id=talent_id, revoked=invitations.revoke(db, actor, talent_id))


@router.post("/invitations/accept", response_model=TokenView,
             summary="Redeem an invitation code: returns the talent's API token (once)")
def accept(db: DbDep, body: InvitationAcceptIn) -> TokenView:
    return TokenView(token=invitations.accept(db, body.code))
