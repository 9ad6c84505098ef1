"""What a server process does once its application is loaded (wsgi.py, asgi.py, benchmarks)."""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Load the URL configuration, then move every object alive at start-up out of the cyclic
    garbage collector's reach (gc.freeze).

    Without this, each full (generation 2) collection walks the whole framework heap; on the
    customer list API those pauses made the slowest 5 % of requests 3–4× slower than the median.
    Gunicorn imports wsgi.py in each worker after fork, so this runs once per worker.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every app's urls and api modules now)
    gc.collect()
    gc.freeze()
