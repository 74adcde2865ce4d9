"""The matches every role works on: lists, the review queue, one match on one screen, and its actions
(contact, submit, review, outcome; agreements and 奖补: api/routers/engagements.py), each parsed into the API's
own request model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from api import forms
from api.console.web import actor, back, page
from api.deps import MatchId, RuntimeDep
from api.schemas import ContactIn, MemberIn, OutcomeIn, ReviewIn, SubmitIn, SupplyIn
from matcher.domain.vocabulary import Role
from matcher.errors import Invalid, NotFound
from matcher.services.access import require
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc
from matcher.services.workflow import teams
from matcher.validation import MAX_ID

router = APIRouter()

ACTIONS: dict[str, type[BaseModel] | None] = {
    "contacts": ContactIn, "submit": SubmitIn, "review": ReviewIn, "outcome": OutcomeIn, "supply": SupplyIn,
    "members": MemberIn}
#: The page's message after each review decision.
DECIDED = {"approve": "approved", "reject": "rejected", "recommend": "recommended", "send_back": "sent_back"}


@router.get("/console/matches", response_class=HTMLResponse)
def matches_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    who = actor(request)
    items, total = match_svc.list_matches(runtime.db, who, status=request.query_params.get("status"),
                                          limit=200)
    return page(request, "matches.html", who, title="对接与匹配", items=items, total=total)


@router.get("/console/reviews", response_class=HTMLResponse)
def reviews(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The office's queue: what waits for a step this office takes; ``?scope=area``: every match in review
    in the office's area, whichever office's step it awaits."""
    who = actor(request)
    require(who, Role.OFFICIAL)
    area = request.query_params.get("scope") == "area"
    items, total = match_svc.list_matches(runtime.db, who, status="awaiting_review" if area else "awaiting_my_review",
                                          limit=200)
    return page(request, "matches.html", who, title="本辖区在审匹配" if area else "待本级审核", items=items,
                total=total, review_queue=True, area=area)


@router.get("/console/matches/{match_id}", response_class=HTMLResponse)
def match_detail(request: Request, runtime: RuntimeDep, match_id: MatchId) -> HTMLResponse:
    who = actor(request)
    db = runtime.db
    m = match_svc.get_match(db, who, match_id)
    d = demand_svc.get_demand(db, who, m.demand_id)
    history = demand_svc.history(db, who, m.demand_id) if who.role in (Role.OFFICIAL, Role.ADMIN) else []
    history = [e for e in history if e.entity == "demand" or e.entity_id == str(match_id)]
    return page(request, "match_detail.html", who, title=f"匹配 #{match_id}", m=m, d=d, history=history)


@router.post("/console/matches/{match_id}/{action}", response_model=None)
async def match_action(request: Request, runtime: RuntimeDep, match_id: MatchId, action: str) -> Response:
    who = actor(request)
    db, pool = runtime.db, runtime.ready_pool()
    if action not in ACTIONS:
        raise NotFound(f"未知操作 {action}")
    values = forms.form_values(await request.form(), split=("missing_items", "items"))
    if action == "contacts":
        values.setdefault("note", "联络")
    if action == "reward" and values.get("qualifies") == "0":
        values.pop("amount", None)
    model = ACTIONS[action]
    body = None
    if model is not None:
        body, errors = forms.parse(model, values)
        if body is None:
            raise Invalid("；".join(errors.values()))
    if isinstance(body, ContactIn):
        match_svc.record_contact(db, who, match_id, body.note, body.answer)
        msg = "contacted"
    elif isinstance(body, SubmitIn):
        match_svc.submit(db, who, match_id, body.plan)
        msg = "submitted"
    elif isinstance(body, ReviewIn):
        match_svc.review(db, pool, who, match_id, body.decision, body.reason, body.missing_items, body.promised_by)
        msg = DECIDED[body.decision]
    elif isinstance(body, MemberIn):
        teams.add_member(db, pool, who, match_id, body.talent_id, body.duties, body.share_percent)
        msg = "member_added"
    elif isinstance(body, SupplyIn):
        match_svc.supply(db, who, match_id, body.items)
        msg = "supplied"
    else:
        assert isinstance(body, OutcomeIn)
        match_svc.report_outcome(db, who, match_id, body.result, body.text)
        msg = "outcome"
    return back(f"/console/matches/{match_id}", msg)


@router.post("/console/matches/{match_id}/members/{talent_id}/remove", response_model=None)
def remove_member(request: Request, runtime: RuntimeDep, match_id: MatchId,
                  talent_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    teams.remove_member(runtime.db, actor(request), match_id, talent_id)
    return back(f"/console/matches/{match_id}", "member_removed")
