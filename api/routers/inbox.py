"""The inbox and its notifications over HTTP: the caller's to-dos and notices, marking read, the caller's
notification settings (address, e-mail on/off, kinds muted), offices' webhooks and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from api.deps import AnyActorDep, DbDep, Limit, Offset, SettingsDep
from api.schemas import Page, PrefsIn, WebhookIn
from matcher.services.inbox import items, preferences
from matcher.validation import MAX_ID
from matcher.views import DeliveryView, InboxItemView, WebhookView

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get("/inbox", response_model=Page[InboxItemView], summary="The caller's to-dos and notices")
def inbox(db: DbDep, actor: AnyActorDep, state: Literal["open", "closed", "all"] = "open", unread: bool = False,
          kind: str | None = Query(None, max_length=40), limit: Limit = 50, offset: Offset = 0) -> Any:
    found, total = items.list_items(db, actor, state=state, unread=unread, kind=kind, limit=limit, offset=offset)
    return {"items": found, "total": total, "limit": limit, "offset": offset}


@router.get("/inbox/unread", summary="How many open items the caller has not read")
def unread(db: DbDep, actor: AnyActorDep) -> dict[str, int]:
    return {"unread": items.unread_count(db, actor)}


@router.post("/inbox/{item_id}/read", response_model=InboxItemView, summary="Mark an item read (a notice closes)")
def read(db: DbDep, actor: AnyActorDep, item_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Any:
    return items.mark_read(db, actor, item_id)


@router.get("/me/notifications", summary="The caller's notification settings")
def get_prefs(db: DbDep, actor: AnyActorDep) -> Any:
    return preferences.get_prefs(db, actor)


@router.put("/me/notifications", summary="Change the caller's notification settings (an admin: anyone's)")
def set_prefs(db: DbDep, actor: AnyActorDep, body: PrefsIn) -> Any:
    return preferences.set_prefs(db, actor, email=body.email, mobile=body.mobile, email_enabled=body.email_enabled,
                                 muted=body.muted, user_id=body.user_id)


@router.post("/webhooks", status_code=201, response_model=WebhookView,
             summary="Register an office's webhook (the signing secret is shown once)")
def register(db: DbDep, settings: SettingsDep, actor: AnyActorDep, body: WebhookIn) -> Any:
    return preferences.register_webhook(db, settings, actor, body.url, body.flavour, body.office_code)


@router.get("/webhooks", response_model=list[WebhookView], summary="Webhooks of the caller's office (admins: all)")
def webhooks(db: DbDep, actor: AnyActorDep) -> Any:
    return preferences.list_webhooks(db, actor)


@router.get("/notifications", response_model=list[DeliveryView], summary="The latest deliveries and their outcome")
def delivery_log(db: DbDep, actor: AnyActorDep, limit: Limit = 100) -> Any:
    return preferences.delivery_log(db, actor, limit)
