"""What every console page shares: templates, the signed-in session and its CSRF guard, rendering,
redirects with a message, and the one HTML error page (domain errors on console paths become a page
with the error's status, in ``api/errors.py``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from api.deps import get_db
from matcher.domain.labels import label
from matcher.domain.offices import office_tree
from matcher.domain.vocabulary import Role
from matcher.errors import DomainError, Forbidden, Unauthorized
from matcher.reference import region
from matcher.services.access import Actor
from matcher.services.inbox import items as inbox_items
from matcher.services.people import sessions

log = logging.getLogger(__name__)
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
TEMPLATES.env.filters["zh"] = lambda v: label(v) if v else ""
TEMPLATES.env.globals["region"] = region  # the region's wording in pages: {{ region().ties_title }}
# the province office's code: an official with no office acts for it ({{ actor.office_code or region_office() }})
TEMPLATES.env.globals["region_office"] = lambda: office_tree().province.code
COOKIE = "matcher_session"
ROLE_HOME: dict[str, str] = {Role.ENTERPRISE: "/console/demands", Role.INTERMEDIARY: "/console/board",
                             Role.OFFICIAL: "/console/reviews", Role.ADMIN: "/console/import",
                             Role.TALENT: "/console/me"}
PREFIXES = ("/console", "/login", "/logout", "/invite")


class LoginRequired(Exception):
    pass


class ForgedRequest(Exception):
    """A console POST without this session's CSRF token, or a sign-in posted from another site."""


def signed_in(request: Request) -> sessions.SignedIn:
    signed = getattr(request.state, "signed", None)
    if signed is None:
        try:
            signed = sessions.current(get_db(request), request.cookies.get(COOKIE))
        except Unauthorized as exc:
            raise LoginRequired from exc
        request.state.signed = signed
    return signed


#: The console paths a talent's session may open.
TALENT_PAGES = ("/console/me", "/console/engagements", "/console/inbox")


def actor(request: Request) -> Actor:
    """The signed-in account. A talent's session opens only their own pages (``/console/me`` and their
    engagements, which the services scope to the talent): one gate here instead of a talent case in every
    page."""
    who = signed_in(request).actor
    if who.role == Role.TALENT and not request.url.path.startswith(TALENT_PAGES):
        raise Forbidden("人才账号只能访问“我的信息”和本人的合作协议")
    return who


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # non-browser clients send none; an opaque origin is refused
    return origin.rstrip("/") == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def guard(request: Request) -> None:
    """Every console POST: the sign-in form must come from this site (Origin), every other form must
    carry the CSRF token of the signed-in session."""
    if request.method != "POST":
        return
    if request.url.path in ("/login", "/invite"):
        if not same_origin(request):
            raise ForgedRequest
        return
    signed = signed_in(request)
    form = await request.form()
    if not sessions.csrf_ok(signed, str(form.get("csrf") or "")) or not same_origin(request):
        raise ForgedRequest


#: What a redirect may say on the next page, by key: the page shows only these texts (a link carrying its own
#: text — "/login?msg=请将令牌发送至…" — shows nothing), with at most whole numbers filled in.
MESSAGES: dict[str, tuple[str, str]] = {
    "posted": ("需求已发布", "ok"), "demand_withdrawn": ("需求已撤回", "ok"),
    "taken_up": ("揭榜成功，可从推荐人才中加入候选", "ok"), "shortlisted": ("已加入候选，请联络人才并提交审核", "ok"),
    "member_added": ("已添加团队成员", "ok"), "member_removed": ("已移除团队成员", "ok"),
    "contacted": ("已记录联络", "ok"), "submitted": ("已提交审核", "ok"), "approved": ("审核通过", "ok"),
    "rejected": ("已驳回", "ok"), "recommended": ("已推荐上报，等待下一级审核", "ok"),
    "sent_back": ("已退回中介机构修改", "ok"), "supplied": ("已登记补齐的材料", "ok"),
    "outcome": ("已报告成效", "ok"), "reward_decided": ("已作出奖补决定", "ok"),
    "confirmed": ("已确认开展合作", "ok"), "round_started": ("已开始匹配，刷新查看进度", "ok"),
    "scanned": ("已检查 {records} 条记录，新发现 {new_pairs} 对疑似重复", "ok"),
    "merged": ("已合并为一条记录", "ok"), "distinct": ("已标记为不同的人", "ok"),
    "saved": ("已保存，推荐将按新资料进行", "ok"), "consent_granted": ("授权已更新", "ok"),
    "consent_withdrawn": ("已撤回该项授权", "ok"), "answered": ("已答复，中介机构会看到您的答复", "ok"),
    "withdraw_unconfirmed": ("请在确认框中输入“撤回”二字", "error"),
    "posted_incomplete": ("需求已保存，但完整度未达到发布要求，已进入“待完善”：请按提示补充后保存", "error"),
    "demand_saved": ("需求已修改", "ok"), "demand_published": ("需求已发布到揭榜大厅", "ok"),
    "demand_returned": ("已退回企业完善，企业会看到您的意见", "ok"), "demand_extended": ("揭榜期限已延长", "ok"),
    "organisation_created": ("单位已登记，可在此添加别名、记录其创办或入股的企业", "ok"),
    "alias_added": ("别名已添加，按此名称申报的关系将匹配到本单位", "ok"),
    "alias_merged": ("已合并：另一单位的名称、别名和关系已并入本单位", "ok"), "alias_removed": ("别名已删除", "ok"),
    "org_relation_recorded": ("已记录：本单位的人才不再推荐给该企业（利益冲突）", "ok"),
    "org_relation_deleted": ("该关系已删除", "ok"), "area_set": ("服务区域已更新", "ok"),
    "agreement_confirmed": ("已确认协议；各方均确认后合作开始", "ok"), "service_recorded": ("服务记录已登记", "ok"),
    "assessed": ("评价表已提交", "ok"), "graded": ("考核等次已登记，可按规则核算奖补", "ok"),
    "reward_computed": ("已按规则核算奖补，待预算单位批准", "ok"), "reward_committed": ("奖补已批准并计入预算", "ok"),
    "saved_notifications": ("通知设置已保存", "ok"),
    "saved_search": ("已订阅：有新内容时会在待办与通知中提醒您（并按通知设置发送邮件或短信）", "ok"),
    "deleted_search": ("已取消订阅", "ok"),
}


def flash_of(request: Request) -> tuple[str | None, str]:
    """The message a redirect asked for (``back``), by its key; anything else in the link is ignored."""
    known = MESSAGES.get(request.query_params.get("msg") or "")
    if known is None:
        return None, "ok"
    text, kind = known
    numbers = {k: v for k, v in request.query_params.items() if k != "msg" and v.isdigit() and len(v) < 12}
    try:
        return text.format(**numbers), kind
    except (KeyError, IndexError):
        return None, "ok"


def _unread(request: Request, who: Actor | None) -> int:
    """The header's count of unread open inbox items (0 when the database cannot say: the page still shows)."""
    if who is None:
        return 0
    try:
        return inbox_items.unread_count(get_db(request), who)
    except Exception:  # the count is a convenience: a page never fails for it
        log.exception("could not count the inbox")
        return 0


def page(request: Request, name: str, who: Actor | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    flash, flash_kind = flash_of(request)
    signed = getattr(request.state, "signed", None)
    return TEMPLATES.TemplateResponse(request, name, {
        "actor": who, "csrf": signed.csrf if signed else "", "role_label": label(who.role) if who else "",
        "inbox_unread": _unread(request, who),
        "flash": ctx.pop("flash", flash),
        "flash_kind": ctx.pop("flash_kind", flash_kind), "title": ctx.pop("title", "产业人才对接平台"), **ctx},
        status_code=status)


def back(url: str, key: str, **numbers: int) -> RedirectResponse:
    """Redirect to ``url`` and show the message ``MESSAGES[key]`` there (with these numbers filled in)."""
    if key not in MESSAGES:
        raise KeyError(f"no console message '{key}'")
    query = urlencode({"msg": key, **{k: int(v) for k, v in numbers.items()}})
    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}{query}", status_code=303)


def error_page(request: Request, exc: DomainError) -> HTMLResponse:
    signed = getattr(request.state, "signed", None)
    return page(request, "error.html", signed.actor if signed else None, status=exc.status, message=exc.message,
                title="无法完成操作")


def install(app: Any) -> None:
    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(ForgedRequest)
    async def forged(request: Request, _: ForgedRequest) -> HTMLResponse:
        return page(request, "error.html", None, status=403, title="无法完成操作",
                    message="请求未通过安全校验（页面可能已过期或来自其他网站），请刷新页面后重试。")
