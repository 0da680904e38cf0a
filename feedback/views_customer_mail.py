"""The customers' side of the "we fixed it" e-mail: the unsubscribe link (public, no login).

The link carries a signed token of the address, so nobody can unsubscribe someone else by
guessing. GET asks for confirmation (mail scanners follow links; a GET changes nothing);
POST unsubscribes, including the one-click ``List-Unsubscribe-Post`` a mail client sends,
which has no CSRF token: the signed token is the authority here, and there is no session.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .customer_messages import email_unsubscribe, unsubscribe_email_from


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * max(len(local) - 1, 2)}@{domain}"


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    email = unsubscribe_email_from(token)
    template = "feedback/unsubscribe.html"
    if email is None:
        return render(request, template, {"invalid": True}, status=400)
    if request.method == "POST":
        email_unsubscribe(email=email)
        return render(request, template, {"done": True, "masked": _masked(email)})
    return render(request, template, {"masked": _masked(email), "token": token})
