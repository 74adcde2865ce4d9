"""Engagements after approval: the three-party agreement (documents, confirmations, versions, the signed
scan), service records, assessments and grades, 奖补 by rule, budgets and finance's workbook. The talent
reaches their own engagements with their account's token (``AnyActorDep``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import AnyActorDep, DbDep, EngagementId, Limit, MatchId, Offset, PoolDep, RewardId
from api.downloads import xlsx_download
from api.schemas import (
    AssessmentIn,
    BatchIn,
    BudgetIn,
    ConfirmIn,
    EndIn,
    GradeIn,
    OverrideIn,
    OverrideReviewIn,
    Page,
    ReasonIn,
    ServiceRecordIn,
    TermsIn,
)
from matcher.errors import Invalid
from matcher.services.engagements import agreements, assessments, records, rewards
from matcher.services.engagements.common import MAX_ATTACHMENT, store_attachment, visible_engagement
from matcher.services.files.exporting import write_rows_xlsx
from matcher.validation import MAX_ID
from matcher.views import (
    AssessmentView,
    AttachmentView,
    BudgetView,
    EngagementView,
    GradeView,
    RewardView,
    ServiceRecordView,
    ServiceSummaryView,
)

router = APIRouter(prefix="/api/v1", tags=["engagements"])
FILE_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "PDF, PNG, JPG, DOCX or XLSX"}}}}}}}


async def _file(request: Request) -> tuple[str, bytes]:
    """The one file of a multipart body (read after the token was checked), at most ``MAX_ATTACHMENT``."""
    try:
        form = await request.form(max_files=1, max_fields=5)
    except StarletteHTTPException as exc:
        if exc.status_code == 413:
            raise
        raise Invalid(f"the body is not a multipart form with one file ({exc.detail})", field="file") from None
    try:
        file = form.get("file")
        if not isinstance(file, StarletteUpload):
            raise Invalid("a file is required (multipart field 'file')", field="file")
        data = await file.read(MAX_ATTACHMENT + 1)
        return file.filename or "upload", data
    finally:
        await form.close()


@router.get("/engagements", response_model=Page[EngagementView], summary="Engagements visible to the caller")
def list_engagements(db: DbDep, actor: AnyActorDep, status: str | None = None, limit: Limit = 20,
                     offset: Offset = 0) -> Any:
    items, total = agreements.list_engagements(db, actor, status=status, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/engagements/{engagement_id}", response_model=EngagementView)
def get_engagement(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId) -> Any:
    return agreements.get_engagement(db, actor, engagement_id)


@router.get("/matches/{match_id}/engagement", response_model=EngagementView,
            summary="The engagement an approved match became")
def engagement_of_match(db: DbDep, actor: AnyActorDep, match_id: MatchId) -> Any:
    return agreements.engagement_of_match(db, actor, match_id)


@router.get("/engagements/{engagement_id}/agreement.{kind}", response_class=Response,
            summary="The agreement as PDF (the version confirmed) or DOCX (the editable draft)")
def agreement_document(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId, kind: str,
                       version: Annotated[int | None, Query(ge=1, le=1000)] = None) -> Any:
    data, name = agreements.document(db, actor, engagement_id, version, kind)
    media = "application/pdf" if kind == "pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/engagements/{engagement_id}/agreement/confirm", response_model=EngagementView,
             summary="Confirm the current agreement version as your party (enterprise, talent or intermediary)")
def confirm(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId, body: ConfirmIn) -> Any:
    return agreements.confirm(db, actor, engagement_id, body.pdf_sha256)


@router.post("/engagements/{engagement_id}/agreement/confirm-for-talent", response_model=EngagementView,
             openapi_extra=FILE_BODY,
             summary="Confirm for a talent without an account, with the signed copy — the grading office")
async def confirm_for_talent(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId, request: Request,
                             pdf_sha256: Annotated[str, Query(min_length=64, max_length=64,
                                                              pattern="^[0-9a-f]{64}$")]) -> Any:
    upload = await _file(request)
    return await run_in_threadpool(agreements.confirm, db, actor, engagement_id, pdf_sha256,
                                   on_behalf_of_talent=True, signed_copy=upload)


@router.post("/engagements/{engagement_id}/agreement/versions", response_model=EngagementView,
             summary="Change the terms: a new version every party confirms again (the old one is kept)")
def change_terms(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId, body: TermsIn) -> Any:
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    return agreements.change_terms(db, actor, engagement_id, changes, body.reason)


@router.post("/engagements/{engagement_id}/agreement/scan", response_model=EngagementView, openapi_extra=FILE_BODY,
             summary="Upload the signed and sealed scan (盖章扫描件) of the confirmed version")
async def upload_scan(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId, request: Request) -> Any:
    name, data = await _file(request)
    return await run_in_threadpool(agreements.upload_scan, db, actor, engagement_id, name, data)


@router.post("/engagements/{engagement_id}/end", response_model=EngagementView,
             summary="End the engagement early, with a reason")
def end_early(db: DbDep, pool: PoolDep, actor: AnyActorDep, engagement_id: EngagementId, body: EndIn) -> Any:
    return agreements.end_early(db, actor, engagement_id, body.reason, pool)


@router.post("/engagements/{engagement_id}/attachments", response_model=AttachmentView, openapi_extra=FILE_BODY,
             summary="Upload an evidence file (purpose: record, salary, signed_copy, scan)")
async def upload_attachment(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId, request: Request,
                            purpose: str = "record") -> Any:
    name, data = await _file(request)

    def store() -> AttachmentView:
        from matcher.services.engagements.common import attachment_view
        with db.session() as s:
            e, _, _ = visible_engagement(s, actor, engagement_id)
            return attachment_view(store_attachment(s, actor, e.id, purpose, name, data))
    return await run_in_threadpool(store)


@router.get("/engagements/{engagement_id}/attachments/{attachment_id}", response_class=Response)
def get_attachment(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId,
                   attachment_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Any:
    data, name, media = agreements.attachment(db, actor, engagement_id, attachment_id)
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/engagements/{engagement_id}/service", response_model=ServiceRecordView,
             summary="Record service (days on site, remote hours, tasks, results) — the talent or the enterprise")
def add_record(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId, body: ServiceRecordIn) -> Any:
    return records.add_record(db, actor, engagement_id, service_date=body.service_date,
                              days_on_site=body.days_on_site, remote_hours=body.remote_hours, tasks=body.tasks,
                              results=body.results, attachment_ids=body.attachment_ids)


@router.get("/engagements/{engagement_id}/service", response_model=ServiceSummaryView,
            summary="Service entries and monthly totals against the agreement (short months flagged)")
def service(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId) -> Any:
    return records.service_summary(db, actor, engagement_id)


@router.post("/engagements/{engagement_id}/assessments", response_model=AssessmentView,
             summary="Your party's scored form for a period")
def assess(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId, body: AssessmentIn) -> Any:
    return assessments.submit_form(db, actor, engagement_id, body.period, dict(body.scores), body.comment)


@router.get("/engagements/{engagement_id}/assessments", summary="The forms and grades of an engagement")
def list_assessments(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId) -> Any:
    forms, grades = assessments.assessments(db, actor, engagement_id)
    return {"forms": forms, "grades": grades}


@router.post("/engagements/{engagement_id}/grades", response_model=GradeView,
             summary="Record a period's grade with its evidence — the grading office")
def grade(db: DbDep, pool: PoolDep, actor: AnyActorDep, engagement_id: EngagementId, body: GradeIn) -> Any:
    return assessments.record_grade(db, actor, engagement_id, body.period, body.grade, body.evidence, pool)


@router.get("/talents/{talent_id}/grades", response_model=list[GradeView], summary="A talent's graded history")
def talent_grades(db: DbDep, actor: AnyActorDep, talent_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Any:
    return assessments.talent_grades(db, actor, talent_id)


@router.post("/engagements/{engagement_id}/rewards", response_model=RewardView, openapi_extra={
    "requestBody": {"required": False, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {"file": {"type": "string", "format": "binary",
                                                  "description": "salary evidence (rules based on salary)"}}}}}}},
             summary="Compute a graded period's 奖补 by the programme's rule — the grading office")
async def compute_reward(db: DbDep, actor: AnyActorDep, engagement_id: EngagementId, request: Request,
                         period: Annotated[int, Query(ge=1, le=100)],
                         base_yuan: Annotated[int | None, Query(ge=0, le=2_000_000_000)] = None,
                         evidence_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None) -> Any:
    evidence = None
    if (request.headers.get("content-type") or "").startswith("multipart/form-data"):
        evidence = await _file(request)
    return await run_in_threadpool(rewards.compute_reward, db, actor, engagement_id, period, base_yuan,
                                   evidence, evidence_id)


@router.get("/rewards", response_model=Page[RewardView], summary="奖补 visible to the caller")
def list_rewards(db: DbDep, actor: AnyActorDep, status: str | None = None,
                 year: Annotated[int | None, Query(ge=2000, le=2100)] = None, programme: str | None = None,
                 engagement_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None, limit: Limit = 50,
                 offset: Offset = 0) -> Any:
    items, total = rewards.list_rewards(db, actor, engagement_id=engagement_id, status=status, year=year,
                                        programme=programme, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/rewards/{reward_id}/override", response_model=RewardView,
             summary="Change the amount with a reason (a second official approves it)")
def override(db: DbDep, actor: AnyActorDep, reward_id: RewardId, body: OverrideIn) -> Any:
    return rewards.override(db, actor, reward_id, body.amount_yuan, body.reason)


@router.post("/rewards/{reward_id}/override/review", response_model=RewardView,
             summary="Approve or refuse another official's override")
def review_override(db: DbDep, actor: AnyActorDep, reward_id: RewardId, body: OverrideReviewIn) -> Any:
    return rewards.review_override(db, actor, reward_id, body.approve)


@router.post("/rewards/{reward_id}/commit", response_model=RewardView,
             summary="Approve a reward against the budgets — the budget holder")
def commit(db: DbDep, actor: AnyActorDep, reward_id: RewardId) -> Any:
    return rewards.commit(db, actor, reward_id)


@router.post("/rewards/commit", summary="Approve several rewards; a result per reward")
def commit_batch(db: DbDep, actor: AnyActorDep, body: BatchIn) -> Any:
    return {"results": rewards.commit_batch(db, actor, list(body.reward_ids))}


@router.post("/rewards/{reward_id}/refuse", response_model=RewardView, summary="Refuse a computed reward")
def refuse(db: DbDep, actor: AnyActorDep, reward_id: RewardId, body: ReasonIn) -> Any:
    return rewards.refuse(db, actor, reward_id, body.reason)


@router.post("/rewards/{reward_id}/pay", response_model=RewardView, summary="Record the payment")
def pay(db: DbDep, actor: AnyActorDep, reward_id: RewardId) -> Any:
    return rewards.pay(db, actor, reward_id)


@router.get("/rewards.xlsx", response_class=FileResponse, summary="Committed and paid 奖补 for finance (XLSX)")
def rewards_xlsx(db: DbDep, actor: AnyActorDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Any:
    rows = rewards.finance_rows(db, actor, year)
    return xlsx_download(lambda path: write_rows_xlsx(path, "奖补", rows), "rewards.xlsx")


@router.get("/budgets", response_model=list[BudgetView], summary="Budgets of the caller's office and below")
def list_budgets(db: DbDep, actor: AnyActorDep, year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                 programme: Annotated[str | None, Query(max_length=40)] = None) -> Any:
    return rewards.list_budgets(db, actor, year, programme)


@router.put("/budgets", response_model=BudgetView, summary="Create or change a programme's budget for a year")
def set_budget(db: DbDep, actor: AnyActorDep, body: BudgetIn) -> Any:
    return rewards.set_budget(db, actor, body.programme, body.office_code, body.year, body.total_yuan)
