"""Pages of the import wizard and exports (namespace ``transfer``; included at the root)."""

from __future__ import annotations

from django.urls import include, path

from . import views

_patterns = [
    path("imports/", views.import_list, name="import-list"),
    path("imports/new/", views.import_new, name="import-new"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/map/", views.import_map, name="import-map"),
    path("imports/<int:pk>/preview/", views.import_preview, name="import-preview"),
    path("imports/<int:pk>/run/", views.import_run, name="import-run"),
    path("imports/<int:pk>/errors/", views.import_errors, name="import-errors"),
    path("imports/<int:pk>/undo/", views.import_undo, name="import-undo"),
    path("exports/", views.export_list, name="export-list"),
    path("exports/new/", views.export_new, name="export-new"),
    path("exports/<int:pk>/", views.export_detail, name="export-detail"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
]

urlpatterns = [path("", include((_patterns, "transfer"), namespace="transfer"))]
