"""Realistic demo data of a chosen size, and one demo login per role.

    manage.py seed_demo                       # ~80 activities, 60 enterprises, 250 registrations
    manage.py seed_demo --activities 100000 --enterprises 200000 --registrations 1000000

The data follow the 2024 circular: activities under its nine key arrangements, organised by the
national departments and the market-regulation bureaus of real provinces, cities and counties, in
September 2024; enterprises with valid credit codes and mobile numbers; registrations confirmed up
to each activity's capacity, then waiting. Rows are written in bulk (PostgreSQL COPY, SQLite
executemany) without per-row validation or audit entries: every value is built to satisfy the
model's constraints, which the database checks anyway. One audit entry records the run.

Running it again detects the demo data and only prints the logins.
"""

import datetime as dt
import random
import time
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Count, Exists, Max, OuterRef, Subquery
from django.test.utils import override_settings
from django.utils import timezone

from accounts.enums import RepresentationStatus
from accounts.models import EnterpriseRepresentative, User
from accounts.services import (
    department_membership_grant,
    enterprise_claim_submit,
    platform_admin_grant,
    reviewer_assignment_grant,
)
from activities.enums import ActivityStatus, DepartmentLevel, RegionLevel
from activities.models import Activity, Campaign, Department, Region
from activities.reference_data import (
    MUNICIPAL_GROUPS,
    MUNICIPALITY_PREFIXES,
    _find_department,
    load_reference_data,
    national_departments,
)
from activities.romanise import ETHNIC_GROUPS
from feedback.demo import seed_feedback_demo
from qualitymonth.audit import audit_log
from registrations.enums import EnterpriseSize, RegistrationStatus
from registrations.models import CHECK_IN_ALPHABET, Attendee, Enterprise, Registration
from registrations.validators import uscc_complete

DEMO_YEAR = 2024
DEMO_DOMAIN = "demo.qualitymonth.cn"
DEMO_PASSWORD = "QualityMonth2024"  # noqa: S105 - printed on purpose: it is the demo login  # nosec B105
ZHEJIANG, HANGZHOU, XIHU = "330000", "330100", "330106"


@dataclass(frozen=True)
class DemoUser:
    key: str
    role: str
    email: str
    full_name: str


DEMO_USERS = (
    DemoUser("admin", "Platform administrator", f"admin@{DEMO_DOMAIN}", "平台管理员（演示）"),
    DemoUser("reviewer", "National reviewer", f"reviewer@{DEMO_DOMAIN}", "总局审核员（演示）"),
    DemoUser(
        "reviewer_zj",
        "Provincial reviewer (Zhejiang)",
        f"reviewer.zj@{DEMO_DOMAIN}",
        "浙江省审核员（演示）",
    ),
    DemoUser(
        "staff_samr", "Department staff (SAMR)", f"samr@{DEMO_DOMAIN}", "总局工作人员（演示）"
    ),
    DemoUser(
        "staff_zj",
        "Department staff (Zhejiang AMR)",
        f"staff.zj@{DEMO_DOMAIN}",
        "浙江省局工作人员（演示）",
    ),
    DemoUser(
        "enterprise", "Enterprise representative", f"enterprise@{DEMO_DOMAIN}", "企业代表（演示）"
    ),
)

# --- what activities look like -----------------------------------------------------------------
# Kinds decide the shape of an activity: (sign-up likelihood, capacity range or None for no limit,
# duration in hours, audience, what it is called).
# fmt: off
KINDS = {
    "training": (0.9, (30, 120), (3, 8), "辖区中小微企业质量负责人和技术人员", "培训"),
    "forum": (0.8, (100, 400), (3, 8), "企业、高校、科研院所和行业协会代表", "论坛交流"),
    "ceremony": (0.4, (150, 500), (2, 3), "获奖组织代表、企业和社会各界", "仪式"),
    "meeting": (0.6, (40, 150), (3, 4), "相关企业和行业协会", "对接交流"),
    "publicity": (0.1, (20, 60), (48, 168), "社区居民和广大消费者", "宣传"),
    "service": (0.3, (10, 60), (4, 8), "居民、商户和经营者", "公益服务"),
    "contest": (0.85, (20, 100), (6, 30), "企业质量团队和一线职工", "竞赛"),
    "exhibition": (0.3, (30, 120), (48, 120), "企业和公众", "展示"),
    "online": (0.5, None, (2, 3), "全国企业和公众", "线上活动"),
}

# Title templates per key arrangement: (template, kind, national only, national departments whose
# work it is; SAMR's when none is named). {place}: the region's name; {short}: the same without its
# generic term; {industry}: an industry; {company}: an enterprise.
TEMPLATES = {
    1: [
        ("第五届中国质量奖颁奖大会", "ceremony", True, ()),
        ("质量强国建设专家论坛", "forum", True, ()),
        ("学习推广中国质量奖获奖组织经验交流会", "meeting", False, ()),
        ("{place}政府质量奖颁奖仪式", "ceremony", False, ()),
        ("卓越绩效管理模式推广培训班", "training", False, ()),
        ("{place}质量发展高端论坛", "forum", False, ()),
        ("中国质量奖申报辅导培训班", "training", False, ()),
    ],
    2: [
        ("中小企业质量管理体系培训班", "training", False, ()),
        ("“计量服务中小企业行”走进{place}", "service", False, ()),
        ("小微企业质量管理体系认证提升行动宣贯会", "meeting", False, ()),
        ("“知识产权服务万里行”{place}站", "meeting", False, ("cnipa",)),
        ("民营经济标准创新周{place}主题活动", "forum", False, ()),
        ("首席质量官培训暨技能竞赛", "contest", False, ()),
        ("{place}质量品牌交流互鉴会", "meeting", False, ()),
        ("智能检测装备创新产品供需对接会", "meeting", False, ("miit",)),
        ("质量技术帮扶“百千万”行动进园区", "service", False, ()),
        ("企业标准“领跑者”经验分享会", "meeting", False, ()),
        ("商标品牌培育指导培训班", "training", False, ("cnipa",)),
    ],
    3: [
        ("{industry}产业链质量提升对接会", "meeting", False, ("miit",)),
        ("{industry}产业“链主”企业质量经验分享会", "meeting", False, ()),
        ("质量基础设施“一站式”服务进{industry}产业园", "service", False, ()),
        ("{industry}产业共性质量问题攻关研讨会", "forum", False, ("miit",)),
        ("卓越质量管理促进产业升级现场会", "meeting", False, ()),
        ("{place}质量强链典型案例发布会", "meeting", False, ()),
        ("{industry}产业链质量专家会诊", "service", False, ()),
    ],
    4: [
        ("{place}质量强县建设推进会", "meeting", False, ()),
        ("{place}区域品牌推介会", "forum", False, ()),
        ("“{short}好物”区域公用品牌发布会", "ceremony", False, ()),
        ("质量强镇培育经验交流会", "meeting", False, ()),
        ("{place}特色产业质量提升座谈会", "meeting", False, ()),
        ("区域质量合作互助交流会", "meeting", False, ()),
    ],
    5: [
        ("电动自行车质量安全进社区宣传周", "publicity", False, ()),
        ("电动自行车强制性国家标准宣贯会", "training", False, ("miit",)),
        ("电动自行车及锂电池质量安全知识讲座", "training", False, ()),
        ("农业社会化服务标准应用培训班", "training", False, ("moa",)),
        ("重大水利工程质量提升现场会", "meeting", False, ("mwr",)),
        ("{place}旅游服务质量提升培训班", "training", False, ("mct",)),
        ("文化和旅游市场服务质量提升现场推进会", "meeting", False, ("mct",)),
        ("全国电动自行车质量提升工作推进会", "meeting", True, ("miit",)),
    ],
    6: [
        ("“电梯安全宣传周”启动仪式", "ceremony", False, ()),
        ("“电梯安全宣传周”进小区", "publicity", False, ()),
        ("消防产品质量安全专项整治宣传活动", "publicity", False, ("nfra",)),
        ("跨境电商进口消费品质量安全风险监测发布会", "meeting", True, ("gacc",)),
        ("消费品缺陷召回知识进社区", "publicity", False, ()),
        ("重点产品质量安全消费提示发布会", "meeting", False, ()),
        ("儿童和学生用品质量安全进校园", "publicity", False, ()),
        ("燃气用具质量安全宣传咨询日", "publicity", False, ()),
        ("重点产品质量国家监督抽查结果发布会", "meeting", True, ()),
    ],
    7: [
        ("“铁拳”行动典型案例发布会", "meeting", False, ()),
        ("“剑网2024”专项行动宣传周", "publicity", False, ("ncac",)),
        ("“昆仑2024”专项行动成果展", "exhibition", False, ("mps",)),
        ("青少年版权保护季主题活动", "publicity", False, ("ncac",)),
        ("院线电影版权保护宣传活动", "publicity", False, ("cfa",)),
        ("食品药品安全领域公益诉讼典型案例发布会", "meeting", False, ("spp",)),
        ("打击侵权假冒法治宣传进商圈", "publicity", False, ()),
        ("{place}知识产权保护宣传周", "publicity", False, ("cnipa",)),
    ],
    8: [
        ("免费净水器检测进社区", "service", False, ()),
        ("电子计价秤专项整治宣传进市场", "publicity", False, ()),
        ("“优质服务基层行”医疗服务质量宣传活动", "publicity", False, ("nhc",)),
        ("全国住房和城乡建设系统“质量月”现场观摩会", "meeting", True, ("mohurd",)),
        ("{place}住房质量常见问题咨询日", "service", False, ("mohurd",)),
        ("眼镜制配场所计量免费检测", "service", False, ()),
        ("加油机计量免费检测开放日", "service", False, ()),
        ("民生计量器具免费检定进社区", "service", False, ()),
    ],
    9: [
        ("{year}年{place}“质量月”启动仪式", "ceremony", False, ()),
        ("中央企业全面质量管理知识竞赛", "contest", True, ("sasac",)),
        ("{place}QC小组成果发表赛", "contest", False, ("acftu",)),
        ("职工“五小”创新成果展示", "exhibition", False, ("acftu",)),
        ("质量开放日：走进{company}", "service", False, ()),
        ("质量知识进校园", "publicity", False, ()),
        ("{place}质量故事宣讲会", "forum", False, ()),
        ("“质量在身边”主题摄影展", "exhibition", False, ()),
        ("全面质量管理知识线上竞答", "online", False, ()),
        ("优秀质量管理小组经验交流会", "meeting", False, ("acftu",)),
    ],
}
# How often each key arrangement is chosen: mass activities and product safety are the commonest.
ARRANGEMENT_WEIGHTS = {1: 2, 2: 14, 3: 8, 4: 7, 5: 12, 6: 15, 7: 10, 8: 14, 9: 18}
# National departments that take part in each key arrangement (keys of departments.json).
ARRANGEMENT_DEPARTMENTS = {
    1: ["samr"],
    2: ["samr", "cnipa", "miit"],
    3: ["samr", "miit"],
    4: ["samr"],
    5: ["samr", "miit", "moa", "mwr", "mct"],
    6: ["samr", "nfra", "gacc"],
    7: ["samr", "mps", "ncac", "cfa", "spp", "cnipa"],
    8: ["samr", "nhc", "mohurd"],
    9: ["samr", "sasac", "acftu"],
}
# Content areas that each key arrangement serves.
ARRANGEMENT_AREAS = {1: [1], 2: [2], 3: [3], 4: [4], 5: [1, 3], 6: [5, 4], 7: [5], 8: [4], 9: [5]}
ARRANGEMENT_SENTENCES = {
    1: "活动推广中国质量奖获奖组织的先进质量管理模式和方法，交流质量前沿热点。",
    2: "活动聚焦企业质量管理能力和品牌建设，帮助中小企业解决计量、标准、认证等方面的实际问题。",
    3: "活动组织链主企业与上下游中小企业开展质量协同提升，共享先进质量理念、方法和工具。",
    4: "活动围绕区域优势特色产业，交流质量强县（区、镇）培育建设经验，推介区域质量品牌。",
    5: "活动围绕重点领域质量提升，宣传相关强制性国家标准和行业规范。",
    6: "活动普及重点产品质量安全知识，发布消费提示，增强企业主体责任意识和消费者安全意识。",
    7: "活动通报打击侵权假冒违法犯罪典型案例，开展依法惩治侵权假冒宣传，增强群众法治意识。",
    8: "活动把质量服务送到群众身边，为居民和经营者提供免费检测和咨询。",
    9: "活动广泛动员企业职工和社会公众参与，营造崇尚质量、追求卓越的浓厚氛围。",
}
INDUSTRIES = [
    "新能源汽车", "集成电路", "生物医药", "高端装备", "绿色建材", "纺织服装", "智能家电", "光伏",
    "锂电池", "食品加工", "精细化工", "工业母机", "电子信息", "农机装备", "轨道交通装备",
    "船舶与海工装备", "低空经济", "新材料", "医疗器械", "家具",
]
VENUES = {
    "training": [
        "{place}市场监督管理局三楼会议室",
        "{place}质量技术服务中心培训室",
        "{place}职业技能培训中心",
    ],
    "forum": ["{place}国际会议中心", "{place}会展中心报告厅", "{place}市民中心多功能厅"],
    "ceremony": ["{place}大剧院", "{place}市民中心报告厅", "{place}会展中心1号馆"],
    "meeting": ["{place}市场监督管理局会议中心", "{place}产业园综合服务中心", "{place}宾馆会议厅"],
    "publicity": ["{place}人民广场", "{place}中心商业街", "{place}幸福里社区党群服务中心"],
    "service": ["{place}阳光社区服务中心", "{place}农贸市场", "{place}计量检定测试所"],
    "contest": ["{place}职工文化中心", "{place}总工会职工服务中心", "{place}质量技术监督检测院"],
    "exhibition": ["{place}科技馆", "{place}展览馆", "{place}工人文化宫"],
    "online": ["线上直播"],
}
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏"
    "吕丁沈任姚卢傅钟姜崔谭陆汪范金石廖贾夏韦付方邹熊白孟秦邱侯江尹薛闫段雷黎史龙陶贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤"
)
GIVEN_NAMES = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明",
    "超", "秀英", "建华", "志强", "海燕", "晓东", "丽娟", "文杰", "国庆", "雪梅", "俊杰", "思远",
    "佳怡", "子涵", "浩然", "欣怡", "宇航", "梓轩", "雨婷", "建国", "红梅", "立新", "春燕",
    "卫东", "玉兰",
]
CONTACT_TITLES = ["老师", "科长", "主任", "处长", "女士", "先生"]
NOTES = [
    "我司将安排质量负责人参加。",
    "参会人员中有一位需要无障碍通道。",
    "如有资料请提前发送至联系人邮箱。",
    "希望会后能与专家单独交流。",
]
BRANDS = [
    "恒信", "华瑞", "宏达", "鑫源", "天成", "永泰", "德丰", "金诚", "中科", "博远", "汇通",
    "瑞丰", "联创", "正泰", "新华", "安达", "诚信", "海天", "远景", "卓越", "精工", "同创",
    "嘉禾", "明阳", "兴业", "华通", "瑞康", "盛世", "东方", "长青", "康泰", "旭日", "晨光",
    "宇通", "丰源", "国泰", "佳美", "润达", "鼎盛", "伟业", "聚力", "万和", "科达", "众诚",
    "立信", "星火", "云帆", "大成", "泰和", "锦程", "创新", "华美", "广源", "力拓", "启明",
    "天润", "汇丰", "金桥", "凯达", "新元",
]
INDUSTRY_WORDS = {
    "A": ["农业科技", "生态农业", "种业", "水产养殖", "茶业"],
    "B": ["矿业", "石材"],
    "C": [
        "精密机械", "电子科技", "新材料", "食品", "纺织", "汽车零部件", "电器", "化工",
        "医疗器械", "模具", "家具", "五金制品", "包装材料", "光电科技", "智能装备", "电池",
    ],
    "D": ["能源", "燃气", "水务"],
    "E": ["建设工程", "建筑安装", "装饰工程"],
    "F": ["商贸", "贸易", "电子商务", "超市"],
    "G": ["物流", "运输", "供应链管理"],
    "H": ["餐饮管理", "酒店管理"],
    "I": ["信息技术", "软件", "网络科技", "数据科技"],
    "J": ["融资租赁"],
    "K": ["物业服务", "置业"],
    "L": ["企业管理咨询", "人力资源", "会展服务"],
    "M": ["检测技术", "认证服务", "工程设计", "计量技术"],
    "N": ["环保科技", "园林绿化"],
    "O": ["家政服务", "汽车维修"],
    "P": ["职业培训"],
    "Q": ["医疗管理", "健康管理"],
    "R": ["文化传媒", "体育发展"],
    "S": ["社会服务"],
    "T": ["国际合作"],
}
INDUSTRY_WEIGHTS = {
    "A": 4, "B": 1, "C": 40, "D": 2, "E": 6, "F": 14, "G": 4, "H": 3, "I": 8, "J": 1, "K": 2,
    "L": 5, "M": 6, "N": 1, "O": 1, "P": 1, "Q": 1, "R": 1, "S": 0.3, "T": 0.1,
}
SIZE_WEIGHTS = {
    EnterpriseSize.MICRO: 45, EnterpriseSize.SMALL: 35, EnterpriseSize.MEDIUM: 15,
    EnterpriseSize.LARGE: 5,
}
STATUS_WEIGHTS = {
    ActivityStatus.APPROVED: 76,
    ActivityStatus.SUBMITTED: 7,
    ActivityStatus.DRAFT: 5,
    ActivityStatus.RETURNED: 4,
    ActivityStatus.REJECTED: 3,
    ActivityStatus.CANCELLED: 5,
}
ROADS = [
    "人民路", "解放路", "中山路", "建设路", "科技大道", "工业园路", "创业路", "滨江大道",
    "文化路", "新华路",
]
MOBILE_PREFIXES = [
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "176", "177", "180", "181", "182", "183",
    "184", "185", "186", "187", "188", "189", "198", "199",
]
AREA_CODES = {
    "11": "010", "12": "022", "13": "0311", "14": "0351", "15": "0471", "21": "024", "22": "0431",
    "23": "0451", "31": "021", "32": "025", "33": "0571", "34": "0551", "35": "0591",
    "36": "0791", "37": "0531", "41": "0371", "42": "027", "43": "0731", "44": "020",
    "45": "0771", "46": "0898", "50": "023", "51": "028", "52": "0851", "53": "0871",
    "54": "0891", "61": "029", "62": "0931", "63": "0971", "64": "0951", "65": "0991",
    "66": "0993",
}
ETHNIC_LONGEST_FIRST = sorted(ETHNIC_GROUPS, key=len, reverse=True)
USCC_CHARACTERS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
GENERICS = (
    "自治县", "自治旗", "自治州", "林区", "特区", "新区", "地区", "市", "区", "县", "旗", "盟",
    "省",
)
# fmt: on


def organisation_code(body: str) -> str:
    """GB 11714 organisation code: 8 characters and their check character (USCC positions 9-17)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, weights, strict=True)
    )
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def short_place(name: str) -> str:
    """杭州市 → 杭州, 西湖区 → 西湖, 甘孜藏族自治州 → 甘孜; never a single character."""
    for generic in GENERICS:
        if name.endswith(generic) and len(name) - len(generic) >= 2:
            short = name[: -len(generic)]
            if generic.startswith("自治"):
                while group := next((g for g in ETHNIC_LONGEST_FIRST if short.endswith(g)), None):
                    if len(short) - len(group) < 2:
                        break
                    short = short[: -len(group)]
            return short
    return name


def weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --- writing rows in bulk ------------------------------------------------------------------------


CANCELLATION_REASONS = (
    "受台风天气影响，为保障参会人员安全，本次活动取消。",
    "因场地维修无法如期举办，活动取消，后续安排另行通知。",
    "根据工作安排调整，本次活动取消，给各企业带来不便敬请谅解。",
)


class BulkWriter:
    """Writes plain rows to a model's table as fast as the database allows.

    PostgreSQL gets COPY; SQLite gets executemany. Columns the caller does not give are filled
    with the field's default (or now, for automatic timestamps), so a field added to a model
    later does not break the seeding.
    """

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self.now = timezone.now()

    def _extra(self, model, columns: list[str]) -> tuple[list[str], tuple]:
        names, values = [], []
        for f in model._meta.concrete_fields:
            if f.column in columns or f.primary_key:
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = self.now
            elif f.has_default():
                value = f.get_default()
            elif f.null:
                value = None
            else:
                raise CommandError(
                    f"seed_demo does not know how to fill {model.__name__}.{f.name}: update it."
                )
            names.append(f.column)
            values.append(f.get_db_prep_save(value, connection))
        return names, tuple(values)

    def insert(self, model, columns: list[str], rows: Iterable[tuple]) -> int:
        extra_names, extra_values = self._extra(model, columns)
        names = columns + extra_names
        table = model._meta.db_table
        count = 0
        if self.postgres:
            from psycopg import sql

            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
            )
            with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row + extra_values)
                    count += 1
            return count
        fields = {f.column: f for f in model._meta.concrete_fields}
        datetime_positions = [
            i
            for i, name in enumerate(columns)
            if isinstance(fields.get(name), models.DateTimeField)
        ]
        adapt = connection.ops.adapt_datetimefield_value
        statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model  # nosec B608
            connection.ops.quote_name(table),
            ", ".join(connection.ops.quote_name(n) for n in names),
            ", ".join(["%s"] * len(names)),
        )
        iterator = iter(rows)
        with connection.cursor() as cursor:
            while batch := list(islice(iterator, 5000)):
                if datetime_positions:
                    batch = [
                        tuple(adapt(v) if i in datetime_positions else v for i, v in enumerate(row))
                        for row in batch
                    ]
                cursor.executemany(statement, [row + extra_values for row in batch])
                count += len(batch)
        return count

    def finish(self, models_with_ids) -> None:
        """Move the id sequences past the ids given explicitly."""
        statements = connection.ops.sequence_reset_sql(no_style(), models_with_ids)
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def next_id(model) -> int:
    return (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1


# --- the demo world ----------------------------------------------------------------------------


@dataclass
class Place:
    id: int
    code: str
    name: str
    city_name: str  # the name used in enterprise names: the city, or the municipality
    province_name: str


@dataclass
class Eligible:
    """What the registrations need to know about an activity open for sign-up."""

    id: int
    capacity: int | None
    opens: dt.datetime
    closes: dt.datetime
    cancelled: bool
    prefix: str
    demand: int | None = None  # how many enterprises sign up, when fixed
    attendee_limit: int = 2
    starts: dt.datetime | None = None


class DemoWorld:
    def __init__(self, rng: random.Random, campaign: Campaign):
        self.rng = rng
        self.campaign = campaign
        self.writer = BulkWriter()
        self.tz = ZoneInfo(settings.TIME_ZONE)
        regions = list(Region.objects.values("id", "code", "name_zh", "level", "parent_id"))
        by_id = {r["id"]: r for r in regions}
        self.by_code = {r["code"]: r for r in regions}
        self.provinces = [r for r in regions if r["level"] == RegionLevel.PROVINCE]
        self.cities = [
            r
            for r in regions
            if r["level"] == RegionLevel.CITY
            and not (r["code"][:2] in MUNICIPALITY_PREFIXES and r["code"][2:4] in MUNICIPAL_GROUPS)
        ]
        self.counties = [r for r in regions if r["level"] == RegionLevel.COUNTY]
        province_names = {r["code"][:2]: r["name_zh"] for r in self.provinces}

        def place(r) -> Place:
            parent = by_id.get(r["parent_id"])
            if (
                r["level"] == RegionLevel.COUNTY
                and parent
                and parent["code"][:2] not in MUNICIPALITY_PREFIXES
            ):
                city = parent["name_zh"] if parent["level"] == RegionLevel.CITY else r["name_zh"]
            elif r["level"] == RegionLevel.CITY and r["code"][:2] not in MUNICIPALITY_PREFIXES:
                city = r["name_zh"]
            else:
                city = province_names.get(r["code"][:2], r["name_zh"])
            return Place(
                r["id"], r["code"], r["name_zh"], city, province_names.get(r["code"][:2], "")
            )

        self.place = {r["id"]: place(r) for r in regions}
        self.counties_by_city: dict[int, list[dict]] = {}
        for c in self.counties:
            self.counties_by_city.setdefault(c["parent_id"], []).append(c)
        self.arrangements = {k.number: k for k in campaign.key_arrangements.all()}
        self.areas = {a.number: a.id for a in campaign.content_areas.all()}
        if len(self.arrangements) < 9 or len(self.areas) < 5:
            raise CommandError(f"The {campaign.year} campaign lacks arrangements or content areas.")

    # departments ---------------------------------------------------------------------------

    def departments(self, n_activities: int) -> None:
        national = list(Department.objects.filter(level=DepartmentLevel.NATIONAL, is_active=True))
        self.national: dict[str, Department] = {}
        for item in national_departments():
            found = _find_department(national, item)
            if found is not None:
                self.national[item["key"]] = found
        if "samr" not in self.national:
            raise CommandError("SAMR is missing: run `manage.py load_reference_data` first.")
        self.provincial = {
            d.region.code: d
            for d in Department.objects.filter(level=DepartmentLevel.PROVINCIAL, is_active=True)
            .select_related("region")
            .order_by("pk")
        }
        missing = [p["code"] for p in self.provinces if p["code"] not in self.provincial]
        if missing:
            raise CommandError(
                f"No provincial bureau for {', '.join(missing)}: run load_reference_data."
            )
        rng = self.rng
        n_city = min(len(self.cities), max(12, n_activities // 6))
        n_county = min(len(self.counties), max(8, n_activities // 40))
        wanted_cities = [c for c in self.cities if c["code"] in (HANGZHOU, "330200", "330300")]
        wanted_cities += rng.sample(
            [c for c in self.cities if c not in wanted_cities], n_city - len(wanted_cities)
        )
        wanted_counties = [c for c in self.counties if c["code"] in (XIHU, "330110")]
        wanted_counties += rng.sample(
            [c for c in self.counties if c not in wanted_counties], n_county - len(wanted_counties)
        )
        self.city_bureaus = self._bureaus(wanted_cities, DepartmentLevel.CITY, {})
        city_bureau_by_region = {d.region_id: d for d in self.city_bureaus}
        self.county_bureaus = self._bureaus(
            wanted_counties, DepartmentLevel.COUNTY, city_bureau_by_region
        )
        self.provincial_list = list(self.provincial.values())
        self.cities_by_prefix: dict[str, list[dict]] = {}
        for c in self.cities:
            self.cities_by_prefix.setdefault(c["code"][:2], []).append(c)

    def _bureaus(
        self, regions: list[dict], level: str, parents: dict[int, Department]
    ) -> list[Department]:
        existing = {
            (d.region_id, d.name_zh): d
            for d in Department.objects.filter(
                level=level, region_id__in=[r["id"] for r in regions]
            )
        }
        english = dict(
            Region.objects.filter(id__in=[r["id"] for r in regions]).values_list("id", "name_en")
        )
        found, new = [], []
        for r in regions:
            name = f"{r['name_zh']}市场监督管理局"
            if (r["id"], name) in existing:
                found.append(existing[(r["id"], name)])
                continue
            parent = parents.get(r["parent_id"]) or self.provincial[r["code"][:2] + "0000"]
            name_en = f"{english.get(r['id']) or r['name_zh']} Administration for Market Regulation"
            new.append(
                Department(
                    name_zh=name,
                    name_en=name_en[:300],
                    short_name_zh=f"{short_place(r['name_zh'])}市场监管局"[:50],
                    short_name_en=f"{english.get(r['id']) or ''} AMR".strip()[:50],
                    level=level,
                    region_id=r["id"],
                    parent=parent,
                )
            )
        Department.objects.bulk_create(new, batch_size=2000)
        created = list(
            Department.objects.filter(
                level=level,
                region_id__in=[d.region_id for d in new],
                name_zh__in=[d.name_zh for d in new],
            ).select_related("region")
        )
        return found + created

    # enterprises ---------------------------------------------------------------------------

    def enterprises(self, n: int) -> None:
        rng = self.rng
        first = next_id(Enterprise)
        self.enterprise_first_id = first
        self.enterprise_count = n
        self.enterprises_by_prefix: dict[str, list[int]] = {}
        taken = set(Enterprise.objects.values_list("uscc", flat=True))
        names: set[str] = set(Enterprise.objects.values_list("name", flat=True))
        zhejiang = [c for c in self.counties if c["code"].startswith("33")]
        industries, industry_weights = list(INDUSTRY_WEIGHTS), list(INDUSTRY_WEIGHTS.values())
        sizes, size_weights = list(SIZE_WEIGHTS), list(SIZE_WEIGHTS.values())
        counter = rng.randrange(10_000, 1_000_000)
        self.demo_enterprise: tuple[int, dict] | None = None

        def rows() -> Iterator[tuple]:
            nonlocal counter
            for i in range(n):
                if i == 0:
                    region = self.by_code.get(XIHU) or rng.choice(self.counties)
                elif rng.random() < 0.12:
                    region = rng.choice(zhejiang)
                else:
                    region = rng.choice(self.counties)
                place = self.place[region["id"]]
                industry = rng.choices(industries, weights=industry_weights)[0]
                size = rng.choices(sizes, weights=size_weights)[0]
                cooperative = industry == "A" and rng.random() < 0.5
                while True:
                    counter += 1
                    if counter % 3:
                        body = "MA" + "".join(rng.choice(USCC_CHARACTERS) for _ in range(6))
                    else:
                        body = f"{counter % 100_000_000:08d}"
                    uscc = uscc_complete(
                        ("93" if cooperative else "91") + region["code"] + organisation_code(body)
                    )
                    if uscc not in taken:
                        taken.add(uscc)
                        break
                city = short_place(place.city_name)
                word = rng.choice(INDUSTRY_WORDS[industry])
                for attempt in range(20):
                    brand = rng.choice(BRANDS)
                    if cooperative:
                        name = f"{short_place(place.name)}{brand}{word}专业合作社"
                    else:
                        suffix = rng.choices(
                            ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司"],
                            weights=[70, 12, 14, 4],
                        )[0]
                        name = f"{city}{brand}{word}{suffix}"
                    if attempt >= 10:
                        name = f"{city}{brand}{word}{short_place(place.name)}{attempt}号分公司"
                    if name not in names:
                        break
                names.add(name)
                address_prefix = (
                    place.province_name if place.province_name != place.city_name else ""
                )
                address = (
                    f"{address_prefix}{place.city_name}"
                    f"{place.name if place.name != place.city_name else ''}"
                    f"{rng.choice(ROADS)}{rng.randint(1, 999)}号"
                )
                contact = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
                mobile = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
                enterprise_id = first + i
                created = dt.datetime(2023, 1, 1, 9, tzinfo=self.tz) + dt.timedelta(
                    minutes=rng.randrange(600 * 24 * 60)
                )
                self.enterprises_by_prefix.setdefault(region["code"][:2], []).append(enterprise_id)
                if i == 0:
                    self.demo_enterprise = (
                        enterprise_id,
                        {
                            "uscc": uscc,
                            "name": name,
                            "region": region["id"],
                            "industry": industry,
                            "size": size,
                            "address": address,
                            "contact_name": contact,
                            "mobile": mobile,
                            "email": f"qm{i:07d}@example.com",
                        },
                    )
                yield (
                    enterprise_id,
                    name,
                    uscc,
                    region["id"],
                    industry,
                    size,
                    address,
                    contact,
                    mobile,
                    f"qm{i:07d}@example.com",
                    created,
                    created,
                )

        self.writer.insert(
            Enterprise,
            [
                "id",
                "name",
                "uscc",
                "region_id",
                "industry",
                "size",
                "address",
                "contact_name",
                "mobile",
                "email",
                "created_at",
                "updated_at",
            ],
            rows(),
        )

    # activities ----------------------------------------------------------------------------

    def _fixed_specs(self) -> list[dict]:
        """Activities that make the demo logins worth signing in with, in every state."""
        zj = self.provincial[ZHEJIANG]
        samr = self.national["samr"]
        hangzhou = self.by_code.get(HANGZHOU) or self.by_code[ZHEJIANG]
        beijing = self.by_code["110000"]
        approved, submitted = ActivityStatus.APPROVED, ActivityStatus.SUBMITTED

        def spec(organiser, region, ka, template, status, **extra):
            return {
                "organiser": organiser,
                "region": region,
                "ka": ka,
                "template": template,
                "status": status,
                "fixed": True,
                **extra,
            }

        return [
            spec(samr, beijing, 1, 0, approved, day=2),
            spec(samr, beijing, 1, 1, approved, day=3),
            spec(samr, beijing, 6, 8, submitted),
            spec(zj, hangzhou, 9, 0, approved, day=1),
            spec(zj, hangzhou, 2, 0, approved, capacity=40),
            # Five places, eight enterprises interested: a waiting list to show.
            spec(zj, hangzhou, 8, 0, approved, capacity=5, demand=8),
            spec(zj, hangzhou, 3, 0, submitted),
            spec(zj, hangzhou, 5, 1, ActivityStatus.RETURNED),
            spec(zj, hangzhou, 6, 1, ActivityStatus.DRAFT),
        ]

    def _random_spec(self) -> dict:
        rng = self.rng
        ka = weighted(rng, ARRANGEMENT_WEIGHTS)
        kind = rng.random()
        if kind < 0.06:
            # A national department organises the work that is its own.
            template = rng.randrange(len(TEMPLATES[ka]))
            owners = [k for k in TEMPLATES[ka][template][3] if k in self.national] or ["samr"]
            organiser = self.national[rng.choice(owners)]
            region = self.by_code["110000"] if rng.random() < 0.4 else rng.choice(self.cities)
            return {
                "organiser": organiser,
                "region": region,
                "ka": ka,
                "template": template,
                "status": None,
                "fixed": False,
            }
        elif kind < 0.26:
            organiser = rng.choice(self.provincial_list)
            cities = self.cities_by_prefix.get(organiser.region.code[:2], [])
            region = (
                rng.choice(cities)
                if cities and rng.random() < 0.7
                else self.by_code[organiser.region.code]
            )
        elif kind < 0.70 and self.city_bureaus:
            organiser = rng.choice(self.city_bureaus)
            counties = self.counties_by_city.get(organiser.region_id, [])
            region = (
                rng.choice(counties)
                if counties and rng.random() < 0.4
                else self.by_code[organiser.region.code]
            )
        else:
            organiser = rng.choice(self.county_bureaus or self.city_bureaus)
            region = self.by_code[organiser.region.code]
        return {
            "organiser": organiser,
            "region": region,
            "ka": ka,
            "template": None,
            "status": None,
            "fixed": False,
        }

    def activities(self, n: int, staff: dict[int, User]) -> None:
        rng = self.rng
        tz = self.tz
        first = next_id(Activity)
        self.activity_first_id = first
        self.eligible: list[Eligible] = []
        area_rows: list[tuple[int, int]] = []
        co_rows: list[tuple[int, int]] = []
        fixed = self._fixed_specs()
        statuses, status_weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
        year = self.campaign.year
        local_templates = {
            ka: [t for t in templates if not t[2]] for ka, templates in TEMPLATES.items()
        }

        def rows() -> Iterator[tuple]:
            for i in range(n):
                spec = fixed[i] if i < len(fixed) else self._random_spec()
                activity_id = first + i
                organiser, region, ka = spec["organiser"], spec["region"], spec["ka"]
                if spec["template"] is not None:
                    template, kind, national_only, _owners = TEMPLATES[ka][spec["template"]]
                else:
                    template, kind, national_only, _owners = rng.choice(local_templates[ka])
                place = region["name_zh"]
                company = (
                    f"{short_place(self.place[region['id']].city_name)}{rng.choice(BRANDS)}"
                    + rng.choice(INDUSTRY_WORDS["C"])
                    + "有限公司"
                )
                title = template.format(
                    place=place,
                    short=short_place(place),
                    industry=rng.choice(INDUSTRIES),
                    company=company,
                    year=year,
                )
                if "{place}" not in template and not national_only:
                    roll = rng.random()
                    if roll < 0.45:
                        title = f"{place}{title}"
                    elif roll < 0.6:
                        title = f"{title}（{place}站）"
                    elif roll < 0.7:
                        title = f"{title}（第{rng.randint(2, 6)}期）"
                signup_share, capacity_range, hours, audience, noun = KINDS[kind]
                duration = rng.randint(*hours)
                hour = rng.choice([9, 9, 9, 10, 14, 14])
                if hour >= 14 and duration < 24:
                    duration = min(duration, 4)  # afternoon events end by the evening
                days = duration // 24  # events of several days end at 17:30 of their last day
                day = spec.get("day") or rng.randint(1, 30 - days)  # all within September
                start = dt.datetime(year, 9, day, hour, rng.choice([0, 0, 30]), tzinfo=tz)
                end = start + dt.timedelta(hours=duration)
                if days:
                    end = (start + dt.timedelta(days=days)).replace(hour=17, minute=30)
                status = spec["status"] or rng.choices(statuses, weights=status_weights)[0]
                signup = rng.random() < signup_share or (spec["fixed"] and kind != "publicity")
                attendee_limit = rng.choice([1, 1, 2, 2, 2, 3, 5])
                capacity = None
                opens = closes = None
                if signup:
                    if capacity_range and rng.random() < 0.9:
                        capacity = rng.randint(*capacity_range)
                    capacity = spec.get("capacity", capacity)
                    opens = (start - dt.timedelta(days=rng.randint(10, 30))).replace(
                        hour=9, minute=0
                    )
                    closes = (start - dt.timedelta(days=rng.randint(1, 3))).replace(
                        hour=17, minute=0
                    )
                    if status in (ActivityStatus.APPROVED, ActivityStatus.CANCELLED):
                        self.eligible.append(
                            Eligible(
                                activity_id,
                                capacity,
                                opens,
                                closes,
                                status == ActivityStatus.CANCELLED,
                                region["code"][:2],
                                spec.get("demand"),
                                attendee_limit,
                                start,
                            )
                        )
                online = kind == "online" or rng.random() < 0.08
                venue_template = rng.choice(VENUES[kind])
                venue = "" if kind == "online" else venue_template.format(place=place)
                online_url = f"https://live.{DEMO_DOMAIN}/{year}/{activity_id}" if online else ""
                co = []
                if rng.random() < 0.15:
                    if (
                        organiser.level in (DepartmentLevel.CITY, DepartmentLevel.COUNTY)
                        and organiser.parent_id
                    ):
                        co.append(organiser.parent_id)
                    else:
                        keys = [k for k in ARRANGEMENT_DEPARTMENTS[ka] if k in self.national]
                        co += {self.national[k].pk for k in rng.sample(keys, min(2, len(keys)))} - {
                            organiser.pk
                        }
                co_rows.extend((activity_id, d) for d in co)
                areas = ARRANGEMENT_AREAS[ka]
                area_rows.extend(
                    (activity_id, self.areas[a]) for a in areas[: rng.randint(1, len(areas))]
                )
                organiser_name = organiser.name_zh
                summary = (
                    f"面向{audience}，由{organiser.short_name_zh or organiser_name}主办，免费参加。"
                )
                description = (
                    f"{ARRANGEMENT_SENTENCES[ka]}本次{noun}由{organiser_name}主办，面向{audience}。"
                    + ("欢迎企业在报名期限内自愿报名。" if signup else "欢迎广大群众现场参与。")
                    + "活动坚持自愿参加原则，不向企业收取任何费用，也不搭车收费。"
                )
                created = start - dt.timedelta(days=rng.randint(35, 60), minutes=rng.randrange(600))
                updated = created + dt.timedelta(days=rng.randint(0, 20))
                contact = rng.choice(SURNAMES) + rng.choice(CONTACT_TITLES)
                area_code = AREA_CODES.get(region["code"][:2], "010")
                phone = f"{area_code}-{rng.randint(2, 8)}{rng.randrange(10_000_000):07d}"
                no_fee = status != ActivityStatus.DRAFT or rng.random() < 0.5
                creator = staff.get(organiser.pk)
                yield (
                    activity_id,
                    self.campaign.pk,
                    self.arrangements[ka].pk,
                    organiser.pk,
                    title[:200],
                    summary[:500],
                    description,
                    region["id"],
                    venue,
                    online_url,
                    start,
                    end,
                    signup,
                    capacity,
                    opens,
                    closes,
                    attendee_limit,
                    contact,
                    phone,
                    "",
                    no_fee,
                    status,
                    creator.pk if creator else None,
                    created,
                    updated,
                    # Everything past the draft was submitted once, a little after it was made.
                    None if status == ActivityStatus.DRAFT else created + dt.timedelta(days=2),
                    rng.choice(CANCELLATION_REASONS) if status == ActivityStatus.CANCELLED else "",
                )

        self.writer.insert(
            Activity,
            [
                "id",
                "campaign_id",
                "key_arrangement_id",
                "organiser_id",
                "title",
                "summary",
                "description",
                "region_id",
                "venue",
                "online_url",
                "starts_at",
                "ends_at",
                "signup_enabled",
                "capacity",
                "signup_opens_at",
                "signup_closes_at",
                "attendees_per_enterprise",
                "contact_name",
                "contact_phone",
                "contact_email",
                "no_fee_declared",
                "status",
                "created_by_id",
                "created_at",
                "updated_at",
                "submitted_at",
                "cancellation_reason",
                "search_text",  # appended by with_search_text (end of this file)
            ],
            with_search_text(rows(), title=4, summary=5, description=6),
        )
        areas_field = Activity._meta.get_field("content_areas")
        self.writer.insert(
            areas_field.remote_field.through,
            [areas_field.m2m_column_name(), areas_field.m2m_reverse_name()],
            iter(area_rows),
        )
        co_field = Activity._meta.get_field("co_organisers")
        self.writer.insert(
            co_field.remote_field.through,
            [co_field.m2m_column_name(), co_field.m2m_reverse_name()],
            iter(co_rows),
        )

    # registrations -------------------------------------------------------------------------

    def registrations(self, n: int) -> int:
        rng = self.rng
        eligible = self.eligible
        n_enterprises = self.enterprise_count
        if not eligible or not n_enterprises or not n:
            return 0
        # Demand is skewed (log-normal): most activities fill a part of their places, popular
        # ones all of them and have a waiting list (of at most as many again).
        limits = [min(n_enterprises, 2 * a.capacity if a.capacity else 600) for a in eligible]
        if sum(limits) < n:
            limits = [n_enterprises] * len(eligible)
        counts = [
            min(a.demand, limit, n) if a.demand else 0
            for a, limit in zip(eligible, limits, strict=True)
        ]
        free = n - sum(counts)
        weights = [
            0 if a.demand else (a.capacity or 80) * rng.lognormvariate(0, 1.2) for a in eligible
        ]
        total = sum(weights) or 1
        counts = [
            c or min(limit, int(free * w / total))
            for c, w, limit in zip(counts, weights, limits, strict=True)
        ]
        remaining = n - sum(counts)
        while remaining > 0:
            room = [j for j, c in enumerate(counts) if c < limits[j] and not eligible[j].demand]
            if not room:
                break
            for j in room[:remaining]:
                counts[j] += 1
            remaining = n - sum(counts)
        # The demo representative's enterprise takes part in a few Zhejiang activities.
        demo_id = self.demo_enterprise[0] if self.demo_enterprise else None
        forced = {
            j for j, a in enumerate(eligible) if a.prefix == "33" and not a.cancelled and counts[j]
        }
        forced = set(sorted(forced)[:3])
        first = self.enterprise_first_id
        all_ids = range(first, first + n_enterprises)

        def rows() -> Iterator[tuple]:
            for j, activity in enumerate(eligible):
                m = counts[j]
                if not m:
                    continue
                chosen: list[int] = []
                seen: set[int] = set()
                if j in forced and demo_id is not None:
                    chosen.append(demo_id)
                    seen.add(demo_id)
                if m > n_enterprises // 2:
                    for e in rng.sample(all_ids, m):
                        if e not in seen and len(chosen) < m:
                            chosen.append(e)
                            seen.add(e)
                local = self.enterprises_by_prefix.get(activity.prefix, [])
                for e in rng.sample(local, min(len(local), round(m * 0.75))):
                    if len(chosen) >= m:
                        break
                    if e not in seen:
                        chosen.append(e)
                        seen.add(e)
                while len(chosen) < m:
                    e = first + rng.randrange(n_enterprises)
                    if e not in seen:
                        chosen.append(e)
                        seen.add(e)
                window = (activity.closes - activity.opens).total_seconds()
                offsets = sorted(rng.random() * window for _ in chosen)
                confirmed = 0
                held = activity.starts is not None and activity.starts < now
                for e, offset in zip(chosen, offsets, strict=True):
                    created = activity.opens + dt.timedelta(seconds=offset)
                    updated = created
                    # A seat was free when it arrived (whatever became of it later).
                    seated = activity.capacity is None or confirmed < activity.capacity
                    confirmed_at = created if seated else None
                    withdrawn_at = checked_in_at = None
                    if activity.cancelled:
                        status = RegistrationStatus.CANCELLED
                        updated = activity.closes
                    elif e != demo_id and rng.random() < 0.04:
                        status = RegistrationStatus.WITHDRAWN
                        updated = withdrawn_at = (
                            created + (activity.closes - created) * rng.random()
                        )
                    elif seated:
                        status = RegistrationStatus.CONFIRMED
                        confirmed += 1
                        if held and rng.random() < 0.85:  # most came, and were checked in
                            checked_in_at = activity.starts + dt.timedelta(
                                minutes=rng.randint(-40, 20)
                            )
                            updated = checked_in_at
                    else:
                        status = RegistrationStatus.WAITING
                    while (code := "".join(choices(CHECK_IN_ALPHABET, k=8))) in codes:
                        pass
                    codes.add(code)
                    attendees = rng.randint(1, activity.attendee_limit)
                    attendee_counts.append(attendees)
                    yield (
                        registration_id + len(attendee_counts) - 1,
                        activity.id,
                        e,
                        status,
                        created,
                        updated,
                        attendees,
                        person_name(rng),
                        mobile_number(rng),
                        rng.choice(NOTES) if rng.random() < 0.05 else "",
                        code,
                        confirmed_at,
                        withdrawn_at,
                        checked_in_at,
                    )

        now = timezone.now()
        choices = rng.choices
        codes = set(Registration.objects.values_list("check_in_code", flat=True))
        registration_id = next_id(Registration)
        attendee_counts = array("B")
        count = self.writer.insert(
            Registration,
            [
                "id",
                "activity_id",
                "enterprise_id",
                "status",
                "created_at",
                "updated_at",
                "attendee_count",
                "contact_name",
                "contact_mobile",
                "note",
                "check_in_code",
                "confirmed_at",
                "withdrawn_at",
                "checked_in_at",
            ],
            rows(),
        )
        codes.clear()  # up to a million of them: free the memory now

        def attendee_rows() -> Iterator[tuple]:
            for offset, attendees in enumerate(attendee_counts):
                for _ in range(attendees):
                    yield (registration_id + offset, person_name(rng), mobile_number(rng))

        self.writer.insert(Attendee, ["registration_id", "name", "mobile"], attendee_rows())
        # Each activity's count of confirmed enterprises, as the sign-up service keeps it.
        confirmed = Registration.objects.filter(
            activity=OuterRef("pk"), status=RegistrationStatus.CONFIRMED
        )
        # Only rows that change: each updated row rewrites every index of the table.
        Activity.objects.filter(pk__gte=self.activity_first_id).filter(Exists(confirmed)).update(
            confirmed_count=Subquery(
                confirmed.order_by().values("activity").annotate(n=Count("pk")).values("n")
            )
        )
        return count


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def mobile_number(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


# --- the command --------------------------------------------------------------------------------


def positive_or_zero(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Make realistic demo data of a chosen size (activities in September 2024, enterprises, "
        "registrations) and one demo login per role. Refuses to run in production. Running it "
        "again only prints the logins."
    )

    def add_arguments(self, parser):
        parser.add_argument("--activities", type=positive_or_zero, default=80)
        parser.add_argument("--enterprises", type=positive_or_zero, default=60)
        parser.add_argument("--registrations", type=positive_or_zero, default=250)
        parser.add_argument(
            "--password", default=DEMO_PASSWORD, help="The password of every demo login."
        )
        parser.add_argument(
            "--seed", type=int, default=DEMO_YEAR, help="Random seed (same seed, same data)."
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run in production (PORTAL_MODE=production).")
        started = time.monotonic()
        load_reference_data()
        campaign = Campaign.objects.filter(year=DEMO_YEAR).first()
        if campaign is None:
            raise CommandError(
                f"There is no {DEMO_YEAR} campaign: run `manage.py load_reference_data`."
            )
        admin_email = DEMO_USERS[0].email
        if User.objects.filter(email__iexact=admin_email).exists():
            self.stdout.write(
                f"Demo data already present ({Activity.objects.count()} activities, "
                f"{Enterprise.objects.count()} enterprises, {Registration.objects.count()} "
                "registrations); nothing added. For another size, seed a fresh database."
            )
            self.print_logins(options["password"], changed_note=True)
            return
        if options["enterprises"] < 1:
            raise CommandError(
                "--enterprises must be at least 1: the demo representative needs one."
            )
        rng = random.Random(options["seed"])  # demo data from a seed, nothing secret  # nosec B311
        counts = {}
        # Demo addresses get no mail: the representative's welcome email stays in memory.
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
            transaction.atomic(),
        ):
            world = DemoWorld(rng, campaign)
            step = time.monotonic()
            world.departments(options["activities"])
            self.progress("Departments", len(world.city_bureaus) + len(world.county_bureaus), step)
            users = self.create_users(options["password"], world)
            step = time.monotonic()
            world.enterprises(options["enterprises"])
            self.progress("Enterprises", options["enterprises"], step)
            staff = {
                users["staff_samr"].department_membership.department_id: users["staff_samr"],
                users["staff_zj"].department_membership.department_id: users["staff_zj"],
            }
            step = time.monotonic()
            world.activities(options["activities"], staff)
            self.progress("Activities", options["activities"], step)
            step = time.monotonic()
            counts["registrations"] = world.registrations(options["registrations"])
            self.progress("Registrations", counts["registrations"], step)
            world.writer.finish([Enterprise, Activity, Registration])
            self.represent(users["enterprise"], world)
            step = time.monotonic()
            feedback = seed_feedback_demo(campaign, users, rng)
            self.progress("Feedback reports", feedback["reports"], step)
            audit_log(
                None,
                "qualitymonth.demo.seeded",
                actor=users["admin"],
                changes={
                    "activities": options["activities"],
                    "enterprises": options["enterprises"],
                    "registrations": counts["registrations"],
                    "seed": options["seed"],
                },
            )
        if connection.vendor == "postgresql":
            step = time.monotonic()
            with connection.cursor() as cursor:
                for model in (Enterprise, Activity, Registration, Department):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            self.progress("Statistics (ANALYZE)", None, step)
        if counts["registrations"] < options["registrations"]:
            self.stdout.write(
                f"Only {counts['registrations']} registrations fit: there are too few activities "
                "open for sign-up or too few enterprises."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f} s.")
        )
        self.print_logins(options["password"])

    def progress(self, label: str, count, started: float) -> None:
        amount = f"{count:>9,} " if count is not None else ""
        self.stdout.write(f"  {label:<22}{amount}({time.monotonic() - started:.1f} s)")

    def create_users(self, password: str, world: DemoWorld) -> dict[str, User]:
        """The demo logins, their roles granted through the account services (audited)."""
        now = timezone.now()
        users = {
            u.key: User.objects.create_user(
                email=u.email, password=password, full_name=u.full_name, email_verified_at=now
            )
            for u in DEMO_USERS
        }
        admin = users["admin"]
        platform_admin_grant(admin, actor=None)
        reviewer_assignment_grant(users["reviewer"], region=None, actor=admin)
        reviewer_assignment_grant(
            users["reviewer_zj"], region=Region.objects.get(code=ZHEJIANG), actor=admin
        )
        department_membership_grant(
            users["staff_samr"], department=world.national["samr"], actor=admin
        )
        department_membership_grant(
            users["staff_zj"], department=world.provincial[ZHEJIANG], actor=admin
        )
        return users

    def represent(self, user: User, world: DemoWorld) -> None:
        """The first verified claim to a credit code holds it: the demo representative's."""
        if world.demo_enterprise is None:
            return
        _id, details = world.demo_enterprise
        enterprise_claim_submit(user, details=details, actor=user)

    def print_logins(self, password: str, changed_note: bool = False) -> None:
        rows = []
        for u in DEMO_USERS:
            user = User.objects.filter(email__iexact=u.email).first()
            if user is None:
                continue
            scope = ""
            if u.key in ("reviewer_zj",) and hasattr(user, "reviewer_assignment"):
                scope = str(user.reviewer_assignment.region.name_zh)
            elif u.key.startswith("staff") and hasattr(user, "department_membership"):
                scope = user.department_membership.department.name_zh
            elif u.key == "enterprise":
                held = (
                    EnterpriseRepresentative.objects.filter(
                        user=user, status=RepresentationStatus.APPROVED
                    )
                    .select_related("enterprise")
                    .first()
                )
                scope = held.enterprise.name if held else ""
            elif u.key == "reviewer":
                scope = "全国"
            elif u.key == "admin":
                scope = "/admin/"
            rows.append((u.role, u.email, password, scope))
        if not rows:
            return
        headers = ("Role", "Email", "Password", "Scope")
        widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(3)]
        line = "  ".join("-" * w for w in widths)
        self.stdout.write("")
        self.stdout.write(f"Demo logins at {settings.SITE_URL}/ :")
        self.stdout.write(
            "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)) + "  " + headers[3]
        )
        self.stdout.write(line + "  " + "-" * 20)
        for r in rows:
            self.stdout.write(
                "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)) + "  " + r[3]
            )
        if changed_note:
            self.stdout.write("(The password is the demo one unless someone changed it.)")


# --- search text (activities/search.py) ---------------------------------------------------------


def with_search_text(rows: Iterable[tuple], *, title: int, summary: int, description: int):
    """Each activity row with its search text appended: the characters and character pairs the
    public search looks up (activities/search.py). `title` etc. are the texts' positions."""
    from activities.search import search_text_for

    for row in rows:
        yield (*row, search_text_for(row[title], row[summary], row[description]))
