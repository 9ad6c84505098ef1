"""Shell URLs (namespace ``ui``). Record pages come from each app's ``urls.py`` via
``RecordPages.urls()``; the settings area and global search (``urls_settings.py``) are included
here in the same namespace when present."""

from __future__ import annotations

import importlib

from django.urls import include, path

from . import views

app_name = "ui"

_patterns = [
    path("", views.home, name="home"),
    path("widgets/<str:key>/", views.widget, name="widget"),
    path("profile/", views.profile, name="profile"),
    path("language/", views.set_language, name="language"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/menu/", views.notifications_menu, name="notifications-menu"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification-open"),
    path("lookup/<str:object_type>/", views.lookup, name="lookup"),
    path("jobs/<uuid:job_id>/", views.job_progress, name="job"),
]

for _name in ("urls_settings",):
    try:
        _module = importlib.import_module(f"{__package__}.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.{_name}":
            raise
        continue
    _patterns += getattr(_module, "urlpatterns", [])

urlpatterns = [path("", include((_patterns, "ui"), namespace="ui"))]
