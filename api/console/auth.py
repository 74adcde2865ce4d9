"""Sign in with an API token (opens a server-side session), sign out, and the role's home page."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.web import COOKIE, ROLE_HOME, actor, page
from api.deps import RuntimeDep, get_settings
from matcher.errors import Unauthorized
from matcher.services.people import sessions

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return page(request, "login.html", None, title="登录")


@router.post("/login")
def login(request: Request, runtime: RuntimeDep, token: str = Form(..., max_length=200)) -> Response:
    try:
        session_id, signed = sessions.sign_in(runtime.db, token.strip())
    except Unauthorized:
        return page(request, "login.html", None, status=401, title="登录", flash="令牌无效或已停用", flash_kind="error")
    resp = RedirectResponse(ROLE_HOME.get(signed.actor.role, "/"), status_code=303)
    resp.set_cookie(COOKIE, session_id, httponly=True, samesite="strict", max_age=sessions.SESSION_HOURS * 3600,
                    secure=get_settings(request).cookie_secure)
    return resp


@router.post("/logout")
def logout(request: Request, runtime: RuntimeDep) -> Response:
    sessions.sign_out(runtime.db, request.cookies.get(COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE)
    return resp


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse(ROLE_HOME.get(actor(request).role, "/console/demands"), status_code=303)
