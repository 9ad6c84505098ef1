"""Fixtures for the sales tests."""

from __future__ import annotations

import itertools

import pytest

_seq = itertools.count(1)


@pytest.fixture
def pipeline(db):
    from huoban.sales.models import Pipeline

    return Pipeline.objects.get(code="default")


@pytest.fixture
def stages(pipeline):
    return {s.code: s for s in pipeline.stages.all()}


@pytest.fixture
def make_customer(org):
    from huoban.customers.services import customer_create

    def make(actor=None, **data):
        data.setdefault("name", f"商机客户{next(_seq)}号有限公司")
        return customer_create(actor=actor or org.sales_rep1, data=data, confirm_duplicate=True)

    return make


@pytest.fixture
def make_opp(org, make_customer):
    from huoban.sales.services import opportunity_create

    def make(actor=None, **data):
        actor = actor or org.sales_rep1
        data.setdefault("name", f"商机{next(_seq)}")
        data.setdefault("customer", make_customer(actor))
        return opportunity_create(actor=actor, data=data)

    return make


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
