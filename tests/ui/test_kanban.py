"""Kanban board component on customers (lifecycle stages): render, move through the service,
refusals come back as errors (the page puts the card back)."""

from __future__ import annotations

import pytest
from django.test import Client

from huoban.customers.services import customer_create

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def cust(org):
    return customer_create(confirm_duplicate=True, actor=org.sales_rep1, data={"name": "看板测试有限公司"})


def test_board_renders_and_moves(org, cust):
    c = client_for(org.sales_rep1)
    r = c.get("/customers/board/")
    assert r.status_code == 200
    assert f'data-id="{cust.pk}"' in r.content.decode()
    r = c.post("/customers/board/move/", {"id": cust.pk, "to": "customer", "version": cust.version})
    assert r.status_code == 200 and r.json()["ok"] is True
    cust.refresh_from_db()
    assert cust.lifecycle_stage == "customer"


def test_board_move_refused(org, cust):
    c = client_for(org.sales_rep1)
    # stale version → 409 with a message, nothing changes
    r = c.post("/customers/board/move/", {"id": cust.pk, "to": "loyal", "version": cust.version + 5})
    assert r.status_code == 409 and r.json()["ok"] is False and r.json()["message"]
    # unknown column → 400
    assert c.post("/customers/board/move/", {"id": cust.pk, "to": "nowhere"}).status_code == 400
    # read-only user → 403; out of scope → 404
    assert (
        client_for(org.service_agent)
        .post("/customers/board/move/", {"id": cust.pk, "to": "loyal"})
        .status_code
        == 403
    )
    assert (
        client_for(org.sales_rep2).post("/customers/board/move/", {"id": cust.pk, "to": "loyal"}).status_code
        == 404
    )
    cust.refresh_from_db()
    assert cust.lifecycle_stage == "prospect"


def test_board_move_refused_by_service(org, cust, monkeypatch):
    from huoban.platform.errors import ValidationError
    from huoban.platform.ui.pages import pages_for

    board = pages_for("customer").board

    def refuse(**kwargs):
        raise ValidationError({"lifecycle_stage": ["Close the open deals first."]})

    monkeypatch.setattr(board, "move", refuse)
    r = client_for(org.sales_rep1).post(
        "/customers/board/move/", {"id": cust.pk, "to": "churned", "version": cust.version}
    )
    assert r.status_code == 400
    assert r.json() == {
        "ok": False,
        "message": "Close the open deals first.",
        "errors": {"lifecycle_stage": ["Close the open deals first."]},
    }


def test_board_keeps_list_filters_and_scope(org, cust):
    other = customer_create(confirm_duplicate=True, actor=org.sales_rep2, data={"name": "别人的看板客户"})
    html = client_for(org.sales_rep1).get("/customers/board/").content.decode()
    assert f'data-id="{cust.pk}"' in html and f'data-id="{other.pk}"' not in html
    html = client_for(org.sales_manager).get("/customers/board/?q=看板测试").content.decode()
    assert f'data-id="{cust.pk}"' in html and f'data-id="{other.pk}"' not in html
    # read-only users see the board without move controls
    html = client_for(org.service_agent).get("/customers/board/").content.decode()
    assert "hb-draggable" not in html and "data-hb-move-to" not in html
