"""Building record forms from a RecordPages registration: model fields, custom fields, tags, owner.

The form only parses input into Python values; the registered service validates and writes.
Service ``ValidationError``s are mapped back onto the form's fields (``apply_service_errors``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.records.models import BaseRecord, CustomField

from .formatting import option_choices
from .pages import FieldSpec, RecordPages

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CF_PREFIX = "cf_"


class LookupSelect(forms.Select):
    """A <select> that renders only the chosen option(s); Tom Select fetches the rest from
    ``/lookup/<object_type>/`` as the user types (so a million customers never render)."""

    def __init__(self, object_type: str, attrs: dict[str, Any] | None = None, multiple: bool = False):
        super().__init__(attrs)
        self.object_type = object_type
        self.allow_multiple_selected = multiple
        self.label_for: Any = None  # (values) -> {value: label}

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        ctx = super().get_context(name, value, attrs)
        ctx["widget"]["attrs"]["data-hb-lookup"] = f"/lookup/{self.object_type}/"
        if self.allow_multiple_selected:
            ctx["widget"]["attrs"]["multiple"] = True
        return ctx

    def optgroups(self, name: str, value: Any, attrs: Any = None) -> list[Any]:
        values = [v for v in (value or []) if v not in (None, "")]
        labels = self._labels(values)
        options = [self.create_option(name, "", "—", False, 0)] if not self.allow_multiple_selected else []
        for i, v in enumerate(values, start=1):
            options.append(self.create_option(name, v, labels.get(str(v), f"#{v}"), True, i))
        return [(None, options, 0)]

    def _labels(self, values: list[Any]) -> dict[str, str]:
        if not values:
            return {}
        if self.label_for is not None:
            return {str(k): v for k, v in self.label_for(values).items()}
        return {}


class ListInput(forms.Widget):
    """Repeatable one-line inputs for a list of strings (``FieldSpec(widget="list")``): one row
    per entry, each posted under the field's name, plus an empty row to add one; ``ui.js`` adds
    and removes rows (``data-hb-list``). Empty rows are dropped when the form comes back.

    ``entry_errors`` ({entry index: [message, …]}) shows messages at their entry; the index
    counts the non-empty entries in order (``ListField`` fills it from service errors)."""

    template_name = "ui/records/_list_input.html"

    def __init__(self, attrs: dict[str, Any] | None = None, input_type: str = "text"):
        super().__init__(attrs)
        self.input_type = input_type
        self.item_label: Any = ""
        self.entry_errors: dict[int, list[str]] = {}

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # no rows posted means "no entries"

    def format_value(self, value: Any) -> list[str]:  # type: ignore[override]
        return ListField.entries(value)

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_0" if id_ else id_

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        ctx = super().get_context(name, value, attrs)
        w = ctx["widget"]
        base = w["attrs"].get("id") or f"id_{name}"
        label = str(self.item_label or "")
        entries = self.format_value(value)
        rows = [
            {
                "id": f"{base}_{i}",
                "value": v,
                "errors": self.entry_errors.get(i, []),
                "label": f"{label} {i + 1}".strip(),
            }
            for i, v in enumerate(entries)
        ]
        rows.append({"id": f"{base}_{len(entries)}", "value": "", "errors": [], "label": label})
        w.update({"rows": rows, "input_type": self.input_type, "base_id": base, "item_label": label})
        return ctx


class ListField(forms.Field):
    """A list of strings from repeatable inputs: entries trimmed, empty ones dropped (the service
    validates and normalises each entry). Service messages of the form ``"<entry>: <message>"``
    (e.g. ``"12345: Enter a valid phone number"``) are shown at that entry."""

    widget = ListInput
    default_error_messages = {"required": gettext_lazy("Enter at least one entry.")}

    @staticmethod
    def entries(value: Any) -> list[str]:
        if value in (None, ""):
            return []
        items = value if isinstance(value, list | tuple) else [value]
        return [t for t in (str(v).strip() for v in items if v is not None) if t]

    def to_python(self, value: Any) -> list[str]:
        return self.entries(value)

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.entries(initial) != self.entries(data)

    def claim_entry_errors(self, messages: list[Any], entries: list[str]) -> list[Any]:
        """Put ``"<entry>: <message>"`` messages on their entry; return the others."""
        widget = cast(ListInput, self.widget)
        taken: set[int] = set()
        rest: list[Any] = []
        for m in messages:
            text = str(m)
            i = next((i for i, v in enumerate(entries) if i not in taken and text.startswith(f"{v}: ")), None)
            if i is None:
                rest.append(m)
                continue
            taken.add(i)
            widget.entry_errors.setdefault(i, []).append(text[len(entries[i]) + 2 :])
        return rest


class FilesInput(forms.FileInput):
    """``<input type="file" multiple>`` (``FieldSpec(widget="files")``). Browsers never keep
    chosen files when a form comes back with errors, so a note then names the files chosen
    before, for the user to choose them again."""

    allow_multiple_selected = True

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> Any:
        from django.utils.html import format_html
        from django.utils.safestring import mark_safe

        html = super().render(name, None, attrs, renderer)
        chosen = (
            [str(f.name) for f in value or () if getattr(f, "name", "")] if isinstance(value, list) else []
        )
        if not chosen:
            return html
        note = _(
            "Chosen before: %(names)s. The browser does not keep chosen files: choose again those you "
            "want to attach."
        )
        return mark_safe(  # noqa: S308 - both parts are escaped
            html
            + format_html(
                '<div class="form-hint text-warning" id="{}_again">{}</div>',
                (attrs or {}).get("id", f"id_{name}"),
                note % {"names": ", ".join(chosen)},
            )
        )


class FilesField(forms.Field):
    """Files uploaded with a new record (``FieldSpec(widget="files")``): a list of uploaded
    files for the create service, under the field's name in ``data``; the service checks them
    (``records.uploads.check_upload``) and reports refusals under the same name."""

    widget = FilesInput

    def to_python(self, value: Any) -> list[Any]:
        items = value if isinstance(value, list | tuple) else [value]
        return [f for f in items if f]

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def bound_data(self, data: Any, initial: Any) -> Any:
        return data


def _users_label(values: list[Any]) -> dict[Any, str]:
    from huoban.platform.identity.models import User

    ids = [v for v in values if str(v).isdigit()]
    return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}


def _css(field: forms.Field) -> None:
    w = field.widget
    if isinstance(w, forms.CheckboxInput):
        cls = "form-check-input"
    elif isinstance(w, forms.Select | forms.SelectMultiple):
        cls = "form-select"
    else:
        cls = "form-control"
    w.attrs["class"] = (w.attrs.get("class", "") + " " + cls).strip()


def model_form_field(
    pages: RecordPages, spec: FieldSpec, user: Any, instance: Any = None
) -> forms.Field | None:
    from huoban.platform.identity.models import OrgUnit, User

    model = pages.model
    if spec.widget == "files":  # files to attach to a new record; the record's page manages them later
        if instance is not None:
            return None
        return FilesField(
            required=bool(spec.required),
            label=cast("StrOrPromise", spec.label or _("Files")),
            help_text=cast("StrOrPromise", spec.help_text),
        )
    try:
        mf = model._meta.get_field(spec.name)
    except Exception:
        return None
    sensitive = spec.name in pages.sensitive()
    field: forms.Field | None
    if spec.widget == "list":
        kind = (
            "email"
            if "email" in spec.name
            else "tel"
            if spec.name.endswith(("phones", "mobiles"))
            else "text"
        )
        field = ListField(
            required=False,
            widget=ListInput(input_type=kind),
            label=capfirst(cast("StrOrPromise", getattr(mf, "verbose_name", spec.name))),
        )
    elif spec.choices is not None:
        field = forms.ChoiceField(
            choices=[("", "—"), *[(str(k), str(v)) for k, v in spec.choices()]],
            required=not getattr(mf, "blank", True),
            widget=forms.Select(attrs={"data-hb-select": "1"}),
        )
    elif isinstance(mf, models.ForeignKey):
        target = mf.related_model
        if target is User:
            field = forms.ModelChoiceField(
                queryset=User.objects.filter(is_active=True), required=not mf.blank
            )
            w = LookupSelect("user")
            w.label_for = _users_label
            field.widget = w
        elif target is OrgUnit:
            field = forms.ModelChoiceField(
                queryset=OrgUnit.objects.filter(active=True), required=not mf.blank
            )
        elif isinstance(target, type) and issubclass(target, BaseRecord):
            qs = scoped(user, target)
            field = forms.ModelChoiceField(queryset=qs, required=not mf.blank)
            w = LookupSelect(target.object_type)

            def label_for(values: list[Any], _t: Any = target) -> dict[Any, str]:
                ids = [v for v in values if str(v).isdigit()]
                return {o.pk: str(o) for o in scoped(user, _t).filter(pk__in=ids)}

            w.label_for = label_for
            field.widget = w
        else:
            field = mf.formfield()
    else:
        field = cast("models.Field[Any, Any]", mf).formfield()
    if field is None:
        return None
    if sensitive:
        field.widget = forms.TextInput(attrs={"autocomplete": "off"})
        field.required = False
        if instance is not None and getattr(instance, spec.name, None):
            from huoban.platform.records.encryption import mask

            field.widget.attrs["placeholder"] = mask(str(getattr(instance, spec.name)))
            field.help_text = gettext_lazy("Leave empty to keep the current value.")
    elif isinstance(mf, models.TextField) and spec.widget != "text":
        field.widget = forms.Textarea(attrs={"rows": 3})
    if isinstance(mf, models.DateTimeField):
        field.widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    elif isinstance(mf, models.DateField):
        field.widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    elif (isinstance(mf, models.EmailField) or spec.name == "email") and hasattr(field.widget, "input_type"):
        field.widget.input_type = "email"
    elif spec.name in ("phone", "mobile") and hasattr(field.widget, "input_type"):
        field.widget.input_type = "tel"
    if spec.widget == "textarea":
        field.widget = forms.Textarea(attrs={"rows": 3})
    verbose_name = getattr(mf, "verbose_name", None)
    if field.label is None and verbose_name:
        # lookups and picklists are built by hand: label them as the model does (translated)
        field.label = capfirst(cast("StrOrPromise", verbose_name))
    if spec.label:
        field.label = cast("StrOrPromise", spec.label)
    if spec.help_text:
        field.help_text = cast("StrOrPromise", spec.help_text)
    if spec.required is not None:
        field.required = spec.required
    if isinstance(field, ListField):
        cast(ListInput, field.widget).item_label = field.label
        if not spec.help_text:
            field.help_text = gettext_lazy("Empty rows are ignored.")
    return field


def custom_form_field(cf: CustomField) -> forms.Field:
    t = cf.type
    label = cf.display_label()
    options = option_choices(cf.options)
    required = bool(cf.required)
    field: forms.Field
    if t == "long_text":
        field = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=required)
    elif t in ("integer", "decimal"):
        step = "1" if t == "integer" else "any"
        field = forms.CharField(widget=forms.NumberInput(attrs={"step": step}), required=required)
    elif t == "date":
        field = forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), required=required)
    elif t == "datetime":
        field = forms.CharField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), required=required
        )
    elif t == "boolean":
        field = forms.BooleanField(required=False)
    elif t == "single_select":
        field = forms.ChoiceField(choices=[("", "—"), *options], required=required)
    elif t == "multi_select":
        field = forms.MultipleChoiceField(
            choices=options, required=required, widget=forms.SelectMultiple(attrs={"data-hb-select": "1"})
        )
    elif t == "email":
        field = forms.CharField(widget=forms.EmailInput(), required=required)
    elif t == "phone":
        field = forms.CharField(widget=forms.TextInput(attrs={"type": "tel"}), required=required)
    elif t == "url":
        field = forms.CharField(widget=forms.URLInput(), required=required)
    elif t == "user":
        w = LookupSelect("user")
        w.label_for = _users_label
        field = forms.CharField(widget=w, required=required)
    else:
        field = forms.CharField(max_length=255, required=required)
    field.label = label
    field.help_text = cf.help_text
    field.hb_custom = cf  # type: ignore[union-attr]
    return field


def custom_initial(cf: CustomField, value: Any) -> Any:
    if value is None:
        return None
    if cf.type == "datetime" and isinstance(value, str):
        return value[:16]
    return value


class RecordForm(forms.Form):
    """A dynamic form; ``sections`` keeps the layout (title, bound fields) for templates."""

    def __init__(
        self,
        pages: RecordPages,
        user: Any,
        *args: Any,
        instance: Any = None,
        only: list[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.pages = pages
        self.user = user
        self.instance = instance
        self.custom_defs = list(
            CustomField.objects.filter(object_type=pages.object_type, active=True).order_by("order", "id")
        )
        self.layout: list[tuple[Any, list[str]]] = []
        can_assign = has_perm(user, pages.object_type, "assign")
        placed_custom = False
        for section in pages.form_sections:
            names: list[str] = []
            for spec in section.specs():
                if only is not None and spec.name not in only:
                    continue
                if spec.name == "owner":
                    if instance is not None or not can_assign:
                        continue  # ownership changes go through "transfer"
                if spec.name == "tags":
                    self.fields["tags"] = forms.CharField(
                        required=False,
                        label=cast("StrOrPromise", spec.label or _("Tags")),
                        widget=forms.TextInput(attrs={"data-hb-tags": "1"}),
                        help_text=cast("StrOrPromise", spec.help_text or _("Separate tags with commas.")),
                    )
                    names.append("tags")
                    continue
                field = model_form_field(pages, spec, user, instance)
                if field is None:
                    continue
                self.fields[spec.name] = field
                names.append(spec.name)
            if section.custom_fields:
                placed_custom = True
                names += self._add_custom(only)
            if names:
                self.layout.append((section.title, names))
        if not placed_custom:
            names = self._add_custom(only)
            if names:
                self.layout.append((_("Custom fields"), names))
        for name, field in self.fields.items():
            choices = getattr(field, "choices", None)
            if choices and not isinstance(field, forms.ModelChoiceField):
                cast(forms.ChoiceField, field).choices = [
                    ("", "—") if v == "" else (v, lbl) for v, lbl in choices
                ]
            field.hb_required = field.required  # type: ignore[attr-defined]
            if name.startswith(CF_PREFIX):
                field.required = False  # the service checks required custom fields (one message set)
            _css(field)
            field.widget.attrs.setdefault("id", f"id_{name}")
        self._set_initial()

    def _add_custom(self, only: list[str] | None) -> list[str]:
        names = []
        for cf in self.custom_defs:
            name = CF_PREFIX + cf.key
            if only is not None and name not in only:
                continue
            self.fields[name] = custom_form_field(cf)
            names.append(name)
        return names

    def _set_initial(self) -> None:
        obj = self.instance
        if obj is None:
            for cf in self.custom_defs:
                if cf.default is not None and CF_PREFIX + cf.key in self.fields:
                    self.initial.setdefault(CF_PREFIX + cf.key, cf.default)
            if "owner" in self.fields:
                self.initial.setdefault("owner", self.user.pk)
            return
        sens = set(self.pages.sensitive())
        for name in self.fields:
            if name == "tags":
                self.initial["tags"] = ", ".join(obj.tag_names)
            elif name.startswith(CF_PREFIX):
                cf = next(c for c in self.custom_defs if CF_PREFIX + c.key == name)
                self.initial[name] = custom_initial(cf, (obj.custom_fields or {}).get(cf.key))
            elif name in sens:
                self.initial[name] = ""
            else:
                mf = cast("models.Field[Any, Any]", self.pages.model._meta.get_field(name))
                self.initial[name] = getattr(obj, mf.attname)

    # -- results for the service --
    def service_payload(self) -> tuple[dict[str, Any], dict[str, Any] | None, list[str] | None]:
        data: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        tags: list[str] | None = None
        sens = set(self.pages.sensitive())
        for name, value in self.cleaned_data.items():
            if name == "tags":
                raw = (value or "").replace("，", ",")
                tags = [t.strip() for t in raw.split(",") if t.strip()]
            elif name.startswith(CF_PREFIX):
                cf = next(c for c in self.custom_defs if CF_PREFIX + c.key == name)
                if cf.type == "multi_select":
                    custom[cf.key] = list(value or [])
                elif cf.type == "boolean":
                    custom[cf.key] = bool(value)
                else:
                    custom[cf.key] = value if value not in ("",) else None
            else:
                if name in sens and self.instance is not None and value in ("", None):
                    continue  # keep the stored secret
                if value is None and isinstance(self.fields[name], forms.CharField):
                    value = ""
                data[name] = value
        return (
            data,
            (custom if self.custom_defs and any(n.startswith(CF_PREFIX) for n in self.fields) else None),
            tags,
        )

    def apply_service_errors(self, errors: dict[str, Any]) -> None:
        for key, msgs in errors.items():
            if key == "custom_fields" and isinstance(msgs, dict):
                for k, m in msgs.items():
                    target = CF_PREFIX + k
                    self._add(target if target in self.fields else None, m, label=k)
                continue
            if key in ("non_field_errors", "__all__", "detail"):
                self._add(None, msgs)
            elif key in self.fields:
                field = self.fields[key]
                if isinstance(field, ListField) and isinstance(msgs, list):
                    entries = ListField.entries(self.cleaned_data.get(key) if self.is_bound else [])
                    rest = field.claim_entry_errors(msgs, entries)
                    claimed = len(msgs) - len(rest)
                    if claimed:
                        rest.insert(
                            0,
                            ngettext(
                                "Correct the entry marked above.",
                                "Correct the %(n)d entries marked above.",
                                claimed,
                            )
                            % {"n": claimed},
                        )
                    msgs = rest
                self._add(key, msgs)
            else:
                label = key
                try:
                    mf = self.pages.model._meta.get_field(key)
                    if isinstance(mf, models.Field):  # reverse relations have no verbose_name
                        label = str(mf.verbose_name)
                except Exception:
                    pass
                self._add(None, msgs, label=label)

    def _add(self, field: str | None, msgs: Any, label: str = "") -> None:
        msgs = msgs if isinstance(msgs, list) else [msgs]
        for m in msgs:
            text = str(m) if field or not label else f"{label}: {m}"
            if field is not None and field in self.errors:
                self.errors[field].append(text)
            else:
                self.add_error(field, text)

    def mark_invalid(self) -> None:
        for name in self.errors:
            if name in self.fields:
                w = self.fields[name].widget
                w.attrs["class"] = (w.attrs.get("class", "") + " is-invalid").strip()
                w.attrs["aria-invalid"] = "true"
                w.attrs["aria-describedby"] = f"id_{name}_error"

    def sections(self) -> list[tuple[Any, list[Any]]]:
        return [(title, [self[n] for n in names]) for title, names in self.layout]
