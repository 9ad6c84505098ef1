"""Demo data registry: each module registers a function; `huoban demo` runs them in order.

Every function must be idempotent (safe to run again: get_or_create by a natural key).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_PROVIDERS: list[tuple[int, str, Callable[..., Any]]] = []


def register(name: str, order: int = 100) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not any(n == name for _o, n, _f in _PROVIDERS):
            _PROVIDERS.append((order, name, fn))
        return fn

    return deco


def providers() -> list[tuple[int, str, Callable[..., Any]]]:
    return sorted(_PROVIDERS, key=lambda p: (p[0], p[1]))
