"""Select and input widgets that write their HTML in Python, for the triage inbox.

The inbox renders about twenty widgets on every page load (the filter bar and the bulk bar).
Django renders each one through its template engine, one ``{% include %}`` per ``<option>``:
7–10 ms of CPU per page at the benchmark's size, a third of the whole page. These produce the
same HTML as Django's ``select.html``/``select_option.html``/``input.html``/``attrs.html``
(pinned by ``tests/feedback/test_triage_speed.py``), from the same ``get_context``, so
labels, ``selected``, ids and ``required`` behave exactly as with the stock widgets.
"""

from __future__ import annotations

import html
from typing import Any

from django import forms
from django.utils.safestring import SafeString, mark_safe


def escape(value: Any) -> str:
    """``django.utils.html.escape`` (escapes even safe strings) without its lazy-string
    wrapper: a page renders a few hundred option values, and the wrapper's check of every
    argument cost more than the escaping."""
    return html.escape(str(value))


def conditional_escape(value: Any) -> str:
    """``django.utils.html.conditional_escape`` without the lazy-string wrapper."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def attrs_html(attrs: dict[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``: ``False`` drops the attribute, ``True`` writes
    its bare name, anything else ``name="value"`` escaped (a safe string as it is)."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {name}")
        else:
            out.append(f' {name}="{conditional_escape(value)}"')  # |stringformat:'s' keeps safe strings
    return "".join(out)


class FastSelect(forms.Select):
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{attrs_html(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in options:
                parts.append(
                    f'\n  <option value="{escape(str(option["value"]))}"{attrs_html(option["attrs"])}>'
                    f"{conditional_escape(option['label'])}</option>\n"  # the template file's last newline
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308  # nosec B308 B703: every value escaped above


class _FastInputMixin:
    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]  # type: ignore[attr-defined]
        value_html = "" if widget["value"] is None else f' value="{escape(str(widget["value"]))}"'
        html = (
            f'<input type="{escape(widget["type"])}" name="{conditional_escape(widget["name"])}"'
            f"{value_html}{attrs_html(widget['attrs'])}>"
        )
        return mark_safe(html)  # noqa: S308  # nosec B308 B703: every value escaped above


class FastTextInput(_FastInputMixin, forms.TextInput):
    pass


class FastDateInput(_FastInputMixin, forms.DateInput):
    pass
