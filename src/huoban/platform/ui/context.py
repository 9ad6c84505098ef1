from __future__ import annotations

from typing import Any


def shell(request: Any) -> dict[str, Any]:
    """Context every page gets (navigation, unread count …); the UI issue fills this in."""
    return {}
