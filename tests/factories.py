"""factory_boy factories for platform objects and the records other tests need."""

from __future__ import annotations

import factory

from huoban.platform.identity.models import OrgUnit, User


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    name = factory.Sequence(lambda n: f"Unit {n}")
    code = factory.Sequence(lambda n: f"unit-{n}")

    @factory.post_generation
    def path(obj, create, extracted, **kwargs):
        obj.path = obj.compute_path()
        OrgUnit.objects.filter(pk=obj.pk).update(path=obj.path)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-staple")
