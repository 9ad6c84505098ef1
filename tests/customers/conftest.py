import itertools

import pytest
from stdnum.cn import uscc as uscc_mod

_seq = itertools.count(1)


def make_uscc(n: int) -> str:
    body = f"91330106{n:09d}"
    return body + uscc_mod.calc_check_digit(body)


@pytest.fixture
def make_customer():
    from huoban.customers.services import customer_create

    def make(owner, name=None, **data):
        n = next(_seq)
        data.setdefault("name", name or f"测试客户{n:05d}号贸易有限公司")
        return customer_create(actor=owner, data=data, check_duplicates=False)

    return make


@pytest.fixture
def make_contact():
    from huoban.customers.services import contact_create

    def make(owner, customer=None, **data):
        n = next(_seq)
        data.setdefault("name", f"联系人{n}")
        if customer is not None:
            data.setdefault("customer", customer.pk)
        return contact_create(actor=owner, data=data, check_duplicates=False)

    return make
