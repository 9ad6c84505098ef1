from django.urls import path

from . import views
from .public import PublicWebFormView
from .ui import lead_pages, web_form_pages

urlpatterns = [
    path("forms/<str:form_key>/", PublicWebFormView.as_view(), name="public-web-form"),
    path("leads/<int:pk>/follow-ups/", views.follow_up, name="lead-follow-up"),
    path("leads/<int:pk>/attachments/", views.attachment, name="lead-attachment"),
    path("leads/<int:pk>/convert/", views.convert, name="lead-convert"),
    *lead_pages.urls(),
    *web_form_pages.urls(),
]
