"""Global search: tokens, the index kept current by domain events, data scopes, the page."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from huoban.platform.access import registry
from huoban.platform.ui import search as s
from huoban.platform.ui.models_search import SearchEntry

# --- tokens (no database) ---------------------------------------------------------------------


def test_cjk_suffixes_cover_every_substring():
    toks = s.text_tokens("华为技术有限公司")
    for sub in ("华为", "为技", "技术有限", "公司", "司", "华"):
        assert any(t.startswith(sub) for t in toks), sub


def test_latin_words_by_prefix_and_normalisation():
    toks = s.text_tokens("Zhang Wei <ZW@Example.COM>")
    assert any(t.startswith("zhang wei <zw@") for t in toks)
    assert any(t.startswith("wei") for t in toks)
    assert any(t.startswith("example.com") for t in toks)
    assert not any(t.startswith("ang") for t in toks)  # words match by prefix only
    assert s.text_tokens("ＡＢＣ科技") >= {"abc科技"}  # full-width folded


def test_phone_digits_and_tail():
    toks = s.text_tokens("+86 138-1234-5678")
    assert "13812345678" in toks and "5678" in toks


def test_query_terms():
    assert s.query_terms("  华为   北京 ") == ["华为", "北京"]
    assert s.query_terms("138-1234 5678") == ["13812345678"]
    assert s.query_terms("@example") == ["example"]
    assert s.query_terms("") == []


# --- the index and the search -----------------------------------------------------------------


def make_customer(user, name, **data):
    from huoban.customers.services import customer_create

    return customer_create(actor=user, data={"name": name, "owner": user, **data})


@pytest.fixture
def customers(org):
    rep1, rep2, rep3 = org.sales_rep1, org.sales_rep2, org.sales_rep3
    return {
        "huawei": make_customer(rep1, "华为技术有限公司", phone="13812345678", email="info@huawei.example"),
        "zhang": make_customer(rep2, "张三商贸", short_name="张三"),
        "north": make_customer(rep3, "北京华为代理"),
        "acme": make_customer(rep1, "Acme Trading", email="sales@acme.example"),
    }


def names(groups):
    return sorted(h.label for g in groups for h in g.hits)


@pytest.mark.django_db
def test_events_keep_the_index_current(org, customers):
    from huoban.customers.services import customer_update
    from huoban.platform.records.services import record_delete, record_restore

    c = customers["huawei"]
    assert SearchEntry.objects.filter(object_type="customer", object_id=c.pk).exists()
    customer_update(actor=org.admin, customer=c, data={"name": "荣耀终端"}, version=c.version)
    assert names(s.search(org.admin, "荣耀")) == ["荣耀终端"]
    assert "华为技术有限公司" not in names(s.search(org.admin, "华为"))
    c.refresh_from_db()
    record_delete(actor=org.admin, obj=c)
    assert not SearchEntry.objects.filter(object_type="customer", object_id=c.pk).exists()
    assert s.search(org.admin, "荣耀") == []
    record_restore(actor=org.admin, obj=c)
    assert names(s.search(org.admin, "荣耀")) == ["荣耀终端"]


@pytest.mark.django_db
def test_one_and_two_character_chinese(org, customers):
    assert names(s.search(org.admin, "华为")) == ["北京华为代理", "华为技术有限公司"]
    assert names(s.search(org.admin, "张")) == ["张三商贸"]
    assert names(s.search(org.admin, "华为 北京")) == ["北京华为代理"]  # terms are ANDed
    assert names(s.search(org.admin, "acme")) == ["Acme Trading"]
    assert names(s.search(org.admin, "ACM")) == ["Acme Trading"]
    assert names(s.search(org.admin, "1381234")) == ["华为技术有限公司"]
    assert names(s.search(org.admin, "5678")) == ["华为技术有限公司"]  # phone tail
    assert names(s.search(org.admin, "华为北京")) == ["北京华为代理"]  # jieba split fallback
    assert s.search(org.admin, "不存在的公司") == []


@pytest.mark.django_db
def test_result_lines_show_phones_formatted(org, customers):
    (group,) = s.search(org.admin, "5678")
    (hit,) = group.hits
    assert "138 1234 5678" in hit.subtitle and "+86" not in hit.subtitle


@pytest.mark.django_db
def test_data_scopes_apply(org, customers):
    assert names(s.search(org.sales_rep1, "华为")) == ["华为技术有限公司"]  # own
    assert names(s.search(org.sales_rep2, "华为")) == []
    assert names(s.search(org.sales_manager, "华为")) == ["华为技术有限公司"]  # east tree
    assert names(s.search(org.sales_manager_north, "华为")) == ["北京华为代理"]
    assert names(s.search(org.service_agent, "华为")) == [
        "北京华为代理",
        "华为技术有限公司",
    ]  # all, read-only
    # a record shared with a user becomes findable for them
    from huoban.platform.records.services import share_record

    share_record(actor=org.admin, obj=customers["huawei"], user=org.sales_rep2)
    assert names(s.search(org.sales_rep2, "华为")) == ["华为技术有限公司"]


@pytest.mark.django_db
def test_transfer_moves_visibility(org, customers):
    from huoban.platform.records.services import record_transfer

    record_transfer(actor=org.admin, objs=[customers["huawei"]], new_owner=org.sales_rep2)
    assert names(s.search(org.sales_rep1, "华为")) == []
    assert names(s.search(org.sales_rep2, "华为")) == ["华为技术有限公司"]


@pytest.mark.django_db
def test_sensitive_fields_are_never_indexed(org):
    make_customer(org.admin, "Secretive", kind="individual", id_number="11010519491231002X")
    assert not SearchEntry.objects.filter(token__startswith="110105").exists()
    assert "id_number" not in s.index_fields(registry.get("customer"))


@pytest.mark.django_db
def test_reindex_command_rebuilds(org, customers):
    SearchEntry.objects.all().delete()
    assert s.search(org.admin, "华为") == []
    call_command("search-reindex", verbosity=0)
    assert names(s.search(org.admin, "华为")) == ["北京华为代理", "华为技术有限公司"]
    n = SearchEntry.objects.count()
    call_command("search-reindex", "--type", "customer", verbosity=0)
    assert SearchEntry.objects.count() == n


@pytest.mark.django_db
def test_top_twenty_and_more_link(org):
    from huoban.customers.models import Customer
    from huoban.platform.records.services import record_create

    for i in range(25):
        record_create(actor=org.admin, obj=Customer(name=f"张记{i:02d}", number=f"T{i}", owner=org.admin))
    groups = s.search(org.admin, "张记")
    assert sum(len(g.hits) for g in groups) == 20
    assert groups[0].has_more and groups[0].more_url == "/customers/?q=%E5%BC%A0%E8%AE%B0"


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_search_page(client, org, customers, django_assert_max_num_queries):
    client.force_login(org.sales_rep1)
    with django_assert_max_num_queries(40):
        r = client.get("/search/", {"q": "华为"})
    assert r.status_code == 200
    body = r.content.decode()
    assert "华为技术有限公司" in body and "北京华为代理" not in body
    assert f'href="/customers/{customers["huawei"].pk}/"' in body
    r = client.get("/search/", {"q": "华为", "partial": "1"})
    assert r.status_code == 200 and "<html" not in r.content.decode()
    r = client.get("/search/", {"q": "没有这个"})
    assert r.status_code == 200


@pytest.mark.django_db
def test_search_page_needs_login(client):
    r = client.get("/search/", {"q": "x"})
    assert r.status_code == 302 and "/login/" in r["Location"]


@pytest.mark.django_db
def test_branches_merge_in_token_order(org):
    """A manager's scope is read as several index ranges (own, each unit); the merged top 20 is
    still the best 20 by matched token, without duplicates."""
    from huoban.customers.models import Customer
    from huoban.platform.records.services import record_create

    owners = [org.sales_rep1, org.sales_rep2, org.sales_manager]
    for i in range(36):
        o = owners[i % 3]
        record_create(actor=o, obj=Customer(name=f"张{i:02d}号", number=f"B{i}", owner=o))
    hits = [h.label for g in s.search(org.sales_manager, "张") for h in g.hits]
    assert hits == [f"张{i:02d}号" for i in range(20)]
    assert s.search(org.sales_manager, "张")[0].has_more


@pytest.mark.django_db
def test_merge_and_undo_keep_the_index_current(org):
    """The absorbed records leave the index on a merge and come back on its undo."""
    from huoban.customers.merging import customer_merge, merge_undo_by_id

    survivor = make_customer(org.admin, "星辰科技")
    absorbed = make_customer(org.admin, "星辰科技北京分部")
    merge = customer_merge(actor=org.admin, survivor=survivor, absorb=[absorbed.pk])
    assert not SearchEntry.objects.filter(object_type="customer", object_id=absorbed.pk).exists()
    assert names(s.search(org.admin, "星辰")) == ["星辰科技"]
    merge_undo_by_id(actor=org.admin, object_type="customer", survivor_id=survivor.pk, merge_id=merge.pk)
    assert SearchEntry.objects.filter(object_type="customer", object_id=absorbed.pk).exists()
    assert names(s.search(org.admin, "星辰")) == ["星辰科技", "星辰科技北京分部"]


@pytest.mark.django_db
def test_updates_that_touch_no_search_field_leave_the_index_alone(org, customers, django_assert_num_queries):
    from huoban.platform.events.bus import Event

    c = customers["huawei"]
    with django_assert_num_queries(0):
        s.handle_event(Event("customer.updated", {"id": c.pk, "changes": ["industry", "version"]}))
    with django_assert_num_queries(0):
        s.handle_event(Event("customer.updated", {"id": c.pk, "changes": []}))
    SearchEntry.objects.filter(object_type="customer", object_id=c.pk).delete()
    s.handle_event(Event("customer.updated", {"id": c.pk, "changes": ["name", "version"]}))
    assert SearchEntry.objects.filter(object_type="customer", object_id=c.pk).exists()


@pytest.mark.django_db
def test_bulk_events_index_in_chunks_through_the_task_queue(org, monkeypatch):
    """A bulk event's records are loaded a chunk at a time (one query each) by a queued task;
    jobs run eagerly in tests, so the records are findable at once."""
    from huoban.customers.models import Customer
    from huoban.platform.events.bus import emit
    from huoban.platform.ui import tasks

    monkeypatch.setattr(s, "CHUNK", 3)
    calls = []
    queue = tasks.search_index
    monkeypatch.setattr(tasks, "search_index", lambda *a: calls.append(a) or queue(*a))
    objs = [Customer(name=f"批量客户{i}", number=f"BK{i}", owner=org.admin) for i in range(7)]
    Customer.objects.unrestricted().bulk_create(objs)
    ids = [o.pk for o in objs]
    emit("customer.bulk_created", actor=org.admin, ids=ids)
    assert calls == [("customer", ids[0:3]), ("customer", ids[3:6]), ("customer", ids[6:7])]
    assert len([h for g in s.search(org.admin, "批量客户") for h in g.hits]) == 7
