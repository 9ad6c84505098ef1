"""Customer permission matrix: every preset role (demo users) × own / same unit / other unit."""

from __future__ import annotations

from tests.permissions import (
    ALL_ACCESS,
    OWN_ONLY_NO_DELETE,
    READ_ONLY_ALL,
    UNIT_TREE_FULL,
    check_matrix,
    make_customer,
)

EXPECTED = {
    "sales_rep1": OWN_ONLY_NO_DELETE,
    "sales_rep2": OWN_ONLY_NO_DELETE,
    "sales_rep3": OWN_ONLY_NO_DELETE,
    "sales_manager": UNIT_TREE_FULL,
    "sales_manager_north": UNIT_TREE_FULL,
    "service_agent": READ_ONLY_ALL,
    "marketing": READ_ONLY_ALL,
    "finance": READ_ONLY_ALL,
    "admin": ALL_ACCESS,
}


def test_customer_permission_matrix(org):
    check_matrix(org, resource="customers", factory=make_customer, expected=EXPECTED)


def test_matrix_reports_mismatches(org):
    wrong = {"sales_rep1": ALL_ACCESS}
    try:
        check_matrix(org, resource="customers", factory=make_customer, expected=wrong)
    except AssertionError as exc:
        text = str(exc)
        assert "sales_rep1" in text and "same_unit" in text and "other_unit" in text
    else:  # pragma: no cover
        raise AssertionError("the matrix helper accepted a wrong table")
