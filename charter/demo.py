"""Demo organisation: six departments with leaders, ambassadors and owners, and the role users."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from .models import Department, User
from .roles import Role

DEPARTMENTS = [
    ("Customer Support", "support", "Resolve customer issues quickly and warmly."),
    ("Billing", "billing", "Accurate invoices and painless payments."),
    ("Onboarding", "onboarding", "Get new customers to first value fast."),
    ("Product", "product", "Build what customers need."),
    ("Logistics", "logistics", "Deliver on time, every time."),
    ("Sales", "sales", "Promise only what we deliver."),
]

# username, first, last, role, department slug or None, department relation
DEMO_USERS = [
    ("leader", "Lena", "Leader", Role.CX_LEADER, None, None),
    ("executive", "Evan", "Exec", Role.EXECUTIVE, None, None),
    ("finance", "Fiona", "Finance", Role.FINANCE, None, None),
    ("ambassador", "Amir", "Ambassador", Role.AMBASSADOR, "support", "ambassador"),
    ("owner", "Olga", "Owner", Role.OWNER, "support", "member"),
]


def _user(username: str, first: str, last: str, role: str | None) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.cxgov.example"},
    )
    if created:
        user.set_password(settings.DEMO_PASSWORD)
        user.save(update_fields=["password"])
    if role:
        user.groups.add(Group.objects.get(name=Role(role).label))
    return user


@transaction.atomic
def seed() -> dict[str, int]:
    """Idempotent: get-or-create everything by natural key."""
    from .roles import roles_sync

    roles_sync()
    for username, first, last, role, _dept, _rel in DEMO_USERS:
        _user(username, first, last, role)
    for name, slug, description in DEPARTMENTS:
        dept, _ = Department.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )
        head = _user(f"{slug}-lead", name.split()[0], "Lead", None)
        amb = _user(f"{slug}-ambassador", name.split()[0], "Ambassador", Role.AMBASSADOR)
        owners = [_user(f"{slug}-owner{i}", name.split()[0], f"Owner {i}", Role.OWNER) for i in (1, 2)]
        if dept.leader_id is None:
            dept.leader = head
            dept.save(update_fields=["leader"])
        dept.ambassadors.add(amb)
        dept.members.add(head, amb, *owners)
    for username, *_rest, slug, relation in DEMO_USERS:
        if slug:
            dept = Department.objects.get(slug=slug)
            user = User.objects.get(username=username)
            dept.members.add(user)
            if relation == "ambassador":
                dept.ambassadors.add(user)
    return {"departments": Department.objects.count(), "users": User.objects.count()}
