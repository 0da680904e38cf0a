"""Log in with a username or an e-mail address."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


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
        field = "email__iexact" if "@" in username else "username__iexact"
        users = list(user_model._default_manager.filter(**{field: username.strip()})[:2])
        if len(users) != 1:
            user_model().set_password(password)  # same work as a real check: no timing oracle
            return None
        user = users[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
