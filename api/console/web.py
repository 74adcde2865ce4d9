"""What every console page shares: templates, the signed-in session and its CSRF guard, rendering,
redirects with a message, and the one HTML error page (domain errors on console paths become a page
with the error's status, in ``api/errors.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from api.deps import get_db
from matcher.domain.labels import label
from matcher.domain.vocabulary import Role
from matcher.errors import DomainError, Forbidden, Unauthorized
from matcher.reference import region
from matcher.services.access import Actor
from matcher.services.people import sessions

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
TEMPLATES.env.filters["zh"] = lambda v: label(v) if v else ""
TEMPLATES.env.globals["region"] = region  # the region's wording in pages: {{ region().ties_title }}
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


def actor(request: Request) -> Actor:
    """The signed-in account. A talent's session opens only their own page (``/console/me``): one gate
    here instead of a talent case in every page."""
    who = signed_in(request).actor
    if who.role == Role.TALENT and not request.url.path.startswith("/console/me"):
        raise Forbidden("人才账号只能访问“我的信息”页面")
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


def page(request: Request, name: str, who: Actor | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    flash = request.query_params.get("msg")
    signed = getattr(request.state, "signed", None)
    return TEMPLATES.TemplateResponse(request, name, {
        "actor": who, "csrf": signed.csrf if signed else "", "role_label": label(who.role) if who else "",
        "flash": ctx.pop("flash", flash),
        "flash_kind": ctx.pop("flash_kind", "ok"), "title": ctx.pop("title", "产业人才对接平台"), **ctx},
        status_code=status)


def back(url: str, msg: str) -> RedirectResponse:
    return RedirectResponse(f"{url}{'&' if '?' in url else '?'}msg={quote(msg)}", status_code=303)


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
