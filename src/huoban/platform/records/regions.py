"""Regions of China per GB/T 2260: provinces and prefecture-level cities, resolved from any spelling.

``resolve_region(value) -> code`` accepts a code (``330000``, ``3301``, a county code such as
``330106`` resolves to its city), a full or short Chinese name (``浙江省``, ``浙江``, ``杭州市``,
``杭州``), an English / pinyin name (``Zhejiang``, ``Zhejiang Province``, ``Hangzhou``), and
combinations (``浙江省杭州市西湖区``, ``Hangzhou, Zhejiang``) — the most specific known region wins.
Anything else raises ``ValueError`` with a translatable message. The data is the CSV file under
``data/`` (static standard data, read once per process); the editable picklist copy lives in the
database (see ``picklists.py``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.utils.translation import gettext as _

DATA_FILE = Path(__file__).resolve().parent / "data" / "gbt2260_regions.csv"

_ZH_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "地区",
    "省",
    "市",
    "盟",
)
_EN_NOISE = re.compile(
    r"\b(province|provincial|city|shi|sheng|municipality|autonomous|region|prefecture|league|sar|"
    r"special administrative|of china|prc|china|p\.r\.)\b"
)
_SEP = re.compile(r"[\s,，、/;；()（）\-_.·']+")


@dataclass(frozen=True)
class Region:
    code: str
    parent: str
    name_zh: str
    short_zh: str
    name_en: str
    aliases: tuple[str, ...]

    @property
    def is_province(self) -> bool:
        return not self.parent


def _short_zh(name: str) -> str:
    for suffix in ("市", "地区", "盟"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    out: dict[str, Region] = {}
    with DATA_FILE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[row["code"]] = Region(
                code=row["code"],
                parent=row["parent"] or "",
                name_zh=row["name_zh"],
                short_zh=row["short_zh"] or _short_zh(row["name_zh"]),
                name_en=row["name_en"],
                aliases=tuple(a.strip() for a in (row["aliases"] or "").split("|") if a.strip()),
            )
    return out


def provinces() -> list[Region]:
    return [r for r in regions().values() if r.is_province]


def _key(value: str) -> str:
    v = unicodedata.normalize("NFKC", value).strip().lower()
    v = v.replace("ü", "v")
    return _SEP.sub("", v)


def _en_key(value: str) -> str:
    v = unicodedata.normalize("NFKC", value).lower().replace("ü", "v")
    v = _EN_NOISE.sub(" ", v)
    return _SEP.sub("", v)


AMBIGUOUS = "?"


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Lookup key -> code ("?" + codes when a plain English name means several cities)."""
    index: dict[str, str] = {}
    qualified: dict[str, set[str]] = {}

    def put(key: str, code: str, *, override: bool = False) -> None:
        if not key:
            return
        if override or key not in index:
            index[key] = code

    ordered = sorted(regions().values(), key=lambda r: (not r.is_province, r.code))
    for r in ordered:  # provinces first: "吉林" is the province, "吉林市" the city
        put(_key(r.name_zh), r.code, override=True)
        put(_key(r.short_zh), r.code)
        for alias in r.aliases:
            put(_key(alias), r.code)
            put(_en_key(alias), r.code)
        en = r.name_en
        if "(" in en:  # "Taizhou (Jiangsu)": the plain name may mean several cities
            base = _en_key(en.split("(")[0])
            qualified.setdefault(base, set()).add(r.code)
            put(_key(en), r.code)
        else:
            put(_en_key(en), r.code)
            put(_key(en), r.code)
        if r.is_province:
            put(r.code[:2], r.code)
        else:
            put(r.code[:4], r.code)
    for base, codes in qualified.items():
        if base not in index:
            index[base] = codes.pop() if len(codes) == 1 else AMBIGUOUS + ",".join(sorted(codes))
    return index


def _by_code(value: str) -> str | None:
    regs = regions()
    if value in regs:
        return value
    if len(value) == 6:
        city, province = value[:4] + "00", value[:2] + "0000"
        if city in regs:
            return city
        if province in regs:
            return province
        return None
    if len(value) in (2, 4):
        return _index().get(value)
    return None


def _ambiguous(value: str, hit: str) -> ValueError:
    names = ", ".join(f"{regions()[c].name_zh} ({c})" for c in hit[1:].split(","))
    return ValueError(
        _("“%(value)s” may mean several regions: %(names)s.") % {"value": value, "names": names}
    )


def _lookup(text: str) -> str | None:
    index = _index()
    for key in (_key(text), _en_key(text)):
        if key in index:
            return index[key]
    return None


def _strip_zh_suffix(text: str) -> str:
    for suffix in _ZH_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


def resolve_region(value: object) -> str:
    """The GB/T 2260 code of a province or prefecture-level city; ValueError when unknown."""
    raw = str(value if value is not None else "").strip()
    if not raw:
        raise ValueError(_("Enter a region."))
    compact = _key(raw)
    if compact.isdigit():
        code = _by_code(compact)
        if code:
            return code
        raise ValueError(_("“%(value)s” is not a known region code (GB/T 2260).") % {"value": raw})
    hit = _lookup(raw) or _lookup(_strip_zh_suffix(raw))
    if hit and not hit.startswith(AMBIGUOUS):
        return hit
    # Combinations: "浙江省杭州市西湖区", "Hangzhou, Zhejiang", "Zhejiang Hangzhou".
    best = _resolve_combination(raw)
    if best:
        return best
    if hit:
        raise _ambiguous(raw, hit)
    raise ValueError(_("“%(value)s” is not a known province or city.") % {"value": raw})


def _resolve_combination(raw: str) -> str | None:
    regs = regions()
    index = _index()
    parts = [p for p in re.split(r"[\s,，、/;；]+", unicodedata.normalize("NFKC", raw).strip()) if p]
    found: list[str] = []
    if len(parts) > 1:
        for p in parts:
            hit = _lookup(p) or _lookup(_strip_zh_suffix(p))
            if hit:
                found.append(hit)
    else:
        text = _key(raw)
        i = 0
        while i < len(text):
            match = None
            for j in range(len(text), i + 1, -1):
                hit = index.get(text[i:j])
                if hit:
                    match = (j, hit)
                    break
            if match is None:
                if not found:
                    return None  # the text must start with a region name
                i += 1
                continue
            found.append(match[1])
            i = match[0]
    if not found:
        return None
    specific = [c for c in found if not c.startswith(AMBIGUOUS) and not regs[c].is_province]
    provinces_found = {c for c in found if not c.startswith(AMBIGUOUS) and regs[c].is_province}
    for c in specific:
        if not provinces_found or regs[c].parent in provinces_found:
            return c
    for c in found:  # an ambiguous English city name settled by its province: "Taizhou, Zhejiang"
        if c.startswith(AMBIGUOUS):
            for option in c[1:].split(","):
                if regs[option].parent in provinces_found:
                    return option
    if provinces_found:
        return sorted(provinces_found)[0]
    return None


def region_label(code: str, language: str | None = None) -> str:
    """Display name of a region code ("浙江省 杭州市" / "Hangzhou, Zhejiang"); the code if unknown."""
    from django.utils.translation import get_language

    r = regions().get(code or "")
    if r is None:
        return code or ""
    zh = (language or get_language() or "").lower().startswith("zh")
    parent = regions().get(r.parent) if r.parent else None
    if zh:
        return f"{parent.name_zh} {r.name_zh}" if parent else r.name_zh
    return f"{r.name_en}, {parent.name_en}" if parent else r.name_en
