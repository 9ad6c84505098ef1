"""Generic record pages: one registration gives an object type its list, detail, form, board,
recycle bin — all reads through ``scoped()``, all writes through the registered services.

A domain app writes, in ``<app>/ui.py``::

    from huoban.platform.ui.pages import Column, Filter, RecordPages, Section, register_pages

    customer_pages = register_pages(RecordPages(
        model=Customer,
        create=customer_create,            # create(actor=, data=, custom_fields=, tags=)
        update=customer_update,            # update(actor=, customer=, data=, custom_fields=, tags=, version=)
        module="customers", icon="building",
        list_columns=["number", Column("name", link=True), "kind", "lifecycle_stage", "owner", "created_at"],
        filters=["kind", "lifecycle_stage", "owner", "owner_unit", "tags", "created_at"],
        form_sections=[Section(_("Basics"), ["name", "short_name", "kind"]), ...],
        header_fields=["lifecycle_stage", "owner", "phone"],
    ))

and in ``<app>/urls.py``::

    from .ui import customer_pages
    urlpatterns = customer_pages.urls()

which gives ``/customers/``, ``/customers/new/``, ``/customers/<id>/``, ``/customers/<id>/edit/``,
``/customers/board/`` (when ``board`` is set), ``/customers/deleted/`` (recycle bin) and a few
HTMX endpoints under them. URL names: ``<object_type>-list``, ``-new``, ``-detail``, ``-edit``,
``-board``, ``-deleted``.

Other modules plug into every detail page without touching the owner of the pages:
``register_timeline`` (timeline tab), ``register_related`` (related lists tab),
``register_tab`` (extra tabs). See docs/ui.md.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db import models
from django.utils.functional import Promise
from django.utils.text import capfirst

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# --- list columns and filters ------------------------------------------------------------------


@dataclass
class Column:
    """A list column. ``key`` is a model field name, ``cf_<key>`` for a custom field, or any name
    with a ``render`` callable. ``kind`` picks the formatting (auto-detected for model fields):
    text · number · money · date · datetime · choice · bool · user · unit · tags · relation."""

    key: str
    label: str | Promise | None = None
    kind: str = ""
    sortable: bool | None = None  # default: True for concrete fields and custom fields
    order_by: str = ""  # ORM ordering expression; default the field name
    render: Callable[[Any], Any] | None = None  # (obj) -> str / SafeString
    default: bool = True  # shown when the user has not picked columns
    link: bool = False  # link to the detail page
    currency_field: str = ""  # money: attribute holding the ISO currency (default "CNY")
    select_related: tuple[str, ...] = ()
    align: str = ""  # "end" for numbers and money (automatic)


@dataclass
class Filter:
    """A filter in the list's filter panel. Query parameters: ``<key>`` (text/choice/owner/unit/
    bool/relation; repeatable for choice), ``<key>__from`` / ``<key>__to`` (date_range,
    number_range), ``tag`` (tags), ``cf_<key>`` for custom fields (auto-added)."""

    key: str
    kind: str = ""  # text · choice · date_range · number_range · owner · unit · tags · bool · relation
    label: str | Promise | None = None
    field: str = ""  # ORM path; default key
    choices: Sequence[tuple[Any, Any]] | Callable[[], Sequence[tuple[Any, Any]]] | None = None
    apply: Callable[[Any, Any, Any], Any] | None = None  # (qs, value, request) -> qs
    lookup: str = ""  # relation: object type for the type-ahead (e.g. "customer")


# --- forms and detail ---------------------------------------------------------------------------


@dataclass
class FieldSpec:
    """A field in a form or detail section (a plain string means ``FieldSpec(name)``)."""

    name: str
    label: str | Promise | None = None
    widget: str = ""  # "", "textarea", "select", "lookup", "date", "datetime", "checkbox", "tags",
    # "list" (repeatable rows for a JSON list of strings: forms.ListField),
    # "files" (files to attach on create: forms.FilesField → data[name], a list of uploads)
    lookup: str = ""  # object type for a lookup ("customer", "user", "unit")
    help_text: str | Promise = ""
    required: bool | None = None
    render: Callable[[Any], Any] | None = None  # detail display (obj) -> str
    choices: Callable[[], Sequence[tuple[Any, Any]]] | None = None  # a select (e.g. picklist values)
    inline: bool | None = None  # inline edit on the detail page (default: yes if in a form)
    width: int = 6  # of 12 columns on desktop


@dataclass
class Section:
    title: str | Promise
    fields: list[str | FieldSpec] = field(default_factory=list)
    custom_fields: bool = False  # render the object type's active custom fields here
    collapsed: bool = False

    def specs(self) -> list[FieldSpec]:
        return [f if isinstance(f, FieldSpec) else FieldSpec(f) for f in self.fields]


@dataclass
class Tab:
    """An extra detail tab. ``render(request, obj)`` returns HTML (loaded with HTMX)."""

    key: str
    label: str | Promise
    render: Callable[[Any, Any], Any]
    order: int = 50
    check: Callable[[Any, Any], bool] | None = None  # (user, obj) -> visible?
    icon: str = ""


@dataclass
class TimelineItem:
    at: Any  # aware datetime
    title: str | Promise
    body: str = ""
    icon: str = "point"
    actor: str = ""
    url: str = ""
    kind: str = ""  # provider key (filter chips on the timeline)
    color: str = ""  # a status colour name: "green", "red", "azure" …
    details: list[tuple[str, Any, Any]] = field(default_factory=list)  # (label, before, after)


@dataclass
class TimelineProvider:
    key: str
    label: str | Promise
    items: Callable[[Any, Any], Iterable[TimelineItem]]  # (request, obj) -> items
    order: int = 50


@dataclass
class RelatedList:
    """A related list on the detail page ("Contacts" on a customer).

    Rows come from ``scoped(user, model).filter(**{fk: obj})`` unless ``queryset(user, obj)`` is
    given (it must start from ``scoped()``). Shown only when the user may view ``model``.
    """

    key: str
    label: str | Promise
    model: type[models.Model]
    fk: str = ""
    columns: list[str | Column] = field(default_factory=list)
    queryset: Callable[[Any, Any], Any] | None = None
    limit: int = 10
    order: int = 50
    ordering: tuple[str, ...] = ("-id",)
    add_url: Callable[[Any], str] | None = None  # (obj) -> "/contacts/new/?customer=3"
    list_url: Callable[[Any], str] | None = None  # (obj) -> "/contacts/?customer=3"


# --- kanban --------------------------------------------------------------------------------------


@dataclass
class BoardColumn:
    key: Any  # the value of Board.field for records in this column
    label: str | Promise
    color: str = ""  # status colour for the column header
    hint: str | Promise = ""  # e.g. "probability 40%"


@dataclass
class Board:
    """Kanban: columns are the values of ``field`` (e.g. stage); moving a card calls
    ``move(actor=, obj=, to=, version=)`` — a service that raises a DomainError to refuse."""

    field: str
    columns: Callable[[Any], list[BoardColumn]]  # (request) -> columns
    move: Callable[..., Any]
    amount_field: str = ""  # column totals (sum)
    currency_field: str = ""
    # ``field`` is shadowed by the attribute above inside this class body (for the type checker)
    card_fields: list[str] = dataclasses.field(default_factory=list)
    per_column: int = 50
    label: str | Promise = ""


# --- bulk actions ------------------------------------------------------------------------------


@dataclass
class BulkAction:
    """A bulk action on selected list rows. ``handler(request, pages, objs)`` returns a message
    (shown as a toast) or an HttpResponse; objs come from ``scoped(user, model, action)``."""

    key: str
    label: str | Promise
    handler: Callable[[Any, Any, list[Any]], Any]
    action: str = "change"  # function permission needed (and the data scope used)
    icon: str = ""
    confirm: str | Promise = ""
    danger: bool = False
    input: str = ""  # "" | "owner" | "tag" — an extra input the action needs


# --- the registration ----------------------------------------------------------------------------


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


@dataclass
class RecordPages:
    model: type[models.Model]
    create: Callable[..., Any] | None = None
    update: Callable[..., Any] | None = None
    update_kwarg: str = ""  # keyword of the record in ``update`` (default: object_type)
    delete: Callable[..., Any] | None = None  # default records.services.record_delete
    restore: Callable[..., Any] | None = None  # default records.services.record_restore
    transfer: Callable[..., Any] | None = None  # transfer(actor=, <records>=[…], new_owner=, reason=)
    module: str = ""  # navigation module ("customers", "sales" …)
    icon: str = "file"
    label: str | Promise | None = None  # singular; default verbose_name
    label_plural: str | Promise | None = None
    nav: bool = True
    nav_order: int = 10
    list_columns: list[str | Column] = field(default_factory=list)
    filters: list[str | Filter] = field(default_factory=list)
    search_fields: tuple[str, ...] | None = None  # default model.search_fields
    search: Callable[[Any, str, Any], Any] | None = None  # (qs, q, request) -> qs; default icontains
    default_sort: str = "-id"
    per_page: int = 50
    form_sections: list[Section] = field(default_factory=list)
    detail_sections: list[Section] | None = None  # default: form_sections + a "System" section
    header_fields: list[str] = field(default_factory=list)
    subtitle_field: str = ""  # e.g. "number"
    title: Callable[[Any], str] | None = None  # default str(obj)
    inline_edit: tuple[str, ...] | None = None  # default: form fields (not sensitive, not owner)
    tabs: list[Tab] = field(default_factory=list)
    related: list[RelatedList] = field(default_factory=list)
    board: Board | None = None
    bulk_actions: list[BulkAction] = field(default_factory=list)
    select_related: tuple[str, ...] = ("owner", "owner_unit")
    prefetch_related: tuple[str, ...] = ()
    empty_hint: str | Promise = ""  # the empty-state text of the list

    # -- derived names --
    @property
    def object_type(self) -> str:
        return self.model.object_type  # type: ignore[attr-defined]

    @property
    def resource(self) -> str:
        return self.model.resource  # type: ignore[attr-defined]

    @property
    def meta(self) -> Any:
        return self.model._meta

    def singular(self) -> str:
        return str(capfirst(cast("StrOrPromise", self.label or self.meta.verbose_name)))

    def plural(self) -> str:
        return str(capfirst(cast("StrOrPromise", self.label_plural or self.meta.verbose_name_plural)))

    def url_name(self, view: str) -> str:
        return f"{self.object_type}-{view}"

    def list_url(self) -> str:
        return f"/{self.resource}/"

    def detail_url(self, obj_or_pk: Any) -> str:
        pk = getattr(obj_or_pk, "pk", obj_or_pk)
        return f"/{self.resource}/{pk}/"

    def sensitive(self) -> tuple[str, ...]:
        return tuple(getattr(self.model, "sensitive_fields", ()) or ())

    def get_search_fields(self) -> tuple[str, ...]:
        if self.search_fields is not None:
            return self.search_fields
        return tuple(getattr(self.model, "search_fields", ()) or ())

    def title_of(self, obj: Any) -> str:
        return self.title(obj) if self.title else str(obj)

    def get_detail_sections(self) -> list[Section]:
        if self.detail_sections is not None:
            return self.detail_sections
        from django.utils.translation import gettext_lazy as _

        sections = [
            Section(
                s.title,
                [f for f in s.fields if (f if isinstance(f, str) else f.name) != "owner"],
                s.custom_fields,
            )
            for s in self.form_sections
        ]
        if not any(s.custom_fields for s in sections):
            sections.append(Section(_("Custom fields"), [], custom_fields=True))
        sections.append(
            Section(
                _("System"), ["owner", "owner_unit", "created_at", "created_by", "updated_at", "updated_by"]
            )
        )
        return sections

    def display_spec(self, name: str) -> FieldSpec:
        """The spec that says how ``name`` is shown (its ``render``/``choices``), wherever the
        field appears: details tab, header, board card, inline editor."""
        for s in [*self.get_detail_sections(), *self.form_sections]:
            for spec in s.specs():
                if spec.name == name and (spec.render is not None or spec.choices is not None):
                    return spec
        return FieldSpec(name)

    def form_field_names(self) -> list[str]:
        return [spec.name for s in self.form_sections for spec in s.specs()]

    def inline_fields(self) -> tuple[str, ...]:
        if self.inline_edit is not None:
            return self.inline_edit
        sens = set(self.sensitive())
        return tuple(
            spec.name
            for s in self.form_sections
            for spec in s.specs()
            if spec.inline is not False
            and spec.name not in sens
            and spec.name not in ("owner", "tags")
            and spec.widget != "files"
        )

    # -- services (the one write path) --
    def call_create(
        self, *, actor: Any, data: dict[str, Any], custom_fields: Any, tags: Any, **extra: Any
    ) -> Any:
        if self.create is None:
            raise RuntimeError(f"{self.object_type}: no create service registered")
        kwargs: dict[str, Any] = {"actor": actor, "data": data}
        if _accepts(self.create, "custom_fields"):
            kwargs["custom_fields"] = custom_fields
        if tags is not None and _accepts(self.create, "tags"):
            kwargs["tags"] = tags
        for k, v in extra.items():
            if _accepts(self.create, k):
                kwargs[k] = v
        return self.create(**kwargs)

    def call_update(
        self,
        *,
        actor: Any,
        obj: Any,
        data: dict[str, Any],
        custom_fields: Any = None,
        tags: Any = None,
        version: Any = None,
        **extra: Any,
    ) -> Any:
        if self.update is None:
            raise RuntimeError(f"{self.object_type}: no update service registered")
        kwargs: dict[str, Any] = {
            "actor": actor,
            (self.update_kwarg or self.object_type): obj,
            "data": data,
            "version": version,
        }
        if custom_fields is not None and _accepts(self.update, "custom_fields"):
            kwargs["custom_fields"] = custom_fields
        if tags is not None and _accepts(self.update, "tags"):
            kwargs["tags"] = tags
        for k, v in extra.items():
            if _accepts(self.update, k):
                kwargs[k] = v
        return self.update(**kwargs)

    def call_delete(self, *, actor: Any, obj: Any, version: Any = None) -> Any:
        if self.delete is not None:
            kwargs = {"actor": actor, "version": version}
            kwargs["obj" if _accepts(self.delete, "obj") else self.object_type] = obj
            return self.delete(**kwargs)
        from huoban.platform.records.services import record_delete

        return record_delete(actor=actor, obj=obj, version=version)

    def call_delete_many(self, *, actor: Any, objs: list[Any]) -> int:
        """Bulk delete: the registered delete service per record (it may refuse one), else
        ``record_delete_many`` (one transaction, one audit batch)."""
        if self.delete is not None:
            for obj in objs:
                self.call_delete(actor=actor, obj=obj)
            return len(objs)
        from huoban.platform.records.services import record_delete_many

        return record_delete_many(actor=actor, objs=objs)

    def call_restore(self, *, actor: Any, obj: Any) -> Any:
        if self.restore is not None:
            key = "obj" if _accepts(self.restore, "obj") else self.object_type
            return self.restore(actor=actor, **{key: obj})
        from huoban.platform.records.services import record_restore

        return record_restore(actor=actor, obj=obj)

    def call_transfer(self, *, actor: Any, objs: list[Any], new_owner: Any, reason: str = "") -> int:
        if self.transfer is None:
            from huoban.platform.records.services import record_transfer

            return record_transfer(actor=actor, objs=objs, new_owner=new_owner, reason=reason)
        params = inspect.signature(self.transfer).parameters
        name = (
            "objs"
            if "objs" in params
            else next(
                (
                    n
                    for n, prm in params.items()
                    if prm.kind is inspect.Parameter.KEYWORD_ONLY
                    and n not in ("actor", "new_owner", "reason")
                ),
                "objs",
            )
        )
        return self.transfer(actor=actor, **{name: objs}, new_owner=new_owner, reason=reason)

    # -- URLs --
    def urls(self) -> list[Any]:
        """The URL patterns for this object type (put them in the app's ``urls.py``)."""
        from django.urls import path

        from . import record_views as v

        r, n = self.resource, self.url_name
        kw = {"pages": self}
        patterns = [
            path(f"{r}/", v.RecordListView.as_view(**kw), name=n("list")),
            path(f"{r}/new/", v.RecordCreateView.as_view(**kw), name=n("new")),
            path(f"{r}/bulk/", v.RecordBulkView.as_view(**kw), name=n("bulk")),
            path(f"{r}/views/", v.SavedViewView.as_view(**kw), name=n("views")),
            path(
                f"{r}/views/<int:view_id>/delete/", v.SavedViewDeleteView.as_view(**kw), name=n("view-delete")
            ),
            path(f"{r}/deleted/", v.RecycleBinView.as_view(**kw), name=n("deleted")),
            path(f"{r}/<int:pk>/", v.RecordDetailView.as_view(**kw), name=n("detail")),
            path(f"{r}/<int:pk>/edit/", v.RecordEditView.as_view(**kw), name=n("edit")),
            path(f"{r}/<int:pk>/delete/", v.RecordDeleteView.as_view(**kw), name=n("delete")),
            path(f"{r}/<int:pk>/restore/", v.RecordRestoreView.as_view(**kw), name=n("restore")),
            path(f"{r}/<int:pk>/transfer/", v.RecordTransferView.as_view(**kw), name=n("transfer")),
            path(f"{r}/<int:pk>/tab/<slug:tab>/", v.RecordTabView.as_view(**kw), name=n("tab")),
            path(f"{r}/<int:pk>/field/<str:field>/", v.InlineFieldView.as_view(**kw), name=n("field")),
        ]
        if self.board is not None:
            patterns[1:1] = [
                path(f"{r}/board/", v.BoardView.as_view(**kw), name=n("board")),
                path(f"{r}/board/move/", v.BoardMoveView.as_view(**kw), name=n("board-move")),
            ]
        return patterns


_PAGES: dict[str, RecordPages] = {}
_TIMELINE: dict[str, dict[str, TimelineProvider]] = {}
_RELATED: dict[str, dict[str, RelatedList]] = {}
_TABS: dict[str, dict[str, Tab]] = {}


def register_pages(pages: RecordPages) -> RecordPages:
    """Register the pages of one object type (and its navigation entry)."""
    _PAGES[pages.object_type] = pages
    if pages.nav and pages.module:
        from .nav import NavEntry, register_nav

        register_nav(
            NavEntry(
                key=pages.object_type,
                module=pages.module,
                label=capfirst(cast("StrOrPromise", pages.label_plural or pages.meta.verbose_name_plural)),
                url=pages.list_url(),
                icon=pages.icon,
                order=pages.nav_order,
                object_type=pages.object_type,
            )
        )
    return pages


def pages_for(object_type: str) -> RecordPages | None:
    return _PAGES.get(object_type)


def all_pages() -> list[RecordPages]:
    return list(_PAGES.values())


def detail_url_for(object_type: str, pk: Any) -> str:
    """Link to a record's page if its type has pages, else ''."""
    p = _PAGES.get(object_type)
    return p.detail_url(pk) if p else ""


def register_timeline(object_type: str, provider: TimelineProvider) -> TimelineProvider:
    """Add items to the timeline tab of ``object_type`` ("*" for every type)."""
    _TIMELINE.setdefault(object_type, {})[provider.key] = provider
    return provider


def timeline_providers(object_type: str) -> list[TimelineProvider]:
    found = {**_TIMELINE.get("*", {}), **_TIMELINE.get(object_type, {})}
    return sorted(found.values(), key=lambda p: (p.order, p.key))


def register_related(object_type: str, related: RelatedList) -> RelatedList:
    """Add a related list to the detail page of ``object_type``."""
    _RELATED.setdefault(object_type, {})[related.key] = related
    return related


def related_lists(pages: RecordPages) -> list[RelatedList]:
    found = {r.key: r for r in pages.related}
    found.update(_RELATED.get(pages.object_type, {}))
    return sorted(found.values(), key=lambda r: (r.order, r.key))


def register_tab(object_type: str, tab: Tab) -> Tab:
    """Add a tab to the detail page of ``object_type``."""
    _TABS.setdefault(object_type, {})[tab.key] = tab
    return tab


def extra_tabs(pages: RecordPages) -> list[Tab]:
    found = {t.key: t for t in pages.tabs}
    found.update(_TABS.get(pages.object_type, {}))
    return sorted(found.values(), key=lambda t: (t.order, t.key))
