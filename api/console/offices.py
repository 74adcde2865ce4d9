"""The province office's registers: 单位与别名 — the organisations conflicts of interest are matched against,
their other names (an alias naming another organisation merges the two when asked), and what a university
or institute founded or holds shares in (the Shaanxi rule: its talents are not proposed to that enterprise);
中介区域 — the area each intermediary is registered for. Forms parse into the API's own request models
(``OrganisationIn``, ``AliasIn``, ``RelationIn``, ``AreaIn``) and call the same services; the services'
refusals are shown beside the form, in Chinese, with what was typed kept."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api import forms
from api.console.web import actor, back, page
from api.deps import IntermediaryId, RuntimeDep
from api.schemas import AliasIn, AreaIn, OrganisationIn, RelationIn
from matcher.domain.conflicts import ORGANISATION_KINDS, ORGANISATION_LABELS, RELATION_LABELS, SubjectKind, normalise
from matcher.domain.offices import office_tree
from matcher.domain.vocabulary import Role
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.services.access import Actor
from matcher.services.people import conflicts, intermediaries
from matcher.services.people.conflicts import OrganisationView, RelationSpec
from matcher.storage.db import Database
from matcher.validation import MAX_ID

router = APIRouter()

OrganisationId = Annotated[int, Path(ge=1, le=MAX_ID)]
AliasId = Annotated[int, Path(ge=1, le=MAX_ID)]
RelationId = Annotated[int, Path(ge=1, le=MAX_ID)]
KindFilter = Annotated[str, Query(pattern="^(|enterprise|university|institute|other)$")]
SearchText = Annotated[str, Query(max_length=100)]
LIST_LIMIT = 100

#: The forms' fields as the pages name them (``api/forms.py`` knows the workflow's, where ``note`` is a contact note).
FIELDS = {"name": "单位名称", "kind": "类型", "credit_code": "统一社会信用代码", "alias": "别名", "merge": "合并",
          "organisation": "企业名称", "started_on": "起始日期", "ended_on": "结束日期", "note": "说明",
          "area": "服务区域"}


def _official(request: Request) -> Actor:
    who = actor(request)
    if who.role not in (Role.OFFICIAL, Role.ADMIN):
        raise Forbidden("本页面仅供主管部门和管理员使用")
    return who


def _in_chinese(errors: dict[str, str]) -> dict[str, str]:
    """pydantic's errors (already Chinese, ``api/forms.py``) with this page's names for the fields."""
    out = {}
    for field, message in errors.items():
        detail = message.split("：", 1)[-1]
        out[field] = f"{FIELDS[field]}：{detail}" if field in FIELDS else message
    return out


def _holder(db: Database, who: Actor, text: str) -> OrganisationView | None:
    """The organisation one of whose names (or whose credit code) is ``text`` — to name it in a refusal."""
    key = normalise(text)
    if not key:
        return None
    items, _ = conflicts.list_organisations(db, who, q=text, limit=50)
    return next((o for o in items if normalise(o.name) == key or key in {a.alias for a in o.aliases}
                 or (o.credit_code or "") == key.upper()), None)


def _org_url(org_id: int) -> str:
    return f"/console/organisations/{org_id}"


def _list_url(next_page: str, q: str, org_id: int) -> str:
    """Where an alias's removal returns: the list it was removed from (with its search), or the organisation."""
    if next_page != "list":
        return _org_url(org_id)
    return "/console/organisations" + (f"?{urlencode({'q': q[:100]})}" if q else "")


# ------------------------------------------------------------------ organisations: the list and recording one
def _render_list(request: Request, runtime: RuntimeDep, who: Actor, q: str = "", kind: str = "", status: int = 200,
                 create_errors: dict[str, str] | None = None, create_values: dict[str, Any] | None = None
                 ) -> HTMLResponse:
    items, total = conflicts.list_organisations(runtime.db, who, q=q.strip() or None, kind=kind or None,
                                                limit=LIST_LIMIT)
    return page(request, "organisations.html", who, status=status, title="单位与别名", items=items, total=total,
                limit=LIST_LIMIT, q=q, kind=kind, kinds=ORGANISATION_LABELS, org=None,
                create_errors=create_errors or {}, create_values=create_values or {})


@router.get("/console/organisations", response_class=HTMLResponse)
def organisations_page(request: Request, runtime: RuntimeDep, q: SearchText = "", kind: KindFilter = ""
                       ) -> HTMLResponse:
    """The organisations, found by any of their names or their credit code; a form records a new one."""
    return _render_list(request, runtime, _official(request), q=q, kind=kind)


@router.post("/console/organisations", response_model=None)
async def create_organisation(request: Request, runtime: RuntimeDep) -> Response:
    who = _official(request)
    values = {k: v for k, v in forms.form_values(await request.form()).items() if k in ("name", "kind", "credit_code")}
    body, errors = forms.parse(OrganisationIn, values)
    if body is not None:
        try:
            org = conflicts.create_organisation(runtime.db, who, body.name, body.credit_code, body.kind)
            return back(_org_url(org.id), "organisation_created")
        except Conflict as exc:
            field = exc.field or "name"
            other = _holder(runtime.db, who, body.credit_code if field == "credit_code" and body.credit_code
                            else body.name)
            named = f"“{other.name}”（{other.kind_label}）" if other else "另一家已登记的单位"
            errors = {field: f"统一社会信用代码 {body.credit_code} 已属于{named}" if field == "credit_code"
                      else f"“{body.name}”已是{named}的名称或别名，无需重复登记"}
            return _render_list(request, runtime, who, status=409, create_errors=errors, create_values=values)
        except Invalid as exc:
            field = exc.field or "name"
            errors = {field: {"credit_code": "统一社会信用代码不正确（18 位，末位校验码须正确）",
                              "name": "单位名称须含有文字或数字", "kind": "请选择单位类型"}.get(field, exc.message)}
    return _render_list(request, runtime, who, status=422, create_errors=_in_chinese(errors), create_values=values)


# ------------------------------------------------------------------ one organisation: aliases, relations
def _render_org(request: Request, runtime: RuntimeDep, who: Actor, org_id: int, status: int = 200,
                alias_errors: dict[str, str] | None = None, alias_values: dict[str, Any] | None = None,
                merge_with: OrganisationView | None = None, relation_errors: dict[str, str] | None = None,
                relation_values: dict[str, Any] | None = None) -> HTMLResponse:
    try:
        org = conflicts.get_organisation(runtime.db, who, org_id)
    except NotFound:
        raise NotFound("未找到该单位（可能已合并到其他单位）", field="organisation_id") from None
    relations = conflicts.list_relations(runtime.db, who, SubjectKind.ORGANISATION, org_id)
    return page(request, "organisations.html", who, status=status, title=f"单位：{org.name}", org=org,
                relations=relations, relation_kinds={k: RELATION_LABELS[k] for k in ORGANISATION_KINDS},
                kinds=ORGANISATION_LABELS, alias_errors=alias_errors or {}, alias_values=alias_values or {},
                merge_with=merge_with, relation_errors=relation_errors or {}, relation_values=relation_values or {})


@router.get("/console/organisations/{org_id}", response_class=HTMLResponse)
def organisation_page(request: Request, runtime: RuntimeDep, org_id: OrganisationId) -> HTMLResponse:
    return _render_org(request, runtime, _official(request), org_id)


@router.post("/console/organisations/{org_id}/aliases", response_model=None)
async def add_alias(request: Request, runtime: RuntimeDep, org_id: OrganisationId) -> Response:
    """Another name of the organisation. A name that already names another organisation is refused, naming it,
    and the form asks whether the two are one institution (合并); checked, the other's names and relations
    move here."""
    who = _official(request)
    values = {k: v for k, v in forms.form_values(await request.form()).items() if k in ("alias", "merge")}
    body, errors = forms.parse(AliasIn, values)
    if body is None:
        return _render_org(request, runtime, who, org_id, status=422, alias_errors=_in_chinese(errors),
                           alias_values=values)
    try:
        conflicts.add_alias(runtime.db, who, org_id, body.alias, merge=body.merge)
    except Invalid:
        return _render_org(request, runtime, who, org_id, status=422, alias_values=values,
                           alias_errors={"alias": "别名须含有文字或数字"})
    except Conflict:
        other = _holder(runtime.db, who, body.alias)
        if other is not None and other.id == org_id:
            other = None
        if body.merge:
            message = ("两个单位的统一社会信用代码或对应的企业不同，是两个登记主体，不能合并" if other else
                       "该名称刚被其他单位使用，请刷新页面后重试")
        elif other is not None:
            message = (f"“{body.alias}”已是“{other.name}”（{other.kind_label}）的名称或别名。如两者确为同一单位，"
                       "请勾选“合并”后再次提交：其别名和关系将并入本单位")
        else:
            message = "该名称已是另一家单位的名称或别名，请刷新页面后重试"
        return _render_org(request, runtime, who, org_id, status=409, alias_values=values,
                           alias_errors={"alias": message}, merge_with=other if not body.merge else None)
    return back(_org_url(org_id), "alias_merged" if body.merge else "alias_added")


@router.post("/console/organisations/{org_id}/aliases/{alias_id}/delete", response_model=None)
async def remove_alias(request: Request, runtime: RuntimeDep, org_id: OrganisationId, alias_id: AliasId) -> Response:
    who = _official(request)
    form = await request.form()
    try:
        conflicts.remove_alias(runtime.db, who, org_id, alias_id)
    except NotFound:
        raise NotFound("未找到该别名（可能已删除）", field="alias_id") from None
    except Conflict:
        raise Conflict("单位本身的名称不能作为别名删除", field="alias_id") from None
    return back(_list_url(str(form.get("next") or ""), str(form.get("q") or ""), org_id), "alias_removed")


#: The relation form's refusals by the service, in the page's words.
_RELATION_REFUSALS = {"credit_code": "统一社会信用代码不正确，或与所填企业名称不是同一家企业",
                      "ended_on": "结束日期不能早于起始日期", "kind": "单位与企业的关系只能是创办或入股"}


@router.post("/console/organisations/{org_id}/relations", response_model=None)
async def record_relation(request: Request, runtime: RuntimeDep, org_id: OrganisationId) -> Response:
    """Record that the organisation founded or holds shares in an enterprise (named by its registered name
    or credit code): from then on its talents are not proposed to that enterprise."""
    who = _official(request)
    values = {k: v for k, v in forms.form_values(await request.form()).items()
              if k in ("kind", "organisation", "credit_code", "started_on", "ended_on", "note")}
    body, errors = forms.parse(RelationIn, values)
    if body is not None and not (body.organisation or body.credit_code):
        body, errors = None, {"organisation": "企业名称：请填写企业名称（或统一社会信用代码）"}
    if body is not None:
        try:
            conflicts.declare(runtime.db, who, SubjectKind.ORGANISATION, org_id, RelationSpec(**body.model_dump()))
            return back(_org_url(org_id), "org_relation_recorded")
        except Invalid as exc:
            field = exc.field or "organisation"
            if field == "organisation" and "itself" in exc.message:
                message = "单位不能与自身建立创办或入股关系"
            elif field == "organisation":
                message = "未找到该统一社会信用代码对应的企业，请同时填写企业名称"
            else:
                message = _RELATION_REFUSALS.get(field, "填写的内容无效，请检查后重试")
            errors = {field: f"{FIELDS.get(field, field)}：{message}"}
        except Conflict:
            errors = {"kind": "该关系已记录过"}
    return _render_org(request, runtime, who, org_id, status=422, relation_errors=_in_chinese(errors),
                       relation_values=values)


@router.post("/console/organisations/{org_id}/relations/{relation_id}/delete", response_model=None)
def delete_relation(request: Request, runtime: RuntimeDep, org_id: OrganisationId, relation_id: RelationId
                    ) -> Response:
    who = _official(request)
    held = {r.id for r in conflicts.list_relations(runtime.db, who, SubjectKind.ORGANISATION, org_id)}
    if relation_id not in held:
        raise NotFound("未找到该关系（可能已删除）", field="relation_id")
    conflicts.delete_relation(runtime.db, who, relation_id)
    return back(_org_url(org_id), "org_relation_deleted")


# ------------------------------------------------------------------ intermediaries' areas
def _render_intermediaries(request: Request, runtime: RuntimeDep, who: Actor, status: int = 200,
                           error: str | None = None) -> HTMLResponse:
    tree = office_tree()
    offices = intermediaries.offices()
    cities = [(o, [c for c in offices if c.code == o.code or c.parent == o.code])
              for o in offices if o.level == "city"]
    may_set = who.role == Role.ADMIN or who.office_code in (None, tree.province.code)
    ctx: dict[str, Any] = {"flash": error, "flash_kind": "error"} if error else {}
    return page(request, "intermediaries.html", who, status=status, title="中介机构服务区域",
                items=intermediaries.list_intermediaries(runtime.db, who), province=tree.province, cities=cities,
                may_set=may_set, **ctx)


@router.get("/console/intermediaries", response_class=HTMLResponse)
def intermediaries_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """Each agency with the area it is registered for, and a select of the offices to change it."""
    return _render_intermediaries(request, runtime, _official(request))


@router.post("/console/intermediaries/{intermediary_id}/area", response_model=None)
async def set_area(request: Request, runtime: RuntimeDep, intermediary_id: IntermediaryId) -> Response:
    who = _official(request)
    values = {k: v for k, v in forms.form_values(await request.form()).items() if k == "area"}
    body, _ = forms.parse(AreaIn, values)
    if body is None:
        return _render_intermediaries(request, runtime, who, status=422, error="请选择服务区域")
    try:
        intermediaries.set_area(runtime.db, who, intermediary_id, body.area)
    except Forbidden:
        return _render_intermediaries(request, runtime, who, status=403,
                                      error="中介机构的服务区域由省级主管部门设置，市、县级账号不能修改")
    except Invalid:
        return _render_intermediaries(request, runtime, who, status=422, error="未知的地区，请从列表中选择服务区域")
    except NotFound:
        raise NotFound("未找到该中介机构", field="intermediary_id") from None
    return back("/console/intermediaries", "area_set")
