"""Request context (ip, user agent, request id) for audit events, carried in a contextvar."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass
class RequestContext:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


_ctx: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "huoban_request_ctx", default=None
)


def set_context(ctx: RequestContext | None) -> contextvars.Token:
    return _ctx.set(ctx)


def reset_context(token: contextvars.Token) -> None:
    _ctx.reset(token)


def get_context() -> RequestContext:
    return _ctx.get() or RequestContext()
