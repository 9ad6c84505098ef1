from django.urls import path

from . import settings_views as sv
from . import views
from .public import PublicWebFormView
from .ui import lead_pages, web_form_pages

urlpatterns = [
    path("forms/<str:form_key>/", PublicWebFormView.as_view(), name="public-web-form"),
    path("leads/<int:pk>/follow-ups/", views.follow_up, name="lead-follow-up"),
    path("leads/<int:pk>/attachments/", views.attachment, name="lead-attachment"),
    path(
        "leads/<int:pk>/attachments/<int:attachment_id>/delete/",
        views.attachment_delete,
        name="lead-attachment-delete",
    ),
    path("leads/<int:pk>/convert/", views.convert, name="lead-convert"),
    # settings (administrators): scoring rules, assignment rules and absences, lead settings
    path("settings/lead-scoring/", sv.scoring_rules, name="leads-settings-scoring"),
    path("settings/lead-scoring/new/", sv.scoring_rule_form, name="leads-settings-scoring-new"),
    path("settings/lead-scoring/preview/", sv.scoring_preview, name="leads-settings-scoring-preview"),
    path("settings/lead-scoring/value/", sv.scoring_value_widget, name="leads-settings-scoring-value"),
    path("settings/lead-scoring/reorder/", sv.scoring_rules_reorder, name="leads-settings-scoring-reorder"),
    path("settings/lead-scoring/<int:pk>/", sv.scoring_rule_form, name="leads-settings-scoring-rule"),
    path(
        "settings/lead-scoring/<int:pk>/delete/", sv.scoring_rule_delete, name="leads-settings-scoring-delete"
    ),
    path(
        "settings/lead-scoring/<int:pk>/active/", sv.scoring_rule_active, name="leads-settings-scoring-active"
    ),
    path("settings/lead-assignment/", sv.assignment_rules, name="leads-settings-assignment"),
    path("settings/lead-assignment/new/", sv.assignment_rule_form, name="leads-settings-assignment-new"),
    path(
        "settings/lead-assignment/reorder/",
        sv.assignment_rules_reorder,
        name="leads-settings-assignment-reorder",
    ),
    path("settings/lead-assignment/absences/", sv.absence_set, name="leads-settings-absence-set"),
    path(
        "settings/lead-assignment/absences/<int:pk>/end/",
        sv.absence_end,
        name="leads-settings-absence-end",
    ),
    path(
        "settings/lead-assignment/<int:pk>/", sv.assignment_rule_form, name="leads-settings-assignment-rule"
    ),
    path(
        "settings/lead-assignment/<int:pk>/delete/",
        sv.assignment_rule_delete,
        name="leads-settings-assignment-delete",
    ),
    path(
        "settings/lead-assignment/<int:pk>/active/",
        sv.assignment_rule_active,
        name="leads-settings-assignment-active",
    ),
    path("settings/leads/", sv.lead_settings, name="leads-settings-general"),
    *lead_pages.urls(),
    *web_form_pages.urls(),
]
