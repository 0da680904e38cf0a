"""Log in with a username or an e-mail address, and count failed logins per person.

``login_identifier_normalise`` is the one rule for what a typed login identifier means: NFKC,
trimmed, case-insensitive, an e-mail address standing for its user's username. The backend logs
in with it and django-axes counts failures under it (``AXES_USERNAME_CALLABLE``), so
``Alice``, `` alice `` and ``alice@example.org`` share the same ten guesses instead of getting
ten each.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.views import PasswordResetView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_ratelimit.core import is_ratelimited

from cxgov.clientip import client_address

log = logging.getLogger(__name__)


def login_identifier_normalise(identifier: str | None) -> str:
    """The canonical form of a login identifier: a user's username (lower case) when it names
    exactly one user by username or e-mail, else the cleaned text itself (still one key for
    every spelling, so guesses at unknown names are counted too)."""
    cleaned = unicodedata.normalize("NFKC", identifier or "").strip().lower()
    if not cleaned:
        return ""
    user_model = get_user_model()
    field = "email__iexact" if "@" in cleaned else "username__iexact"
    usernames = list(
        user_model._default_manager.filter(**{field: cleaned}).values_list("username", flat=True)[:2]
    )
    if len(usernames) == 1:
        return str(usernames[0]).lower()
    return cleaned


def axes_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """``AXES_USERNAME_CALLABLE``: the lockout counts the normalised identifier."""
    raw = (credentials or {}).get("username")
    if raw is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        raw = data.get("username")
    return login_identifier_normalise(raw if isinstance(raw, str) else None)


class EmailOrUsernameBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not username or password is None:
            return None
        user_model = get_user_model()
        canonical = login_identifier_normalise(username)
        users = list(user_model._default_manager.filter(username__iexact=canonical)[:2]) if canonical else []
        if len(users) != 1:
            user_model().set_password(password)  # same work as a real check: no timing oracle
            return None
        user = users[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class ThrottledPasswordResetView(PasswordResetView):
    """Django's password reset, sending at most ``CXGOV_PASSWORD_RESET_PER_ADDRESS`` e-mails to
    one address and ``CXGOV_PASSWORD_RESET_PER_CLIENT`` for one client address (django-ratelimit,
    counted in the cache). Past either, the reply is the same "check your inbox" page and no
    e-mail goes out: the page must not tell a stranger what is throttled or who has an account,
    and an inbox must not be flooded with 30 resets."""

    def form_valid(self, form: Any) -> HttpResponse:
        address = login_identifier_normalise(form.cleaned_data.get("email", "")) or "-"
        by_address = is_ratelimited(
            self.request,
            group="password-reset-address",
            key=lambda _group, _request: address,
            rate=settings.CXGOV_PASSWORD_RESET_PER_ADDRESS,
            increment=True,
        )
        by_client = is_ratelimited(
            self.request,
            group="password-reset-client",
            key=lambda _group, request: client_address(request) or "-",
            rate=settings.CXGOV_PASSWORD_RESET_PER_CLIENT,
            increment=True,
        )
        if by_address or by_client:
            log.warning("password reset throttled", extra={"by_address": by_address, "by_client": by_client})
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
