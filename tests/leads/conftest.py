"""Fixtures for the leads tests."""

from __future__ import annotations

import itertools

import pytest

_seq = itertools.count(1)


@pytest.fixture
def make_lead(org):
    """make_lead(actor=..., **fields) -> Lead through the service (dedup off, rules apply)."""
    from huoban.leads.services import lead_create

    def make(actor=None, *, dedup="create", **data):
        n = next(_seq)
        data.setdefault("name", f"联系人{n}")
        data.setdefault("company", f"测试公司{n}号有限公司")
        return lead_create(actor=actor or org.sales_rep1, data=data, dedup_policy=dedup)

    return make


@pytest.fixture
def make_customer(org):
    from huoban.customers.services import customer_create

    def make(actor=None, **data):
        n = next(_seq)
        data.setdefault("name", f"客户{n}号科技有限公司")
        return customer_create(actor=actor or org.sales_rep1, data=data, confirm_duplicate=True)

    return make


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
