"""Home page widgets and key figures, registered by modules.

    from huoban.platform.ui.widgets import Widget, register_widget, KeyFigure, register_key_figure

    register_widget(Widget(
        key="sales.pipeline", title=_("My pipeline"), template="sales/widgets/pipeline.html",
        context=lambda request: {"rows": ...},           # extra template context
        object_type="opportunity", order=30, width=6))    # width: 12-column grid on desktop

    register_key_figure(KeyFigure(
        key="customers.new_month", label=_("New customers this month"),
        value=lambda request: scoped(request.user, Customer).filter(...).count(),
        object_type="customer", url="/customers/?created__from=…", order=10))

A widget is shown when the user passes its permission check (``object_type`` + ``action`` via
``has_perm`` and/or ``check(user)``). Widgets render server-side with the home page; a widget
that is slow can set ``lazy=True`` and is then loaded by HTMX from ``/widgets/<key>/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.safestring import SafeString


@dataclass
class Widget:
    key: str
    title: str | Promise
    template: str
    context: Callable[[Any], dict[str, Any]] | None = None
    order: int = 100
    width: int = 6  # of 12 columns on desktop; phones always use the full width
    object_type: str = ""
    action: str = "view"
    check: Callable[[Any], bool] | None = None
    lazy: bool = False
    icon: str = ""

    def allowed(self, user: Any) -> bool:
        from huoban.platform.access.scoping import has_perm

        if user is None or not user.is_authenticated:
            return False
        if self.object_type and not has_perm(user, self.object_type, self.action):
            return False
        return self.check is None or bool(self.check(user))

    def render(self, request: Any) -> SafeString:
        ctx: dict[str, Any] = {"widget": self}
        if self.context is not None:
            ctx.update(self.context(request) or {})
        return SafeString(render_to_string(self.template, ctx, request=request))


@dataclass
class KeyFigure:
    key: str
    label: str | Promise
    value: Callable[[Any], Any]  # (request) -> number / Decimal / str
    order: int = 100
    object_type: str = ""
    action: str = "view"
    check: Callable[[Any], bool] | None = None
    url: str = ""
    kind: str = "number"  # number | money (value is (Decimal, currency)) | text
    hint: str | Promise = ""

    def allowed(self, user: Any) -> bool:
        from huoban.platform.access.scoping import has_perm

        if user is None or not user.is_authenticated:
            return False
        if self.object_type and not has_perm(user, self.object_type, self.action):
            return False
        return self.check is None or bool(self.check(user))


_WIDGETS: dict[str, Widget] = {}
_FIGURES: dict[str, KeyFigure] = {}


def register_widget(widget: Widget) -> Widget:
    _WIDGETS[widget.key] = widget
    return widget


def register_key_figure(figure: KeyFigure) -> KeyFigure:
    _FIGURES[figure.key] = figure
    return figure


def get_widget(key: str) -> Widget | None:
    return _WIDGETS.get(key)


def widgets_for(user: Any) -> list[Widget]:
    return [w for w in sorted(_WIDGETS.values(), key=lambda w: (w.order, w.key)) if w.allowed(user)]


def key_figures_for(user: Any) -> list[KeyFigure]:
    return [f for f in sorted(_FIGURES.values(), key=lambda f: (f.order, f.key)) if f.allowed(user)]
