from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors


@login_required
def department_list_view(request: HttpRequest) -> HttpResponse:
    departments = selectors.department_list(user=request.user)
    return render(request, "charter/department_list.html", {"departments": departments})


@login_required
def department_detail_view(request: HttpRequest, slug: str) -> HttpResponse:
    department = selectors.department_get(user=request.user, slug=slug)
    if department is None:
        raise Http404("No such department in your scope")
    return render(request, "charter/department_detail.html", {"department": department})
