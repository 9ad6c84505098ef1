"""Preset roles × own / same unit / other unit records for customers, contacts, follow-ups, tasks."""

import uuid

import pytest

from huoban.activities.services import task_create
from huoban.customers.services import contact_create, customer_create, follow_up_create
from tests.permissions import (
    ALL_ACCESS,
    FULL,
    HIDDEN,
    NO_ACCESS,
    OWN_ONLY_NO_DELETE,
    READ_ONLY_ALL,
    UNIT_TREE_FULL,
    Expect,
    check_matrix,
)

pytestmark = pytest.mark.django_db

OWN_FULL = {"own": FULL, "same_unit": HIDDEN, "other_unit": HIDDEN}


def _customer(owner):
    return customer_create(actor=owner, data={"name": f"矩阵{uuid.uuid4().hex[:10]}"}, check_duplicates=False)


def _contact(owner):
    return contact_create(
        actor=owner,
        data={"name": f"联系人{uuid.uuid4().hex[:6]}", "customer": _customer(owner).pk},
        check_duplicates=False,
    )


def _follow_up(owner):
    return follow_up_create(actor=owner, customer=_customer(owner), data={"content": "matrix"})


def _task(owner):
    return task_create(actor=owner, data={"title": f"task {uuid.uuid4().hex[:6]}"})


CUSTOMER = {
    "sales_rep1": OWN_ONLY_NO_DELETE,
    "sales_rep3": OWN_ONLY_NO_DELETE,
    "sales_manager": UNIT_TREE_FULL,
    "sales_manager_north": UNIT_TREE_FULL,
    "service_agent": READ_ONLY_ALL,  # read-only profiles (sensitive fields masked)
    "marketing": READ_ONLY_ALL,
    "finance": READ_ONLY_ALL,
    "admin": ALL_ACCESS,
}


def test_customer_matrix(org):
    check_matrix(org, resource="customers", factory=_customer, expected=CUSTOMER)


def test_contact_matrix(org):
    check_matrix(org, resource="contacts", factory=_contact, expected=CUSTOMER)


AGENT_FOLLOW_UPS = {
    "own": Expect(True, 200, 403, 403),
    "same_unit": Expect(False, 404, 403, 403),
    "other_unit": Expect(False, 404, 403, 403),
}


def test_follow_up_matrix(org):
    check_matrix(
        org,
        resource="follow-ups",
        factory=_follow_up,
        expected={
            "sales_rep1": OWN_FULL,
            "sales_rep3": OWN_FULL,
            "sales_manager": UNIT_TREE_FULL,
            "service_agent": AGENT_FOLLOW_UPS,
            "marketing": NO_ACCESS,
            "finance": NO_ACCESS,
            "admin": ALL_ACCESS,
        },
    )


def test_task_matrix(org):
    check_matrix(
        org,
        resource="tasks",
        factory=_task,
        expected={
            "sales_rep2": OWN_FULL,
            "sales_manager_north": UNIT_TREE_FULL,
            "service_agent": NO_ACCESS,
            "finance": NO_ACCESS,
            "admin": ALL_ACCESS,
        },
    )
