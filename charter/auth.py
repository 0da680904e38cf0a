"""Log in with a username or an e-mail address, and count failed logins per person.

``login_identifier_normalise`` is the one rule for what a typed login identifier means: NFKC,
trimmed, case-insensitive, an e-mail address standing for its user's username. The backend logs
in with it and django-axes counts failures under it (``AXES_USERNAME_CALLABLE``), so
``Alice``, `` alice `` and ``alice@example.org`` share the same ten guesses instead of getting
ten each.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


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
