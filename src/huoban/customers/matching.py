"""Name normalisation and similarity for duplicate detection (customers and contacts).

A Chinese company name is usually [region][brand 字号][industry 行业][legal form 组织形式], e.g.
``杭州阿里巴巴网络技术有限公司``. ``name_key()`` reduces any spelling of a name to its *core*
(brand + industry) and splits off the brand:

- full-width → half-width and compatibility forms (NFKC), traditional → simplified characters
  (OpenCC's character table, applied as one ``str.translate``), lower case;
- bracketed parts dropped (``华为技术(深圳)``, ``【北京】``), punctuation and spaces removed;
- legal-form suffixes stripped (有限公司, 有限责任公司, 股份有限公司, 集团, 厂 …; Co., Ltd.,
  Limited, Inc., LLC, GmbH …);
- leading region names stripped (北京, 北京市, 浙江省杭州市 …, Shanghai …), from GB/T 2260 data;
- trailing industry words split off as ``industry`` (科技, 网络技术, 贸易 …; Technology, Trading …)
  so that the brand weighs more than the industry in the similarity.

``similarity(a, b)`` combines brand and industry similarity (rapidfuzz); ``pair_score`` adds the
exact evidence (USCC, phone, e-mail). Blocking keys (``block_keys``) let the scan and the
create-time check compare a name with a handful of candidates instead of every customer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import OSA

# Score at or above which two records are reported as likely duplicates.
DUPLICATE_THRESHOLD = 0.85

CJK = "c"
LATIN = "l"

# --- character tables --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    """Traditional → simplified, character by character (phrase conversion is not needed here)."""
    import opencc

    path = Path(opencc.__file__).resolve().parent / "dictionary" / "TSCharacters.txt"
    table: dict[int, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or len(parts[0]) != 1:
                continue
            target = parts[1].split(" ")[0]
            if len(target) == 1 and target != parts[0]:
                table[ord(parts[0])] = target
    return table


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Characters that have a simplified form (testing membership is cheaper than translating)."""
    return frozenset(chr(c) for c in _t2s_table())


def to_simplified(text: str) -> str:
    return text.translate(_t2s_table())


# --- word lists ----------------------------------------------------------------------------------

CJK_LEGAL_SUFFIXES = [
    "集团股份有限公司",
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "控股有限公司",
    "有限合伙企业",
    "合伙企业",
    "有限公司",
    "股份公司",
    "有限合伙",
    "总公司",
    "公司",
    "集团",
    "控股",
    "有限",
    "企业",
    "工作室",
    "经营部",
    "门市部",
    "商行",
    "厂",
]

CJK_INDUSTRY_WORDS = [
    "电子商务",
    "人力资源",
    "供应链管理",
    "供应链",
    "房地产开发",
    "房地产",
    "信息技术",
    "网络技术",
    "网络科技",
    "信息科技",
    "智能科技",
    "生物科技",
    "医疗器械",
    "新材料",
    "云计算",
    "互联网",
    "大数据",
    "进出口",
    "自动化",
    "科技",
    "技术",
    "网络",
    "信息",
    "电子",
    "软件",
    "贸易",
    "商贸",
    "实业",
    "投资",
    "咨询",
    "管理",
    "服务",
    "建设",
    "建筑",
    "工程",
    "机械",
    "设备",
    "制造",
    "化工",
    "医药",
    "生物",
    "食品",
    "物流",
    "文化",
    "传媒",
    "广告",
    "教育",
    "餐饮",
    "酒店",
    "置业",
    "能源",
    "环保",
    "材料",
    "汽车",
    "电器",
    "电气",
    "纺织",
    "服饰",
    "服装",
    "家具",
    "印刷",
    "包装",
    "塑料",
    "金属",
    "钢铁",
    "光电",
    "智能",
    "数据",
    "通信",
    "计算机",
    "物业",
    "金融",
    "保险",
    "证券",
    "农业",
    "园林",
    "装饰",
    "设计",
    "开发",
    "发展",
    "国际",
    "健康",
    "医疗",
    "仪器",
    "仪表",
    "数字",
    "文旅",
    "旅游",
    "运输",
    "航运",
    "船舶",
    "印染",
    "陶瓷",
    "玻璃",
    "橡胶",
    "五金",
    "电力",
    "新能源",
    "光伏",
    "环境",
    "节能",
    "照明",
    "安防",
    "影视",
    "体育",
    "商务",
    "工贸",
    "创新",
    "控制",
    "系统",
    "集成",
    "塑料制品",
    "机械设备",
    "文化传媒",
    "建筑工程",
    "装饰工程",
    "汽车服务",
    "餐饮管理",
    "企业管理咨询",
    "企业管理",
    "管理咨询",
    "印刷包装",
    "物业管理",
    "园林绿化",
    "农业发展",
    "投资管理",
    "仪器仪表",
    "自动化设备",
    "照明电器",
    "数据服务",
    "通信技术",
    "环保科技",
    "教育科技",
    "智能科技",
    "生物医药",
    "化妆品",
    "日用品",
    "电子科技",
    "工程技术",
    "技术服务",
    "信息咨询",
    "劳务派遣",
    "货运代理",
]

LATIN_LEGAL = {
    "co",
    "company",
    "companies",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "llc",
    "llp",
    "lp",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "srl",
    "bv",
    "nv",
    "pte",
    "pty",
    "kk",
    "oy",
    "ab",
    "group",
    "holdings",
    "holding",
    "the",
    "and",
    "of",
}

LATIN_INDUSTRY = {
    "technology",
    "technologies",
    "tech",
    "software",
    "systems",
    "system",
    "solutions",
    "solution",
    "services",
    "service",
    "consulting",
    "consultancy",
    "trading",
    "trade",
    "international",
    "industries",
    "industrial",
    "industry",
    "manufacturing",
    "logistics",
    "electronics",
    "electronic",
    "electric",
    "foods",
    "food",
    "pharma",
    "pharmaceutical",
    "pharmaceuticals",
    "medical",
    "network",
    "networks",
    "information",
    "digital",
    "media",
    "design",
    "engineering",
    "energy",
    "materials",
    "machinery",
    "equipment",
    "automation",
    "global",
    "partners",
    "enterprises",
    "enterprise",
    "ventures",
    "capital",
    "investment",
    "investments",
    "import",
    "export",
    "development",
    "labs",
    "lab",
    "retail",
    "products",
    "product",
    "worldwide",
    "china",
}

# Short region names that are far more often the start of a brand (阿里巴巴, 东方航空, 中山大学 …):
# only their full names (阿里地区, 东方市 …) are stripped.
AMBIGUOUS_REGION_WORDS = {
    "阿里",
    "东方",
    "中山",
    "大理",
    "红河",
    "玉树",
    "白山",
    "黄山",
    "三明",
    "万宁",
    "文昌",
    "东营",
    "长春",
    "吉安",
    "永州",
    "白银",
    "金昌",
    "海东",
    "海西",
    "海北",
    "黄南",
    "天门",
    "仙桃",
    "潜江",
    "果洛",
    "兴安",
    "通化",
    "四平",
    "丽水",
    "普洱",
    "安康",
    "长治",
    "大同",
    "宜春",
    "新余",
    "安顺",
}

_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_BRACKETS = re.compile(r"[(\[【〔<《{][^()\[\]【】〔〕<>《》{}]{0,16}[)\]】〕>》}]")
_NON_WORD = re.compile(r"[\W_]+")
_LATIN_LETTERS = re.compile(r"[a-z]+")


Table = tuple[frozenset[str], tuple[int, ...], frozenset[str], frozenset[str]]


def _table(words: set[str]) -> Table:
    """Words, their lengths (longest first), and their first and last characters (quick rejects)."""
    return (
        frozenset(words),
        tuple(sorted({len(w) for w in words}, reverse=True)),
        frozenset(w[0] for w in words if w),
        frozenset(w[-1] for w in words if w),
    )


@lru_cache(maxsize=1)
def _legal_table() -> Table:
    return _table(set(CJK_LEGAL_SUFFIXES))


@lru_cache(maxsize=1)
def _industry_table() -> Table:
    return _table(set(CJK_INDUSTRY_WORDS))


@lru_cache(maxsize=1)
def _region_table() -> Table:
    from huoban.platform.records.regions import regions

    names: set[str] = set()
    for r in regions().values():
        names.add(r.name_zh)
        if len(r.short_zh) >= 2 and r.short_zh not in AMBIGUOUS_REGION_WORDS:
            names.add(r.short_zh)
    return _table(names)


def _strip_end(text: str, table: Table, keep: int = 2) -> str:
    """``text`` without the longest word of ``table`` at its end (at least ``keep`` chars stay)."""
    if not text or text[-1] not in table[3]:
        return text
    words, lengths = table[0], table[1]
    n = len(text)
    for length in lengths:
        if n - length >= keep and text[n - length :] in words:
            return text[: n - length]
    return text


def _strip_start(text: str, table: Table, keep: int = 2) -> str:
    if not text or text[0] not in table[2]:
        return text
    words, lengths = table[0], table[1]
    n = len(text)
    for length in lengths:
        if n - length >= keep and text[:length] in words:
            return text[length:]
    return text


@lru_cache(maxsize=1)
def _latin_regions() -> frozenset[str]:
    from huoban.platform.records.regions import regions

    out = {"china", "prc", "asia", "pacific"}
    for r in regions().values():
        base = r.name_en.split("(")[0].strip().lower()
        if " " not in base:
            out.add(base.replace("'", ""))
    return frozenset(out)


# --- keys --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameKey:
    """Normalised parts of a name: ``core`` = brand + industry; ``script`` "c" (CJK) or "l"."""

    brand: str
    industry: str
    script: str

    @property
    def core(self) -> str:
        if self.script == CJK:
            return self.brand + self.industry
        return f"{self.brand} {self.industry}".strip()

    def __bool__(self) -> bool:
        return bool(self.brand or self.industry)


EMPTY = NameKey("", "", LATIN)


def _clean(name: str) -> str:
    s = unicodedata.normalize("NFKC", name or "")
    if not _traditional_chars().isdisjoint(s):
        s = s.translate(_t2s_table())
    s = s.lower()
    s = s.replace("&", " ").replace("'", "")
    stripped = _BRACKETS.sub(" ", s)
    if _NON_WORD.sub("", stripped):  # keep the text when it was nothing but brackets
        s = stripped
    return s


def _cjk_key(s: str) -> NameKey:
    # Latin words inside a Chinese name ("阿里巴巴 Alibaba") are legal forms or noise far more
    # often than part of the brand; keep them only when nothing else is left.
    text = _NON_WORD.sub("", s)
    cjk_only = _LATIN_LETTERS.sub("", text)
    if len(cjk_only) >= 2:
        text = cjk_only
    legal, region, industry = _legal_table(), _region_table(), _industry_table()
    for _i in range(3):
        new = _strip_end(text, legal)
        if new == text:
            break
        text = new
    for _i in range(3):
        new = _strip_start(text, region)
        if new == text:
            break
        text = new
    for _i in range(2):  # a legal form may hide behind a region: 某某科技(北京)有限公司
        new = _strip_end(text, legal)
        if new == text:
            break
        text = new
    brand = text
    for _i in range(4):
        new = _strip_end(brand, industry)
        if new == brand:
            break
        brand = new
    return NameKey(brand, text[len(brand) :], CJK)


def _latin_key(s: str) -> NameKey:
    tokens = _NON_WORD.sub(" ", s).split()
    while tokens and tokens[-1] in LATIN_LEGAL and len(tokens) > 1:
        tokens.pop()
    tokens = [t for t in tokens if t not in ("the", "and", "of")] or tokens
    regions = _latin_regions()
    while len(tokens) > 1 and tokens[0] in regions:
        tokens.pop(0)
    tokens = [t for t in tokens if t not in LATIN_LEGAL] or tokens
    brand_tokens = list(tokens)
    industry: list[str] = []
    while len(brand_tokens) > 1 and brand_tokens[-1] in LATIN_INDUSTRY:
        industry.insert(0, brand_tokens.pop())
    return NameKey(" ".join(brand_tokens), " ".join(industry), LATIN)


def name_key(name: str) -> NameKey:
    s = _clean(name)
    if _CJK_RE.search(s):
        return _cjk_key(s)
    return _latin_key(s)


def normalize_name(name: str) -> str:
    """The comparable core of a company name: ``北京阿里巴巴网络技术有限公司`` → ``阿里巴巴网络技术``."""
    return name_key(name).core


def person_key(name: str) -> str:
    """Normalised person name (contacts): width, script, case, spaces and punctuation."""
    s = unicodedata.normalize("NFKC", name or "").translate(_t2s_table()).lower()
    s = _NON_WORD.sub(" ", s).strip()
    if _CJK_RE.search(s):
        return s.replace(" ", "")
    return " ".join(sorted(s.split()))


def block_keys(key: NameKey) -> list[str]:
    """Blocking keys: records sharing a key are compared. Brand head and brand tail, so one typo
    anywhere still leaves one key in common (for brands of three characters or more)."""
    if not key:
        return []
    if key.script == CJK:
        b = key.brand or key.industry
        keys = ["c" + b[:2]]
        if len(b) > 2:
            keys.append("C" + b[-2:])
        return keys
    b = (key.brand or key.industry).replace(" ", "")
    keys = ["l" + b[:3]]
    if len(b) > 3:
        keys.append("L" + b[-3:])
    return keys


# --- similarity --------------------------------------------------------------------------------


def similarity(a: NameKey, b: NameKey) -> float:
    """Name similarity 0..1 weighting the brand (字号) over the industry words."""
    if not a or not b or a.script != b.script:
        return 0.0
    return similarity_parts(a.script == CJK, a.brand, a.industry, b.brand, b.industry)


def similarity_parts(cjk: bool, ba: str, ia: str, bb: str, ib: str) -> float:
    """``similarity`` on the parts (the scan calls this in its inner loop).

    Brand similarity is an edit-distance similarity (OSA: a transposition is one edit), per word
    for Latin names, with a small penalty when the first letters differ (typos rarely hit the
    first letter). Industry words count for 30 % and only when they are alike. When one brand is
    the other plus something that looks like an industry word ("盛红" / "盛红供应链馆理",
    "Rara" / "Rara Manuacturing"), the split is corrected first: a typo inside an industry word
    hides it from the word list.
    """
    if ba == bb and ia == ib:
        return 1.0 if (ba or ia) else 0.0
    best = _combined(cjk, ba, ia, bb, ib)
    if best < 1.0 and ba != bb and ba and bb:
        fixed = resplit(cjk, ba, ia, bb, ib)
        if fixed is not None:
            best = max(best, _combined(*fixed))
    return best


def _combined(cjk: bool, ba: str, ia: str, bb: str, ib: str) -> float:
    brand = OSA.normalized_similarity(ba, bb) if cjk else _latin_brand(ba, bb)
    if not ia and not ib:
        return brand
    if ia and ib:
        industry = industry_sim(ia, ib)
    else:
        industry = 0.6  # "华为" against "华为技术": the short form of the same name
    return 0.7 * brand + 0.3 * industry


def industry_sim(a: str, b: str) -> float:
    """Alike industry words count (one typo allowed); different ones (物业管理 / 投资管理) count 0."""
    sim = OSA.normalized_similarity(a, b)
    if sim >= 0.75 or OSA.distance(a, b) <= 1:
        return sim
    return 0.0


def _latin_brand(a: str, b: str) -> float:
    ta, tb = a.split(), b.split()
    if len(ta) <= 1 and len(tb) <= 1:
        sim = OSA.normalized_similarity(a, b)
    else:
        forward = min(max(OSA.normalized_similarity(t, u) for u in tb) for t in ta)
        backward = min(max(OSA.normalized_similarity(u, t) for t in ta) for u in tb)
        sim = min(forward, backward)
    if a[:1] != b[:1]:
        sim *= 0.9
    return sim


def resplit(cjk: bool, ba: str, ia: str, bb: str, ib: str) -> tuple[bool, str, str, str, str] | None:
    """When one brand is the other plus what is really (a misspelt) industry word, move it."""
    if len(ba) > len(bb):
        ba, ia, bb, ib = bb, ib, ba, ia
    if cjk:
        if len(ba) < 2 or not bb.startswith(ba):
            return None
        rest = bb[len(ba) :] + ib
        if ia:
            # a misspelt industry word has the same length (旭志巍信息技术 is another brand)
            ok = len(rest) == len(ia) and (
                OSA.distance(rest, ia) <= 1 or OSA.normalized_similarity(rest, ia) >= 0.75
            )
        else:
            ok = _cjk_industry_like(rest)
        return (cjk, ba, ia, ba, rest) if ok else None
    ta, tb = ba.split(), bb.split()
    if not ta or tb[: len(ta)] != ta:
        return None
    rest = tb[len(ta) :] + ib.split()
    if not rest:
        return None
    if ia:
        other = ia.split()
        ok = all(max(OSA.normalized_similarity(t, u) for u in other) >= 0.75 for t in rest)
    else:
        ok = all(_latin_industry_like(t) for t in rest)
    return (cjk, ba, ia, ba, " ".join(rest)) if ok else None


@lru_cache(maxsize=1)
def _industry_by_length() -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    for w in set(CJK_INDUSTRY_WORDS):
        out.setdefault(len(w), []).append(w)
    return {k: tuple(v) for k, v in out.items()}


def _cjk_industry_like(text: str) -> bool:
    """An industry word, or one with a single wrong character (网洛 for 网络)."""
    if len(text) < 2:
        return False
    if text in _industry_table()[0]:
        return True
    for w in _industry_by_length().get(len(text), ()):
        if sum(1 for x, y in zip(w, text, strict=True) if x != y) == 1:
            return True
    # an industry word followed by another one (汽扯服务 = 汽车 + 服务)
    for cut in range(2, len(text) - 1):
        if _cjk_industry_like(text[:cut]) and (text[cut:] in _industry_table()[0]):
            return True
    return False


def _latin_industry_like(token: str) -> bool:
    if token in LATIN_INDUSTRY:
        return True
    return len(token) >= 4 and any(
        abs(len(w) - len(token)) <= 1 and OSA.normalized_similarity(w, token) >= 0.75 for w in LATIN_INDUSTRY
    )


@dataclass
class Evidence:
    """Identifiers of a record used for exact matches (normalised values)."""

    uscc: str = ""
    phones: frozenset[str] = field(default_factory=frozenset)
    emails: frozenset[str] = field(default_factory=frozenset)


def pair_score(
    a: NameKey, b: NameKey, ea: Evidence | None = None, eb: Evidence | None = None
) -> tuple[float, list[str]]:
    """Score 0..1 and reasons (``uscc``, ``phone``, ``email``, ``name``, ``similar_name``)."""
    reasons: list[str] = []
    sim = similarity(a, b)
    score = 0.0
    if ea is not None and eb is not None:
        if ea.uscc and ea.uscc == eb.uscc:
            reasons.append("uscc")
            score = 1.0
        shared_contact = False
        if ea.phones and not ea.phones.isdisjoint(eb.phones):
            reasons.append("phone")
            shared_contact = True
        if ea.emails and not ea.emails.isdisjoint(eb.emails):
            reasons.append("email")
            shared_contact = True
        if shared_contact:
            score = max(score, 0.55 + 0.45 * sim)
    if sim >= 1.0:
        reasons.append("name")
    elif sim >= 0.6:
        reasons.append("similar_name")
    score = max(score, sim)
    return round(score, 4), reasons


def name_score(a: str, b: str) -> float:
    """Convenience: similarity of two raw names."""
    return similarity(name_key(a), name_key(b))
