"""Task pages."""

from __future__ import annotations

from .ui import task_pages

urlpatterns = task_pages.urls()
