"""Phone numbers and e-mail addresses: one normalisation for every channel (forms, API, imports,
custom fields, leads). Each function raises ``ValueError`` with a translated message."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

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


def normalize_email(value: Any) -> str:
    raw = str(value if value is not None else "").strip().removeprefix("mailto:").strip()
    if not raw:
        raise ValueError(_("Enter an email address."))
    if "@" not in raw:
        raise ValueError(_("Enter a valid email address."))
    local, _at, domain = raw.rpartition("@")
    domain = domain.strip().lower().rstrip(".")
    email = f"{local.strip()}@{domain}"
    if not _valid_email(email):
        raise ValueError(_("Enter a valid email address."))
    return email


_EMAIL_PATTERNS: tuple[re.Pattern[str], re.Pattern[str]] | None = None


def _valid_email(email: str) -> bool:
    """Django's ``validate_email``, with its two regular expressions compiled once here (the
    validator reaches them through lazy proxies on every call: a third of an import's e-mail
    cost). The rare cases the two do not settle (an IP literal domain) go to the validator."""
    global _EMAIL_PATTERNS
    if _EMAIL_PATTERNS is None:
        lazy_user, lazy_domain = validate_email.user_regex, validate_email.domain_regex
        _EMAIL_PATTERNS = (
            re.compile(lazy_user.pattern, lazy_user.flags),
            re.compile(lazy_domain.pattern, lazy_domain.flags),
        )
    user_re, domain_re = _EMAIL_PATTERNS
    if len(email) <= 320 and "@" in email:
        local, domain = email.rsplit("@", 1)
        if user_re.match(local) and (domain in validate_email.domain_allowlist or domain_re.match(domain)):
            return True
    try:
        validate_email(email)
    except DjangoValidationError:
        return False
    return True
