"""Triage inbox, "my actions", the action page and the systemic board (htmx-aware, thin).

Access, decided once here and documented for reviewers:
- Objects outside the user's scope are 404 for pages, fragments and POSTs alike (the
  selectors never return them, so existence does not leak).
- A user who can *see* an action but may not change it (an executive, who reads everything;
  a department member who neither owns it nor is an ambassador) gets 403 on POST: they know
  the action exists already, so 403 leaks nothing and says clearly "read-only".
- Every form works as a plain POST (redirect after success, the page re-rendered with field
  errors and status 400 on failure, 409 on a concurrent edit). With htmx the same URL swaps
  the named partial instead.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from missions.models import SuccessMeasure

from .. import actions as svc
from .. import customer_messages as cm
from ..models import ActionItem, ContactLog, Loop
from . import forms as f
from . import selectors as sel

PAGE_SIZE = 50
UNDO_KEY = "triage_undo"
UNDO_MINUTES = 15


# --- helpers --------------------------------------------------------------------------------


def _apply_errors(form: Any, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its field when it has one."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _is_partial(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


def _ambassador_ids(request: HttpRequest) -> set[int]:
    return sel.ambassador_department_ids(user=request.user)


# --- inbox and my actions ------------------------------------------------------------------


def _badge(tab: str, count: int, *, exact: bool) -> tuple[str, str]:
    """A tab's badge and its title: the Closed badge stops counting at the cap ("1000+")
    except on the Closed tab itself, which counts every closed action for its pages."""
    if tab == "closed" and not exact and count > sel.CLOSED_COUNT_CAP:
        return f"{sel.CLOSED_COUNT_CAP}+", f"More than {sel.CLOSED_COUNT_CAP}: the Closed tab shows how many"
    return str(count), ""


def _inbox_context(request: HttpRequest, *, mine_only: bool, query: QueryDict) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    options = sel.inbox_filter_options(user=user)
    form = f.InboxFilterForm(query, options=options)
    form.is_valid()
    filters = form.filters()
    on_closed = filters.tab == "closed"  # paginates by the closed count: count them all
    counts = sel.inbox_tab_counts(
        user=user, filters=filters, mine_only=mine_only, now=now, exact_closed=on_closed
    )
    paginator = Paginator([], PAGE_SIZE)  # the page's rows come from sel.inbox_page
    paginator.count = counts[filters.tab]  # same filters and tab: spare the COUNT(*) query
    page = paginator.get_page(query.get("page"))
    rows = (
        sel.inbox_page(
            user=user,
            filters=filters,
            mine_only=mine_only,
            now=now,
            offset=(page.number - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        if paginator.count
        else []  # an empty tab has no rows to read
    )
    page.object_list = sel.inbox_rows_attach(
        rows, departments=options.departments, themes=options.themes, department_joined=mine_only
    )
    read_only = sel.is_read_only(user=user)
    # One reverse() for the page, not two per row; the path is the same with another pk.
    detail_url = reverse("feedback:action-detail", kwargs={"pk": 0}).removesuffix("0/")
    # fetches the ambassador departments once, and only when a row needs them
    editable = sel.action_editor(user=user)
    for item in page.object_list:
        item.sla = sel.sla_badge(item, now=now)
        item.editable = not read_only and editable(item)
        item.url = f"{detail_url}{item.pk}/"
    url_name = "feedback:my-actions" if mine_only else "feedback:triage"
    undo = request.session.get(UNDO_KEY)
    if undo and (undo.get("at", 0) < (now - timedelta(minutes=UNDO_MINUTES)).timestamp()):
        undo = None
    return {
        "mine_only": mine_only,
        "page_url": reverse(url_name),
        "filter_form": form,
        "filters": filters,
        "page_obj": page,
        "items": page.object_list,
        "tabs": [(key, label, *_badge(key, counts[key], exact=on_closed)) for key, label in sel.TABS],
        "read_only": read_only,
        "bulk_form": f.BulkForm(owners=options.owners),
        "owners": options.owners,
        "undo": undo,
        "query": query.urlencode(),
        "qd": query,
        "has_filters": any(query.get(k) for k in form.fields if k not in ("tab", "sort", "page")),
    }


def _render_inbox(
    request: HttpRequest, *, mine_only: bool, query: QueryDict, status: int = 200, **extra: Any
) -> HttpResponse:
    context = _inbox_context(request, mine_only=mine_only, query=query)
    context.update(extra)
    template = "feedback/triage/inbox.html"
    if _is_partial(request):
        template += "#action-table"
    return render(request, template, context, status=status)


@login_required
@require_GET
def triage_view(request: HttpRequest) -> HttpResponse:
    """The department ambassador's inbox (CX leader: every department; executive: read-only)."""
    if not sel.can_triage(user=request.user):
        return redirect("feedback:my-actions")
    return _render_inbox(request, mine_only=False, query=request.GET)


@login_required
@require_GET
def my_actions_view(request: HttpRequest) -> HttpResponse:
    """An owner's own actions, whichever department they belong to."""
    return _render_inbox(request, mine_only=True, query=request.GET)


def _query_of(url: str) -> QueryDict:
    return QueryDict(urlsplit(url).query, mutable=False)


@login_required
@require_POST
def bulk_view(request: HttpRequest) -> HttpResponse:
    """Apply one change to the selected actions, all or none, and keep an undo for a while."""
    user = request.user
    mine_only = request.POST.get("mine") == "1"
    default = reverse("feedback:my-actions" if mine_only else "feedback:triage")
    back = _safe_next(request, default)
    options_owners = sel.assignable_users(user=user)
    form = f.BulkForm(request.POST, owners=options_owners)
    ids = form.submitted_ids()
    visible = {a.pk: a for a in sel.action_item_scope(user=user).filter(pk__in=ids)}
    if len(visible) != len(set(ids)):
        raise Http404("No such action in your scope")
    if sel.is_read_only(user=user) or not all(
        sel.can_edit(user=user, action=a, ambassador_ids=_ambassador_ids(request)) for a in visible.values()
    ):
        raise PermissionDenied("You may not change some of the selected actions.")
    error = ""
    if form.is_valid():
        try:
            result = svc.action_items_bulk(
                ids=form.cleaned_data["ids"],
                operation=form.cleaned_data["operation"],
                by=user,
                **form.params(),
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            label = dict(f.BULK_OPS)[result.operation]
            request.session[UNDO_KEY] = {
                **result.as_session(),
                "label": f"{label}: {result.count} action(s)",
                "at": timezone.now().timestamp(),
            }
            messages.success(request, f"{label}: {result.count} action(s) changed. You can undo it.")
            if _is_partial(request):
                return _render_inbox(request, mine_only=mine_only, query=_query_of(back))
            return redirect(back)
    else:
        error = " ".join(str(e) for errs in form.errors.values() for e in errs)
    error = f"Nothing was changed. {error}"
    return _render_inbox(request, mine_only=mine_only, query=_query_of(back), status=400, bulk_error=error)


@login_required
@require_POST
def undo_view(request: HttpRequest) -> HttpResponse:
    """Undo the last bulk change, except on actions someone changed since (named, kept)."""
    mine_only = request.POST.get("mine") == "1"
    back = _safe_next(request, reverse("feedback:my-actions" if mine_only else "feedback:triage"))
    stored = request.session.get(UNDO_KEY)
    if not stored or stored.get("token") != request.POST.get("token"):
        messages.error(request, "That change can no longer be undone.")
        status = 400
    else:
        ids = [int(s["id"]) for s in stored["items"]]
        visible = sel.action_item_scope(user=request.user).filter(pk__in=ids).count()
        if visible != len(ids):
            raise Http404("No such action in your scope")
        result = svc.action_items_bulk_undo(undo=stored["items"], by=request.user)
        del request.session[UNDO_KEY]
        text = f"Undone on {result.restored} action(s)."
        if result.skipped:
            skipped = ", ".join(f"#{pk}" for pk in result.skipped)
            text += f" Left alone because someone changed them since: {skipped}."
        messages.success(request, text)
        status = 200
        if not _is_partial(request):
            return redirect(back)
    if _is_partial(request) or status != 200:
        return _render_inbox(request, mine_only=mine_only, query=_query_of(back), status=status)
    return redirect(back)  # pragma: no cover


# --- the action page -----------------------------------------------------------------------


def _get_action(request: HttpRequest, pk: int) -> ActionItem:
    action = sel.action_item_get(user=request.user, pk=pk)
    if action is None:
        raise Http404("No such action in your scope")
    return action


def _detail_context(request: HttpRequest, action: ActionItem, **bound: Any) -> dict[str, Any]:
    user = request.user
    read_only = sel.is_read_only(user=user)
    editable = not read_only and sel.can_edit(user=user, action=action)
    owners = sel.assignable_users(user=user) if editable else []
    initial = {"version": action.version}
    allowed = sorted(svc.allowed_transitions(action))
    transition = bound.get("transition") or f.TransitionForm(initial=initial, action=action)
    transition.fields["to_status"].choices = [("", "Choose the next status")] + [
        (s, ActionItem.Status(s).label) for s in allowed
    ]
    insight = getattr(action.response, "insight", None) if action.response_id else None
    systemic = insight.systemic_action if insight is not None else None
    scope_ids = sel.department_ids_for(user=user)
    if systemic is not None and scope_ids is not None and systemic.department_id not in scope_ids:
        systemic = None  # another department's fix: not for this user's eyes
    return {
        "action": action,
        "editable": editable,
        "read_only": read_only,
        "sla": sel.sla_badge(action, now=timezone.now()),
        "customer": action.response.customer if action.response_id else None,
        "answers": sorted((action.response.answers or {}).items()) if action.response_id else [],
        "systemic": systemic,
        "similar": sel.similar_insights(user=user, action=action),
        "timeline": sel.action_timeline(action=action),
        "allowed": allowed,
        "assign_form": bound.get("assign")
        or f.AssignForm(initial={**initial, "owner": action.owner_id}, owners=owners),
        "priority_form": bound.get("priority")
        or f.PriorityForm(initial={**initial, "priority": action.priority}),
        "snooze_form": bound.get("snooze") or f.SnoozeForm(initial=initial),
        "contact_form": bound.get("contact") or f.ContactForm(initial=initial),
        "transition_form": transition,
        "comment_form": bound.get("comment") or f.CommentForm(),
        "reopen_form": bound.get("reopen") or f.ReopenForm(initial=initial),
        "customer_message": getattr(action, "customer_message", None) if action.loop == Loop.OUTER else None,
        "conflict": bound.get("conflict"),
        "inner_count": action.inner_count if hasattr(action, "inner_count") else None,
    }


@login_required
@require_GET
def action_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything about one action: customer, response, similar insights, timeline, forms."""
    action = _get_action(request, pk)
    template = "feedback/actions/detail.html"
    if _is_partial(request):
        template += "#action-panel"
    return render(request, template, _detail_context(request, action))


OPERATIONS = ("assign", "priority", "snooze", "contact", "transition", "comment", "reopen")


def _run(op: str, form: Any, action: ActionItem, user: Any) -> str:
    d = form.cleaned_data
    version = d.get("version")
    if op == "assign":
        svc.action_item_assign(action=action, owner=d["owner"], by=user, expected_version=version)
        return f"Assigned to {d['owner']}."
    if op == "priority":
        svc.action_item_set_priority(action=action, priority=d["priority"], by=user, expected_version=version)
        return "Priority changed."
    if op == "snooze":
        svc.action_item_snooze(action=action, until=d["until"], by=user, expected_version=version)
        return f"Snoozed until {d['until']:%d %b %Y}." if d["until"] else "Woken up."
    if op == "contact":
        svc.action_item_contact_log(
            action=action,
            channel=d["channel"],
            outcome=d["outcome"],
            note=d["note"],
            by=user,
            expected_version=version,
        )
        if d["outcome"] in ContactLog.ATTEMPTS:
            return "Attempt logged. Nobody has spoken with the customer yet: the first-contact clock runs on."
        return "Contact logged."
    if op == "transition":
        svc.action_item_transition(
            action=action,
            to_status=d["to_status"],
            by=user,
            reason=d.get("reason", ""),
            root_cause=d.get("root_cause", ""),
            fix=d.get("fix", ""),
            success_measure=d.get("success_measure"),
            verification_date=d.get("verification_date"),
            customer_told=d.get("customer_told"),
            outcome=d.get("outcome", ""),
            expected_version=version,
        )
        return f"Moved to {ActionItem.Status(d['to_status']).label}."
    if op == "reopen":
        svc.action_item_reopen(action=action, reason=d["reason"], by=user, expected_version=version)
        return "Reopened."
    svc.action_item_comment(action=action, body=d["body"], by=user)
    return "Comment posted."


def _bound_form(op: str, request: HttpRequest, action: ActionItem) -> Any:
    data = request.POST
    if op == "assign":
        return f.AssignForm(data, owners=sel.assignable_users(user=request.user))
    if op == "transition":
        form = f.TransitionForm(data, action=action)
        return form
    return {
        "priority": f.PriorityForm,
        "snooze": f.SnoozeForm,
        "contact": f.ContactForm,
        "comment": f.CommentForm,
        "reopen": f.ReopenForm,
    }[op](data)


@login_required
@require_POST
def action_operate_view(request: HttpRequest, pk: int, op: str) -> HttpResponse:
    """One change to one action (assign, priority, snooze, contact, transition, comment)."""
    if op not in OPERATIONS:
        raise Http404("No such operation")
    action = _get_action(request, pk)
    user = request.user
    if sel.is_read_only(user=user):
        raise PermissionDenied("Executives read actions; they do not change them.")
    if op != "comment" and not sel.can_edit(user=user, action=action):
        raise PermissionDenied("Only the owner, the department's ambassadors or a CX leader change it.")
    form = _bound_form(op, request, action)
    conflict = None
    status = 400
    if form.is_valid():
        try:
            text = _run(op, form, action, user)
        except svc.ActionConflict as exc:
            conflict, status = exc.messages[0], 409
            form.add_error(None, exc.messages)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, text)
            back = _safe_next(request, reverse("feedback:action-detail", kwargs={"pk": pk}))
            if not _is_partial(request):
                return redirect(back)
            if request.POST.get("from") == "systemic":
                return _render_systemic(request)
            action = _get_action(request, pk)
            return render(
                request, "feedback/actions/detail.html#action-panel", _detail_context(request, action)
            )
    if request.POST.get("from") == "systemic":
        return _render_systemic(request, status=status, failed={pk: form}, conflict=conflict)
    action = _get_action(request, pk)
    context = _detail_context(request, action, **{op: form, "conflict": conflict})
    template = "feedback/actions/detail.html"
    if _is_partial(request):
        template += "#action-panel"
    return render(request, template, context, status=status)


# --- systemic board ------------------------------------------------------------------------


def _render_systemic(
    request: HttpRequest, *, status: int = 200, failed: dict[int, Any] | None = None, **extra: Any
) -> HttpResponse:
    user = request.user
    if not sel.can_triage(user=user):
        raise Http404("The systemic board is for ambassadors and CX leaders")
    show_closed = request.GET.get("closed") == "1"
    board = sel.systemic_board(user=user, include_closed=show_closed)
    read_only = sel.is_read_only(user=user)
    ambassador_ids = _ambassador_ids(request)
    failed = failed or {}
    measures = list(SuccessMeasure.objects.all())
    groups: dict[str, list[ActionItem]] = {}
    for action in board:
        action.editable = not read_only and sel.can_edit(
            user=user, action=action, ambassador_ids=ambassador_ids
        )
        action.close_form = (
            failed.get(action.pk) if isinstance(failed.get(action.pk), f.TransitionForm) else None
        )
        if action.close_form is None:
            action.close_form = f.TransitionForm(
                initial={"version": action.version, "to_status": ActionItem.Status.FIXED},
                action=action,
                measures=measures,
                auto_id=f"id_close_{action.pk}_%s",
            )
        groups.setdefault(action.theme.name if action.theme else "No theme", []).append(action)
    context = {
        "groups": sorted(groups.items()),
        "count": len(board),
        "read_only": read_only,
        "show_closed": show_closed,
        **extra,
    }
    template = "feedback/systemic/board.html"
    if _is_partial(request):
        template += "#systemic-board"
    return render(request, template, context, status=status)


@login_required
@require_GET
def systemic_view(request: HttpRequest) -> HttpResponse:
    """The outer-loop board by theme: what is systemic, who fixes it, is it verified."""
    return _render_systemic(request)


def _systemic_for_telling(request: HttpRequest, pk: int) -> ActionItem:
    action = _get_action(request, pk)
    if action.loop != Loop.OUTER:
        raise Http404("Not a systemic action")
    return action


def _may_tell(request: HttpRequest, action: ActionItem) -> None:
    if sel.is_read_only(user=request.user) or not sel.can_edit(user=request.user, action=action):
        raise PermissionDenied("Only the owner, the department's ambassadors or a CX leader tell customers.")


def _tell_form(action: ActionItem, data: Any = None, initial: dict[str, Any] | None = None) -> Any:
    """The message form, its "preview as" choices being the recipients (read once)."""
    eligible, excluded = cm.recipients_list(action=action)
    form = f.TellCustomersForm(data, initial=initial, recipients=eligible)
    form.recipients = (eligible, excluded)
    return form


def _tell_context(request: HttpRequest, action: ActionItem, form: Any) -> dict[str, Any]:
    eligible, excluded = form.recipients
    data = form.data if form.is_bound else form.initial
    preview = cm.preview_for(
        action=action,
        subject=str(data.get("subject") or ""),
        body=str(data.get("body") or ""),
        customer_id=data.get("customer"),
        base_url=request.build_absolute_uri("/"),
    )
    return {
        "action": action,
        "form": form,
        "eligible": eligible,
        "excluded": excluded,
        "preview": preview,
        "can_send": action.status in (ActionItem.Status.FIXED, ActionItem.Status.VERIFIED),
        "open_loops": cm.inner_loops_open(action=action),
    }


@login_required
def systemic_tell_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Write (or pick) the "we fixed it" e-mail, preview it per customer, see who gets it, send.

    GET shows the form (htmx: only the preview, as the text or the chosen customer changes);
    POST with ``preview`` or ``use_template`` re-renders; POST ``send`` queues the e-mails and
    goes to the delivery list."""
    action = _systemic_for_telling(request, pk)
    _may_tell(request, action)
    if hasattr(action, "customer_message"):
        return redirect("feedback:systemic-deliveries", pk=pk)
    template = "feedback/systemic/tell.html"
    if request.method == "GET":
        if request.GET.get("subject") is not None:  # the live preview asks for its fragment
            form = _tell_form(action, request.GET)
            form.is_valid()
            context = _tell_context(request, action, form)
            return render(request, template + ("#tell-preview" if _is_partial(request) else ""), context)
        subject, body = cm.template_text(key="fixed", action=action)
        form = _tell_form(action, initial={"template": "fixed", "subject": subject, "body": body})
        return render(request, template, _tell_context(request, action, form))
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    if "use_template" in request.POST:
        subject, body = cm.template_text(key=request.POST.get("template", "fixed"), action=action)
        data = request.POST.copy()
        data["subject"], data["body"] = subject, body
        form = _tell_form(action, data)
        form.is_valid()
        return render(request, template, _tell_context(request, action, form))
    form = _tell_form(action, request.POST)
    if form.is_valid() and "send" in request.POST:
        try:
            message = cm.customer_message_send(
                action=action,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                by=request.user,
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            n = message.deliveries.count()
            messages.success(
                request, f"{n} e-mail(s) queued. Follow-ups stay open until someone speaks with the customer."
            )
            return redirect("feedback:systemic-deliveries", pk=pk)
    elif form.is_valid():
        return render(request, template, _tell_context(request, action, form))
    return render(request, template, _tell_context(request, action, form), status=400)


@login_required
def systemic_deliveries_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Who was e-mailed about the fix and how it went, and the follow-ups still to work."""
    action = _systemic_for_telling(request, pk)
    message = getattr(action, "customer_message", None)
    if request.method == "POST":
        _may_tell(request, action)
        if message is None:
            raise Http404("Nothing was sent yet")
        n = cm.customer_deliveries_retry(action=action, by=request.user)
        messages.success(
            request, f"{n} failed e-mail(s) queued again." if n else "Nothing failed; nothing to retry."
        )
        return redirect("feedback:systemic-deliveries", pk=pk)
    if message is None:
        return redirect("feedback:systemic-tell", pk=pk)
    deliveries = cm.deliveries_for(action=action)
    template = "feedback/systemic/deliveries.html"
    if _is_partial(request):
        template += "#delivery-table"
    return render(
        request,
        template,
        {
            "action": action,
            "message": message,
            "deliveries": deliveries,
            "counts": cm.delivery_counts(deliveries),
            "open_loops": cm.inner_loops_open(action=action),
            "editable": not sel.is_read_only(user=request.user)
            and sel.can_edit(user=request.user, action=action),
            "pending": any(d.status in ("queued", "retrying") for d in deliveries),
        },
    )
