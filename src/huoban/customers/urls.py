# HANDOFF: owned by the customers helper from now on
"""Customer, contact and follow-up pages; duplicate review, merge, public pools; a customer's
addresses and files; a follow-up's files."""

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
    path("customers/<int:pk>/addresses/new/", views.address_add, name="customer-address-new"),
    path(
        "customers/<int:pk>/addresses/<int:address_id>/edit/",
        views.address_edit,
        name="customer-address-edit",
    ),
    path(
        "customers/<int:pk>/addresses/<int:address_id>/primary/",
        views.address_primary,
        name="customer-address-primary",
    ),
    path(
        "customers/<int:pk>/addresses/<int:address_id>/delete/",
        views.address_delete,
        name="customer-address-delete",
    ),
    path("customers/<int:pk>/files/", views.file_upload, name="customer-file-upload"),
    path("customers/<int:pk>/files/<int:file_id>/", views.file_download, name="customer-file"),
    path("customers/<int:pk>/files/<int:file_id>/delete/", views.file_delete, name="customer-file-delete"),
    path("follow-ups/<int:pk>/files/", views.follow_up_file_upload, name="follow_up-file-upload"),
    path("follow-ups/<int:pk>/files/<int:file_id>/", views.follow_up_file_download, name="follow_up-file"),
    path(
        "follow-ups/<int:pk>/files/<int:file_id>/delete/",
        views.follow_up_file_delete,
        name="follow_up-file-delete",
    ),
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
