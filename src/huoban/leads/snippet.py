"""The embeddable HTML of a web-to-lead form, and the labels of its fields."""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import CompanySize, Urgency

FIELD_LABELS: dict[str, Any] = {
    "name": gettext_lazy("Name"),
    "company": gettext_lazy("Company"),
    "title": gettext_lazy("Job title"),
    "phone": gettext_lazy("Phone"),
    "email": gettext_lazy("Email"),
    "region": gettext_lazy("Province or city"),
    "company_size": gettext_lazy("Company size"),
    "industry": gettext_lazy("Industry"),
    "urgency": gettext_lazy("How urgent is it?"),
    "budget": gettext_lazy("Budget"),
    "requirement": gettext_lazy("What do you need?"),
}
INPUT_TYPES = {"phone": "tel", "email": "email", "budget": "number"}


def field_choices(name: str) -> list[tuple[str, Any]] | None:
    if name == "company_size":
        return list(CompanySize.choices)
    if name == "urgency":
        return list(Urgency.choices)
    return None


def form_snippet(form: Any, action_url: str) -> str:
    """A plain HTML form (no script, no iframe) posting to the public endpoint. The hidden
    ``homepage`` input is the honeypot: people never see it, bots fill it in."""
    required = set(form.required_fields or [])
    lines = [
        f'<form class="huoban-lead-form" action="{escape(action_url)}" method="post" accept-charset="utf-8">'
    ]
    if form.title:
        lines.append(f"  <h3>{escape(form.title)}</h3>")
    for name in form.fields or []:
        label = escape(str(FIELD_LABELS.get(name, name)))
        req = " required" if name in required else ""
        fid = f"hb-{escape(form.key)}-{name}"
        lines.append(f'  <p><label for="{fid}">{label}{" *" if req else ""}</label><br>')
        choices = field_choices(name)
        if choices:
            lines.append(f'    <select id="{fid}" name="{name}"{req}>')
            lines.append('      <option value=""></option>')
            for value, text in choices:
                lines.append(f'      <option value="{escape(value)}">{escape(str(text))}</option>')
            lines.append("    </select></p>")
        elif name == "requirement":
            lines.append(f'    <textarea id="{fid}" name="{name}" rows="4"{req}></textarea></p>')
        else:
            kind = INPUT_TYPES.get(name, "text")
            lines.append(f'    <input id="{fid}" type="{kind}" name="{name}"{req}></p>')
    lines.append(
        '  <p aria-hidden="true" style="position:absolute;left:-10000px">'
        '<input type="text" name="homepage" tabindex="-1" autocomplete="off"></p>'
    )
    lines.append(f'  <p><button type="submit">{escape(_("Send"))}</button></p>')
    lines.append("</form>")
    return "\n".join(lines)
