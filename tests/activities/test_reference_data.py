"""The 2024 reference data, its idempotent loader, and importing regions from a CSV file."""

import io

import pytest
from django.core.management import CommandError, call_command

from activities.enums import CampaignStatus, DepartmentLevel, RegionLevel
from activities.models import Campaign, ContentArea, Department, KeyArrangement, Region
from activities.romanise import english_region_name, pinyin_word
from qualitymonth.models import AuditLogEntry

pytestmark = pytest.mark.django_db

CONTENT_AREAS = [
    ("坚定推进《质量强国建设纲要》实施", "Firmly promote the implementation of the Outline"),
    (
        "发挥质量对企业做强做优做大的作用",
        "Better play the role of quality in making enterprises bigger and stronger",
    ),
    (
        "发挥质量对产业强链的支撑作用",
        "Better play the role of quality in supporting strong industrial chains",
    ),
    (
        "发挥质量对城市可持续发展的促进作用",
        "Better play the role of quality in sustainable urban development",
    ),
    ("推动质量社会共治", "Promote social co-governance of quality"),
]
KEY_ARRANGEMENTS = [
    (
        "第五届中国质量奖颁奖和质量强国建设专家论坛",
        "Fifth China Quality Award ceremony and National Quality Power Expert Forum",
    ),
    ("质量强企系列活动", "Series of activities to strengthen quality enterprises"),
    ("质量强链行动", "Action of strong quality chains"),
    ("质量强县（区、镇）培育建设", "Cultivating counties (districts, towns) with strong quality"),
    ("重点领域质量提升", "Quality improvement in key areas"),
    ("重点产品质量安全保障", "Quality and safety assurance of key products"),
    ("打击侵权假冒违法犯罪", "Cracking down on infringement and counterfeiting"),
    ("质量惠民行动", "Quality benefiting the people"),
    ("群众性质量活动", "Mass quality activities"),
]


def load(*args) -> str:
    out = io.StringIO()
    call_command("load_reference_data", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def reference():
    load()


def import_csv(text: str, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_regions", "-", *args, stdin=io.StringIO(text), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- the 2024 campaign ---------------------------------------------------------------------------


def test_2024_has_exactly_nine_key_arrangements_with_the_circulars_titles(reference):
    campaign = Campaign.objects.get(year=2024)
    titles = list(
        KeyArrangement.objects.filter(campaign=campaign)
        .order_by("number")
        .values_list("number", "title_zh", "title_en")
    )
    assert titles == [(n, zh, en) for n, (zh, en) in enumerate(KEY_ARRANGEMENTS, start=1)]
    assert all(k.description_zh and k.description_en for k in campaign.key_arrangements.all())


def test_2024_has_exactly_five_content_areas_with_the_circulars_titles(reference):
    campaign = Campaign.objects.get(year=2024)
    titles = list(
        ContentArea.objects.filter(campaign=campaign)
        .order_by("number")
        .values_list("number", "title_zh", "title_en")
    )
    assert titles == [(n, zh, en) for n, (zh, en) in enumerate(CONTENT_AREAS, start=1)]
    assert all(a.description_zh and a.description_en for a in campaign.content_areas.all())


def test_2024_campaign_theme_month_and_deadline(reference):
    campaign = Campaign.objects.get(year=2024)
    assert campaign.theme_zh == "加强质量支撑 建设质量强国"
    assert campaign.theme_en == "Strengthen quality support and build a strong quality country"
    assert (str(campaign.month_start), str(campaign.month_end)) == ("2024-09-01", "2024-09-30")
    assert str(campaign.feedback_deadline) == "2024-10-31"
    assert campaign.status == CampaignStatus.OPEN
    assert campaign.name_zh == "2024年全国“质量月”活动"


# --- regions -------------------------------------------------------------------------------------


def test_32_provincial_units_with_their_gb_t_2260_codes(reference):
    provinces = dict(
        Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", "name_zh")
    )
    assert len(provinces) == 32
    assert provinces["110000"] == "北京市"
    assert provinces["330000"] == "浙江省"
    assert provinces["650000"] == "新疆维吾尔自治区"
    assert provinces["660000"] == "新疆生产建设兵团"
    assert not {"710000", "810000", "820000", "990000"} & set(provinces)
    assert Region.objects.get(code="660000").name_en == "Xinjiang Production and Construction Corps"


def test_cities_and_counties_hang_under_the_region_their_code_names(reference):
    cities = Region.objects.filter(level=RegionLevel.CITY)
    counties = Region.objects.filter(level=RegionLevel.COUNTY)
    assert cities.count() > 300
    assert counties.count() > 2800
    for region in Region.objects.exclude(level=RegionLevel.PROVINCE).select_related("parent"):
        assert region.parent is not None
        assert region.parent.covers(region), region.code
        assert region.parent.level != RegionLevel.COUNTY
        assert region.name_en
    # Taiwan, Hong Kong, Macao and the 99 pseudo-rows are not loaded.
    assert not Region.objects.filter(code__regex=r"^(71|81|82|99)").exists()


def test_known_regions_and_their_english_names(reference):
    def region(code):
        return Region.objects.select_related("parent").get(code=code)

    assert (region("330106").name_zh, region("330106").name_en) == ("西湖区", "Xihu District")
    assert region("330106").parent.code == "330100"
    assert region("110108").name_en == "Haidian District"
    assert region("330100").name_en == "Hangzhou City"
    assert region("522700").name_en == "Qiannan Bouyei and Miao Autonomous Prefecture"
    # A county-level city administered by its province hangs under the province.
    assert region("419001").parent.code == "410000"
    # The municipalities' districts are grouped as GB/T 2260 does, under a clear name.
    assert region("110100").name_zh == "北京市市辖区"
    assert region("110100").parent.code == "110000"


def test_romanisation_follows_place_name_conventions():
    assert pinyin_word("西安") == "Xi'an"
    assert pinyin_word("吕梁") == "Lüliang"
    assert english_region_name("歙县", "county") == "Shexian County"
    assert english_region_name("碑林区", "county") == "Beilin District"
    assert english_region_name("神农架林区", "county") == "Shennongjia Forestry District"
    assert english_region_name("长治市", "city") == "Changzhi City"
    assert english_region_name("六安市", "city") == "Lu'an City"
    assert english_region_name("东乡族自治县", "county") == "Dongxiang Autonomous County"
    assert english_region_name("锡林郭勒盟", "city") == "Xilingol League"
    assert english_region_name("阿鲁科尔沁旗", "county") == "Aluke'erqin Banner"


# --- departments ---------------------------------------------------------------------------------


def test_samr_is_the_one_lead_and_the_circulars_departments_are_there(reference):
    leads = list(Department.objects.filter(is_lead=True))
    assert [(d.name_zh, d.short_name_en) for d in leads] == [("国家市场监督管理总局", "SAMR")]
    national = set(
        Department.objects.filter(level=DepartmentLevel.NATIONAL).values_list("name_zh", flat=True)
    )
    assert {
        "工业和信息化部",
        "农业农村部",
        "水利部",
        "文化和旅游部",
        "国家卫生健康委员会",
        "住房和城乡建设部",
        "国家知识产权局",
        "公安部",
        "国家版权局",
        "国家电影局",
        "最高人民检察院",
        "国务院国有资产监督管理委员会",
        "中华全国总工会",
        "国家消防救援局",
        "海关总署",
    } <= national
    assert Department.objects.get(short_name_en="MIIT").name_en == (
        "Ministry of Industry and Information Technology"
    )


def test_every_provincial_unit_has_its_market_regulation_bureau(reference):
    bureaus = Department.objects.filter(level=DepartmentLevel.PROVINCIAL).select_related("region")
    assert sorted(b.region.code for b in bureaus) == sorted(
        Region.objects.filter(level=RegionLevel.PROVINCE).values_list("code", flat=True)
    )
    zhejiang = bureaus.get(region__code="330000")
    assert zhejiang.name_zh == "浙江省市场监督管理局"
    assert zhejiang.parent.is_lead
    assert bureaus.get(region__code="660000").name_zh == "新疆生产建设兵团市场监督管理局"


# --- idempotence ---------------------------------------------------------------------------------


def test_a_second_run_changes_nothing_with_few_queries(django_assert_max_num_queries):
    first = load()
    assert "Regions: 3220 created" in first
    counts = (Region.objects.count(), Department.objects.count(), KeyArrangement.objects.count())
    entries = AuditLogEntry.objects.count()
    with django_assert_max_num_queries(20):
        second = load()
    assert "0 created, 0 updated" in second
    assert "already in place" in second
    assert (Region.objects.count(), Department.objects.count(), KeyArrangement.objects.count()) == (
        counts
    )
    assert AuditLogEntry.objects.count() == entries


def test_a_second_run_keeps_what_administrators_corrected(reference):
    arrangement = KeyArrangement.objects.get(campaign__year=2024, number=8)
    arrangement.title_en = "Quality for the people"
    arrangement.save()
    Region.objects.filter(code="330106").update(name_en="West Lake District")
    samr = Department.objects.get(is_lead=True)
    samr.name_zh = "国家市场监管总局"  # renamed: still recognised by its other names
    samr.save()
    departments = Department.objects.count()

    load()

    assert KeyArrangement.objects.get(pk=arrangement.pk).title_en == "Quality for the people"
    assert Region.objects.get(code="330106").name_en == "West Lake District"
    assert Department.objects.count() == departments
    assert Department.objects.get(is_lead=True).name_zh == "国家市场监管总局"


def test_update_restores_the_shipped_data(reference):
    KeyArrangement.objects.filter(campaign__year=2024, number=8).update(title_en="Changed")
    Region.objects.filter(code="330106").update(name_en="West Lake District")

    output = load("--update")

    assert "Key arrangements: 0 created, 1 updated" in output
    assert KeyArrangement.objects.get(campaign__year=2024, number=8).title_en == (
        "Quality benefiting the people"
    )
    assert Region.objects.get(code="330106").name_en == "Xihu District"


def test_missing_rows_are_recreated_and_the_load_is_audited(reference):
    KeyArrangement.objects.filter(campaign__year=2024, number=9).delete()

    output = load()

    assert "Key arrangements: 1 created, 0 updated, 8 already present" in output
    entry = AuditLogEntry.objects.filter(action="activities.reference_data.loaded").first()
    assert entry.changes["Key arrangements"] == {"created": 1, "updated": 0}


# --- importing regions ---------------------------------------------------------------------------


def test_import_creates_and_updates_regions(reference):
    out, err = import_csv(
        "code,name_zh,name_en,parent_code\n"
        "330199,杭州示范区,,\n"  # parent from the code; English from the Pinyin
        "330106,西湖区,West Lake District,330100\n"
        "419099,示范市,Model City,410000\n"
    )
    assert err == ""
    assert "2 created, 1 updated" in out
    created = Region.objects.get(code="330199")
    assert (created.level, created.parent.code, created.name_en) == (
        RegionLevel.COUNTY,
        "330100",
        "Hangzhoushifan District",
    )
    assert Region.objects.get(code="330106").name_en == "West Lake District"
    assert Region.objects.get(code="419099").parent.code == "410000"
    entry = AuditLogEntry.objects.get(action="activities.regions.imported")
    assert entry.changes == {"created": ["330199", "419099"], "updated": ["330106"]}


def test_import_reports_every_bad_row_and_writes_nothing(reference):
    regions = Region.objects.count()
    with pytest.raises(CommandError, match="5 error"):
        import_csv(
            "code,name_zh,name_en,parent_code\n"
            "33010X,坏代码,,\n"
            "330198,,No Chinese name,\n"
            "330197,错父级,,320100\n"
            "330196,好的,,\n"
            "330196,重复,,\n"
            "330000,浙江省,Zhejiang,110000\n"
        )
    assert Region.objects.count() == regions
    assert not Region.objects.filter(code="330196").exists()


def test_import_errors_name_their_lines(reference):
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_regions",
            "-",
            stdin=io.StringIO("code,name_zh,name_en,parent_code\n33010X,坏代码,,\n"),
            stderr=err,
        )
    assert "第 2 行" in err.getvalue()  # line 2, in the portal's default language
    assert "33010X" in err.getvalue()


def test_import_needs_the_documented_columns(reference):
    with pytest.raises(CommandError):
        import_csv("code,name\n330199,杭州示范区\n")


def test_import_from_a_file_with_a_byte_order_mark(reference, tmp_path):
    path = tmp_path / "regions.csv"
    path.write_text("code,name_zh,name_en,parent_code\n330199,杭州示范区,,\n", encoding="utf-8-sig")
    out = io.StringIO()
    call_command("import_regions", str(path), stdout=out)
    assert Region.objects.filter(code="330199").exists()


def test_import_dry_run_writes_nothing(reference):
    out, _err = import_csv("code,name_zh,name_en,parent_code\n330199,杭州示范区,,\n", "--dry-run")
    assert "nothing written" in out
    assert not Region.objects.filter(code="330199").exists()
