from django.urls import path

from . import settings_views, views
from .ui import opportunity_pages

urlpatterns = [
    path(
        "opportunities/board/",
        views.SalesBoardView.as_view(pages=opportunity_pages),
        name="opportunity-board-pipeline",
    ),
    *opportunity_pages.urls(),
    path("reports/funnel/", views.funnel_page, name="report-funnel-page"),
    path("reports/forecast/", views.forecast_page, name="report-forecast-page"),
    path("reports/sales/", views.report_list, name="sales-report-list"),
    path("reports/sales/<int:pk>/", views.report_detail, name="sales-report-detail"),
    path("reports/sales/<int:pk>/export/", views.report_export, name="sales-report-export"),
    path("settings/sales/", settings_views.sales_settings, name="sales-settings-general"),
    path("settings/pipelines/", views.pipeline_settings, name="settings-pipelines"),
    path("settings/pipelines/new/", views.pipeline_settings, name="settings-pipeline-new"),
    path("settings/pipelines/<int:pk>/", views.pipeline_settings, name="settings-pipeline"),
]
