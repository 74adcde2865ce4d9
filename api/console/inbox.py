"""The inbox in the console: the caller's to-dos and notices (open or done), opening one marks it read and
goes to the page where it is dealt with; the notification settings, and the e-mail's unsubscribe link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import forms
from api.console.web import actor, back, page
from api.deps import RuntimeDep
from api.schemas import PrefsIn, SavedSearchIn
from matcher.errors import Invalid
from matcher.services.inbox import alerts, items, preferences
from matcher.validation import MAX_ID

router = APIRouter()


@router.get("/console/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    who = actor(request)
    state = request.query_params.get("state") or "open"
    state = state if state in ("open", "closed", "all") else "open"
    found, total = items.list_items(runtime.db, who, state=state, limit=200)
    return page(request, "inbox.html", who, title="待办与通知", items=found, total=total, state=state)


@router.post("/console/inbox/{item_id}/open", response_model=None)
def open_item(request: Request, runtime: RuntimeDep, item_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    """Mark read and go to the item's page (a notice is done once read)."""
    item = items.mark_read(runtime.db, actor(request), item_id)
    return RedirectResponse(item.link or "/console/inbox", status_code=303)


@router.get("/console/me/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The settings; ``?mute=<kind>`` (the e-mail's link) stops that kind's e-mails at once."""
    who = actor(request)
    kind = request.query_params.get("mute")
    muted = False
    if kind:
        preferences.mute(runtime.db, who, kind)
        muted = True
    prefs = preferences.get_prefs(runtime.db, who)
    searches = alerts.list_mine(runtime.db, who)
    if muted:
        return page(request, "notifications.html", who, title="通知设置", prefs=prefs, searches=searches,
                    flash="已退订该类邮件通知", flash_kind="ok")
    return page(request, "notifications.html", who, title="通知设置", prefs=prefs, searches=searches)


@router.post("/console/me/notifications", response_model=None)
async def save_notifications(request: Request, runtime: RuntimeDep) -> Response:
    who = actor(request)
    form = await request.form()
    values = forms.form_values(form, lists=("muted",))
    for box in ("email_enabled", "sms_enabled", "digest"):
        values[box] = values.get(box) == "1"
    values.setdefault("email", "")
    values.setdefault("mobile", "")
    values.setdefault("muted", [])
    start, end = str(values.pop("quiet_start", "") or ""), str(values.pop("quiet_end", "") or "")
    values["quiet_hours"] = {"start": start, "end": end} if start or end else None
    body, errors = forms.parse(PrefsIn, values)
    if body is None:
        raise Invalid("；".join(errors.values()))
    preferences.set_prefs(runtime.db, who, email=body.email, mobile=body.mobile, email_enabled=body.email_enabled,
                          sms_enabled=body.sms_enabled, muted=body.muted, digest=body.digest,
                          digest_hour=body.digest_hour, quiet_hours=body.quiet_hours)
    return back("/console/me/notifications", "saved_notifications")


@router.post("/console/saved-searches", response_model=None)
async def save_search(request: Request, runtime: RuntimeDep) -> Response:
    """The board's 订阅 (its filters, and optional words) or an enterprise's 关注 of one of its demands."""
    who = actor(request)
    values = forms.form_values(await request.form())
    body = {"kind": values.pop("kind", ""), "name": values.pop("name", "")}
    if "demand_id" in values:
        body["demand_id"] = values.pop("demand_id")
    body["filters"] = values
    parsed, errors = forms.parse(SavedSearchIn, body)
    if parsed is None:
        raise Invalid("；".join(errors.values()))
    alerts.create(runtime.db, runtime.ready_pool(), runtime.settings, who, parsed.kind, parsed.name, parsed.filters,
                  parsed.demand_id)
    return back("/console/me/notifications", "saved_search")


@router.post("/console/saved-searches/{search_id}/delete", response_model=None)
def delete_search(request: Request, runtime: RuntimeDep, search_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    alerts.delete(runtime.db, actor(request), search_id)
    return back("/console/me/notifications", "deleted_search")
