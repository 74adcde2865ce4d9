"""The inbox and its notifications over HTTP: the caller's to-dos and notices, marking read, the caller's
notification settings (address, channels, digest, quiet hours, kinds muted), saved searches and their
alerts, offices' webhooks and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from api.deps import AnyActorDep, DbDep, Limit, Offset, PoolDep, SettingsDep
from api.schemas import Page, PrefsIn, SavedSearchIn, WebhookIn
from matcher.services.inbox import alerts, items, preferences
from matcher.validation import MAX_ID
from matcher.views import DeliveryView, InboxItemView, SavedSearchView, WebhookView

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
                                 sms_enabled=body.sms_enabled, muted=body.muted, digest=body.digest,
                                 digest_hour=body.digest_hour,
                                 quiet_hours=body.quiet_hours if "quiet_hours" in body.model_fields_set else "keep",
                                 user_id=body.user_id)


@router.post("/saved-searches", status_code=201, response_model=SavedSearchView,
             summary="Save the board's filters, or follow one of the caller's demands, for alerts")
def save_search(db: DbDep, pool: PoolDep, settings: SettingsDep, actor: AnyActorDep, body: SavedSearchIn) -> Any:
    return alerts.create(db, pool, settings, actor, body.kind, body.name, body.filters, body.demand_id)


@router.get("/saved-searches", response_model=list[SavedSearchView], summary="The caller's saved searches")
def saved_searches(db: DbDep, actor: AnyActorDep) -> Any:
    return alerts.list_mine(db, actor)


@router.delete("/saved-searches/{search_id}", status_code=204, summary="Stop a saved search's alerts")
def delete_search(db: DbDep, actor: AnyActorDep, search_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> None:
    alerts.delete(db, actor, search_id)


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
