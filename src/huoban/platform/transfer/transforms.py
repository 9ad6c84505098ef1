"""Cell transformations for imports: pure, fast functions (no database).

Each parser takes a cell (a ``str`` from CSV/JSON, or a typed value from XLSX) and returns the
canonical value, or raises ``CellError`` with a user-facing message. They are hot-path code: an
import of a million rows calls each of them a million times, so the common case returns early.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from huoban.platform.records import contact_points


class CellError(ValueError):
    """A cell cannot be converted; the message is shown in the report next to the column."""


# --- text -------------------------------------------------------------------------------------

# U+FF01..U+FF5E are full-width forms of U+0021..U+007E; U+3000 is the ideographic space.
_HALF = {i: i - 0xFEE0 for i in range(0xFF01, 0xFF5F)}
_HALF[0x3000] = 0x20
# Chinese punctuation that people type where ASCII is meant in numbers, dates, phones, emails.
_HALF_PUNCT = {**_HALF, ord("。"): ord("."), ord("－"): ord("-"), ord("—"): ord("-")}


def halfwidth(value: str) -> str:
    """Full-width letters, digits, punctuation and the ideographic space → ASCII."""
    if value.isascii():
        return value
    return value.translate(_HALF)


def halfwidth_strict(value: str) -> str:
    """halfwidth() plus 。→. and dashes → -, for structured values (numbers, dates, phones)."""
    if value.isascii():
        return value
    return value.translate(_HALF_PUNCT)


def trim(value: str) -> str:
    """Strip leading/trailing whitespace (including the ideographic space and NBSP)."""
    return value.strip().strip("\u3000\u00a0\ufeff").strip()


def cell_text(value: Any) -> str:
    """Any cell value (str, number, date …) as text, the way a spreadsheet user reads it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.hour == value.minute == value.second == value.microsecond == 0:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


_FORMULA_HINT = re.compile(r"[|!(]|^\S*=")


def looks_like_formula(value: str) -> bool:
    """Cells that a spreadsheet would evaluate: =…, and +/-/@ followed by a call or DDE payload.

    "+86 138…" (a phone) and "-12.5" (a number) are not formulas; "=cmd|' /C calc'!A0",
    "@SUM(1+1)" and "+cmd|…" are.
    """
    if not value:
        return False
    first = value[0]
    if first == "=":
        return True
    if first in "+-@" and len(value) > 1:
        return bool(_FORMULA_HINT.search(value[1:])) and not _NUMBERISH.match(value)
    return False


_NUMBERISH = re.compile(r"^[+\-]?[\d\s().,\-]+$")


# --- numbers ----------------------------------------------------------------------------------

_CURRENCY = re.compile(r"(?i)^(?:rmb|cny|usd|eur|hkd)|(?:rmb|cny|usd|eur|hkd|元|圆)$|[¥￥$€£\s\u00a0']")
_THOUSANDS_COMMA = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_THOUSANDS_DOT = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$")
_MULTIPLIERS = {"万": Decimal(10000), "亿": Decimal(100000000), "千": Decimal(1000)}


def parse_decimal(value: Any, decimal_separator: str = "auto") -> Decimal:
    """1,234.50 · 1.234,50 · ¥1,234.50 · (1,234.50) · 1.5万 · -12 → Decimal.

    ``decimal_separator`` is "auto" (the last of "," and "." wins when both appear; a lone ","
    is a thousands separator only in groups of three), "." or ",".
    """
    if isinstance(value, bool):
        raise CellError(_("Enter a number."))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    s = halfwidth_strict(str(value)).strip()
    if not s:
        raise CellError(_("Enter a number."))
    try:
        if decimal_separator != "," and _PLAIN_NUMBER.match(s):
            return Decimal(s)
        return _parse_formatted(s, decimal_separator)
    except (InvalidOperation, ValueError):
        raise CellError(_("“%(value)s” is not a number.") % {"value": str(value)[:40]})


_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _parse_formatted(s: str, decimal_separator: str) -> Decimal:
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    s = _CURRENCY.sub("", s)
    if s.startswith("-"):
        negative, s = not negative, s[1:]
    elif s.startswith("+"):
        s = s[1:]
    if s.endswith("-"):  # accounting style "1,234.50-"
        negative, s = not negative, s[:-1]
    factor = Decimal(1)
    while s and s[-1] in _MULTIPLIERS:
        factor *= _MULTIPLIERS[s[-1]]
        s = s[:-1]
    if not s:
        raise ValueError
    has_comma, has_dot = "," in s, "." in s
    sep = decimal_separator
    if sep == "auto":
        if has_comma and has_dot:
            sep = "," if s.rfind(",") > s.rfind(".") else "."
        elif has_comma:
            sep = "." if _THOUSANDS_COMMA.match(s) else ","
        elif has_dot and s.count(".") > 1 and _THOUSANDS_DOT.match(s):
            sep = ","
        else:
            sep = "."
    if sep == ",":
        s = s.replace(".", "").replace(",", ".")
    else:
        s = s.replace(",", "")
    if not re.match(r"^\d*\.?\d+$|^\d+\.$", s):
        raise ValueError
    d = Decimal(s) * factor
    if not d.is_finite():
        raise ValueError
    return -d if negative else d


def parse_integer(value: Any, decimal_separator: str = "auto") -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    d = parse_decimal(value, decimal_separator)
    if d != d.to_integral_value():
        raise CellError(_("Enter a whole number."))
    return int(d)


# --- dates ------------------------------------------------------------------------------------

DATE_FORMATS = ("auto", "YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY", "YYYY年M月D日", "excel")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_RE_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:(?:[ T]+)(.*))?$")
_RE_CN = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?(?:\s*(.*))?$")
_RE_XYY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:(?:[ T]+)(.*))?$")
_RE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_RE_SERIAL = re.compile(r"^\d{1,6}(\.\d+)?$")
_RE_TIME = re.compile(
    r"^(\d{1,2})[:时點点](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d{1,6}))?)?\s*(秒)?\s*(am|pm|AM|PM)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_RE_MONTH_NAME = re.compile(
    r"^(?:(\d{1,2})[\s\-]+([A-Za-z]{3,9})\.?,?[\s\-]+(\d{4})|([A-Za-z]{3,9})\.?[\s\-]+(\d{1,2}),?[\s\-]+(\d{4}))(?:\s+(.*))?$"
)


def _make_date(y: int, m: int, d: int, original: Any) -> dt.date:
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise CellError(_("“%(value)s” is not a valid date.") % {"value": str(original)[:40]})


def excel_serial_to_date(serial: float) -> dt.date:
    if not 1 <= serial < 2958466:
        raise CellError(_("“%(value)s” is not a valid date.") % {"value": serial})
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def _split_date(value: Any, fmt: str) -> tuple[dt.date, str]:
    """Parse the date part; return it and the remaining (time) text."""
    if isinstance(value, dt.datetime):
        return value.date(), value.time().isoformat() if value.time() != dt.time() else ""
    if isinstance(value, dt.date):
        return value, ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if fmt in ("auto", "excel"):
            return excel_serial_to_date(float(value)), ""
        raise CellError(_("“%(value)s” is not a valid date.") % {"value": value})
    s = halfwidth_strict(str(value)).strip()
    bad = CellError(
        _("“%(value)s” is not a date in the format %(format)s.")
        % {"value": s[:40], "format": fmt if fmt != "auto" else "YYYY-MM-DD"}
    )
    if fmt in ("auto", "YYYY-MM-DD"):
        m = _RE_YMD.match(s)
        if m:
            return _make_date(int(m[1]), int(m[2]), int(m[3]), s), m[4] or ""
    if fmt in ("auto", "YYYY年M月D日"):
        m = _RE_CN.match(s)
        if m:
            return _make_date(int(m[1]), int(m[2]), int(m[3]), s), m[4] or ""
    if fmt in ("auto", "DD/MM/YYYY", "MM/DD/YYYY"):
        m = _RE_XYY.match(s)
        if m:
            a, b, y = int(m[1]), int(m[2]), int(m[3])
            if fmt == "DD/MM/YYYY" or (fmt == "auto" and a > 12 >= b):
                return _make_date(y, b, a, s), m[4] or ""
            return _make_date(y, a, b, s), m[4] or ""
    if fmt == "auto":
        m = _RE_COMPACT.match(s)
        if m:
            return _make_date(int(m[1]), int(m[2]), int(m[3]), s), ""
        m = _RE_MONTH_NAME.match(s)
        if m:
            if m[1]:
                day, month_name, year = int(m[1]), m[2], int(m[3])
            else:
                month_name, day, year = m[4], int(m[5]), int(m[6])
            month = _MONTHS.get(month_name.lower())
            if month:
                return _make_date(year, month, day, s), m[7] or ""
    if fmt in ("auto", "excel") and _RE_SERIAL.match(s):
        return excel_serial_to_date(float(s)), ""
    raise bad


def parse_date(value: Any, fmt: str = "auto") -> dt.date:
    """YYYY-MM-DD, YYYY/M/D, DD/MM/YYYY, MM/DD/YYYY, YYYY年M月D日, 20240115, 5 Jan 2024, Excel serials.

    In "auto", A/B/YYYY is read as month/day unless A > 12 (then day/month); choose an explicit
    format for files written day first.
    """
    d, _rest = _split_date(value, fmt)
    return d


def parse_time(text: str) -> dt.time | None:
    text = text.strip()
    if not text:
        return None
    m = _RE_TIME.match(text)
    if not m:
        raise CellError(_("“%(value)s” is not a valid time.") % {"value": text[:40]})
    hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
    if m[6] and m[6].lower() == "pm" and hour < 12:
        hour += 12
    if m[6] and m[6].lower() == "am" and hour == 12:
        hour = 0
    micro = int((m[4] or "0").ljust(6, "0"))
    try:
        return dt.time(hour, minute, second, micro)
    except ValueError:
        raise CellError(_("“%(value)s” is not a valid time.") % {"value": text[:40]})


def parse_datetime(value: Any, fmt: str = "auto", tz: Any = None) -> dt.datetime:
    """A date (any format parse_date accepts) plus an optional time; naive values are in ``tz``."""
    from django.utils import timezone

    if isinstance(value, dt.datetime):
        result = value
    else:
        d, rest = _split_date(value, fmt)
        t = parse_time(rest) or dt.time()
        result = dt.datetime.combine(d, t)
    if timezone.is_naive(result):
        result = timezone.make_aware(result, tz or timezone.get_current_timezone())
    return result


# --- booleans ---------------------------------------------------------------------------------

_TRUE = {"true", "1", "yes", "y", "t", "是", "对", "有", "√", "✓", "on", "x"}
_FALSE = {"false", "0", "no", "n", "f", "否", "不", "无", "×", "✗", "off"}


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    s = halfwidth(str(value)).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise CellError(_("Enter yes or no."))


# --- phones and emails ------------------------------------------------------------------------

_PHONE_STRIP = str.maketrans("", "", " -().\u00a0/")
_CN_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
_CN_LANDLINE = re.compile(r"^(?:\+?86|0086)?0?((?:10|2\d|[3-9]\d{2})[1-9]\d{6,7})$")
_EXT = re.compile(r"(?:ext\.?|x|转|分机|#)\s*(\d{1,6})$", re.IGNORECASE)


def normalize_phone(value: Any, region: str = "CN") -> str:
    """Phone numbers → E.164 ("+8613800138000"); extensions kept as ";ext=123".

    Chinese mobiles and landlines take a fast path; anything else goes through the platform's
    ``contact_points.normalize_phone``.
    """
    s = value if value.__class__ is str else cell_text(value)
    if len(s) == 14 and s[:4] == "+861" and s[4] in "3456789" and s[1:].isdigit():
        return s  # already a normalised Chinese mobile
    s = halfwidth_strict(s).strip()
    if not s:
        return ""
    ext = ""
    m = _EXT.search(s)
    if m:
        ext, s = m[1], s[: m.start()].strip()
    compact = s.translate(_PHONE_STRIP)
    if region == "CN":
        m = _CN_MOBILE.match(compact)
        if m:
            return f"+86{m[1]}" + (f";ext={ext}" if ext else "")
        if compact.startswith("0") or compact.startswith("+86") or compact.startswith("86"):
            m = _CN_LANDLINE.match(compact)
            if m:
                return f"+86{m[1]}" + (f";ext={ext}" if ext else "")
    try:
        out = contact_points.normalize_phone(s, region)
    except ValueError:
        raise CellError(_("“%(value)s” is not a valid phone number.") % {"value": str(value)[:40]})
    return out if not ext or ";ext=" in out else f"{out};ext={ext}"


def normalize_email(value: Any) -> str:
    s = halfwidth_strict(cell_text(value)).strip().strip("<>").strip()
    if s.lower().startswith("mailto:"):
        s = s[7:]
    if not s:
        return ""
    try:
        return contact_points.normalize_email(s)
    except ValueError:
        raise CellError(_("“%(value)s” is not a valid email address.") % {"value": s[:60]})


_URL = re.compile(r"^(https?://)?[^\s/$.?#][^\s]*\.[^\s]{2,}$", re.IGNORECASE)


def normalize_url(value: Any) -> str:
    s = halfwidth_strict(cell_text(value)).strip()
    if not s:
        return ""
    if not _URL.match(s):
        raise CellError(_("“%(value)s” is not a valid web address.") % {"value": s[:60]})
    return s


# --- keys for matching ------------------------------------------------------------------------

_KEY_DROP = re.compile(r"[\s\-_.,，。·•'\"“”‘’()（）\[\]【】]+")


def key_text(value: Any) -> str:
    """Normalised text for duplicate matching: NFKC, case-folded, spaces and punctuation removed."""
    s = cell_text(value)
    if not s:
        return ""
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s)
    return _KEY_DROP.sub("", s).casefold()


def key_hash(*parts: str) -> int:
    """A 64-bit hash of a normalised key (memory-light dedup sets for million-row files)."""
    import hashlib

    joined = "\x1f".join(parts)
    return int.from_bytes(hashlib.blake2b(joined.encode(), digest_size=8).digest(), "little", signed=True)
