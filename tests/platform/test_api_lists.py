"""List conventions: pagination (page and cursor), capped count, filters, search, ordering, tags,
custom-field filters — through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from django.test import override_settings

from huoban.platform.records.models import CustomField
from tests.permissions import make_customer

URL = "/api/v1/customers/"


def make(owner, **fields):
    return make_customer(owner, **fields)


def ids(body):
    return [r["id"] for r in body["results"]]


def test_list_shape_and_page_size(org, api):
    made = [make(org.sales_rep1) for _ in range(7)]
    r = api(org.sales_rep1).get(URL, {"page_size": 3})
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["count", "count_capped", "next", "previous", "results"]
    assert body["count"] == 7 and body["count_capped"] is False
    assert ids(body) == [c.pk for c in reversed(made)][:3]  # newest first by default
    assert body["previous"] is None and "page=2" in body["next"]
    page3 = api(org.sales_rep1).get(URL, {"page_size": 3, "page": 3}).json()
    assert len(page3["results"]) == 1 and page3["next"] is None and "page=2" in page3["previous"]
    # beyond the last page: JSON 404
    r = api(org.sales_rep1).get(URL, {"page_size": 3, "page": 4})
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_page_size_is_capped_at_500(org, api):
    make(org.sales_rep1)
    r = api(org.sales_rep1).get(URL, {"page_size": 100000})
    assert r.status_code == 200
    # max 500: ask for page 2 of size 500 → next page number arithmetic uses 500
    from huoban.platform.api.pagination import CappedPagination

    assert CappedPagination.max_page_size == 500
    assert CappedPagination().get_page_size(type("R", (), {"query_params": {"page_size": "9999"}})()) == 500


@override_settings(API_COUNT_CAP=5)
def test_count_is_capped(org, api):
    for _ in range(8):
        make(org.sales_rep1)
    body = api(org.sales_rep1).get(URL, {"page_size": 2}).json()
    assert body["count"] == 5 and body["count_capped"] is True
    body = api(org.sales_rep1).get(URL, {"page_size": 2, "page": 4}).json()
    assert len(body["results"]) == 2 and body["count_capped"] is True
    # at or below the cap: exact
    body = api(org.sales_rep2).get(URL, {"page_size": 2}).json()
    assert body["count"] == 0 and body["count_capped"] is False


def test_cursor_walks_every_row_once_and_is_stable_under_inserts(org, api):
    made = {make(org.sales_rep1).pk for _ in range(11)}
    client = api(org.sales_rep1)
    r = client.get(URL + "?cursor=&page_size=4")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] is None and body["previous"] is None
    seen: list[int] = []
    pages = 0
    while True:
        seen.extend(ids(body))
        pages += 1
        # rows inserted while walking do not shift the pages
        make(org.sales_rep1)
        if not body["next"]:
            break
        body = client.get(body["next"]).json()
    assert pages == 3
    assert len(seen) == len(set(seen)) == 11
    assert set(seen) == made
    assert seen == sorted(seen, reverse=True)


def test_cursor_previous_link_walks_back(org, api):
    for _ in range(6):
        make(org.sales_rep1)
    client = api(org.sales_rep1)
    first = client.get(URL + "?cursor=&page_size=2").json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert ids(back) == ids(first)
    assert back["previous"] is None


def test_cursor_errors_are_400(org, api):
    client = api(org.sales_rep1)
    r = client.get(URL, {"cursor": "not-a-cursor"})
    assert r.status_code == 400 and "cursor" in r.json()
    r = client.get(URL, {"cursor": "", "ordering": "name"})
    assert r.status_code == 400 and "ordering" in r.json()


def test_field_filters_search_and_ordering(org, api):
    a = make(org.sales_rep1, name="Alpha 杭州 Tech", kind="company", lifecycle_stage="customer")
    b = make(org.sales_rep1, name="Bravo Person", kind="individual", lifecycle_stage="prospect")
    c = make(org.sales_rep1, name="Charlie 杭州 Trade", kind="company", lifecycle_stage="loyal")
    client = api(org.sales_rep1)
    assert ids(client.get(URL, {"kind": "individual"}).json()) == [b.pk]
    assert set(ids(client.get(URL, {"lifecycle_stage__in": "customer,loyal"}).json())) == {a.pk, c.pk}
    assert set(ids(client.get(URL, {"q": "杭州"}).json())) == {a.pk, c.pk}
    assert ids(client.get(URL, {"q": "杭州 trade"}).json()) == [c.pk]
    assert ids(client.get(URL, {"ordering": "name"}).json()) == [a.pk, b.pk, c.pk]
    assert ids(client.get(URL, {"ordering": "-name"}).json()) == [c.pk, b.pk, a.pk]
    r = client.get(URL, {"ordering": "password"})
    assert r.status_code == 400
    assert r["Content-Type"].startswith("application/json")
    assert "ordering" in r.json()
    # a bad filter value is a field-level 400
    r = client.get(URL, {"kind": "spaceship"})
    assert r.status_code == 400 and "kind" in r.json()


def test_tags_filter_all_must_match(org, api):
    a = make(org.sales_rep1, tags=["vip", "east"])
    b = make(org.sales_rep1, tags=["vip"])
    make(org.sales_rep1, tags=["east"])
    client = api(org.sales_rep1)
    assert set(ids(client.get(URL, {"tags": "vip"}).json())) == {a.pk, b.pk}
    assert ids(client.get(URL, {"tags": "vip,east"}).json()) == [a.pk]
    assert ids(client.get(URL, {"tags": "nothing"}).json()) == []


@pytest.fixture
def cf_defs(db):
    specs = [
        ("seats", "integer", []),
        ("budget", "decimal", []),
        ("renewal", "date", []),
        ("tier", "single_select", ["gold", "silver", "bronze"]),
        ("regions", "multi_select", ["east", "north", "华南"]),
        ("note", "text", []),
    ]
    for key, ftype, options in specs:
        CustomField.objects.create(
            object_type="customer", key=key, label=key.title(), type=ftype, options=options
        )


def test_custom_field_filters(org, api, cf_defs):
    rep = org.sales_rep1
    a = make(
        rep,
        custom_fields={
            "seats": 5,
            "budget": "1200.50",
            "renewal": "2026-01-15",
            "tier": "gold",
            "regions": ["east", "华南"],
        },
    )
    b = make(
        rep,
        custom_fields={
            "seats": 40,
            "budget": "99.9",
            "renewal": "2026-03-01",
            "tier": "silver",
            "regions": ["north"],
        },
    )
    c = make(rep, custom_fields={"seats": 12, "budget": "1200.5", "tier": "bronze"})
    d = make(rep)  # no values at all
    client = api(rep)

    def q(**params):
        r = client.get(URL, params)
        assert r.status_code == 200, r.content
        return set(ids(r.json()))

    # integer
    assert q(cf_seats=12) == {c.pk}
    assert q(cf_seats__gte=12) == {b.pk, c.pk}  # numeric, not text ("5" > "40" as text)
    assert q(cf_seats__lte=12) == {a.pk, c.pk}
    assert q(cf_seats__gt=5, cf_seats__lt=40) == {c.pk}
    assert q(cf_seats__in="5,40") == {a.pk, b.pk}
    assert q(cf_seats__isnull="true") == {d.pk}
    assert q(cf_seats__isnull="false") == {a.pk, b.pk, c.pk}
    # decimal: compared as numbers (1200.50 == 1200.5)
    assert q(cf_budget="1200.5") == {a.pk, c.pk}
    assert q(cf_budget__gte="1000") == {a.pk, c.pk}
    assert q(cf_budget__lte="100") == {b.pk}
    assert q(cf_budget__in="99.90,1200.50") == {a.pk, b.pk, c.pk}
    assert q(cf_budget__isnull="1") == {d.pk}
    # date
    assert q(cf_renewal="2026-01-15") == {a.pk}
    assert q(cf_renewal__gte="2026-02-01") == {b.pk}
    assert q(cf_renewal__lte="2026-03-01") == {a.pk, b.pk}
    assert q(cf_renewal__in="2026-01-15,2026-03-01") == {a.pk, b.pk}
    assert q(cf_renewal__isnull="true") == {c.pk, d.pk}
    # single select
    assert q(cf_tier="gold") == {a.pk}
    assert q(cf_tier__in="gold,bronze") == {a.pk, c.pk}
    assert q(cf_tier__isnull="true") == {d.pk}
    # multi select: plain = all of, __in = any of
    assert q(cf_regions="east") == {a.pk}
    assert q(cf_regions="华南") == {a.pk}
    assert q(cf_regions="east,华南") == {a.pk}
    assert q(cf_regions__in="north,华南") == {a.pk, b.pk}
    assert q(cf_regions__isnull="true") == {c.pk, d.pk}


def test_custom_field_filter_errors(org, api, cf_defs):
    client = api(org.sales_rep1)
    for params, key in [
        ({"cf_nope": "1"}, "cf_nope"),
        ({"cf_seats__gte": "many"}, "cf_seats__gte"),
        ({"cf_renewal": "yesterday"}, "cf_renewal"),
        ({"cf_tier": "platinum"}, "cf_tier"),
        ({"cf_regions": "mars"}, "cf_regions"),
        ({"cf_Seats": "1"}, "cf_Seats"),
    ]:
        r = client.get(URL, params)
        assert r.status_code == 400, (params, r.content)
        assert key in r.json()


def test_list_query_count_is_bounded(org, api, django_assert_max_num_queries):
    for i in range(20):
        make(org.sales_rep1, tags=[f"t{i % 3}"])
    client = api(org.sales_rep1)
    client.get(URL)  # warm caches (content types)
    with django_assert_max_num_queries(12):
        r = client.get(URL, {"page_size": 20})
    assert len(r.json()["results"]) == 20
