"""Front-end vendor files served from ``node_modules`` through an allow-list.

``package.json`` pins the packages; ``make install`` runs ``npm ci``. Collecting the whole of
``node_modules`` would copy (and compress) ~200 MB; this finder exposes only the files the pages
use, under their npm paths, so templates write ``{% static "htmx.org/dist/htmx.min.js" %}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Warning as CheckWarning
from django.core.files.storage import FileSystemStorage

VENDOR_FILES: tuple[str, ...] = (
    "@tabler/core/dist/css/tabler.min.css",
    "@tabler/core/dist/css/tabler-vendors.min.css",
    "@tabler/core/dist/js/tabler.min.js",
    "@tabler/icons-webfont/dist/tabler-icons.min.css",
    "@tabler/icons-webfont/dist/fonts/tabler-icons.woff2",
    "@tabler/icons-webfont/dist/fonts/tabler-icons.woff",
    "@tabler/icons-webfont/dist/fonts/tabler-icons.ttf",
    "htmx.org/dist/htmx.min.js",
    "@alpinejs/csp/dist/cdn.min.js",
    "sortablejs/Sortable.min.js",
    "tom-select/dist/js/tom-select.complete.min.js",
    "tom-select/dist/css/tom-select.bootstrap5.min.css",
    "echarts/dist/echarts.min.js",
)


def node_modules() -> Path:
    return Path(getattr(settings, "NODE_MODULES_DIR", settings.BASE_DIR / "node_modules"))


class VendorFinder(BaseFinder):
    """A staticfiles finder over the allow-listed files in node_modules."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.root = node_modules()
        self.storage = FileSystemStorage(location=str(self.root))

    def check(self, **kwargs: Any) -> list[Any]:
        missing = [f for f in VENDOR_FILES if not (self.root / f).exists()]
        if missing:
            return [
                CheckWarning(
                    f"{len(missing)} front-end file(s) missing from {self.root} (run `make install`)",
                    hint=", ".join(missing[:3]),
                    id="huoban.ui.W001",
                )
            ]
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        if kwargs.get("all"):
            find_all = True
        if path in VENDOR_FILES:
            full = self.root / path
            if full.exists():
                return [str(full)] if find_all else str(full)
        return []

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for f in VENDOR_FILES:
            if (self.root / f).exists():
                yield f, self.storage
