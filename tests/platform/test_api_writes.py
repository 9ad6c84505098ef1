"""Write conventions: PATCH, versions (If-Match / body) → 409 naming who changed what,
Idempotency-Key replay."""

from __future__ import annotations

import uuid

import pytest

from huoban.customers.models import Customer
from huoban.platform.api.models import IdempotencyKey

URL = "/api/v1/customers/"


def new_name():
    return f"Write {uuid.uuid4().hex}"


def create(client, **extra):
    r = client.post(URL, {"name": new_name(), "confirm_duplicate": True, **extra}, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def test_patch_is_partial_and_bumps_version(org, api):
    rep = api(org.sales_rep1)
    body = create(rep, short_name="Old", website="https://old.example.com")
    r = rep.patch(f"{URL}{body['id']}/", {"short_name": "New"}, format="json")
    assert r.status_code == 200, r.content
    after = r.json()
    assert after["short_name"] == "New"
    assert after["website"] == "https://old.example.com"  # untouched
    assert after["name"] == body["name"]
    assert after["version"] == body["version"] + 1
    assert r["ETag"] == f'"{after["version"]}"'
    assert rep.get(f"{URL}{body['id']}/")["ETag"] == f'"{after["version"]}"'


def test_stale_if_match_header_is_409_naming_who_changed_what(org, api):
    rep = api(org.sales_rep1)
    body = create(rep, short_name="A")
    cid = body["id"]
    manager = api(org.sales_manager)
    r = manager.patch(
        f"{URL}{cid}/", {"short_name": "B"}, format="json", HTTP_IF_MATCH=f'"{body["version"]}"'
    )
    assert r.status_code == 200, r.content
    # the rep still holds version 1
    r = rep.patch(f"{URL}{cid}/", {"short_name": "C"}, format="json", HTTP_IF_MATCH=str(body["version"]))
    assert r.status_code == 409
    err = r.json()
    assert err["code"] == "stale_version"
    assert err["changed_by"] == "sales_manager"
    assert err["changes"] == {"short_name": ["A", "B"]}
    assert err["current_version"] == body["version"] + 1
    assert err["changed_at"]
    assert "sales_manager" in err["detail"]
    assert Customer.objects.unrestricted().get(pk=cid).short_name == "B"  # not overwritten


def test_stale_version_in_body_is_409_and_current_version_succeeds(org, api):
    rep = api(org.sales_rep1)
    body = create(rep)
    cid = body["id"]
    assert rep.patch(f"{URL}{cid}/", {"short_name": "x", "version": 1}, format="json").status_code == 200
    r = rep.patch(f"{URL}{cid}/", {"short_name": "y", "version": 1}, format="json")
    assert r.status_code == 409 and r.json()["changed_by"] == "sales_rep1"
    r = rep.patch(f"{URL}{cid}/", {"short_name": "y", "version": 2}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 3
    # no version at all: last write wins (the caller opted out)
    assert rep.patch(f"{URL}{cid}/", {"short_name": "z"}, format="json").status_code == 200
    # a non-integer version is a field error
    r = rep.patch(f"{URL}{cid}/", {"short_name": "q"}, format="json", HTTP_IF_MATCH="abc")
    assert r.status_code == 400 and "version" in r.json()


def test_stale_delete_is_409(org, api):
    mgr = api(org.sales_manager)
    body = create(mgr)
    mgr.patch(f"{URL}{body['id']}/", {"short_name": "x"}, format="json")
    r = mgr.delete(f"{URL}{body['id']}/", HTTP_IF_MATCH="1")
    assert r.status_code == 409
    assert mgr.delete(f"{URL}{body['id']}/", HTTP_IF_MATCH="2").status_code == 204


def test_idempotency_key_replays_first_response(org, api):
    rep = api(org.sales_rep1)
    payload = {"name": new_name(), "confirm_duplicate": True}
    before = Customer.objects.unrestricted().count()
    first = rep.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    second = rep.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Customer.objects.unrestricted().count() == before + 1
    # even a different body replays: the key names the operation
    third = rep.post(
        URL, {"name": new_name(), "confirm_duplicate": True}, format="json", HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert third.json()["id"] == first.json()["id"]
    assert Customer.objects.unrestricted().count() == before + 1
    # keys are per user: another user's same key is a new request
    other = api(org.sales_rep2).post(
        URL, {"name": new_name(), "confirm_duplicate": True}, format="json", HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_idempotency_key_reused_on_another_path_is_422(org, api):
    rep = api(org.sales_rep1)
    r = rep.post(
        URL, {"name": new_name(), "confirm_duplicate": True}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
    )
    assert r.status_code == 201
    cid = r.json()["id"]
    r = rep.post(f"{URL}{cid}/share/", {"user": org.sales_rep2.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"


def test_failed_request_frees_its_key(org, api):
    rep = api(org.sales_rep1)
    r = rep.post(URL, {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert r.status_code == 400
    assert not IdempotencyKey.objects.filter(key="k-3").exists()
    r = rep.post(
        URL, {"name": new_name(), "confirm_duplicate": True}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert r.status_code == 201


def test_concurrent_duplicate_is_409_and_an_abandoned_key_is_retried(org, api):
    import datetime as dt

    from django.utils import timezone

    rep = api(org.sales_rep1)
    IdempotencyKey.objects.create(user=org.sales_rep1, key="k-4", method="POST", path=URL, status_code=0)
    r = rep.post(
        URL, {"name": new_name(), "confirm_duplicate": True}, format="json", HTTP_IDEMPOTENCY_KEY="k-4"
    )
    assert r.status_code == 409 and r.json()["code"] == "idempotency_in_progress"
    IdempotencyKey.objects.filter(key="k-4").update(created_at=timezone.now() - dt.timedelta(minutes=10))
    r = rep.post(
        URL, {"name": new_name(), "confirm_duplicate": True}, format="json", HTTP_IDEMPOTENCY_KEY="k-4"
    )
    assert r.status_code == 201
    assert IdempotencyKey.objects.get(key="k-4").status_code == 201


def test_idempotency_applies_to_actions(org, api):
    mgr = api(org.sales_manager)
    body = create(mgr)
    url = f"{URL}{body['id']}/transfer/"
    first = mgr.post(url, {"owner": org.sales_rep1.pk}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    again = mgr.post(url, {"owner": org.sales_rep1.pk}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
    assert first.json() == again.json() == {"transferred": 1}
    assert again["Idempotent-Replayed"] == "true"


# --- the older explicit form still works (views that call dispatch_idempotent themselves) ---------

from django.urls import path  # noqa: E402
from rest_framework import viewsets  # noqa: E402
from rest_framework.response import Response  # noqa: E402

from huoban.platform.api.records import IdempotentCreateMixin  # noqa: E402

CREATED: list[int] = []


class _ExplicitViewSet(IdempotentCreateMixin, viewsets.ViewSet):
    def create(self, request):
        return self.dispatch_idempotent(request, self._create)

    def _create(self, request):
        CREATED.append(1)
        return Response({"n": len(CREATED)}, status=201)


urlpatterns = [path("explicit/", _ExplicitViewSet.as_view({"post": "create"}))]


@pytest.mark.urls(__name__)
def test_explicit_dispatch_idempotent_is_not_wrapped_twice(org, api):
    CREATED.clear()
    client = api(org.sales_rep1)
    first = client.post("/explicit/", {}, format="json", HTTP_IDEMPOTENCY_KEY="x-1")
    again = client.post("/explicit/", {}, format="json", HTTP_IDEMPOTENCY_KEY="x-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == {"n": 1}
    assert len(CREATED) == 1
