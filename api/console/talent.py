"""The talent's own page (role ``talent``): the record as held, corrections, consents, proposals to
answer, declared relations (conflicts of interest) and the enterprises they keep the talent away from,
downloads, the access log, withdrawal — and signing in with an invitation code."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from api import forms
from api.console.web import COOKIE, actor, back, page
from api.deps import MatchId, RuntimeDep, get_settings
from api.schemas import RelationIn, TalentSelfPatch
from matcher.domain import modes
from matcher.domain.conflicts import RELATION_LABELS
from matcher.domain.privacy import LABELS as PRIVACY_LABELS
from matcher.domain.vocabulary import FlexibleForm, Role, TieKind
from matcher.errors import Conflict, Invalid, Unauthorized
from matcher.services.access import require
from matcher.services.people import conflicts, invitations, me, sessions
from matcher.tabular import split_list
from matcher.validation import MAX_ID

router = APIRouter()
RelationId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def _me(request: Request) -> Any:
    who = actor(request)
    require(who, Role.TALENT)
    return who


@router.get("/invite", response_class=HTMLResponse)
def invite_form(request: Request) -> HTMLResponse:
    return page(request, "invite.html", None, title="邀请码登录")


@router.post("/invite")
def invite_redeem(request: Request, runtime: RuntimeDep, code: str = Form(..., max_length=100)) -> Response:
    try:
        token = invitations.accept(runtime.db, code.strip())
        session_id, _ = sessions.sign_in(runtime.db, token)
    except Unauthorized as exc:
        return page(request, "invite.html", None, status=401, title="邀请码登录", flash_kind="error",
                    flash="邀请码无效、已使用或已过期，请联系省人才办重新发放" if "code" in exc.message
                    else "该人才记录已不可用，请联系省人才办")
    resp = page(request, "invite_done.html", None, title="欢迎", token=token)
    resp.set_cookie(COOKIE, session_id, httponly=True, samesite="strict", max_age=sessions.SESSION_HOURS * 3600,
                    secure=get_settings(request).cookie_secure)
    return resp


def _render(request: Request, runtime: RuntimeDep, status: int = 200, errors: dict[str, str] | None = None,
            values: dict[str, Any] | None = None, relation_errors: dict[str, str] | None = None,
            relation_values: dict[str, Any] | None = None) -> HTMLResponse:
    who = _me(request)
    rec = me.get_record(runtime.db, who, runtime.ready_pool())
    return page(request, "me.html", who, status=status, title="我的信息", rec=rec, t=rec.talent,
                proposals=me.proposals(runtime.db, who), log=me.access_log(runtime.db, who), errors=errors or {},
                values=values or {}, modes=list(modes.codes()), forms_all=[f.value for f in FlexibleForm],
                ties_all=[x.value for x in TieKind], labels=PRIVACY_LABELS,
                relations=conflicts.list_mine(runtime.db, who),
                conflicts=conflicts.talent_conflicts_view(runtime.db, who),
                relation_kinds=RELATION_LABELS, relation_errors=relation_errors or {},
                relation_values=relation_values or {})


@router.get("/console/me", response_class=HTMLResponse)
def my_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return _render(request, runtime)


def _form_changes(form: Any) -> dict[str, Any]:
    """The edit form as a full PATCH body: every field is sent (a blank one clears it)."""
    values: dict[str, Any] = {k: str(form.get(k) or "").strip()
                              for k in ("profile", "achievements", "tie_detail", "phone", "email", "city")}
    values["research_fields"] = split_list(str(form.get("research_fields") or ""))
    values["flexible_forms"] = [str(v) for v in form.getlist("flexible_forms")]
    values["province_ties"] = [str(v) for v in form.getlist("province_ties")]
    values["in_province"] = form.get("in_province") == "1"
    capacity = {}
    for code in modes.codes():
        capacity[code] = str(form.get(f"cap_{code}") or "0").strip() or "0"
    values["mode_capacity"] = capacity
    for k in ("available_from", "available_until"):
        values[k] = str(form.get(k) or "").strip() or None
    return values


@router.post("/console/me", response_model=None)
async def edit(request: Request, runtime: RuntimeDep) -> Response:
    who = _me(request)
    values = _form_changes(await request.form())
    body, errors = forms.parse(TalentSelfPatch, values)
    if body is None:
        return _render(request, runtime, status=422, errors=errors, values=values)
    changes = body.changes()
    changes["mode_capacity"] = {k: v for k, v in changes["mode_capacity"].items() if v > 0}
    try:
        me.update(runtime.db, runtime.ready_pool(), who, changes)
    except Invalid as exc:
        return _render(request, runtime, status=422, errors={exc.field or "form": exc.message}, values=values)
    return back("/console/me", "saved")


@router.post("/console/me/consents", response_model=None)
def consent(request: Request, runtime: RuntimeDep, purpose: str = Form(...), granted: str = Form(...)) -> Response:
    me.set_consent(runtime.db, runtime.ready_pool(), _me(request), purpose, granted == "1")
    return back("/console/me", "consent_granted" if granted == "1" else "consent_withdrawn")


@router.post("/console/me/proposals/{match_id}", response_model=None)
def answer(request: Request, runtime: RuntimeDep, match_id: MatchId, reply: str = Form(...),
           note: str = Form("", max_length=1000)) -> Response:
    me.answer(runtime.db, _me(request), match_id, reply, note.strip())
    return back("/console/me", "answered")


#: The relation form's fields as the page names them (``api/forms.py`` knows the workflow's, where ``note`` is a
#: contact note), and the service's refusals in the page's words.
_RELATION_FIELDS = {"kind": "关系", "organisation": "单位名称", "credit_code": "统一社会信用代码",
                    "started_on": "起始日期", "ended_on": "结束日期", "note": "说明"}
_RELATION_REFUSALS = {"organisation": "请填写单位名称（或统一社会信用代码）", "credit_code": "统一社会信用代码不正确",
                      "ended_on": "结束日期不能早于起始日期", "kind": "请选择关系类型"}


def _relation_errors(errors: dict[str, str]) -> dict[str, str]:
    out = {}
    for field, message in errors.items():
        detail = message.split("：", 1)[-1]
        out[field] = f"{_RELATION_FIELDS[field]}：{detail}" if field in _RELATION_FIELDS else message
    return out


@router.post("/console/me/relations", response_model=None)
async def declare_relation(request: Request, runtime: RuntimeDep) -> Response:
    """Declare a relation from the page: the form parses into the API's ``RelationIn`` (one validation, two
    doors); a refusal is shown beside the form, in Chinese, with what was typed kept."""
    who = _me(request)
    values = forms.form_values(await request.form())
    body, errors = forms.parse(RelationIn, values)
    if body is not None:
        try:
            conflicts.declare_mine(runtime.db, who, conflicts.RelationSpec(**body.model_dump()))
            return back("/console/me", "saved")
        except Invalid as exc:
            field = exc.field or "organisation"
            errors = {field: f"{_RELATION_FIELDS.get(field, field)}：{_RELATION_REFUSALS.get(field, exc.message)}"}
        except Conflict:
            errors = {"kind": "该关系已申报过"}
    return _render(request, runtime, status=422, relation_errors=_relation_errors(errors), relation_values=values)


@router.post("/console/me/relations/{relation_id}/delete", response_model=None)
def delete_relation(request: Request, runtime: RuntimeDep, relation_id: RelationId) -> Response:
    conflicts.delete_relation(runtime.db, _me(request), relation_id, mine=True)
    return back("/console/me", "saved")


@router.get("/console/me/export.json", response_model=None)
def export_json(request: Request, runtime: RuntimeDep) -> Response:
    data = me.export_data(runtime.db, _me(request))
    return JSONResponse(data.model_dump(mode="json"),
                        headers={"Content-Disposition": 'attachment; filename="my-data.json"'})


@router.get("/console/me/export.xlsx", response_model=None)
def export_xlsx(request: Request, runtime: RuntimeDep) -> Response:
    who = _me(request)
    fd, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    me.export_xlsx(runtime.db, who, Path(name))
    return FileResponse(name, filename="my-data.xlsx", background=BackgroundTask(Path(name).unlink),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.post("/console/me/withdraw", response_model=None)
def withdraw(request: Request, runtime: RuntimeDep, confirm: str = Form("")) -> Response:
    if confirm != "撤回":
        return back("/console/me", "withdraw_unconfirmed")
    me.withdraw(runtime.db, runtime.ready_pool(), _me(request))
    return RedirectResponse("/console/me?msg=" + "已撤回：不再推荐，联系方式已删除", status_code=303)
