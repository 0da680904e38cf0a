"""Privacy requests in the browser, for staff: find a customer, download their data, erase them.

Staff only (the operators who handle data-subject requests), because it shows every department's
customer data; everyone else gets 403 and anonymous visitors the login page. The same services
as ``manage.py customer_privacy`` do the work, and each request leaves a ``PrivacyRequest``.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .models import PrivacyRequest
from .privacy import customer_data_export, customer_erase, customer_find


class PrivacyRequestForm(forms.Form):
    customer = forms.CharField(max_length=254, label="Customer e-mail, vendor id or row id")
    reason = forms.CharField(max_length=255, required=False, label="Reason (e.g. the ticket)")
    action = forms.ChoiceField(choices=[("export", "Download their data"), ("erase", "Erase them")])
    confirm = forms.BooleanField(required=False, label="I understand that erasure cannot be undone")

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "erase" and not data.get("confirm"):
            self.add_error("confirm", "Tick this to erase.")
        return data


@login_required
def privacy_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff:
        raise PermissionDenied("Only staff handle privacy requests.")
    form = PrivacyRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                customer = customer_find(ref=form.cleaned_data["customer"])
            except ValidationError as exc:
                form.add_error("customer", exc.messages)
            else:
                reason = form.cleaned_data["reason"]
                if form.cleaned_data["action"] == "export":
                    data = customer_data_export(customer=customer, by=request.user, reason=reason)
                    response = HttpResponse(
                        json.dumps(data, indent=2, ensure_ascii=False, default=str),
                        content_type="application/json; charset=utf-8",
                    )
                    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
                    return response
                record = customer_erase(customer=customer, by=request.user, reason=reason)
                messages.success(request, f"Customer {record.customer_ref} erased; the request is recorded.")
                return redirect("feedback:privacy")
        status = 400
    recent = PrivacyRequest.objects.select_related("by")[:20]
    return render(request, "feedback/privacy.html", {"form": form, "recent": recent}, status=status)
