"""English names of administrative divisions: Hanyu Pinyin of the specific name plus an English
generic term (海淀区 → "Haidian District"), following the usual conventions for Chinese place names:
syllables written together, an apostrophe before a, o, e inside a word (西安 → Xi'an), and a
one-character specific name keeping its Chinese generic (歙县 → "Shexian County").

pypinyin picks the common reading of a character; place names often use another one, so the
readings below are fixed by hand. A few divisions have established English names (乌鲁木齐 →
Urumqi) that are used instead of the Pinyin.
"""

from functools import lru_cache

# Established English names, used as they are.
ESTABLISHED_NAMES = {
    "乌鲁木齐市": "Urumqi City",
    "呼和浩特市": "Hohhot City",
    "拉萨市": "Lhasa City",
    "日喀则市": "Shigatse City",
    "昌都市": "Qamdo City",
    "林芝市": "Nyingchi City",
    "那曲市": "Nagqu City",
    "阿里地区": "Ngari Prefecture",
    "喀什地区": "Kashgar Prefecture",
    "和田地区": "Hotan Prefecture",
    "阿勒泰地区": "Altay Prefecture",
    "阿克苏地区": "Aksu Prefecture",
    "吐鲁番市": "Turpan City",
    "克拉玛依市": "Karamay City",
    "鄂尔多斯市": "Ordos City",
    "呼伦贝尔市": "Hulunbuir City",
    "巴彦淖尔市": "Bayannur City",
    "乌兰察布市": "Ulanqab City",
    "锡林郭勒盟": "Xilingol League",
    "阿拉善盟": "Alxa League",
    "兴安盟": "Hinggan League",
    "伊犁哈萨克自治州": "Ili Kazakh Autonomous Prefecture",
    "巴音郭楞蒙古自治州": "Bayingolin Mongol Autonomous Prefecture",
    "博尔塔拉蒙古自治州": "Bortala Mongol Autonomous Prefecture",
    "克孜勒苏柯尔克孜自治州": "Kizilsu Kirgiz Autonomous Prefecture",
    "阿坝藏族羌族自治州": "Ngawa Tibetan and Qiang Autonomous Prefecture",
    "甘孜藏族自治州": "Garze Tibetan Autonomous Prefecture",
    "迪庆藏族自治州": "Deqen Tibetan Autonomous Prefecture",
    "果洛藏族自治州": "Golog Tibetan Autonomous Prefecture",
    # Generic terms that are not the usual ones.
    "神农架林区": "Shennongjia Forestry District",
    "浦东新区": "Pudong New Area",
    "滨海新区": "Binhai New Area",
    "两江新区": "Liangjiang New Area",
    "雄安新区": "Xiong'an New Area",
    "沈北新区": "Shenbei New District",
    "苏州工业园区": "Suzhou Industrial Park",
}

# Readings of whole names or parts of names that pypinyin gets wrong.
PHRASE_READINGS = {
    "长子": ["zhang", "zi"],
    "六安": ["lu", "an"],
    "六合": ["lu", "he"],
    "伽师": ["jia", "shi"],
    "漯河": ["luo", "he"],
    "涡阳": ["guo", "yang"],
    "召陵": ["shao", "ling"],
    "单县": ["shan", "xian"],
    "蔚县": ["yu", "xian"],
    "浚县": ["xun", "xian"],
    "筠连": ["jun", "lian"],
    "什邡": ["shi", "fang"],
    "蚌埠": ["beng", "bu"],
    "蚌山": ["beng", "shan"],
}
# Characters whose place-name reading is always this one.
CHARACTER_READINGS = {"长": "chang", "都": "du", "朝": "chao", "蚌": "beng", "什": "shi"}

# Generic terms by level, longest first.
CITY_GENERICS = [
    ("自治州", "Autonomous Prefecture"),
    ("地区", "Prefecture"),
    ("盟", "League"),
    ("市", "City"),
]
COUNTY_GENERICS = [
    ("自治县", "Autonomous County"),
    ("自治旗", "Autonomous Banner"),
    ("林区", "Forestry District"),
    ("特区", "Special District"),
    ("区", "District"),
    ("县", "County"),
    ("旗", "Banner"),
    ("市", "City"),
]
# Only these end in 林区 as their generic term; 碑林区 is 碑林 + 区.
FORESTRY_DISTRICTS = {"神农架林区"}

# Ethnic groups as they appear in the names of autonomous divisions.
ETHNIC_GROUPS = {
    "蒙古族": "Mongol",
    "蒙古": "Mongol",
    "回族": "Hui",
    "藏族": "Tibetan",
    "维吾尔族": "Uygur",
    "苗族": "Miao",
    "彝族": "Yi",
    "壮族": "Zhuang",
    "布依族": "Bouyei",
    "朝鲜族": "Korean",
    "满族": "Manchu",
    "侗族": "Dong",
    "瑶族": "Yao",
    "白族": "Bai",
    "土家族": "Tujia",
    "哈尼族": "Hani",
    "哈萨克族": "Kazakh",
    "哈萨克": "Kazakh",
    "傣族": "Dai",
    "黎族": "Li",
    "傈僳族": "Lisu",
    "佤族": "Va",
    "畲族": "She",
    "拉祜族": "Lahu",
    "水族": "Shui",
    "东乡族": "Dongxiang",
    "纳西族": "Naxi",
    "景颇族": "Jingpo",
    "柯尔克孜族": "Kirgiz",
    "柯尔克孜": "Kirgiz",
    "土族": "Tu",
    "达斡尔族": "Daur",
    "仫佬族": "Mulao",
    "羌族": "Qiang",
    "布朗族": "Blang",
    "撒拉族": "Salar",
    "毛南族": "Maonan",
    "仡佬族": "Gelao",
    "锡伯族": "Xibe",
    "锡伯": "Xibe",
    "阿昌族": "Achang",
    "普米族": "Pumi",
    "塔吉克族": "Tajik",
    "塔吉克": "Tajik",
    "怒族": "Nu",
    "鄂温克族": "Evenki",
    "德昂族": "De'ang",
    "保安族": "Bonan",
    "裕固族": "Yugur",
    "京族": "Gin",
    "独龙族": "Derung",
    "鄂伦春族": "Oroqen",
    "鄂伦春": "Oroqen",
    "门巴族": "Monba",
    "珞巴族": "Lhoba",
    "基诺族": "Jino",
    "各族": "Multi-Ethnic",
}
_ETHNIC_LONGEST_FIRST = sorted(ETHNIC_GROUPS, key=len, reverse=True)


def _syllables(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin  # imported lazily: it takes a third of a second

    syllables: list[str] = []
    plain_start = 0
    i = 0
    while i < len(text):
        phrase = next((p for p in PHRASE_READINGS if text.startswith(p, i)), None)
        if phrase is None:
            i += 1
            continue
        syllables += _plain_syllables(text[plain_start:i], lazy_pinyin, Style)
        syllables += PHRASE_READINGS[phrase]
        i += len(phrase)
        plain_start = i
    syllables += _plain_syllables(text[plain_start:], lazy_pinyin, Style)
    return syllables


def _plain_syllables(text, lazy_pinyin, style) -> list[str]:
    if not text:
        return []
    readings = lazy_pinyin(text, style=style.NORMAL, v_to_u=True, errors="default")
    if len(readings) != len(text):  # non-Chinese characters came back grouped
        return readings
    return [
        CHARACTER_READINGS.get(char, reading) for char, reading in zip(text, readings, strict=True)
    ]


def pinyin_word(text: str) -> str:
    """`text` in Pinyin as one capitalised word: 西安 → Xi'an, 吕梁 → Lüliang."""
    word = ""
    for syllable in _syllables(text):
        if word and syllable[:1] in ("a", "o", "e"):
            word += "'"
        word += syllable
    return word[:1].upper() + word[1:]


def _english_ethnic_list(names: list[str]) -> str:
    names = [n for n in names if n]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _autonomous(specific: str, generic_en: str) -> str:
    """`specific` is a place name followed by ethnic groups, e.g. 酉阳土家族苗族."""
    groups: list[str] = []
    rest = specific
    while True:
        found = next((g for g in _ETHNIC_LONGEST_FIRST if rest.endswith(g) and rest != ""), None)
        if found is None:
            break
        groups.insert(0, ETHNIC_GROUPS[found])
        rest = rest[: -len(found)]
    parts = [pinyin_word(rest)] if rest else []
    if groups:
        parts.append(_english_ethnic_list(groups))
    parts.append(generic_en)
    return " ".join(parts)


@lru_cache(maxsize=8192)
def english_region_name(name_zh: str, level: str) -> str:
    """The English name of a city- or county-level division (`level` is "city" or "county")."""
    if name_zh in ESTABLISHED_NAMES:
        return ESTABLISHED_NAMES[name_zh]
    generics = CITY_GENERICS if level == "city" else COUNTY_GENERICS
    for generic_zh, generic_en in generics:
        if not name_zh.endswith(generic_zh) or len(name_zh) == len(generic_zh):
            continue
        if generic_zh == "林区" and name_zh not in FORESTRY_DISTRICTS:
            continue
        specific = name_zh[: -len(generic_zh)]
        if generic_zh.startswith("自治"):
            return _autonomous(specific, generic_en)
        if len(specific) == 1:
            # A one-character name keeps its generic term: 歙县 → Shexian County.
            return f"{pinyin_word(name_zh)} {generic_en}"
        return f"{pinyin_word(specific)} {generic_en}"
    return pinyin_word(name_zh)
