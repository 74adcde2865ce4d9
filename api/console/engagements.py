"""Engagements in the console: the list, one engagement on one screen (the agreement and who confirmed it,
service against the agreed days, the periods with their forms, grades and 奖补), and the actions of each
party — confirm the agreement, record service, fill the period's form — and of the grading office — grade a
period, compute its 奖补 by rule, approve it against the budgets. Each action is parsed into the API's own
request model and calls the same service as ``api/routers/engagements.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from api import forms
from api.console.web import actor, back, page
from api.deps import EngagementId, MatchId, RuntimeDep
from api.schemas import AssessmentIn, ConfirmIn, GradeIn, ServiceRecordIn
from matcher.domain.engagements import CRITERIA, RESULT_KEYS, SCORE_RANGE
from matcher.domain.labels import label
from matcher.domain.vocabulary import Grade, Role
from matcher.errors import Invalid, NotFound
from matcher.services.engagements import agreements, assessments, records, rewards
from matcher.services.engagements.common import MAX_ATTACHMENT

router = APIRouter()

#: The forms of the page, each parsed into its API request model; ``reward`` and ``commit`` take ids only.
ACTIONS: dict[str, type[BaseModel] | None] = {
    "confirm": ConfirmIn, "service": ServiceRecordIn, "assess": AssessmentIn, "grade": GradeIn,
    "reward": None, "commit": None}


@router.get("/console/engagements", response_class=HTMLResponse)
def engagements_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    who = actor(request)
    items, total = agreements.list_engagements(runtime.db, who, status=request.query_params.get("status") or None,
                                               limit=200, offset=0)
    return page(request, "engagements.html", who, title="合作与协议", items=items, total=total)


@router.get("/console/engagements/{engagement_id}", response_class=HTMLResponse)
def engagement_detail(request: Request, runtime: RuntimeDep, engagement_id: EngagementId) -> HTMLResponse:
    who = actor(request)
    db = runtime.db
    e = agreements.get_engagement(db, who, engagement_id)
    service = records.service_summary(db, who, engagement_id)
    filled, grades = assessments.assessments(db, who, engagement_id)
    granted, _ = rewards.list_rewards(db, who, engagement_id=engagement_id, limit=100) \
        if who.role in (Role.OFFICIAL, Role.ADMIN) else ([], 0)
    party = {Role.ENTERPRISE: "enterprise", Role.TALENT: "talent", Role.INTERMEDIARY: "intermediary"}.get(
        Role(who.role))
    awaiting = e.agreement.awaiting if e.agreement and e.agreement.status == "draft" else []
    return page(request, "engagement.html", who, title=f"合作 #{engagement_id}", e=e, service=service,
                forms=filled, grades=grades, rewards=granted, party=party, may_confirm=party in awaiting,
                criteria=CRITERIA, score_range=range(SCORE_RANGE[0], SCORE_RANGE[1] + 1), result_keys=RESULT_KEYS,
                grade_options=[(g.value, label(g)) for g in Grade],
                my_forms={(f.period, f.party) for f in filled})


@router.get("/console/matches/{match_id}/engagement", response_model=None)
def engagement_of_match(request: Request, runtime: RuntimeDep, match_id: MatchId) -> Response:
    e = agreements.engagement_of_match(runtime.db, actor(request), match_id)
    return RedirectResponse(f"/console/engagements/{e.id}", status_code=303)


@router.get("/console/engagements/{engagement_id}/agreement.{kind}", response_model=None)
def agreement_file(request: Request, runtime: RuntimeDep, engagement_id: EngagementId, kind: str) -> Response:
    """The agreement as the signed-in party reads it (the console's session, not a bearer token)."""
    who = actor(request)
    data, name = agreements.document(runtime.db, who, engagement_id, None, kind)
    media = "application/pdf" if kind == "pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return Response(data, media_type=media, headers={"Content-Disposition": f'inline; filename="{name}"'})


def _scores(values: dict[str, Any]) -> dict[str, Any]:
    """The form's ``score_<criterion>`` fields as the API's ``scores`` object."""
    out = dict(values)
    out["scores"] = {k: out.pop(f"score_{k}") for k in CRITERIA if f"score_{k}" in out}
    return out


def _results(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    out["results"] = {k: out.pop(f"result_{k}") for k in RESULT_KEYS if out.get(f"result_{k}") not in (None, "", "0")}
    for k in RESULT_KEYS:
        out.pop(f"result_{k}", None)
    return out


def _whole(values: dict[str, Any], name: str, *, required: bool) -> int | None:
    raw = str(values.get(name) or "").strip()
    if not raw:
        if required:
            raise Invalid(f"请填写 {name}", field=name)
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise Invalid(f"{name} 须为整数", field=name)
    return int(raw)


@router.post("/console/engagements/{engagement_id}/{action}", response_model=None)
async def engagement_action(request: Request, runtime: RuntimeDep, engagement_id: EngagementId,
                            action: str) -> Response:
    who = actor(request)
    db = runtime.db
    if action not in ACTIONS:
        raise NotFound(f"未知操作 {action}")
    form = await request.form()
    upload = form.get("evidence")
    evidence = None
    if action == "reward" and upload is not None and not isinstance(upload, str) and upload.filename:
        data = await upload.read(MAX_ATTACHMENT + 1)
        evidence = (upload.filename, data)
    values = forms.form_values(form)
    if action == "reward":
        values.pop("evidence", None)  # the uploaded salary evidence, read above
    if action == "assess":
        values = _scores(values)
    elif action == "service":
        values = _results(values)
    model = ACTIONS[action]
    body = None
    if model is not None:
        body, errors = forms.parse(model, values)
        if body is None:
            raise Invalid("；".join(errors.values()))
    url = f"/console/engagements/{engagement_id}"
    if isinstance(body, ConfirmIn):
        agreements.confirm(db, who, engagement_id, body.pdf_sha256)
        return back(url, "agreement_confirmed")
    if isinstance(body, ServiceRecordIn):
        records.add_record(db, who, engagement_id, service_date=body.service_date, days_on_site=body.days_on_site,
                           remote_hours=body.remote_hours, tasks=body.tasks, results=body.results,
                           attachment_ids=list(body.attachment_ids))
        return back(url, "service_recorded")
    if isinstance(body, AssessmentIn):
        assessments.submit_form(db, who, engagement_id, body.period, dict(body.scores), body.comment)
        return back(url, "assessed")
    if isinstance(body, GradeIn):
        assessments.record_grade(db, who, engagement_id, body.period, body.grade, body.evidence,
                                 runtime.ready_pool())
        return back(url, "graded")
    if action == "reward":
        period = _whole(values, "period", required=True)
        assert period is not None
        rewards.compute_reward(db, who, engagement_id, period, _whole(values, "base_yuan", required=False), evidence)
        return back(url, "reward_computed")
    reward_id = _whole(values, "reward_id", required=True)
    assert reward_id is not None
    rewards.commit(db, who, reward_id)
    return back(url, "reward_committed")
