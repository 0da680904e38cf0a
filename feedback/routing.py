"""Routing: which department and which one person own an insight.

Rules are ordered (``position``), the first active rule whose conditions all hold wins (a
blank condition means "any"), and the rule marked default catches the rest. When nothing
matches and there is no default rule, the insight still gets an owner: the program's
department ambassador, else its leader, else a CX leader; the insight records why
(``Insight.routing_note``). The promise "every actionable insight has exactly one owner"
does not depend on the CX leader's configuration being complete.

``rule_matches`` is pure (works on an unsaved rule too), so the settings screen previews a
rule against recent responses with the same code that routes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.db.models import Max, Model, QuerySet

from charter.models import Department
from charter.roles import Role

from .locking import LockBusy, batch_memo, lock_may_wait, lock_taken
from .models import Priority, Response, RoutingRule
from .pipeline_config import pipeline_config_bump
from .sentiment import sentiment_label


class RoutingError(Exception):
    """Nobody at all could own the insight (no ambassador, leader, CX leader or superuser)."""


@dataclass
class RouteDecision:
    rule: RoutingRule | None
    department: Department
    owner: Any
    priority: str
    loops: str
    note: str


def rule_matches(*, rule: RoutingRule, response: Response, theme_ids: Iterable[int] | None = None) -> bool:
    """Do all of ``rule``'s conditions hold for ``response``? Blank conditions match anything."""
    if rule.program_id and rule.program_id != response.program_id:
        return False
    if rule.source_id and rule.source_id != response.source_id:
        return False
    if rule.touchpoint_id and rule.touchpoint_id != response.touchpoint_id:
        return False
    if rule.theme_id:
        ids = set(theme_ids) if theme_ids is not None else {t.id for t in response.themes.all()}
        if rule.theme_id not in ids:
            return False
    if rule.score_band and rule.score_band not in {response.nps_band, response.csat_band, response.ces_band}:
        return False
    if rule.sentiment and rule.sentiment != sentiment_label(response.sentiment):
        return False
    if rule.department_hint:
        hint = rule.department_hint.strip().lower()
        seen = {response.department_hint.strip().lower()}
        if response.department_id and response.department is not None:
            seen |= {response.department.slug.lower(), response.department.name.lower()}
        if hint not in seen:
            return False
    if rule.customer_attribute:
        attributes = (
            response.customer.attributes if response.customer_id and response.customer else {}
        ) or {}
        if rule.customer_attribute not in attributes:
            return False
        if rule.customer_attribute_value and str(attributes[rule.customer_attribute]).strip().lower() != (
            rule.customer_attribute_value.strip().lower()
        ):
            return False
    return True


def active_rules() -> list[RoutingRule]:
    """Active rules in evaluation order: by position, the default rule last."""
    return list(
        RoutingRule.objects.filter(is_active=True)
        .select_related("department", "owner")
        .order_by("is_default", "position", "id")
    )


def rule_first_match(
    *, response: Response, rules: list[RoutingRule], theme_ids: Iterable[int] | None = None
) -> RoutingRule | None:
    ids = list(theme_ids) if theme_ids is not None else None
    for rule in rules:
        if rule.is_default or rule_matches(rule=rule, response=response, theme_ids=ids):
            return rule
    return None


def _cx_leaders() -> QuerySet:
    User = get_user_model()
    return User.objects.filter(is_active=True, groups__name=Role.CX_LEADER.label).order_by("id")


def _first_ambassador_query(department_id: int) -> QuerySet:
    return get_user_model().objects.filter(ambassador_of=department_id, is_active=True).order_by("id")[:1]


def department_fallback_owner(*, department: Department) -> tuple[Any, str]:
    """Ambassador, else leader, else a CX leader, else a superuser: somebody always owns it.

    Read fresh for every insight, or once per batch transaction for all of its insights."""
    memo = batch_memo()
    if memo is None:
        return _department_fallback_owner(department=department)
    key = ("fallback-owner", department.id)
    if key not in memo:
        memo[key] = _department_fallback_owner(department=department)
    return memo[key]


def _department_fallback_owner(*, department: Department) -> tuple[Any, str]:
    ambassador = _first_ambassador_query(department.id).first()
    if ambassador is not None:
        return ambassador, f"ambassador of {department.name}"
    # Read, not ``department.leader``: the department may be the pipeline's cached one.
    leader = (
        get_user_model().objects.filter(pk=department.leader_id, is_active=True).first()
        if department.leader_id
        else None
    )
    if leader is not None:
        return leader, f"leader of {department.name} (no ambassador)"
    leader = _cx_leaders().first()
    if leader is not None:
        return leader, f"CX leader ({department.name} has no ambassador or leader)"
    superuser = get_user_model().objects.filter(is_active=True, is_superuser=True).order_by("id").first()
    if superuser is not None:
        return superuser, "an administrator (no ambassador, leader or CX leader exists)"
    raise RoutingError(f"Nobody can own insights of {department.name}: add an ambassador.")


def round_robin_owner(*, rule: RoutingRule) -> Any | None:
    """The next action owner of the rule's department, turning the rule's cursor.

    The rule row is locked while the cursor turns, so concurrent workers hand out owners in
    turn instead of both picking the same person.
    """
    # In a batch already holding locks, do not wait for it (``feedback.locking``); in a
    # savepoint, so that a busy row does not abort the batch's transaction.
    if lock_may_wait():
        locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    else:
        try:
            with transaction.atomic():
                locked = RoutingRule.objects.select_for_update(nowait=True).get(pk=rule.pk)
        except OperationalError as exc:
            raise LockBusy(f"round-robin cursor of rule {rule.pk} held by another batch") from exc
    lock_taken()
    candidates = list(
        rule.department.members.filter(is_active=True, groups__name=Role.OWNER.label)
        .order_by("id")
        .distinct()
    )
    if not candidates:
        return None
    owner = candidates[locked.round_robin_cursor % len(candidates)]
    locked.round_robin_cursor = (locked.round_robin_cursor + 1) % (10**6)
    locked.save(update_fields=["round_robin_cursor"])
    rule.round_robin_cursor = locked.round_robin_cursor
    return owner


def _named_owner(user_id: int) -> Any | None:
    """The rule's named owner if still active: read for every insight, or once per batch."""
    memo = batch_memo()
    key = ("named-owner", user_id)
    if memo is not None and key in memo:
        return memo[key]
    named = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if memo is not None:
        memo[key] = named
    return named


def _rule_owner(rule: RoutingRule) -> tuple[Any, str]:
    how = f"rule “{rule.name}”" + (" (default)" if rule.is_default else "")
    if rule.owner_mode == RoutingRule.OwnerMode.USER:
        # Read now, not ``rule.owner``: rules are cached per worker, people leave any day.
        named = _named_owner(rule.owner_id) if rule.owner_id else None
        if named is not None:
            return named, f"{how}: named owner"
        owner, why = department_fallback_owner(department=rule.department)
        return owner, f"{how}: named owner missing or inactive, fell back to {why}"
    if rule.owner_mode == RoutingRule.OwnerMode.ROUND_ROBIN:
        owner = round_robin_owner(rule=rule)
        if owner is not None:
            return owner, f"{how}: round-robin"
        fallback, why = department_fallback_owner(department=rule.department)
        return fallback, f"{how}: no action owners in {rule.department.name}, fell back to {why}"
    owner, why = department_fallback_owner(department=rule.department)
    return owner, f"{how}: {why}"


def response_route(
    *, response: Response, theme_ids: Iterable[int] | None = None, rules: Iterable[RoutingRule] | None = None
) -> RouteDecision:
    """Decide department, owner, priority and loops for an actionable response.

    ``rules``: the active rules in evaluation order (the pipeline passes its cached ones);
    read when not given. Owners are always read fresh. Call inside the processing
    transaction: round-robin locks the rule row.
    """
    rule = rule_first_match(
        response=response, rules=list(rules) if rules is not None else active_rules(), theme_ids=theme_ids
    )
    if rule is not None:
        owner, note = _rule_owner(rule)
        return RouteDecision(
            rule=rule,
            department=rule.department,
            owner=owner,
            priority=rule.priority,
            loops=rule.loops,
            note=note[:255],
        )
    department = response.department or response.program.department
    owner, why = department_fallback_owner(department=department)
    return RouteDecision(
        rule=None,
        department=department,
        owner=owner,
        priority=Priority.NORMAL,
        loops=RoutingRule.Loops.BOTH,
        note=f"No rule matched and there is no default rule: fell back to {why}"[:255],
    )


def rule_preview(*, rule: RoutingRule, limit: int = 500) -> tuple[int, int, list[Response]]:
    """How many of the last ``limit`` responses ``rule`` would match: (matched, looked at, sample).

    Two queries whatever the number of responses (themes prefetched).
    """
    recent = list(
        Response.objects.select_related("source", "program", "customer", "department", "touchpoint")
        .prefetch_related("themes")
        .order_by("-submitted_at", "-id")[:limit]
    )
    matched = [r for r in recent if rule.is_default or rule_matches(rule=rule, response=r)]
    return len(matched), len(recent), matched[:20]


# --- settings writes (the CX leader's /settings/routing/ screen) ------------------------------


@transaction.atomic
def routing_rule_save(*, rule: RoutingRule) -> RoutingRule:
    """Save a rule; marking it default takes the flag off the previous default (one only).

    A new rule goes to the end of the order unless a position was given.
    """
    if rule.owner_mode == RoutingRule.OwnerMode.USER and not rule.owner_id:
        raise ValidationError({"owner": "Choose the person, or another owner mode."})
    if rule.is_default:
        RoutingRule.objects.filter(is_default=True).exclude(pk=rule.pk).update(is_default=False)
    if rule.pk is None and not rule.position:
        last = RoutingRule.objects.aggregate(m=Max("position"))["m"] or 0
        rule.position = last + 10
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def routing_rule_move(*, rule: RoutingRule, direction: str) -> None:
    """Swap a rule with its neighbour in the evaluation order, renumbering 10, 20, 30..."""
    if direction not in ("up", "down"):
        raise ValidationError({"direction": "Move a rule up or down."})
    rules = list(RoutingRule.objects.select_for_update().filter(is_default=False).order_by("position", "id"))
    index = next((i for i, r in enumerate(rules) if r.pk == rule.pk), None)
    if index is None:
        return  # the default rule is always last
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
    for number, item in enumerate(rules, start=1):
        if item.position != number * 10:
            RoutingRule.objects.filter(pk=item.pk).update(position=number * 10)
    pipeline_config_bump()  # update() sends no signal: tell the workers' caches


@transaction.atomic
def settings_object_save[T: Model](*, obj: T) -> T:
    """Validate and save a settings row (theme, SLA policy, policy, outer-loop settings)."""
    obj.full_clean()
    obj.save()
    return obj
