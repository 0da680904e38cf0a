"""The inbox page: what waits for me, mark read, and my e-mail preference."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import inbox


@login_required
def inbox_view(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("show") == "unread"
    page = Paginator(inbox.inbox_items(user=request.user, unread_only=unread_only), 50).get_page(
        request.GET.get("page")
    )
    ctx = {"page": page, "items": list(page.object_list), "unread_only": unread_only}
    template = "charter/inbox.html"
    if request.htmx:
        template += "#inbox-list"
    return render(request, template, ctx)


@login_required
@require_POST
def inbox_read_view(request: HttpRequest) -> HttpResponse:
    """Mark one item (``item``), or all (``all``), read; following an item's link marks it too."""
    if request.POST.get("all"):
        count = inbox.inbox_mark_read(user=request.user)
        messages.success(request, f"{count} item{'s' if count != 1 else ''} marked read.")
        return redirect("charter:inbox")
    try:
        item_id = int(request.POST.get("item", ""))
    except ValueError:
        messages.error(request, "Choose an item to mark read.")
        return redirect("charter:inbox")
    inbox.inbox_mark_read(user=request.user, item_ids=[item_id])
    target = inbox.inbox_items(user=request.user).filter(pk=item_id).values_list("url", flat=True).first()
    if request.POST.get("open") and target and target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    if request.htmx:
        return inbox_view(request)
    return redirect(reverse("charter:inbox"))


@login_required
@require_POST
def inbox_preference_view(request: HttpRequest) -> HttpResponse:
    wants = request.POST.get("inbox_email") == "on"
    inbox.inbox_preference_set(user=request.user, inbox_email=wants)
    messages.success(
        request, "You will get an e-mail for each inbox item." if wants else "Inbox e-mails turned off."
    )
    return redirect("charter:inbox")
