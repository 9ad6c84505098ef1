"""One validation path for customers and contacts, shared by UI forms, the API and imports.

Pure functions (no database writes; picklist lookups are cached):

- ``normalize_phone(value) -> "+8613800138000"`` — E.164, China as the default region, mainland
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

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError

from huoban.platform.records.picklists import CUSTOMER_SOURCE, INDUSTRY, resolve_picklist
from huoban.platform.records.regions import resolve_region

from .models import Contact, Customer, CustomerAddress

# --- phones --------------------------------------------------------------------------------------

_PHONE_JUNK = re.compile(r"[\s\-().·—–/]+")
_CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
# Prefixes assigned to mainland mobile networks (fast path; anything else goes through phonenumbers).
_CN_MOBILE_PREFIXES = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "147", "149", "150", "151", "152", "153", "155", "156", "157", "158", "159"]
    + ["162", "165", "166", "167", "170", "171", "172", "173", "175", "176", "177", "178"]
    + [f"18{d}" for d in range(10)]
    + ["190", "191", "192", "193", "195", "196", "197", "198", "199"]
)
_EXT = re.compile(r"(?:ext\.?|extension|x|转|分机)\s*(\d{1,6})\s*$", re.IGNORECASE)


def normalize_phone(value: Any, region: str = "CN") -> str:
    """E.164 (``+8613800138000``); ``ValueError`` with a user message when it is not a number."""
    raw = str(value if value is not None else "").strip()
    if not raw:
        raise ValueError(_("Enter a phone number."))
    compact = _PHONE_JUNK.sub("", raw)
    m = _CN_MOBILE.match(compact)
    if m and m.group(1)[:3] in _CN_MOBILE_PREFIXES:
        return "+86" + m.group(1)
    ext = ""
    em = _EXT.search(raw)
    if em:
        ext = em.group(1)
        raw = raw[: em.start()].strip()
    if compact.startswith("00") and not compact.startswith("0086"):
        raw = "+" + compact[2:]
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValueError(_("Enter a valid phone number, e.g. 138 0013 8000 or 0571-8888 8888."))
    if not phonenumbers.is_valid_number(number):
        national = re.sub(r"\D", "", raw)
        if number.country_code == 86 and 7 <= len(national) <= 8:
            raise ValueError(_("Add the area code to this landline number, e.g. 0571-8888 8888."))
        raise ValueError(_("Enter a valid phone number, e.g. 138 0013 8000 or 0571-8888 8888."))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    ext = ext or (number.extension or "")
    return f"{e164};ext={ext}" if ext else e164


def phone_kind(e164: str) -> str:
    """``mobile``, ``landline`` or ``other`` for a normalised number."""
    try:
        number = phonenumbers.parse(e164.split(";")[0], None)
    except phonenumbers.NumberParseException:
        return "other"
    kind = phonenumbers.number_type(number)
    if kind in (phonenumbers.PhoneNumberType.MOBILE,):
        return "mobile"
    if kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        if number.country_code == 86 and str(number.national_number).startswith("1"):
            return "mobile"
        return "landline"
    return "other"


def format_phone(e164: str) -> str:
    """Human format: ``138 0013 8000`` for mainland numbers, international otherwise."""
    if not e164:
        return ""
    base, _sep, ext = e164.partition(";ext=")
    try:
        number = phonenumbers.parse(base, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 86:
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    else:
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"{text} ext. {ext}" if ext else text


# --- e-mail, USCC, ID numbers, websites --------------------------------------------------------


def normalize_email(value: Any) -> str:
    raw = str(value if value is not None else "").strip().removeprefix("mailto:").strip()
    if not raw:
        raise ValueError(_("Enter an email address."))
    if "@" not in raw:
        raise ValueError(_("Enter a valid email address."))
    local, _at, domain = raw.rpartition("@")
    domain = domain.strip().lower().rstrip(".")
    email = f"{local.strip()}@{domain}"
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValueError(_("Enter a valid email address."))
    return email


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


def _phones(values: Any, errors: list[str]) -> list[str]:
    out: list[str] = []
    for v in _list(values):
        try:
            p = normalize_phone(v)
        except ValueError as exc:
            errors.append(f"{v}: {exc}")
            continue
        if p not in out:
            out.append(p)
    return out


def _emails(values: Any, errors: list[str]) -> list[str]:
    out: list[str] = []
    for v in _list(values):
        try:
            e = normalize_email(v)
        except ValueError as exc:
            errors.append(f"{v}: {exc}")
            continue
        if e.lower() not in [o.lower() for o in out]:
            out.append(e)
    return out


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


def _clean_address(item: Any, index: int, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    if isinstance(item, str):
        item = {"line": item}
    if not isinstance(item, dict):
        errors.setdefault("addresses", []).append(_("Address %(n)d: expected an object.") % {"n": index})
        return None
    out: dict[str, Any] = {}
    try:
        out["line"] = _text(item.get("line"), 300)
        if not out["line"]:
            raise ValueError(_("This field is required."))
        out["kind"] = _choice(item.get("kind") or CustomerAddress.Kind.OFFICE, CustomerAddress.Kind)
        out["region"] = resolve_region(item["region"]) if item.get("region") else ""
        out["postal_code"] = _text(item.get("postal_code"), 12)
        out["is_primary"] = _bool(item.get("is_primary", False))
    except ValueError as exc:
        errors.setdefault("addresses", []).append(
            _("Address %(n)d: %(message)s") % {"n": index, "message": exc}
        )
        return None
    if item.get("id"):
        out["id"] = item["id"]
    return out


def clean_customer_data(
    data: dict[str, Any], *, partial: bool = False, instance: Customer | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Normalise customer input. ``partial``: only the keys present are checked (updates)."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: Any) -> None:
        errors.setdefault(field, []).append(str(message))

    def has(field: str) -> bool:
        return field in data

    for key in PASS_THROUGH:
        if key in data:
            cleaned[key] = data[key]

    if has("name") or not partial:
        try:
            cleaned["name"] = _text(data.get("name"), 200)
        except ValueError as exc:
            fail("name", exc)
    if has("short_name"):
        try:
            cleaned["short_name"] = _text(data.get("short_name"), 100)
        except ValueError as exc:
            fail("short_name", exc)
    if has("kind") or not partial:
        try:
            cleaned["kind"] = _choice(data.get("kind") or Customer.Kind.COMPANY, Customer.Kind)
        except ValueError as exc:
            fail("kind", exc)
    kind = cleaned.get("kind") or (instance.kind if instance else Customer.Kind.COMPANY)
    if has("uscc"):
        if data.get("uscc") in (None, ""):
            cleaned["uscc"] = ""
        else:
            try:
                cleaned["uscc"] = validate_uscc(data["uscc"])
            except ValueError as exc:
                fail("uscc", exc)
    for field, key in (("industry", INDUSTRY), ("source", CUSTOMER_SOURCE)):
        if has(field):
            try:
                cleaned[field] = resolve_picklist(key, data.get(field))
            except ValueError as exc:
                fail(field, exc)
    for field, choices in (
        ("size", Customer.Size),
        ("revenue_band", Customer.RevenueBand),
    ):
        if has(field):
            try:
                cleaned[field] = _choice(data.get(field), choices)
            except ValueError as exc:
                fail(field, exc)
    if has("lifecycle_stage") or not partial:
        try:
            cleaned["lifecycle_stage"] = _choice(
                data.get("lifecycle_stage") or Customer.Lifecycle.PROSPECT, Customer.Lifecycle
            )
        except ValueError as exc:
            fail("lifecycle_stage", exc)
    if has("region"):
        if data.get("region") in (None, ""):
            cleaned["region"] = ""
        else:
            try:
                cleaned["region"] = resolve_region(data["region"])
            except ValueError as exc:
                fail("region", exc)
    if has("address"):
        try:
            cleaned["address"] = _text(data.get("address"), 300)
        except ValueError as exc:
            fail("address", exc)
    if has("addresses"):
        items = data.get("addresses") or []
        if not isinstance(items, list):
            fail("addresses", _("Expected a list of addresses."))
        else:
            addresses = [c for i, item in enumerate(items, 1) if (c := _clean_address(item, i, errors))]
            if addresses and not any(a["is_primary"] for a in addresses):
                addresses[0]["is_primary"] = True
            seen_primary = False
            for a in addresses:
                if a["is_primary"]:
                    a["is_primary"] = not seen_primary
                    seen_primary = True
            if "addresses" not in errors:
                cleaned["addresses"] = addresses
    if has("phone"):
        if data.get("phone") in (None, ""):
            cleaned["phone"] = ""
        else:
            try:
                cleaned["phone"] = normalize_phone(data["phone"])
            except ValueError as exc:
                fail("phone", exc)
    if has("phones"):
        errs: list[str] = []
        phones = _phones(data.get("phones"), errs)
        if errs:
            errors.setdefault("phones", []).extend(errs)
        else:
            primary = cleaned.get("phone", instance.phone if instance else "")
            cleaned["phones"] = [p for p in phones if p != primary]
    if has("email"):
        if data.get("email") in (None, ""):
            cleaned["email"] = ""
        else:
            try:
                cleaned["email"] = normalize_email(data["email"])
            except ValueError as exc:
                fail("email", exc)
    if has("emails"):
        errs = []
        emails = _emails(data.get("emails"), errs)
        if errs:
            errors.setdefault("emails", []).extend(errs)
        else:
            primary = cleaned.get("email", instance.email if instance else "").lower()
            cleaned["emails"] = [e for e in emails if e.lower() != primary]
    if has("website"):
        try:
            cleaned["website"] = normalize_website(data.get("website"))
        except ValueError as exc:
            fail("website", exc)
    if has("tier"):
        try:
            cleaned["tier"] = _text(data.get("tier"), 40)
        except ValueError as exc:
            fail("tier", exc)
    if has("rating"):
        raw = data.get("rating")
        if raw in (None, ""):
            cleaned["rating"] = None
        else:
            try:
                rating = int(str(raw).strip())
                if not 1 <= rating <= 5:
                    raise ValueError
                cleaned["rating"] = rating
            except (TypeError, ValueError):
                fail("rating", _("Enter a rating from 1 to 5."))
    for field in ("last_contacted_at", "next_follow_up_at"):
        if has(field):
            try:
                cleaned[field] = _datetime(data.get(field))
            except ValueError as exc:
                fail(field, exc)
    if has("id_number"):
        if data.get("id_number") in (None, ""):
            cleaned["id_number"] = ""
        else:
            try:
                cleaned["id_number"] = validate_id_number(data["id_number"])
            except ValueError as exc:
                fail("id_number", exc)
            if kind != Customer.Kind.INDIVIDUAL:
                fail("id_number", _("Only individual customers have an ID card number."))
    if has("bank_account"):
        if data.get("bank_account") in (None, ""):
            cleaned["bank_account"] = ""
        else:
            try:
                cleaned["bank_account"] = normalize_bank_account(data["bank_account"])
            except ValueError as exc:
                fail("bank_account", exc)
    for field in required_customer_fields():
        if partial and not has(field):
            continue
        value = cleaned.get(field, getattr(instance, field, None) if instance else None)
        if value in (None, "", []) and field not in errors:
            fail(field, _("This field is required."))
    return cleaned, errors


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


def clean_contact_data(
    data: dict[str, Any], *, partial: bool = False, instance: Contact | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: Any) -> None:
        errors.setdefault(field, []).append(str(message))

    def has(field: str) -> bool:
        return field in data

    for key in (*PASS_THROUGH, "customer", "customers"):
        if key in data:
            cleaned[key] = data[key]
    if has("name") or not partial:
        try:
            cleaned["name"] = _text(data.get("name"), 120)
            if not cleaned["name"]:
                fail("name", _("This field is required."))
        except ValueError as exc:
            fail("name", exc)
    for field, limit in (("title", 120), ("department", 120), ("wechat", 64)):
        if has(field):
            try:
                cleaned[field] = _text(data.get(field), limit)
            except ValueError as exc:
                fail(field, exc)
    if has("mobile"):
        if data.get("mobile") in (None, ""):
            cleaned["mobile"] = ""
        else:
            try:
                mobile = normalize_phone(data["mobile"])
                if mobile.startswith("+86") and phone_kind(mobile) != "mobile":
                    raise ValueError(_("This is a landline number; put it under phone."))
                cleaned["mobile"] = mobile
            except ValueError as exc:
                fail("mobile", exc)
    if has("phone"):
        if data.get("phone") in (None, ""):
            cleaned["phone"] = ""
        else:
            try:
                cleaned["phone"] = normalize_phone(data["phone"])
            except ValueError as exc:
                fail("phone", exc)
    if has("phones"):
        errs: list[str] = []
        phones = _phones(data.get("phones"), errs)
        if errs:
            errors.setdefault("phones", []).extend(errs)
        else:
            cleaned["phones"] = phones
    if has("email"):
        if data.get("email") in (None, ""):
            cleaned["email"] = ""
        else:
            try:
                cleaned["email"] = normalize_email(data["email"])
            except ValueError as exc:
                fail("email", exc)
    if has("emails"):
        errs = []
        emails = _emails(data.get("emails"), errs)
        if errs:
            errors.setdefault("emails", []).extend(errs)
        else:
            cleaned["emails"] = emails
    if has("birthday"):
        try:
            birthday = _date(data.get("birthday"))
            if birthday and birthday > timezone.localdate():
                raise ValueError(_("A birthday cannot be in the future."))
            cleaned["birthday"] = birthday
        except ValueError as exc:
            fail("birthday", exc)
    for field, choices in (("decision_role", Contact.DecisionRole), ("preferred_channel", Contact.Channel)):
        if has(field):
            try:
                cleaned[field] = _choice(data.get(field), choices)
            except ValueError as exc:
                fail(field, exc)
    if has("consents"):
        try:
            cleaned["consents"] = clean_consents(data.get("consents"))
        except ValueError as exc:
            fail("consents", exc)
    if has("left_company"):
        cleaned["left_company"] = _bool(data.get("left_company"))
    if has("left_at"):
        try:
            cleaned["left_at"] = _date(data.get("left_at"))
        except ValueError as exc:
            fail("left_at", exc)
    if cleaned.get("left_company") and not cleaned.get("left_at") and not getattr(instance, "left_at", None):
        cleaned["left_at"] = timezone.localdate()
    if cleaned.get("left_company") is False:
        cleaned["left_at"] = None
    return cleaned, errors
