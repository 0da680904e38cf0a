"""Every kind named in the public contract has an adapter that honours the base contract."""

from __future__ import annotations

import io

import pytest

from feedback.models import Source
from feedback.sources import KINDS, Adapter, CsvAdapter, PayloadError, SignatureError, adapter_for

from .conftest import config

SIGNATURE_KINDS = {"typeform", "qualtrics", "surveymonkey", "formbricks"}
FETCH_KINDS = {"qualtrics", "surveymonkey"}


def test_every_source_kind_has_an_adapter_module() -> None:
    assert set(KINDS) == set(Source.Kind.values)
    for kind in KINDS:
        adapter = adapter_for(kind)
        assert isinstance(adapter, Adapter)
        assert adapter.kind == kind
        assert adapter.content_types


@pytest.mark.parametrize("kind", KINDS)
def test_auth_style_matches_the_public_contract(kind: str) -> None:
    expected = "signature" if kind in SIGNATURE_KINDS else "bearer"
    assert adapter_for(kind).auth == expected


@pytest.mark.parametrize("kind", sorted(SIGNATURE_KINDS))
def test_signature_kinds_refuse_a_source_without_a_secret(kind: str) -> None:
    with pytest.raises(SignatureError):
        adapter_for(kind).verify(body=b"{}", headers={}, source=config(kind))


@pytest.mark.parametrize("kind", sorted(set(KINDS) - SIGNATURE_KINDS - {"csv", "qualtrics_csv"}))
def test_bearer_kinds_refuse_a_request_without_a_token(kind: str) -> None:
    with pytest.raises(SignatureError):
        adapter_for(kind).verify(body=b"{}", headers={}, source=config(kind))


@pytest.mark.parametrize("kind", sorted(FETCH_KINDS))
def test_fetch_kinds_expose_a_pure_api_mapping_helper(kind: str) -> None:
    import importlib

    module = importlib.import_module(f"feedback.sources.{kind}")
    assert callable(module.response_from_api)


@pytest.mark.parametrize("kind", ["csv", "qualtrics_csv"])
def test_csv_kinds_take_files_not_posts(kind: str) -> None:
    adapter = adapter_for(kind)
    assert isinstance(adapter, CsvAdapter)
    with pytest.raises(SignatureError):
        adapter.verify(body=b"", headers={}, source=config(kind))
    with pytest.raises(PayloadError):
        adapter.parse(body=b"", headers={}, source=config(kind))
    rows = list(adapter.rows(fileobj=io.BytesIO(b"a,b\n1,2\n3,4\n"), source=config(kind)))
    assert rows and all(row.response for row in rows)
