"""Shared fixtures: people in each role, two departments, logged-in clients."""

from __future__ import annotations

import pytest
from django.test import Client

from charter.models import Department, User
from charter.roles import Role, roles_sync
from tests.factories import DepartmentFactory, UserFactory

PASSWORD = "pw-for-tests-123"

pytest_plugins = ["tests.summary"]


@pytest.fixture(autouse=True)
def _roles(db: None) -> None:
    roles_sync()


@pytest.fixture
def dept_a() -> Department:
    return DepartmentFactory(name="Support", slug="support")


@pytest.fixture
def dept_b() -> Department:
    return DepartmentFactory(name="Billing", slug="billing")


@pytest.fixture
def leader() -> User:
    return UserFactory(username="leader", role=Role.CX_LEADER)


@pytest.fixture
def executive() -> User:
    return UserFactory(username="executive", role=Role.EXECUTIVE)


@pytest.fixture
def finance() -> User:
    return UserFactory(username="finance", role=Role.FINANCE)


@pytest.fixture
def ambassador(dept_a: Department) -> User:
    user = UserFactory(username="ambassador", role=Role.AMBASSADOR)
    dept_a.ambassadors.add(user)
    dept_a.members.add(user)
    return user


@pytest.fixture
def ambassador_b(dept_b: Department) -> User:
    user = UserFactory(username="ambassador_b", role=Role.AMBASSADOR)
    dept_b.ambassadors.add(user)
    dept_b.members.add(user)
    return user


@pytest.fixture
def owner(dept_a: Department) -> User:
    user = UserFactory(username="owner", role=Role.OWNER)
    dept_a.members.add(user)
    return user


def _client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def leader_client(leader: User) -> Client:
    return _client_for(leader)


@pytest.fixture
def executive_client(executive: User) -> Client:
    return _client_for(executive)


@pytest.fixture
def finance_client(finance: User) -> Client:
    return _client_for(finance)


@pytest.fixture
def ambassador_client(ambassador: User) -> Client:
    return _client_for(ambassador)


@pytest.fixture
def owner_client(owner: User) -> Client:
    return _client_for(owner)
