"""factory-boy factories, one per model. Set only the fields a test is about."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from charter.models import Department, User
from charter.roles import Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pw-for-tests-123")

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            group, _ = Group.objects.get_or_create(name=Role(extracted).label)
            self.groups.add(group)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Department {n}")
    slug = factory.Sequence(lambda n: f"dept-{n}")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Program"
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Program {n}")
    slug = factory.Sequence(lambda n: f"program-{n}")
    purpose = "Tells Support whether follow-ups recover detractors."
    department = factory.SubFactory(DepartmentFactory)


class SourceFactory(factory.django.DjangoModelFactory):
    """``token`` is available on the instance after create (only its hash is stored)."""

    class Meta:
        model = "feedback.Source"
        django_get_or_create = ("slug",)

    program = factory.SubFactory(ProgramFactory)
    name = factory.Sequence(lambda n: f"Source {n}")
    slug = factory.Sequence(lambda n: f"source-{n}")
    kind = "generic"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):  # type: ignore[no-untyped-def]
        source = model_class(*args, **kwargs)
        source.token = source.set_new_token()
        source.save()
        return source


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Customer"

    external_id = factory.Sequence(lambda n: f"cust-{n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.org")
    name = factory.Faker("name")


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Response"

    source = factory.SubFactory(SourceFactory)
    program = factory.LazyAttribute(lambda o: o.source.program)
    department = factory.LazyAttribute(lambda o: o.source.program.department)
    external_id = factory.Sequence(lambda n: f"resp-{n}")
    customer = factory.SubFactory(CustomerFactory)
    comment = "The delivery was late and nobody called me back."


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Theme"
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Theme {n}")
    slug = factory.Sequence(lambda n: f"theme-{n}")
    keywords = "late delivery\nwaiting"


class ActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.ActionItem"

    loop = "inner"
    title = factory.Sequence(lambda n: f"Call back customer {n}")
    department = factory.SubFactory(DepartmentFactory)
    owner = factory.SubFactory(UserFactory)
    due_at = factory.LazyFunction(timezone.now)


# --- governance (charter, missions) ---------------------------------------------------------------


class SuccessMeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "missions.SuccessMeasure"

    name = factory.Sequence(lambda n: f"Measure {n}")
    kind = "retention"
    unit = "%"


class PriorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "charter.Priority"

    title = factory.Sequence(lambda n: f"Priority {n}")
    rank = factory.Sequence(lambda n: n + 1)
    department = factory.SubFactory(DepartmentFactory)
    success_measure = factory.SubFactory(SuccessMeasureFactory)


class CharterRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "charter.CharterRole"
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"role-{n}")
    name = factory.Sequence(lambda n: f"Role {n}")


class GovernanceActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "charter.GovernanceActivity"

    name = factory.Sequence(lambda n: f"Activity {n}")


class JourneyStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "charter.JourneyStage"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Stage {n}")


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "charter.Touchpoint"
        django_get_or_create = ("slug",)

    stage = factory.SubFactory(JourneyStageFactory)
    name = factory.Sequence(lambda n: f"Touchpoint {n}")
    slug = factory.Sequence(lambda n: f"touchpoint-{n}")
    department = factory.SubFactory(DepartmentFactory)


class MissionMomentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "missions.MissionMoment"

    title = factory.Sequence(lambda n: f"Moment {n}")
    story = "The driver waited and carried the parcel inside."
    department = factory.SubFactory(DepartmentFactory)
