"""Browser views shared by every versioned governance document.

``DocumentKind`` describes one document (mission, success statement, charter) and produces
its URL patterns: history, new draft, version page (edit while draft), transitions and the
side-by-side diff. The document's own main page lives in its app and uses the same helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from cxgov.fields import int_or_none

from . import documents
from .models import DocState, VersionedDocument


def form_add_validation_error(form: forms.BaseForm, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form: on the field when the form has it,
    otherwise above the form (``add_error(None, dict)`` would raise for unknown fields)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, [str(e) for e in errors])


def validation_messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [msg for msgs in exc.message_dict.values() for msg in msgs]
    return list(exc.messages)


@dataclass
class DocumentKind:
    model: type[VersionedDocument]
    form_class: type[forms.ModelForm]
    namespace: str
    slug: str  # URL prefix and URL-name prefix: "mission" -> /mission/versions/, "mission-versions"
    title: str
    main_url_name: str
    create: Callable[..., VersionedDocument] | None = None
    submit_prepare: Callable[[Any], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, name: str, **kwargs: Any) -> str:
        return reverse(f"{self.namespace}:{self.slug}-{name}", kwargs=kwargs or None)

    def main_url(self) -> str:
        return reverse(f"{self.namespace}:{self.main_url_name}")

    def get(self, number: int) -> VersionedDocument:
        doc = documents.document_versions(model=self.model).filter(number=number).first()
        if doc is None:
            raise Http404("No such version")
        return doc

    def status(self, user: Any) -> dict[str, Any]:
        """What a main page needs about the document: published, work in progress, who may act."""
        return {
            "kind": self,
            "published": documents.document_published(model=self.model),
            "work": documents.document_current_draft(model=self.model),
            "can_edit": user.is_cx_leader or user.is_superuser,
            "can_approve": user.is_executive or user.is_superuser,
        }

    # --- views -------------------------------------------------------------------------------

    def versions_view(self, request: HttpRequest) -> HttpResponse:
        versions = list(documents.document_versions(model=self.model))
        return render(
            request, "charter/documents/versions.html", {**self.status(request.user), "versions": versions}
        )

    def new_view(self, request: HttpRequest) -> HttpResponse:
        documents._require_editor(request.user)
        if request.method == "POST":
            form = self.form_class(request.POST)
            status = 400
            if form.is_valid():
                try:
                    doc = self._create(request.user, form.cleaned_data)
                except ValidationError as exc:
                    form_add_validation_error(form, exc)
                    status = 409 if isinstance(exc, documents.TransitionError) else 400
                else:
                    messages.success(request, f"Draft version {doc.number} created.")
                    return redirect(self.url("version", number=doc.number))
            ctx = {"kind": self, "form": form, "doc": None}
            return render(request, "charter/documents/edit.html", ctx, status=status)
        latest = self.model.objects.order_by("-number").first()
        initial = {name: getattr(latest, name) for name in self.model.CONTENT_FIELDS} if latest else {}
        return render(
            request,
            "charter/documents/edit.html",
            {"kind": self, "form": self.form_class(initial=initial), "doc": None},
        )

    def _create(self, user: Any, data: dict[str, Any]) -> VersionedDocument:
        if self.create is not None:
            return self.create(by=user, fields=data)
        return documents.document_draft_create(model=self.model, by=user, fields=data)

    def version_view(self, request: HttpRequest, number: int) -> HttpResponse:
        doc = self.get(number)
        status = 200
        form = None
        can_edit = (request.user.is_cx_leader or request.user.is_superuser) and doc.state == DocState.DRAFT
        if request.method == "POST":
            # "Submit for review" is a button of the edit form: the text on the page is saved
            # first and then submitted, so an edit is never dropped by submitting.
            then_submit = request.POST.get("then") == "submit"
            form = self.form_class(request.POST, instance=doc)
            if form.is_valid():
                try:
                    if then_submit:
                        doc = documents.document_draft_submit(
                            doc=doc, by=request.user, fields=form.cleaned_data, prepare=self.submit_prepare
                        )
                    else:
                        documents.document_draft_update(doc=doc, by=request.user, fields=form.cleaned_data)
                except ValidationError as exc:
                    messages.error(request, " ".join(validation_messages(exc)))
                    status = 409 if isinstance(exc, documents.TransitionError) else 400
                    doc = self.get(number)
                else:
                    if then_submit:
                        messages.success(request, f"Version {doc.number} saved and submitted for review.")
                    else:
                        messages.success(request, f"Draft version {doc.number} saved.")
                    return redirect(self.url("version", number=doc.number))
            else:
                status = 400
        elif can_edit:
            form = self.form_class(instance=doc)
        return self._render_version(request, doc, form=form if can_edit else None, status=status)

    def _render_version(
        self, request: HttpRequest, doc: VersionedDocument, *, form: Any = None, status: int = 200
    ) -> HttpResponse:
        audit = list(doc.history.select_related("history_user").order_by("-history_date", "-history_id"))
        changes = []
        for i, record in enumerate(audit):
            prev = audit[i + 1] if i + 1 < len(audit) else None
            fields = [c.field for c in record.diff_against(prev).changes] if prev else ["created"]
            changes.append({"record": record, "fields": fields})
        published = documents.document_published(model=self.model)
        ctx = {
            **self.status(request.user),
            "doc": doc,
            "form": form,
            "audit": changes,
            "compare_to": published if published and published.pk != doc.pk else None,
        }
        return render(request, "charter/documents/version.html", ctx, status=status)

    def transition_view(self, request: HttpRequest, number: int) -> HttpResponse:
        doc = self.get(number)
        action = request.POST.get("action", "")
        try:
            doc = documents.document_transition(
                doc=doc,
                by=request.user,
                action=action,
                comment=request.POST.get("comment", ""),
                prepare=self.submit_prepare,
            )
        except ValidationError as exc:
            for msg in validation_messages(exc):
                messages.error(request, msg)
            status = 409 if isinstance(exc, documents.TransitionError) else 400
            return self._render_version(request, self.get(number), status=status)
        done = {
            "submit": "submitted for review",
            "approve": "approved and published",
            "return": "returned to draft",
        }
        messages.success(request, f"Version {doc.number} {done[action]}.")
        if action == "approve":
            return redirect(self.main_url())
        return redirect(self.url("version", number=doc.number))

    def diff_view(self, request: HttpRequest) -> HttpResponse:
        versions = list(documents.document_versions(model=self.model))
        by_number = {v.number: v for v in versions}
        a = int_or_none(request.GET.get("a"), min_value=1)
        b = int_or_none(request.GET.get("b"), min_value=1)
        if a is None and b is None and len(versions) >= 2:
            a, b = versions[1].number, versions[0].number
        old, new = by_number.get(a) if a else None, by_number.get(b) if b else None
        sections = documents.document_diff(old=old, new=new) if old and new else []
        ctx = {
            "kind": self,
            "versions": versions,
            "old": old,
            "new": new,
            "sections": sections,
            "a": a,
            "b": b,
        }
        status = 404 if (a and not old) or (b and not new) else 200
        return render(request, "charter/documents/diff.html", ctx, status=status)

    def urls(self) -> list[URLPattern]:
        lr = login_required
        return [
            path(f"{self.slug}/versions/", lr(self.versions_view), name=f"{self.slug}-versions"),
            path(f"{self.slug}/versions/new/", lr(self.new_view), name=f"{self.slug}-new"),
            path(f"{self.slug}/versions/<int:number>/", lr(self.version_view), name=f"{self.slug}-version"),
            path(
                f"{self.slug}/versions/<int:number>/transition/",
                lr(require_POST(self.transition_view)),
                name=f"{self.slug}-transition",
            ),
            path(f"{self.slug}/diff/", lr(self.diff_view), name=f"{self.slug}-diff"),
        ]
