"""Shared fixtures: the demo org (units, preset roles, users) and API clients per user."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def org(db):
    """The demo org tree and users (see huoban.platform.ops.platform_demo)."""
    from huoban.platform.identity.models import OrgUnit, User
    from huoban.platform.ops.platform_demo import demo_org

    demo_org()
    users = {u.username: u for u in User.objects.all()}
    units = {u.code: u for u in OrgUnit.objects.all()}

    class Org:
        pass

    o = Org()
    o.users = users
    o.units = units
    for name, user in users.items():
        setattr(o, name, user)
    return o


@pytest.fixture
def api():
    """api(user) -> an APIClient authenticated as that user (force_authenticate, no CSRF)."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make
