"""The product's roles, as Django groups with permissions.

Roles are code, not data: ``roles_sync`` runs after every migrate and makes the groups and
their permissions match this table, so a fresh database and an old one agree.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class Role(models.TextChoices):
    CX_LEADER = "cx_leader", "CX leader"
    AMBASSADOR = "ambassador", "Department ambassador"
    OWNER = "owner", "Action owner"
    FINANCE = "finance", "Finance partner"
    EXECUTIVE = "executive", "Executive"


# Role -> "app_label.codename" permissions (model permissions are created by Django).
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.CX_LEADER: [
        "charter.change_department",
        "charter.add_department",
        "charter.manage_governance",
        "missions.edit_drafts",
        "feedback.manage_programs",
        "feedback.manage_routing",
        "feedback.triage_all",
    ],
    Role.AMBASSADOR: ["feedback.triage_department", "charter.edit_own_department"],
    Role.OWNER: ["feedback.work_own_actions"],
    Role.FINANCE: ["missions.validate_figures"],
    Role.EXECUTIVE: ["missions.approve_documents", "reports.download_org_reports"],
}


def roles_sync(**_kwargs: Any) -> None:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.label)
        wanted = []
        for dotted in ROLE_PERMISSIONS.get(role, []):
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)
