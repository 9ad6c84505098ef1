"""Pages of the settings area (``/settings/…``) and the global search (``/search/``).

Included by ``platform/ui/urls.py`` in the ``ui`` namespace: names are ``ui:settings-<page>``
and ``ui:search``.
"""

from __future__ import annotations

from django.urls import path

from . import settings_views as v
from .search import search_page

v.register_navigation()

settings_patterns = [
    path("settings/", v.settings_index, name="settings-index"),
    path("settings/users/", v.users_list, name="settings-users"),
    path("settings/users/new/", v.user_new, name="settings-user-new"),
    path("settings/users/<int:pk>/", v.user_edit, name="settings-user"),
    path("settings/users/<int:pk>/active/", v.user_toggle_active, name="settings-user-active"),
    path("settings/users/<int:pk>/reset-2fa/", v.user_reset_2fa, name="settings-user-reset-2fa"),
    path("settings/units/", v.units_tree, name="settings-units"),
    path("settings/units/new/", v.unit_new, name="settings-unit-new"),
    path("settings/units/<int:pk>/", v.unit_edit, name="settings-unit"),
    path("settings/units/<int:pk>/move/", v.unit_move, name="settings-unit-move"),
    path("settings/roles/", v.roles_list, name="settings-roles"),
    path("settings/roles/new/", v.role_edit, name="settings-role-new"),
    path("settings/roles/<int:pk>/", v.role_edit, name="settings-role"),
    path("settings/fields/", v.fields_index, name="settings-fields"),
    path("settings/fields/<slug:object_type>/", v.fields_list, name="settings-fields-type"),
    path("settings/fields/<slug:object_type>/new/", v.field_edit, name="settings-field-new"),
    path("settings/fields/<slug:object_type>/reorder/", v.fields_reorder, name="settings-fields-reorder"),
    path("settings/fields/<slug:object_type>/<int:pk>/", v.field_edit, name="settings-field"),
    path(
        "settings/fields/<slug:object_type>/<int:pk>/active/",
        v.field_toggle_active,
        name="settings-field-active",
    ),
    path("settings/picklists/", v.picklists_list, name="settings-picklists"),
    path("settings/picklists/<slug:key>/", v.picklist_values, name="settings-picklist"),
    path("settings/picklists/<slug:key>/<int:pk>/", v.picklist_value_edit, name="settings-picklist-value"),
    path("settings/numbering/", v.numbering_list, name="settings-numbering"),
    path("settings/numbering/preview/", v.numbering_preview, name="settings-numbering-preview"),
    path("settings/numbering/<slug:object_type>/", v.numbering_edit, name="settings-numbering-edit"),
    path("settings/modules/", v.modules_page, name="settings-modules"),
    path("settings/audit/", v.audit_log_page, name="settings-audit"),
]

urlpatterns = [
    *settings_patterns,
    path("search/", search_page, name="search"),
]
