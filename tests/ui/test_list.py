"""Record lists: scope, search, filters, sort, columns, saved views, bulk actions, query counts."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from huoban.customers.models import Customer
from huoban.customers.services import customer_create
from huoban.platform.ui.models import SavedView

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def row_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-hb-row="(\d+)"', html)]


@pytest.fixture
def data(org):
    a = customer_create(
        confirm_duplicate=True,
        actor=org.sales_rep1,
        data={"name": "Alpha 上海", "lifecycle_stage": "customer"},
        tags=["VIP"],
    )
    b = customer_create(
        confirm_duplicate=True, actor=org.sales_rep1, data={"name": "Beta 北京", "kind": "individual"}
    )
    c = customer_create(
        confirm_duplicate=True, actor=org.sales_rep2, data={"name": "Gamma 广州"}, tags=["VIP"]
    )
    d = customer_create(confirm_duplicate=True, actor=org.sales_rep3, data={"name": "Delta 天津"})
    return a, b, c, d


def test_list_is_scoped(org, data):
    a, b, c, d = data
    assert set(row_ids(client_for(org.sales_rep1).get("/customers/").content.decode())) == {a.pk, b.pk}
    assert set(row_ids(client_for(org.sales_manager).get("/customers/").content.decode())) == {
        a.pk,
        b.pk,
        c.pk,
    }
    assert set(row_ids(client_for(org.admin).get("/customers/").content.decode())) == {a.pk, b.pk, c.pk, d.pk}
    assert client_for(org.users["finance"]).get("/customers/").status_code == 200


def test_search_filters_sort(org, data):
    a, b, c, d = data
    cl = client_for(org.admin)
    assert row_ids(cl.get("/customers/?q=上海").content.decode()) == [a.pk]
    assert set(row_ids(cl.get("/customers/?kind=individual").content.decode())) == {b.pk}
    assert set(
        row_ids(cl.get("/customers/?lifecycle_stage=customer&lifecycle_stage=prospect").content.decode())
    ) == {a.pk, b.pk, c.pk, d.pk}
    assert set(row_ids(cl.get("/customers/?lifecycle_stage=customer").content.decode())) == {a.pk}
    assert set(row_ids(cl.get("/customers/?tag=VIP").content.decode())) == {a.pk, c.pk}
    assert set(row_ids(cl.get(f"/customers/?owner={org.sales_rep1.pk}").content.decode())) == {a.pk, b.pk}
    assert set(row_ids(client_for(org.sales_rep2).get("/customers/?owner=me").content.decode())) == {c.pk}
    assert set(row_ids(cl.get(f"/customers/?owner_unit={org.units['east'].pk}").content.decode())) == {
        a.pk,
        b.pk,
        c.pk,
    }
    assert set(
        row_ids(cl.get("/customers/?created_at__from=2000-01-01&created_at__to=2999-01-01").content.decode())
    ) == {a.pk, b.pk, c.pk, d.pk}
    assert row_ids(cl.get("/customers/?created_at__to=2000-01-01").content.decode()) == []
    assert row_ids(cl.get("/customers/?sort=name").content.decode()) == [a.pk, b.pk, d.pk, c.pk]
    assert row_ids(cl.get("/customers/?sort=-name").content.decode()) == [c.pk, d.pk, b.pk, a.pk]
    # an unknown sort key is ignored, not an error
    assert cl.get("/customers/?sort=password").status_code == 200
    # filter chips and the empty state
    html = cl.get("/customers/?q=nothing-matches").content.decode()
    assert "No records match" in html


def test_custom_field_filter_and_column(org, data):
    from huoban.platform.records.models import CustomField

    a, b, c, d = data
    CustomField.objects.create(object_type="customer", key="budget", label="Budget", type="decimal")
    CustomField.objects.create(
        object_type="customer", key="grade", label="Grade", type="single_select", options=["A", "B"]
    )
    from huoban.customers.services import customer_update

    customer_update(
        actor=org.admin,
        customer=a,
        data={},
        custom_fields={"budget": "1500.50", "grade": "A"},
        version=a.version,
    )
    customer_update(
        actor=org.admin, customer=b, data={}, custom_fields={"budget": "90", "grade": "B"}, version=b.version
    )
    cl = client_for(org.admin)
    assert row_ids(cl.get("/customers/?cf_budget__from=100").content.decode()) == [a.pk]
    assert row_ids(cl.get("/customers/?cf_grade=B").content.decode()) == [b.pk]
    html = cl.get("/customers/?cols=name,cf_budget,cf_grade&sort=-cf_budget").content.decode()
    assert "Budget" in html and "1,500.50" in html
    assert row_ids(html)[:2] == [a.pk, b.pk]


def test_columns_pick_and_order(org, data):
    html = client_for(org.admin).get("/customers/?cols=phone,name,tags").content.decode()
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert head.index("Phone") < head.index("Name") < head.index("Tags")
    assert "Lifecycle stage" not in head
    # the repeated col= form (no JavaScript) works too
    html = client_for(org.admin).get("/customers/?col=name&col=kind").content.decode()
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "Kind" in head and "Phone" not in head


def test_saved_views_personal_shared_default(org, data):
    a, b, c, d = data
    rep = client_for(org.sales_rep1)
    r = rep.post(
        "/customers/views/",
        {"name": "Mine VIP", "query": "tag=VIP&page=3", "cols": "name,phone", "is_default": "1"},
    )
    assert r.status_code == 302
    view = SavedView.objects.get(name="Mine VIP")
    assert view.user == org.sales_rep1 and view.query == "tag=VIP" and view.columns == ["name", "phone"]
    assert view.shared is False  # reps cannot share
    # opening the list without parameters applies the default view
    r = rep.get("/customers/")
    assert r.status_code == 302 and f"view={view.pk}" in r["Location"] and "tag=VIP" in r["Location"]
    assert row_ids(rep.get(r["Location"]).content.decode()) == [a.pk]
    # ?view=0 = the plain list
    assert rep.get("/customers/?view=0").status_code == 200
    # other users do not see a personal view
    assert "Mine VIP" not in client_for(org.sales_rep2).get("/customers/").content.decode()
    # a manager shares a view; everyone sees it, only the owner deletes it
    mgr = client_for(org.sales_manager)
    mgr.post(
        "/customers/views/", {"name": "Team prospects", "query": "lifecycle_stage=prospect", "shared": "1"}
    )
    shared = SavedView.objects.get(name="Team prospects")
    assert shared.shared
    assert "Team prospects" in client_for(org.sales_rep2).get("/customers/").content.decode()
    assert client_for(org.sales_rep2).post(f"/customers/views/{shared.pk}/delete/").status_code == 404
    assert mgr.post(f"/customers/views/{shared.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=shared.pk).exists()


def test_bulk_transfer_tag_delete(org, data):
    a, b, c, d = data
    mgr = client_for(org.sales_manager)
    r = mgr.post(
        "/customers/bulk/",
        {"action": "add_tag", "tag": "重点", "ids": [a.pk, b.pk, d.pk], "next": "/customers/"},
    )
    assert r.status_code == 302
    assert "重点" in Customer.objects.unrestricted().get(pk=a.pk).tag_names
    assert "重点" not in Customer.objects.unrestricted().get(pk=d.pk).tag_names  # out of scope: skipped
    r = mgr.post("/customers/bulk/", {"action": "transfer", "owner": org.sales_rep2.pk, "ids": [a.pk, b.pk]})
    assert r.status_code == 302
    assert set(
        Customer.objects.unrestricted().filter(pk__in=[a.pk, b.pk]).values_list("owner_id", flat=True)
    ) == {org.sales_rep2.pk}
    r = mgr.post("/customers/bulk/", {"action": "delete", "ids": [a.pk]})
    assert Customer.objects.unrestricted().get(pk=a.pk).deleted_at is not None


def test_bulk_actions_need_permission(org, data):
    a, b, c, d = data
    rep = client_for(org.sales_rep1)
    html = rep.get("/customers/").content.decode()
    assert 'value="add_tag"' in html
    assert 'value="delete"' not in html and 'value="transfer"' not in html
    assert rep.post("/customers/bulk/", {"action": "delete", "ids": [a.pk]}).status_code == 403
    assert (
        rep.post(
            "/customers/bulk/", {"action": "transfer", "owner": org.sales_rep2.pk, "ids": [a.pk]}
        ).status_code
        == 403
    )
    assert Customer.objects.unrestricted().get(pk=a.pk).deleted_at is None
    # nothing in scope → 404
    assert rep.post("/customers/bulk/", {"action": "add_tag", "tag": "x", "ids": [c.pk]}).status_code == 404
    # read-only role: no checkboxes at all
    assert 'name="ids"' not in client_for(org.service_agent).get("/customers/").content.decode()


def test_pagination_and_capped_count(org, settings):
    for i in range(7):
        customer_create(confirm_duplicate=True, actor=org.sales_rep1, data={"name": f"Co {i:02d}"})
    cl = client_for(org.sales_rep1)
    html = cl.get("/customers/?per_page=25&sort=name").content.decode()
    assert len(row_ids(html)) == 7
    settings.API_COUNT_CAP = 5
    html = cl.get("/customers/?sort=name").content.decode()
    assert "more than 5" in html


def test_list_query_count_50_rows(org, django_assert_max_num_queries):
    """No N+1: the list costs the same number of queries for 25 rows as for 50 (with tags, owner
    and unit columns), and stays under a fixed bound."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(55):
        customer_create(
            confirm_duplicate=True,
            actor=[org.sales_rep1, org.sales_rep2][i % 2],
            data={"name": f"Firma {i:03d}"},
            tags=["t1", f"t{i % 5}"] if i % 2 else None,
        )
    cl = client_for(org.sales_manager)
    url = "/customers/?cols=name,number,lifecycle_stage,owner,owner_unit,tags,created_at&per_page="
    cl.get(url + "50")
    with CaptureQueriesContext(connection) as small:
        cl.get(url + "25")
    with django_assert_max_num_queries(22):
        r = cl.get(url + "50")
    assert len(row_ids(r.content.decode())) == 50
    with CaptureQueriesContext(connection) as big:
        cl.get(url + "50")
    assert len(big.captured_queries) == len(small.captured_queries)


def test_detail_query_count(org, django_assert_max_num_queries):
    cust = customer_create(
        confirm_duplicate=True, actor=org.sales_rep1, data={"name": "查询次数"}, tags=["a", "b"]
    )
    cl = client_for(org.sales_rep1)
    cl.get(f"/customers/{cust.pk}/")
    with django_assert_max_num_queries(26):
        assert cl.get(f"/customers/{cust.pk}/").status_code == 200


def test_bulk_delete_is_one_write_when_no_delete_service(org, data, django_assert_max_num_queries):
    """Types without their own delete service are bulk-deleted with ``record_delete_many``: one
    transaction, one audit batch, however many records were selected."""
    from huoban.customers.models import Contact
    from huoban.platform.records.services import record_create

    a = data[0]
    contacts = [
        record_create(actor=org.admin, obj=Contact(customer=a, name=f"联系人{i}", owner=org.admin))
        for i in range(15)
    ]
    c = client_for(org.admin)
    with django_assert_max_num_queries(40):
        r = c.post("/contacts/bulk/", {"action": "delete", "ids": [x.pk for x in contacts]})
    assert r.status_code == 302
    assert (
        not Contact.objects.unrestricted().filter(pk__in=[x.pk for x in contacts], deleted_at=None).exists()
    )
