# HANDOFF: owned by the customers helper from now on
"""Customer, contact and follow-up pages; duplicate review, merge, public pools."""

from __future__ import annotations

from django.urls import path

from huoban.platform.ui.record_views import RecordDetailView

from . import views
from .ui import contact_pages, customer_pages, follow_up_pages

urlpatterns = [
    # before the generic record pages: fixed words first, then the merged-record redirect
    path("customers/duplicates/", views.duplicates, {"object_type": "customer"}, name="customer-duplicates"),
    path("contacts/duplicates/", views.duplicates, {"object_type": "contact"}, name="contact-duplicates"),
    path("customers/<int:pk>/merge/", views.merge, {"object_type": "customer"}, name="customer-merge"),
    path("contacts/<int:pk>/merge/", views.merge, {"object_type": "contact"}, name="contact-merge"),
    path(
        "customers/<int:pk>/merges/<int:merge_id>/undo/",
        views.merge_undo,
        {"object_type": "customer"},
        name="customer-merge-undo",
    ),
    path(
        "contacts/<int:pk>/merges/<int:merge_id>/undo/",
        views.merge_undo,
        {"object_type": "contact"},
        name="contact-merge-undo",
    ),
    path("customers/<int:pk>/release/", views.release, name="customer-release"),
    path("customer-pools/", views.pools, name="customer-pools"),
    path("customer-pools/<int:pk>/", views.pool_detail, name="customer-pool"),
    path(
        "customers/<int:pk>/",
        views.tombstone_or(RecordDetailView.as_view(pages=customer_pages), "customer"),
        name="customer-detail-merged",
    ),
    path(
        "contacts/<int:pk>/",
        views.tombstone_or(RecordDetailView.as_view(pages=contact_pages), "contact"),
        name="contact-detail-merged",
    ),
    *customer_pages.urls(),
    *contact_pages.urls(),
    *follow_up_pages.urls(),
]
