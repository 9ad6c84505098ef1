"""Labelled customer rows for the duplicate-scan benchmark (and the demo's planted duplicates).

``generate_rows(n, seed)`` yields ``(entity, name, uscc, phone, email)``: rows with the same
``entity`` are the same company. Distinct companies have distinct names after normalisation
(two companies that differ only by their region prefix are not generated: a human could not tell
them apart from the name either). See ``dedup_scan.py`` for what the variants look like.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

BRAND_CHARS = (
    "华盛达信鑫源恒通泰佳天宏博创新金海瑞祥和富安隆德丰兴光辉明正远科联汇嘉美诚宇星晨阳春秋川峰林森"
    "云龙凤鹏飞航鼎立强力凯捷优智慧思维易迅讯数码纪万千百亿众合同宝晶鸿腾跃昊昕晟煜锦绣丽雅俊豪杰英"
    "才志旭升辰逸尚品誉君豐启航拓展卓越精工匠心悦享乐康健福寿喜润泽沃霖雨露蓝绿青紫红橙白银铭铂钧"
    "鑫淼焱森垚磊犇骉麒麟凰狮虎豹鹰雁鹤松柏竹梅兰菊荷桂桐枫柳杨槐榕桦橡椰枣梨桃李杏樱莲芙蓉芝萱"
    "蕊薇萍茂荣华彩虹霞霓晖曜曙旦昭晓晴朗皓皎洁澄澈清源泉溪涧湖湾港洲岛屿岳岭峦崇巍峻嵩岚峡谷原野"
    "田园禾稼穗粟麦稻谷粮仓廪库储运输送递传承继往开来聚散分合融汇贯通达到至臻致远宁静致远"
)

CN_INDUSTRIES = [
    "科技",
    "网络科技",
    "信息技术",
    "贸易",
    "商贸",
    "实业",
    "电子",
    "机械设备",
    "生物科技",
    "医药",
    "食品",
    "物流",
    "文化传媒",
    "建筑工程",
    "装饰工程",
    "环保科技",
    "新能源",
    "汽车服务",
    "餐饮管理",
    "企业管理咨询",
    "教育科技",
    "供应链管理",
    "电子商务",
    "智能科技",
    "化工",
    "纺织",
    "服饰",
    "家具",
    "印刷包装",
    "塑料制品",
    "五金",
    "光电",
    "通信技术",
    "软件",
    "数据服务",
    "人力资源",
    "物业管理",
    "园林绿化",
    "农业发展",
    "投资管理",
    "医疗器械",
    "仪器仪表",
    "新材料",
    "自动化设备",
    "照明电器",
]
CN_REGIONS = [
    "北京",
    "北京市",
    "上海",
    "上海市",
    "天津市",
    "重庆市",
    "杭州",
    "杭州市",
    "浙江省杭州市",
    "宁波市",
    "深圳市",
    "广州",
    "广州市",
    "广东省深圳市",
    "苏州",
    "苏州市",
    "江苏省南京市",
    "南京市",
    "成都",
    "成都市",
    "武汉市",
    "湖北省武汉市",
    "西安市",
    "长沙市",
    "郑州市",
    "青岛市",
    "济南市",
    "厦门市",
    "福州市",
    "合肥市",
    "无锡市",
    "佛山市",
    "东莞市",
    "温州市",
    "绍兴市",
    "嘉兴市",
    "金华市",
    "昆明市",
]
CN_LEGAL = ["有限公司"] * 12 + ["有限责任公司"] * 4 + ["股份有限公司"] * 2 + ["集团有限公司", "厂"]
CN_TYPOS = {
    "科": "可",
    "技": "记",
    "网": "往",
    "络": "洛",
    "贸": "茂",
    "易": "亿",
    "信": "心",
    "息": "惜",
    "术": "树",
    "实": "石",
    "业": "叶",
    "电": "点",
    "商": "尚",
    "物": "务",
    "流": "刘",
    "管": "馆",
    "理": "里",
    "服": "福",
    "务": "物",
    "咨": "资",
    "询": "寻",
    "工": "公",
    "程": "成",
    "设": "社",
    "备": "被",
    "机": "基",
    "械": "谢",
    "能": "龙",
    "源": "元",
    "智": "制",
    "药": "要",
    "食": "实",
    "品": "聘",
    "化": "华",
    "纺": "方",
    "织": "知",
    "饰": "式",
    "装": "庄",
    "包": "保",
    "料": "科",
    "光": "广",
    "通": "同",
    "软": "阮",
    "件": "建",
    "数": "树",
    "据": "剧",
    "资": "咨",
    "投": "头",
    "医": "依",
    "器": "气",
    "仪": "议",
    "材": "才",
    "动": "东",
    "照": "招",
    "明": "名",
    "农": "浓",
    "发": "法",
    "展": "战",
    "园": "元",
    "林": "临",
    "绿": "律",
    "教": "较",
    "育": "玉",
    "供": "共",
    "应": "英",
    "链": "连",
    "餐": "参",
    "饮": "引",
    "汽": "气",
    "车": "扯",
    "文": "闻",
    "传": "船",
    "媒": "梅",
    "建": "健",
    "筑": "住",
    "环": "还",
    "保": "宝",
    "新": "心",
    "生": "升",
    "人": "仁",
}

EN_WORDS = (
    "apex blue stone peak nova silver golden river summit bright orbit cedar maple harbor falcon "
    "eagle lotus jade pearl crystal ember atlas titan vertex quantum pixel matrix vector sigma delta "
    "omega alpha zenith horizon lumen solar lunar star comet nebula aurora crest ridge valley meadow "
    "forest ocean coral harbor bay pioneer frontier venture fusion spark swift rapid agile nimble "
    "prime royal noble grand united global allied central pacific eastern western northern southern "
    "red green white black amber ivory onyx sapphire ruby emerald topaz granite marble iron copper "
    "steel cobalt nickel zinc carbon helix nexus vortex pulse beacon anchor compass keystone cornerstone"
).split()
EN_SYLLABLES = "ka ze tri no va lu mi ro xen qua ti ra sol vex dri fin tor lex mar cor bel den gra pol sen tek vio zor ly".split()
EN_INDUSTRIES = [
    "Technology",
    "Trading",
    "Logistics",
    "Software",
    "Consulting",
    "Electronics",
    "Foods",
    "Pharma",
    "Materials",
    "Machinery",
    "Solutions",
    "Systems",
    "Industries",
    "Media",
    "Design",
    "Engineering",
    "Energy",
    "Capital",
    "Medical",
    "Digital",
    "Networks",
    "Manufacturing",
    "Automation",
    "Retail",
]
EN_LEGAL = ["Co., Ltd.", "Co., Ltd.", "Limited", "Inc.", "LLC", "Corporation", "GmbH", "Pte. Ltd.", "Ltd"]
EN_REGIONS = ["Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Suzhou", "Guangzhou"]
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "180",
    "181",
    "182",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]
REGION_CODES = [
    "110105",
    "310115",
    "330106",
    "330108",
    "440305",
    "440106",
    "320505",
    "320102",
    "510107",
    "420106",
    "610113",
    "430104",
    "410105",
    "370202",
    "350203",
    "340104",
]

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_for(n: int) -> str:
    """A well-formed USCC (organisation code with its GB 11714 check character, and the final
    GB 32100 check character) unique for ``n``."""
    region = REGION_CODES[n % len(REGION_CODES)]
    base = f"{(n * 2654435761) % 10**8:08d}"
    s = sum(int(c) * w for c, w in zip(base, [3, 7, 9, 10, 5, 8, 4, 2], strict=True))
    c = 11 - s % 11
    org = base + ("X" if c == 10 else "0" if c == 11 else str(c))
    body = "91" + region + org
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARS[(31 - total % 31) % 31]


def phone_for(n: int) -> str:
    prefix = MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)]
    return f"+86{prefix}{(n * 7919 + 104729) % 10**8:08d}"


class _Names:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.chars = list(dict.fromkeys(BRAND_CHARS))
        self.t2s = None

    def cn_brand(self) -> str:
        k = self.rng.choices([2, 3, 4], weights=[25, 40, 35])[0]
        return "".join(self.rng.choice(self.chars) for _ in range(k))

    def en_brand(self) -> str:
        r = self.rng.random()
        if r < 0.4:
            return self.rng.choice(EN_WORDS).title() + " " + self.rng.choice(EN_WORDS).title()
        word = "".join(self.rng.choice(EN_SYLLABLES) for _ in range(self.rng.choice([2, 3])))
        if r < 0.7:
            return word.title()
        return word.title() + " " + self.rng.choice(EN_WORDS).title()

    def traditional(self, text: str) -> str:
        if self.t2s is None:
            from opencc import OpenCC

            self.t2s = OpenCC("s2t")
        return self.t2s.convert(text)


def _fullwidth(text: str) -> str:
    out = []
    for ch in text:
        o = ord(ch)
        if ch == " ":
            out.append("\u3000")
        elif 0x21 <= o <= 0x7E:
            out.append(chr(o + 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def _en_typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    kind = rng.random()
    if kind < 0.35:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind < 0.65:
        return word[:i] + word[i + 1 :]
    if kind < 0.85:
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiou") + word[i + 1 :]


def cn_variant(rng: random.Random, names: _Names, region: str, brand: str, industry: str, legal: str) -> str:
    kind = rng.choices(
        ["legal", "region", "bracket", "traditional", "spacing", "typo", "drop_industry"],
        weights=[25, 20, 12, 10, 13, 15, 5],
    )[0]
    if kind == "legal":
        legal = rng.choice([x for x in set(CN_LEGAL) | {""} if x != legal])
    elif kind == "region":
        region = "" if region else rng.choice(CN_REGIONS)
    elif kind == "bracket":
        r = (region or rng.choice(CN_REGIONS)).removesuffix("市")[-2:]
        return brand + rng.choice(["(", "（"]) + r + rng.choice([")", "）"]) + industry + legal
    elif kind == "traditional":
        return names.traditional(region + brand + industry + legal)
    elif kind == "spacing":
        sep = rng.choice([" ", "\u3000", "·", "-"])
        return f"{region}{sep}{brand}{sep}{industry}{sep}{legal}".strip(sep)
    elif kind == "typo":
        positions = [i for i, ch in enumerate(industry) if ch in CN_TYPOS]
        if positions and (len(brand) < 4 or rng.random() < 0.7):
            i = rng.choice(positions)
            industry = industry[:i] + CN_TYPOS[industry[i]] + industry[i + 1 :]
        elif len(brand) >= 4:
            i = rng.randrange(len(brand))
            brand = brand[:i] + rng.choice(names.chars) + brand[i + 1 :]
        else:
            legal = "有限责任公司" if legal != "有限责任公司" else "有限公司"
    elif kind == "drop_industry":
        if len(brand) >= 3:
            industry = ""
        else:
            legal = "股份有限公司" if legal != "股份有限公司" else "有限公司"
    return region + brand + industry + legal


def en_variant(rng: random.Random, brand: str, industry: str, legal: str, region: str) -> str:
    kind = rng.choices(
        ["legal", "case", "region", "fullwidth", "typo", "punct"], weights=[25, 15, 15, 10, 25, 10]
    )[0]
    if kind == "legal":
        legal = rng.choice([x for x in EN_LEGAL if x != legal])
    elif kind == "case":
        return f"{region + ' ' if region else ''}{brand} {industry} {legal}".upper()
    elif kind == "region":
        if region:
            region = ""
        else:
            return f"{brand} {industry} ({rng.choice(EN_REGIONS)}) {legal}"
    elif kind == "fullwidth":
        return _fullwidth(f"{region + ' ' if region else ''}{brand} {industry} {legal}")
    elif kind == "typo":
        words = brand.split()
        target = rng.randrange(len(words) + 1)
        if target < len(words) and len(words[target]) >= 5:
            words[target] = _en_typo(rng, words[target])
            brand = " ".join(words)
        else:
            industry = _en_typo(rng, industry)
    elif kind == "punct":
        return f"The {brand} {industry}, {legal.replace('.', '').replace(',', '')}"
    return f"{region + ' ' if region else ''}{brand} {industry} {legal}"


def generate_rows(n: int, seed: int = 1) -> Iterator[tuple[int, str, str, str, str]]:
    """``n`` rows; about 11 % of the companies appear more than once."""
    from huoban.customers.matching import name_key

    rng = random.Random(seed)
    names = _Names(rng)
    seen: set[str] = set()
    made = 0
    entity = 0
    cn_brands: list[str] = []  # brands of earlier companies, for hard negatives
    while made < n:
        entity += 1
        cn = rng.random() < 0.8
        for _attempt in range(20):
            if cn:
                region = rng.choice(CN_REGIONS) if rng.random() < 0.5 else ""
                if cn_brands and rng.random() < 0.005:
                    brand = cn_brands[rng.randrange(len(cn_brands))]  # same brand, other industry
                else:
                    brand = names.cn_brand()
                industry = rng.choice(CN_INDUSTRIES)
                legal = rng.choice(CN_LEGAL)
                name = region + brand + industry + legal
            else:
                region = rng.choice(EN_REGIONS) if rng.random() < 0.2 else ""
                brand = names.en_brand()
                industry = rng.choice(EN_INDUSTRIES)
                legal = rng.choice(EN_LEGAL)
                name = f"{region + ' ' if region else ''}{brand} {industry} {legal}"
            core = name_key(name).core
            if core and core not in seen:
                seen.add(core)
                break
        else:
            continue
        if cn and len(cn_brands) < 200000:
            cn_brands.append(brand)
        uscc = uscc_for(entity) if rng.random() < 0.7 else ""
        phone = phone_for(entity) if rng.random() < 0.8 else ""
        if rng.random() < 0.005 and entity > 10:
            phone = phone_for(rng.randrange(1, entity))  # shared switchboard with another company
        email = ""
        if rng.random() < 0.5:
            domain = f"c{entity}.{'cn' if cn else 'com'}"
            email = f"{rng.choice(['info', 'sales', 'contact', 'hr', 'service'])}@{domain}"
        yield entity, name, uscc, phone, email
        made += 1
        if rng.random() < 0.11 and made < n:
            for _v in range(rng.choices([1, 2, 3], weights=[75, 20, 5])[0]):
                if made >= n:
                    break
                vname = (
                    cn_variant(rng, names, region, brand, industry, legal)
                    if cn
                    else en_variant(rng, brand, industry, legal, region)
                )
                v_uscc = uscc if uscc and rng.random() < 0.25 else ""
                r = rng.random()
                v_phone = phone if phone and r < 0.35 else (phone_for(10**7 + made) if r < 0.6 else "")
                v_email = email if email and rng.random() < 0.15 else ""
                yield entity, vname, v_uscc, v_phone, v_email
                made += 1
