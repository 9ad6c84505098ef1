"""The sales settings page in the settings area (``/settings/sales/``): base currency, exchange
rates, the funnel's warning threshold and whether the periodic sales reports are e-mailed.

The same service as ``PATCH /api/v1/sales-settings/`` (``services.sales_settings_update``):
validation, audit and the recalculation of open opportunities' base-currency amounts.
Administrators and everyone else with ``opportunity: manage``.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huoban.platform.access.scoping import scoped
from huoban.platform.errors import ValidationError
from huoban.platform.identity.forms import apply_errors
from huoban.platform.ui.settings_views import (
    StyledForm,
    recent_changes,
    register_section,
    render_settings_page,
    section,
)

from . import services
from .models import Opportunity, OpportunityStatus, SalesSettings

register_section(
    {
        "key": "sales_settings",
        "url": "sales-settings-general",
        "object_type": "opportunity",
        "icon": "currency-yuan",
        "label": gettext_lazy("Sales settings"),
        "help": gettext_lazy("Base currency and exchange rates, funnel warning, sales report e-mails."),
    }
)

_LINE = re.compile(r"^\s*([^\s=:：]+)\s*[=:：]?\s*(.*?)\s*$")


class SalesSettingsForm(StyledForm):
    base_currency = forms.CharField(
        label=gettext_lazy("Base currency"),
        max_length=3,
        help_text=gettext_lazy("Reports add up amounts in this currency (three letters, e.g. CNY)."),
    )
    exchange_rates = forms.CharField(
        label=gettext_lazy("Exchange rates"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "USD = 7.10\nEUR = 7.80"}),
        help_text=gettext_lazy(
            "One currency per line: code = units of the base currency per unit of it. Open "
            "opportunities are recalculated when you save; closed ones keep the rate of their time."
        ),
    )
    funnel_warning_threshold = forms.IntegerField(
        label=gettext_lazy("Warn when lead → opportunity conversion falls below (%)"),
        min_value=0,
        max_value=100,
    )
    report_email = forms.BooleanField(
        label=gettext_lazy("E-mail the weekly and monthly sales reports"), required=False
    )


def _parse_rates(text: str) -> tuple[dict[str, str], list[str]]:
    """``USD = 7.10`` lines → {"USD": "7.10"}; the lines that cannot be read, as messages."""
    rates: dict[str, str] = {}
    bad: list[str] = []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if m is None or not m.group(2):
            bad.append(_("Line %(n)d: write it as “USD = 7.10”.") % {"n": n})
            continue
        code = m.group(1).upper()
        if code in rates:
            bad.append(_("Line %(n)d: %(code)s is given twice.") % {"n": n, "code": code})
            continue
        rates[code] = m.group(2)
    return rates, bad


def _rates_text(rates: dict[str, Any]) -> str:
    return "\n".join(f"{k} = {v}" for k, v in sorted((rates or {}).items()))


def _open_currencies(user: Any, obj: SalesSettings) -> list[dict[str, Any]]:
    """Currencies of the open opportunities the user can see, with their count and total, and
    whether a rate is set."""
    rows = (
        scoped(user, Opportunity)
        .filter(status=OpportunityStatus.OPEN)
        .values("currency")
        .annotate(n=Count("id"), total=Sum("amount"))
        .order_by("currency")
    )
    rates = obj.exchange_rates or {}
    return [
        {
            "code": r["currency"],
            "count": r["n"],
            "total": r["total"],
            "base": r["currency"] == obj.base_currency,
            "rate": rates.get(r["currency"]),
        }
        for r in rows
    ]


@section("sales_settings")
def sales_settings(request: HttpRequest) -> HttpResponse:
    obj = SalesSettings.load()
    if request.method == "POST":
        form = SalesSettingsForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            rates, bad = _parse_rates(d["exchange_rates"])
            if bad:
                form.add_error("exchange_rates", bad)
            else:
                try:
                    services.sales_settings_update(
                        actor=request.user,
                        data={
                            "base_currency": d["base_currency"],
                            "exchange_rates": rates,
                            "funnel_warning_threshold": d["funnel_warning_threshold"],
                            "report_email": d["report_email"],
                        },
                    )
                except ValidationError as exc:
                    apply_errors(form, exc.errors)
                else:
                    messages.success(request, _("Sales settings saved."))
                    return redirect("sales-settings-general")
    else:
        form = SalesSettingsForm(
            initial={
                "base_currency": obj.base_currency,
                "exchange_rates": _rates_text(obj.exchange_rates),
                "funnel_warning_threshold": obj.funnel_warning_threshold,
                "report_email": obj.report_email,
            }
        )
    history = recent_changes("sales_settings", obj.pk)
    return render_settings_page(
        request,
        "sales/settings_general.html",
        {"form": form, "obj": obj, "history": history, "currencies": _open_currencies(request.user, obj)},
        400 if form.errors else 200,
    )
