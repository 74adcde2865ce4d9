"""One error body for everything: ``{"error": {"code", "message", "field"}}``; a 500 is logged as a bug."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher.errors import DomainError

log = logging.getLogger("api")


def error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message, "field": field}})


ERROR_STATUSES = {"400": "Bad request", "401": "Missing or invalid bearer token",
                  "403": "The caller's role may not do this", "404": "Not found (or not visible to the caller)",
                  "409": "Conflict with the current state (named in the message)",
                  "413": "Request body too large", "422": "Invalid input (the field is named)",
                  "503": "Not ready yet (the matching index is loading)"}


def document_errors(app: FastAPI) -> None:
    """Say in the OpenAPI document what every error looks like: the one ``ErrorResponse`` body for each
    4xx/503 status, instead of FastAPI's default ``HTTPValidationError`` that this API never sends."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["ErrorBody"] = {"type": "object", "required": ["code", "message", "field"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "field": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}
        components["ErrorResponse"] = {"type": "object", "required": ["error"],
                                       "properties": {"error": {"$ref": "#/components/schemas/ErrorBody"}}}
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_STATUSES.items():
                    responses[status] = {"description": description, **ref}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI, html_error: Callable[[Request, DomainError], Response] | None = None,
            html_prefixes: tuple[str, ...] = ()) -> None:
    """One handler per kind of error. A domain error on a console page (``html_prefixes``) becomes the
    console's HTML error page with the same status; everywhere else the JSON error body."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if html_error is not None and request.url.path.startswith(html_prefixes):
            return html_error(request, exc)
        return error(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or None
        message = f"{field}: {first.get('msg')}" if field else str(first.get("msg"))
        return error(422, "invalid", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 413: "too_large"}
        return error(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error: %s", exc)
        return error(500, "internal", "internal error; it has been logged")
