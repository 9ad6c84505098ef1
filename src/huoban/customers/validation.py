"""One validation path for customers and contacts, shared by UI forms, the API and imports.

Pure functions (no database writes; picklist lookups are cached):

- ``normalize_phone(value) -> "+8613800138000"`` (from ``platform/records/contact_points``) — E.164, China as the default region, mainland
  mobiles and landlines (with area code) recognised; an extension is kept as ``;ext=123``.
- ``normalize_email(value)`` — syntax checked, domain lower-cased.
- ``validate_uscc(value)`` — Unified Social Credit Code with its check digit (python-stdnum).
- ``validate_id_number(value)`` — resident ID card number with its check digit.
- ``clean_customer_data(data, partial=False) -> (cleaned, errors)`` and ``clean_contact_data``:
  every field normalised, errors as ``{field: [message, …]}`` in the active language.

Each function raises ``ValueError`` with a translated message (the ``clean_*`` functions collect
them instead), so an importer can call them row by row without exceptions crossing rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError

from huoban.platform.records.contact_points import normalize_email, normalize_phone, phone_kind
from huoban.platform.records.picklists import CUSTOMER_SOURCE, INDUSTRY, resolve_picklist
from huoban.platform.records.regions import resolve_region

from .models import Contact, Customer, CustomerAddress

# --- e-mail, USCC, ID numbers, websites --------------------------------------------------------


def validate_uscc(value: Any) -> str:
    """The compact code (18 characters, upper case) or ``ValueError``."""
    raw = str(value if value is not None else "").strip()
    if not raw:
        raise ValueError(_("Enter a Unified Social Credit Code."))
    try:
        return uscc.validate(raw.upper())
    except InvalidChecksum:
        raise ValueError(_("The check digit of this Unified Social Credit Code is wrong."))
    except StdnumError:
        raise ValueError(_("A Unified Social Credit Code has 18 characters: digits and capital letters."))


def validate_id_number(value: Any) -> str:
    raw = str(value if value is not None else "").strip()
    if not raw:
        raise ValueError(_("Enter an ID card number."))
    try:
        return ric.validate(raw.upper())
    except InvalidChecksum:
        raise ValueError(_("The check digit of this ID card number is wrong."))
    except StdnumError:
        raise ValueError(_("Enter a valid 18-digit resident ID card number."))


_BANK = re.compile(r"^\d{8,32}$")


def normalize_bank_account(value: Any) -> str:
    raw = re.sub(r"[\s\-]", "", str(value if value is not None else ""))
    if not _BANK.match(raw):
        raise ValueError(_("Enter a bank account number of 8 to 32 digits."))
    return raw


_url_validator = URLValidator(schemes=["http", "https"])


def normalize_website(value: Any) -> str:
    raw = str(value if value is not None else "").strip()
    if not raw:
        return ""
    if "://" not in raw:
        raw = "https://" + raw
    scheme, _sep, rest = raw.partition("://")
    host, slash, path = rest.partition("/")
    url = f"{scheme.lower()}://{host.lower()}{slash}{path}"
    try:
        _url_validator(url)
    except DjangoValidationError:
        raise ValueError(_("Enter a valid website address, e.g. www.example.com."))
    return url


# --- helpers -----------------------------------------------------------------------------------


def _text(value: Any, limit: int) -> str:
    text = " ".join(str(value if value is not None else "").split())
    if len(text) > limit:
        raise ValueError(_("At most %(n)d characters.") % {"n": limit})
    return text


def _choice(value: Any, choices: Any, *, blank: bool = True) -> str:
    text = str(value if value is not None else "").strip()
    if not text:
        if blank:
            return ""
        raise ValueError(_("This field is required."))
    for code, label in choices.choices:
        if text == code or text.lower() == str(label).lower() or text.lower() == code.lower():
            return code
    from django.utils import translation

    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            for code, label in choices.choices:
                if text == str(label):
                    return code
    options = ", ".join(c for c, _label in choices.choices)
    raise ValueError(_("Choose one of: %(options)s.") % {"options": options})


def _datetime(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        result = value
    elif isinstance(value, dt.date):
        result = dt.datetime.combine(value, dt.time(9, 0))
    else:
        text = str(value).strip()
        result = parse_datetime(text)
        if result is None:
            d = parse_date(text)
            if d is None:
                raise ValueError(_("Enter a date and time, e.g. 2026-11-22 14:30."))
            result = dt.datetime.combine(d, dt.time(9, 0))
    if timezone.is_naive(result):
        result = timezone.make_aware(result)
    return result


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    d = parse_date(str(value).strip())
    if d is None:
        raise ValueError(_("Enter a date, e.g. 2026-11-22."))
    return d


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "y", "on", "是", "t")


def _list(value: Any) -> list[Any]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,;，；、\n]+", value) if v.strip()]
    if isinstance(value, Iterable):
        return [v for v in value if v not in (None, "")]
    return [value]


def item_error(value: Any, message: Any) -> str:
    """The message for one entry of a list field: ``"<entry as given>: <message>"`` (forms show it
    at that entry)."""
    return f"{value}: {message}"


def _normalised_list(
    values: Any, normalise: Any, errors: list[str], key: Any = str, *, strict: bool = False
) -> list[tuple[Any, str]]:
    """(entry as given, normalised value) per entry; failures appended to ``errors``. A value
    given twice (by ``key``) is kept once — or, ``strict``, reported as an error."""
    out: list[tuple[Any, str]] = []
    seen: set[str] = set()
    for v in _list(values):
        try:
            n = normalise(v)
        except ValueError as exc:
            errors.append(item_error(v, exc))
            continue
        if key(n) not in seen:
            seen.add(key(n))
            out.append((v, n))
        elif strict:
            errors.append(item_error(v, _("Listed twice.")))
    return out


_UNSET: Any = object()


class Cleaner:
    """Input being cleaned: ``data`` as given, ``cleaned`` so far and ``errors`` per field.

    ``field(name, fn)`` cleans one key when the input has it (or always, with ``always``): a
    ``ValueError`` from ``fn`` becomes a field error. With ``blank``, an empty input (None or "")
    is stored as ``blank`` without calling ``fn``.
    """

    def __init__(self, data: dict[str, Any], pass_through: Iterable[str] = ()) -> None:
        self.data = data
        self.cleaned: dict[str, Any] = {k: data[k] for k in pass_through if k in data}
        self.errors: dict[str, list[str]] = {}

    def has(self, name: str) -> bool:
        return name in self.data

    def fail(self, name: str, message: Any) -> None:
        self.errors.setdefault(name, []).append(str(message))

    def field(self, name: str, fn: Any, *, always: bool = False, blank: Any = _UNSET) -> None:
        if not (always or name in self.data):
            return
        value = self.data.get(name)
        if blank is not _UNSET and value in (None, ""):
            self.cleaned[name] = blank
            return
        try:
            self.cleaned[name] = fn(value)
        except ValueError as exc:
            self.fail(name, exc)

    def result(self) -> tuple[dict[str, Any], dict[str, list[str]]]:
        return self.cleaned, self.errors


# translated when shown (lazy): most rows never need them, and an import validates millions
_ALREADY_MAIN_NUMBER = gettext_lazy("This is already the main number.")
_ALREADY_MAIN_EMAIL = gettext_lazy("This is already the main email.")


def _clean_channels(
    f: Cleaner,
    *,
    instance: Any,
    drop_primary: bool,
    strict: bool = False,
    main_phones: tuple[str, ...] = ("phone",),
) -> None:
    """``phone``/``phones`` and ``email``/``emails`` (customers and contacts alike). With
    ``drop_primary`` the lists leave out the main value (new or stored: ``main_phones``,
    ``email``). ``strict`` (forms, where nothing the user typed may vanish unnoticed): an entry
    given twice or equal to a main value is an error at that entry instead."""
    f.field("phone", normalize_phone, blank="")
    f.field("email", normalize_email, blank="")
    for many, ones, normalise, key, same_as_main in (
        ("phones", main_phones, normalize_phone, str, _ALREADY_MAIN_NUMBER),
        ("emails", ("email",), normalize_email, str.lower, _ALREADY_MAIN_EMAIL),
    ):
        if not f.has(many):
            continue
        errs: list[str] = []
        pairs = _normalised_list(f.data.get(many), normalise, errs, key, strict=strict)
        mains = {
            key(v)
            for one in ones
            if (v := f.cleaned.get(one, getattr(instance, one, "") if instance else ""))
            and one not in f.errors
        }
        if strict:
            errs.extend(item_error(raw, same_as_main) for raw, v in pairs if key(v) in mains)
        if errs:
            f.errors.setdefault(many, []).extend(errs)
            continue
        values = [v for _raw, v in pairs]
        if drop_primary:
            values = [v for v in values if key(v) not in mains]
        f.cleaned[many] = values


def required_customer_fields() -> tuple[str, ...]:
    """Fields a customer must have (setting ``CUSTOMER_REQUIRED_FIELDS``; ``name`` always)."""
    configured = tuple(getattr(settings, "CUSTOMER_REQUIRED_FIELDS", ()) or ())
    return ("name", *[f for f in configured if f != "name"])


# --- customers ---------------------------------------------------------------------------------

CUSTOMER_FIELDS = (
    "name",
    "short_name",
    "kind",
    "uscc",
    "industry",
    "size",
    "revenue_band",
    "region",
    "address",
    "addresses",
    "phone",
    "phones",
    "email",
    "emails",
    "website",
    "source",
    "lifecycle_stage",
    "tier",
    "rating",
    "last_contacted_at",
    "next_follow_up_at",
    "id_number",
    "bank_account",
)
PASS_THROUGH = ("owner", "custom_fields", "tags")


_POSTAL = re.compile(r"^\d{6}$")


def _postal_code(value: Any, region: str) -> str:
    code = re.sub(r"\s+", "", str(value if value is not None else ""))
    if len(code) > 12:
        raise ValueError(_("At most %(n)d characters.") % {"n": 12})
    mainland = bool(region) and region[:2] not in ("71", "81", "82")
    if code and mainland and not _POSTAL.match(code):
        raise ValueError(_("A postal code in mainland China has 6 digits, e.g. 310000."))
    return code


def clean_address(
    data: dict[str, Any], *, partial: bool = False
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One address (``line``, ``kind``, ``region``, ``postal_code``, ``is_primary``) with errors
    per field — the address form and each entry of ``addresses`` in the API."""
    f = Cleaner(data)
    f.field("line", lambda v: _text(v, 300), always=not partial)
    if "line" in f.cleaned and not f.cleaned["line"]:
        f.fail("line", _("This field is required."))
    f.field(
        "kind", lambda v: _choice(v or CustomerAddress.Kind.OFFICE, CustomerAddress.Kind), always=not partial
    )
    f.field("region", resolve_region, blank="")
    if f.has("postal_code"):
        f.field("postal_code", lambda v: _postal_code(v, f.cleaned.get("region", "")))
    f.field("is_primary", _bool, always=not partial)
    return f.result()


def _clean_address(item: Any, index: int, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    if isinstance(item, str):
        item = {"line": item}
    if not isinstance(item, dict):
        errors.setdefault("addresses", []).append(_("Address %(n)d: expected an object.") % {"n": index})
        return None
    out, errs = clean_address({**item, "is_primary": item.get("is_primary", False)})
    if errs:
        for message in [m for msgs in errs.values() for m in msgs][:1]:
            errors.setdefault("addresses", []).append(
                _("Address %(n)d: %(message)s") % {"n": index, "message": message}
            )
        return None
    out.setdefault("region", "")
    out.setdefault("postal_code", "")
    if item.get("id"):
        out["id"] = item["id"]
    return out


def _rating(value: Any) -> int:
    try:
        rating = int(str(value).strip())
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ValueError(_("Enter a rating from 1 to 5."))
    return rating


def _clean_addresses(f: Cleaner) -> None:
    if not f.has("addresses"):
        return
    items = f.data.get("addresses") or []
    if not isinstance(items, list):
        f.fail("addresses", _("Expected a list of addresses."))
        return
    addresses = [c for i, item in enumerate(items, 1) if (c := _clean_address(item, i, f.errors))]
    if addresses and not any(a["is_primary"] for a in addresses):
        addresses[0]["is_primary"] = True
    seen_primary = False
    for a in addresses:
        if a["is_primary"]:
            a["is_primary"] = not seen_primary
            seen_primary = True
    if "addresses" not in f.errors:
        f.cleaned["addresses"] = addresses


def clean_customer_data(
    data: dict[str, Any],
    *,
    partial: bool = False,
    instance: Customer | None = None,
    strict_lists: bool = False,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Normalise customer input. ``partial``: only the keys present are checked (updates).
    ``strict_lists``: see ``_clean_channels`` (the web forms use it)."""
    f = Cleaner(data, PASS_THROUGH)
    f.field("name", lambda v: _text(v, 200), always=not partial)
    f.field("short_name", lambda v: _text(v, 100))
    f.field("kind", lambda v: _choice(v or Customer.Kind.COMPANY, Customer.Kind), always=not partial)
    kind = f.cleaned.get("kind") or (instance.kind if instance else Customer.Kind.COMPANY)
    f.field("uscc", validate_uscc, blank="")
    f.field("industry", lambda v: resolve_picklist(INDUSTRY, v))
    f.field("source", lambda v: resolve_picklist(CUSTOMER_SOURCE, v))
    f.field("size", lambda v: _choice(v, Customer.Size))
    f.field("revenue_band", lambda v: _choice(v, Customer.RevenueBand))
    f.field(
        "lifecycle_stage",
        lambda v: _choice(v or Customer.Lifecycle.PROSPECT, Customer.Lifecycle),
        always=not partial,
    )
    f.field("region", resolve_region, blank="")
    f.field("address", lambda v: _text(v, 300))
    _clean_addresses(f)
    _clean_channels(f, instance=instance, drop_primary=True, strict=strict_lists)
    f.field("website", normalize_website)
    f.field("tier", lambda v: _text(v, 40))
    f.field("rating", _rating, blank=None)
    f.field("last_contacted_at", _datetime)
    f.field("next_follow_up_at", _datetime)
    f.field("id_number", validate_id_number, blank="")
    if data.get("id_number") not in (None, "") and kind != Customer.Kind.INDIVIDUAL:
        f.fail("id_number", _("Only individual customers have an ID card number."))
    f.field("bank_account", normalize_bank_account, blank="")
    for field in required_customer_fields():
        if partial and not f.has(field):
            continue
        value = f.cleaned.get(field, getattr(instance, field, None) if instance else None)
        if value in (None, "", []) and field not in f.errors:
            f.fail(field, _("This field is required."))
    return f.result()


# --- contacts ----------------------------------------------------------------------------------

CONTACT_FIELDS = (
    "name",
    "title",
    "department",
    "mobile",
    "phone",
    "phones",
    "email",
    "emails",
    "wechat",
    "birthday",
    "decision_role",
    "preferred_channel",
    "consents",
    "left_company",
    "left_at",
)


def clean_consents(value: Any, *, now: dt.datetime | None = None) -> dict[str, dict[str, Any]]:
    """``{channel: {"granted": bool, "at": iso, "source": str}}``; a bare bool is accepted."""
    if value in (None, ""):
        return {}
    if isinstance(value, list):
        value = {item.get("channel"): item for item in value if isinstance(item, dict)}
    if not isinstance(value, dict):
        raise ValueError(_('Expected consent per channel, e.g. {"email": {"granted": true}}.'))
    now = now or timezone.now()
    out: dict[str, dict[str, Any]] = {}
    channels = set(Contact.Channel.values)
    for channel, item in value.items():
        if channel not in channels:
            raise ValueError(_("Unknown channel “%(channel)s”.") % {"channel": channel})
        if isinstance(item, bool):
            item = {"granted": item}
        if not isinstance(item, dict) or "granted" not in item:
            raise ValueError(_("Consent for %(channel)s needs “granted”.") % {"channel": channel})
        at = _datetime(item.get("at")) or now
        out[channel] = {
            "granted": _bool(item["granted"]),
            "at": at.isoformat(),
            "source": _text(item.get("source", ""), 120),
        }
    return out


def _mobile(value: Any) -> str:
    mobile = normalize_phone(value)
    if mobile.startswith("+86") and phone_kind(mobile) != "mobile":
        raise ValueError(_("This is a landline number; put it under phone."))
    return mobile


def _birthday(value: Any) -> dt.date | None:
    birthday = _date(value)
    if birthday and birthday > timezone.localdate():
        raise ValueError(_("A birthday cannot be in the future."))
    return birthday


def clean_contact_data(
    data: dict[str, Any],
    *,
    partial: bool = False,
    instance: Contact | None = None,
    strict_lists: bool = False,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    f = Cleaner(data, (*PASS_THROUGH, "customer", "customers"))
    f.field("name", lambda v: _text(v, 120), always=not partial)
    if f.cleaned.get("name") == "":
        f.fail("name", _("This field is required."))
    f.field("title", lambda v: _text(v, 120))
    f.field("department", lambda v: _text(v, 120))
    f.field("wechat", lambda v: _text(v, 64))
    f.field("mobile", _mobile, blank="")
    _clean_channels(
        f, instance=instance, drop_primary=False, strict=strict_lists, main_phones=("mobile", "phone")
    )
    f.field("birthday", _birthday)
    f.field("decision_role", lambda v: _choice(v, Contact.DecisionRole))
    f.field("preferred_channel", lambda v: _choice(v, Contact.Channel))
    f.field("consents", clean_consents)
    f.field("left_company", _bool)
    f.field("left_at", _date)
    cleaned = f.cleaned
    if cleaned.get("left_company") and not cleaned.get("left_at") and not getattr(instance, "left_at", None):
        cleaned["left_at"] = timezone.localdate()
    if cleaned.get("left_company") is False:
        cleaned["left_at"] = None
    return f.result()
