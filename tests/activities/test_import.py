"""Bulk import of activities from Excel: the template, the upload, every kind of bad cell, both
modes, files that are not spreadsheets, the annotated copy, the progress, and who may do what."""

import datetime as dt
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook, load_workbook

from activities import importing
from activities.enums import ActivityStatus
from activities.models import Activity, ActivityImport, ActivityImportMode, ActivityImportStatus
from qualitymonth.models import AuditLogEntry
from tests import factories

pytestmark = pytest.mark.django_db

START = reverse("activities:import_start")
TEMPLATE = reverse("activities:import_template")


def detail_url(job) -> str:
    return reverse("activities:import_detail", args=[job.pk])


def status_url(job) -> str:
    return reverse("activities:import_status", args=[job.pk])


def annotated_url(job) -> str:
    return reverse("activities:import_annotated", args=[job.pk])


class World:
    """A campaign with three arrangements and three content areas, Zhejiang with Hangzhou and a
    county, a bureau there with its staff, and a bureau in Jiangsu with its staff."""

    def __init__(self):
        self.campaign = factories.CampaignFactory()
        self.year = self.campaign.year
        self.arrangements = [
            factories.KeyArrangementFactory(campaign=self.campaign, number=n) for n in (1, 2, 3)
        ]
        self.areas = [
            factories.ContentAreaFactory(campaign=self.campaign, number=n) for n in (1, 2, 3)
        ]
        self.zhejiang = factories.ProvinceFactory(code="330000", name_zh="浙江省")
        self.hangzhou = factories.CityFactory(parent=self.zhejiang, code="330100", name_zh="杭州市")
        self.xihu = factories.CountyFactory(parent=self.hangzhou, code="330106", name_zh="西湖区")
        self.jiangsu = factories.ProvinceFactory(code="320000", name_zh="江苏省")
        self.bureau = factories.DepartmentFactory(region=self.zhejiang, name_zh="浙江省市场监管局")
        self.other_bureau = factories.DepartmentFactory(
            region=self.jiangsu, name_zh="江苏省市场监管局"
        )
        self.staff = factories.DepartmentMembershipFactory(department=self.bureau).user
        self.other_staff = factories.DepartmentMembershipFactory(department=self.other_bureau).user

    def at(self, month, day, hour=9) -> dt.datetime:
        return dt.datetime(self.year, month, day, hour)  # naive: Beijing time, as Excel holds it

    def good_row(self, **changes) -> dict:
        row = {
            "title": "质量开放日",
            "key_arrangement": f"2. {self.arrangements[1].title_zh}",
            "areas": [1, 3],
            "summary": "企业开放生产线，公众参观",
            "description": "上午参观，下午座谈。",
            "region": "330106 浙江省 杭州市 西湖区",
            "venue": "西湖区质量技术服务中心",
            "starts_at": self.at(9, 10, 9),
            "ends_at": self.at(9, 10, 17),
            "signup_enabled": importing.YES,
            "capacity": 50,
            "signup_opens_at": self.at(8, 20),
            "signup_closes_at": self.at(9, 8),
            "attendees_per_enterprise": 3,
            "contact_name": "王老师",
            "contact_phone": "0571-12345678",
            "contact_email": "zhiliangyue@example.cn",
            "no_fee_declared": importing.YES,
        }
        row.update(changes)
        return row


@pytest.fixture
def world():
    return World()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def fill(template: bytes, campaign, rows: list[dict]) -> bytes:
    """The downloaded template with `rows` typed into its data sheet, as staff would in Excel."""
    wb = load_workbook(io.BytesIO(template))
    ws = wb[importing.DATA_SHEET]
    columns = importing.template_columns(campaign)
    for row in rows:
        values = []
        for column in columns:
            if column.kind == importing.AREA:
                chosen = column.number in row.get("areas", ())
                values.append(importing.YES if chosen else None)
            else:
                values.append(row.get(column.key))
        ws.append(values)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def template_bytes(campaign) -> bytes:
    out = io.BytesIO()
    importing.template_workbook(campaign, out)
    return out.getvalue()


def workbook(world, rows: list[dict], campaign=None) -> bytes:
    campaign = campaign or world.campaign
    return fill(template_bytes(campaign), campaign, rows)


def upload(client, content: bytes, *, valid_rows=False, name="plan.xlsx", capture=None):
    data = {"file": SimpleUploadedFile(name, content, content_type=importing.XLSX_CONTENT_TYPE)}
    if valid_rows:
        data["import_valid_rows"] = "on"
    with capture(execute=True):
        return client.post(START, data)


@pytest.fixture
def run(django_capture_on_commit_callbacks, world):
    """Upload rows as the bureau's staff; returns the finished import job."""

    def run_import(rows=None, *, content=None, valid_rows=False, user=None):
        client = client_for(user or world.staff)
        content = content if content is not None else workbook(world, rows)
        response = upload(
            client, content, valid_rows=valid_rows, capture=django_capture_on_commit_callbacks
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        job = ActivityImport.objects.latest("pk")
        assert response.url == detail_url(job)
        return job

    return run_import


def errors_of(job) -> list[tuple]:
    return [(e["row"], e["column"], e["field"], e["message"]["en"]) for e in job.errors]


def column_letter(campaign, key) -> str:
    for index, column in enumerate(importing.template_columns(campaign)):
        if column.key == key and column.kind != importing.AREA:
            return importing.get_column_letter(index + 1)
    raise AssertionError(key)


# --- the template --------------------------------------------------------------------------------


def test_template_has_bilingual_headers_drop_down_lists_and_instructions(world):
    response = client_for(world.staff).get(TEMPLATE)
    assert response.status_code == 200
    assert response["Content-Type"] == importing.XLSX_CONTENT_TYPE
    assert f"quality-month-{world.year}-activities-template.xlsx" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == [
        importing.DATA_SHEET,
        importing.INSTRUCTIONS_SHEET,
        importing.LISTS_SHEET,
    ]
    assert wb.properties.keywords == f"qualitymonth-activities:{world.year}"
    ws = wb[importing.DATA_SHEET]
    headers = [c.value for c in ws[1]]
    assert headers[:2] == ["活动名称 Title", "重点安排 Key arrangement"]
    assert [h.splitlines()[0] for h in headers[2:5]] == [
        f"活动内容{n} Content area {n}" for n in (1, 2, 3)
    ]
    assert headers[2].splitlines()[1] == world.areas[0].title_zh
    assert "地区 Region" in headers and "承诺不收取任何费用 No fee is charged" in headers
    assert ws["A1"].comment.text.startswith("必填")

    lists = wb[importing.LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    arrangement_choices = [r[0] for r in lists.iter_rows(min_row=2, values_only=True) if r[0]]
    assert arrangement_choices == [f"{a.number}. {a.title_zh}" for a in world.arrangements]
    region_choices = [r[1] for r in lists.iter_rows(min_row=2, values_only=True) if r[1]]
    assert region_choices == [
        "320000 江苏省",
        "330000 浙江省",
        "330100 浙江省 杭州市",
        ("330106 浙江省 杭州市 西湖区"),
    ]

    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    arrangement = validations[f"B2:B{importing.MAX_ROWS + 1}"]
    assert arrangement.type == "list"
    assert arrangement.formula1 == f"'{importing.LISTS_SHEET}'!$A$2:$A$4"
    assert validations[f"C2:C{importing.MAX_ROWS + 1}"].formula1 == '"是 Yes,否 No"'
    region_letter = column_letter(world.campaign, "region")
    region = validations[f"{region_letter}2:{region_letter}{importing.MAX_ROWS + 1}"]
    assert region.formula1 == f"'{importing.LISTS_SHEET}'!$B$2:$B$5"
    starts = column_letter(world.campaign, "starts_at")
    assert ws.column_dimensions[starts].number_format == "yyyy-mm-dd hh:mm"
    assert validations[f"{starts}2:{starts}{importing.MAX_ROWS + 1}"].type == "date"

    text = "\n".join(
        str(v)
        for row in wb[importing.INSTRUCTIONS_SHEET].iter_rows(values_only=True)
        for v in row
        if v
    )
    for expected in (
        "使用方法 How to use",
        "不收费承诺 The no-fee declaration",
        "限制 Limits",
        "各列说明 Columns",
        "charges enterprises no fee of any kind",
        "不以任何形式直接或间接向企业收取费用",
        "10,000",
        world.arrangements[0].title_en,
        world.areas[2].title_zh,
    ):
        assert expected in text


def test_the_template_round_trips(world, run):
    """Download the template, fill rows in with openpyxl, upload: imported as drafts."""
    template = client_for(world.staff).get(TEMPLATE).content
    rows = [
        world.good_row(),
        world.good_row(
            title="线上质量讲座",
            key_arrangement=3,
            areas=[2],
            region="330000",
            venue=None,
            online_url="https://live.example.cn/quality",
            signup_enabled=importing.NO,
            capacity=None,
            signup_opens_at=None,
            signup_closes_at=None,
            attendees_per_enterprise=None,
            starts_at=f"{world.year}-09-12 14:30",
            ends_at=f"{world.year}/09/12 16:00",
        ),
    ]
    job = run(content=fill(template, world.campaign, rows))

    assert (job.status, job.rows_total, job.rows_processed, job.created_count, job.errors) == (
        ActivityImportStatus.DONE,
        2,
        2,
        2,
        [],
    )
    first, second = Activity.objects.order_by("pk")
    assert first.status == second.status == ActivityStatus.DRAFT
    assert (first.organiser, first.campaign, first.created_by) == (
        world.bureau,
        world.campaign,
        world.staff,
    )
    assert first.key_arrangement == world.arrangements[1]
    assert list(first.content_areas.order_by("number")) == [world.areas[0], world.areas[2]]
    assert first.region == world.xihu
    assert timezone.localtime(first.starts_at).replace(tzinfo=None) == world.at(9, 10, 9)
    assert (first.signup_enabled, first.capacity, first.attendees_per_enterprise) == (True, 50, 3)
    assert (first.no_fee_declared, first.contact_phone) == (True, "0571-12345678")
    assert second.key_arrangement == world.arrangements[2]
    assert list(second.content_areas.all()) == [world.areas[1]]
    assert (second.region, second.venue, second.online_url) == (
        world.zhejiang,
        "",
        "https://live.example.cn/quality",
    )
    assert timezone.localtime(second.starts_at).strftime("%H:%M") == "14:30"
    assert (second.signup_enabled, second.capacity, second.attendees_per_enterprise) == (
        False,
        None,
        2,
    )
    # Created through the service: each activity's creation is in the audit log.
    assert AuditLogEntry.objects.filter(action="activities.activity.created").count() == 2
    logged = AuditLogEntry.objects.filter(action__startswith="activities.activityimport.")
    assert sorted(logged.values_list("action", "object_id")) == [
        ("activities.activityimport.finished", str(job.pk)),
        ("activities.activityimport.uploaded", str(job.pk)),
    ]

    page = client_for(world.staff).get(detail_url(job)).content.decode()
    assert "2 activities were imported as drafts of your department." in page
    assert "<progress" not in page


def test_co_organisers_by_name_and_no_fee_left_open_for_a_draft(world, run):
    """A draft may leave the no-fee declaration open (the service allows it)."""
    row = world.good_row(no_fee_declared=importing.NO, co_organisers="江苏省市场监管局；")
    job = run([row, world.good_row(no_fee_declared=None, title="第二场")])
    assert job.status == ActivityImportStatus.DONE
    assert job.created_count == 2
    first = Activity.objects.get(title="质量开放日")
    assert first.no_fee_declared is False
    assert list(first.co_organisers.all()) == [world.other_bureau]


# --- bad cells -----------------------------------------------------------------------------------

BAD_CELLS = [
    ("title", "", "title", "This column is required: fill it in."),
    ("title", "长" * 201, "title", "Ensure this value has at most 200 characters (it has 201)."),
    ("key_arrangement", "", "key_arrangement", "This column is required: fill it in."),
    ("key_arrangement", "12", "key_arrangement", "Unknown key arrangement “12”"),
    (
        "key_arrangement",
        "质量月大联欢",
        "key_arrangement",
        "Unknown key arrangement “质量月大联欢”",
    ),
    ("region", "999999", "region", "There is no region with the code 999999"),
    ("region", "火星", "region", "Unknown region “火星”"),
    ("region", "", "region", "This column is required: fill it in."),
    ("starts_at", "下周二", "starts_at", "Enter a date and time such as"),
    ("starts_at", f"{2000}-13-45 09:00", "starts_at", "Enter a date and time such as"),
    ("ends_at", "", "ends_at", "This column is required: fill it in."),
    ("capacity", 0, "capacity", "Ensure this value is greater than or equal to 1."),
    ("capacity", -5, "capacity", "Ensure this value is greater than or equal to 1."),
    ("capacity", "很多", "capacity", "Enter a whole number, e.g. 50."),
    ("attendees_per_enterprise", 2.5, "attendees_per_enterprise", "Enter a whole number"),
    ("signup_enabled", "也许", "signup_enabled", "Answer 是 Yes or 否 No"),
    ("contact_email", "not-an-email", "contact_email", "Enter a valid email address."),
    ("online_url", "live.example", "online_url", "Enter a valid URL."),
    ("co_organisers", "不存在的局", "co_organisers", "Unknown department “不存在的局”"),
]


@pytest.mark.parametrize(("key", "value", "column", "message"), BAD_CELLS)
def test_every_kind_of_bad_cell_is_reported_by_row_and_column(
    world, run, key, value, column, message
):
    job = run([world.good_row(), world.good_row(**{key: value})])
    assert job.status == ActivityImportStatus.INVALID
    assert job.created_count == 0
    assert not Activity.objects.exists()
    assert len(job.errors) == 1, errors_of(job)
    row, letter, field, text = errors_of(job)[0]
    assert (row, letter, field) == (3, column_letter(world.campaign, column), column)
    assert message in text
    assert job.error_count == 1


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        (
            {"ends_at": "starts"},  # replaced below: the end an hour before the start
            "ends_at",
            "An activity must end after it starts.",
        ),
        (
            {"signup_closes_at": "after-end"},
            "signup_closes_at",
            "Sign-up must close by the time the activity ends.",
        ),
        (
            {"signup_opens_at": None, "signup_closes_at": None},
            "signup_opens_at",
            "Say when sign-up opens.",
        ),
        ({"venue": None, "online_url": None}, "venue", "Give a venue, an online link, or both."),
    ],
)
def test_rules_across_cells_come_from_the_model(world, run, changes, column, message):
    if changes.get("ends_at") == "starts":
        changes["ends_at"] = world.at(9, 10, 8)
    if changes.get("signup_closes_at") == "after-end":
        changes["signup_closes_at"] = world.at(9, 11)
    job = run([world.good_row(**changes)])
    assert job.status == ActivityImportStatus.INVALID
    assert (2, column_letter(world.campaign, column), column, message) in errors_of(job)


def test_a_row_with_many_errors_reports_each_of_them(world, run):
    job = run([world.good_row(title="", key_arrangement="99", region="999999", capacity="x")])
    fields = [e["field"] for e in job.errors]
    assert fields == ["title", "key_arrangement", "region", "capacity"]
    assert {e["row"] for e in job.errors} == {2}


def test_a_content_area_the_campaign_lacks_is_reported_on_its_column(world, run):
    content = workbook(world, [world.good_row()])
    wb = load_workbook(io.BytesIO(content))
    ws = wb[importing.DATA_SHEET]
    ws["E1"] = "活动内容6 Content area 6"  # the third area's column, renamed
    ws["E2"] = importing.YES
    out = io.BytesIO()
    wb.save(out)
    job = run(content=out.getvalue())
    assert errors_of(job) == [
        (2, "E", "content_areas", f"The {world.year} campaign has no content area 6.")
    ]


def test_content_areas_of_another_campaign_are_refused_by_the_service(world, run):
    """A template of last year names last year's headings: the service's campaign check says so
    on the cells, and the page explains why."""
    last_year = factories.CampaignFactory(year=world.year - 1)
    for n in (1, 2, 3):
        factories.KeyArrangementFactory(campaign=last_year, number=n)
        factories.ContentAreaFactory(campaign=last_year, number=n)
    content = workbook(world, [world.good_row(key_arrangement=1, areas=[2])], campaign=last_year)
    job = run(content=content)

    assert job.status == ActivityImportStatus.INVALID
    with translation.override("en"):  # the services' own messages
        arrangement_message = str(_("Choose a key arrangement of this activity's campaign."))
        area_message = str(_("Choose content areas of this activity's campaign."))
    assert errors_of(job) == [
        (2, "B", "key_arrangement", arrangement_message),
        (2, "D", "content_areas", area_message),
    ]
    assert f"template of the {last_year.year} campaign" in job.notices[0]["en"]
    page = client_for(world.staff).get(detail_url(job)).content.decode()
    assert area_message.replace("'", "&#x27;") in page
    assert f"template of the {last_year.year} campaign" in page


def test_messages_are_kept_in_both_languages(world, run):
    job = run([world.good_row(venue=None)])
    message = job.errors[0]["message"]
    assert set(message) == {"zh-hans", "en"}
    assert message["en"] == "Give a venue, an online link, or both."


# --- the two modes -------------------------------------------------------------------------------


def mixed_rows(world) -> list[dict]:
    return [
        world.good_row(title="第一场"),
        world.good_row(title="第二场", region="999999"),
        world.good_row(title="第三场"),
        world.good_row(title="第四场", ends_at=world.at(9, 1)),
    ]


def test_a_mixed_file_imports_nothing_by_default(world, run):
    job = run(mixed_rows(world))
    assert job.mode == ActivityImportMode.ALL_OR_NOTHING
    assert job.status == ActivityImportStatus.INVALID
    assert (job.rows_total, job.rows_processed, job.created_count, job.error_count) == (4, 4, 0, 3)
    # The fourth activity ends before it starts, and so before its sign-up closes.
    assert [(e["row"], e["field"]) for e in job.errors] == [
        (3, "region"),
        (5, "ends_at"),
        (5, "signup_closes_at"),
    ]
    assert not Activity.objects.exists()
    assert not AuditLogEntry.objects.filter(action="activities.activity.created").exists()

    page = client_for(world.staff).get(detail_url(job)).content.decode()
    assert "Nothing was imported." in page
    assert "The file has 3 errors." in page
    assert "There is no region with the code 999999" in page
    assert annotated_url(job) in page


def test_a_mixed_file_on_request_imports_the_valid_rows_as_drafts(world, run):
    job = run(mixed_rows(world), valid_rows=True)
    assert job.mode == ActivityImportMode.VALID_AS_DRAFTS
    assert job.status == ActivityImportStatus.DONE
    assert (job.created_count, job.error_count) == (2, 3)
    assert sorted(Activity.objects.values_list("title", "status")) == [
        ("第一场", ActivityStatus.DRAFT),
        ("第三场", ActivityStatus.DRAFT),
    ]
    page = client_for(world.staff).get(detail_url(job)).content.decode()
    assert "2 activities were imported as drafts of your department." in page
    assert "2 rows with errors were not imported" in page
    assert "Errors by row and column" in page


def test_empty_rows_are_skipped_and_row_numbers_stay_those_of_excel(world, run):
    content = workbook(world, [world.good_row(), {}, {}, world.good_row(region="999999")])
    job = run(content=content)
    assert job.rows_total == 2
    assert [e["row"] for e in job.errors] == [5]


# --- files that cannot be imported ---------------------------------------------------------------


def zip_of(names: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "plan.pdf",
            b"%PDF-1.7\n1 0 obj<<>>endobj\n",
            "This is a PDF document, not a spreadsheet.",
        ),
        (
            "plan.xlsx",
            "活动名称,重点安排\n质量开放日,2\n".encode(),
            "This file is not an Excel workbook",
        ),
        ("plan.xlsx", b"", "The submitted file is empty."),
        ("plan.xlsx", zip_of({"readme.txt": b"hello"}), "This file is not an Excel workbook"),
        ("plan.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "old Excel 97"),
        ("plan.xlsx", b"PK\x03\x04 truncated", "This file is not an Excel workbook"),
    ],
    ids=["pdf", "text-renamed", "empty", "zip-of-text", "old-xls", "broken-zip"],
)
def test_a_file_that_is_not_a_spreadsheet_gets_a_clear_message(
    world, django_capture_on_commit_callbacks, name, content, message
):
    client = client_for(world.staff)
    response = upload(client, content, name=name, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ActivityImport.objects.exists()


def test_a_damaged_workbook_ends_the_import_with_a_clear_message(world, run):
    content = zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"not xml at all"})
    job = run(content=content)
    assert job.status == ActivityImportStatus.ERROR
    assert "could not be read as an Excel workbook" in job.failure["en"]
    page = client_for(world.staff).get(detail_url(job)).content.decode()
    assert "The file could not be imported." in page
    assert "could not be read as an Excel workbook" in page
    assert client_for(world.staff).get(annotated_url(job)).status_code == 404


def test_a_missing_required_column_is_named(world, run):
    wb = Workbook()
    ws = wb.active
    ws.append(["活动名称 Title", "Key arrangement", "地区", "开始时间 Starts"])
    ws.append(["质量开放日", 1, "330000", world.at(9, 10)])
    out = io.BytesIO()
    wb.save(out)
    job = run(content=out.getvalue())
    assert job.status == ActivityImportStatus.INVALID
    assert [e["message"]["en"] for e in job.errors] == [
        "The column “结束时间 Ends” is missing. Use the template's header row unchanged."
    ]


def test_a_sheet_without_activities_is_reported(world, run):
    job = run(content=template_bytes(world.campaign))
    assert job.status == ActivityImportStatus.INVALID
    assert errors_of(job) == [(2, "", "", "The file holds no activities below the header.")]


def test_too_many_rows_are_refused(world, run, monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    job = run([world.good_row(), world.good_row(), world.good_row()])
    assert job.status == ActivityImportStatus.INVALID
    assert "more than 2 activities" in job.errors[0]["message"]["en"]
    assert not Activity.objects.exists()


def test_a_file_over_the_size_limit_is_refused(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(importing, "MAX_UPLOAD_BYTES", 1000)
    content = workbook(world, [world.good_row()])
    response = upload(client_for(world.staff), content, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "larger than 0 MB" in response.content.decode() or "larger than" in (
        response.content.decode()
    )
    assert not ActivityImport.objects.exists()


# --- the annotated copy --------------------------------------------------------------------------


def test_the_annotated_file_marks_each_error_and_can_be_corrected_and_uploaded_again(world, run):
    job = run(mixed_rows(world))
    response = client_for(world.staff).get(annotated_url(job))
    assert response.status_code == 200
    assert "plan-errors.xlsx" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames[:2] == [importing.DATA_SHEET, importing.ERRORS_SHEET]
    ws = wb[importing.DATA_SHEET]
    region = column_letter(world.campaign, "region")
    ends = column_letter(world.campaign, "ends_at")
    errors_column = importing.get_column_letter(len(importing.template_columns(world.campaign)) + 1)

    assert ws[f"{errors_column}1"].value == importing.ERRORS_HEADER
    assert [ws[f"A{n}"].value for n in range(2, 6)] == ["第一场", "第二场", "第三场", "第四场"]
    cell = ws[f"{region}3"]
    assert cell.value == "999999"
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert "There is no region with the code 999999" in cell.comment.text
    assert "An activity must end after it starts." in ws[f"{ends}5"].comment.text
    assert ws[f"{region}2"].comment is None
    assert ws[f"{errors_column}2"].value is None
    assert ws[f"{errors_column}3"].value.startswith(f"{region}: ")
    # Dates stay dates.
    assert ws[f"{ends}2"].value == world.at(9, 10, 17)

    listed = list(wb[importing.ERRORS_SHEET].iter_rows(min_row=2, values_only=True))
    closes = column_letter(world.campaign, "signup_closes_at")
    assert [(r[0], r[1]) for r in listed] == [(3, region), (5, ends), (5, closes)]
    assert "There is no region with the code 999999" in listed[0][4]

    # Correct the two cells in the annotated copy and upload it as it is.
    ws[f"{region}3"] = "330000"
    ws[f"{ends}5"] = world.at(9, 10, 17)
    out = io.BytesIO()
    wb.save(out)
    again = run(content=out.getvalue())
    assert again.status == ActivityImportStatus.DONE, errors_of(again)
    assert again.created_count == 4


# --- progress ------------------------------------------------------------------------------------


def test_a_queued_import_shows_a_progress_bar_that_works_without_javascript(world):
    job = factories.ActivityImportFactory(
        campaign=world.campaign,
        department=world.bureau,
        created_by=world.staff,
        rows_total=40,
        rows_processed=10,
        error_count=3,
        status=ActivityImportStatus.RUNNING,
    )
    client = client_for(world.staff)
    page = client.get(detail_url(job)).content.decode()
    assert '<progress class="import-bar" max="40" value="10"' in page
    assert "Checked 10 of 40 rows; 3 errors so far." in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert "js/import-progress.js" in page
    assert f'data-import-status-url="{status_url(job)}"' in page

    state = client.get(status_url(job)).json()
    assert state == {
        "status": "running",
        "status_display": "Checking and importing",
        "finished": False,
        "processed": 10,
        "total": 40,
        "errors": 3,
        "created": 0,
    }


def test_the_task_saves_its_progress_every_few_rows(world, run, monkeypatch):
    monkeypatch.setattr(importing, "PROGRESS_EVERY", 2)
    saved = []
    original = importing._save_progress

    def spy(job, **values):
        saved.append(values)
        original(job, **values)

    monkeypatch.setattr(importing, "_save_progress", spy)
    run([world.good_row(title=f"第{n}场") for n in range(5)])
    assert saved == [
        {"rows_total": 5, "rows_processed": 0},
        {"rows_processed": 2, "error_count": 0},
        {"rows_processed": 4, "error_count": 0},
        {"rows_processed": 5, "error_count": 0},
    ]


def test_an_unreachable_task_queue_is_reported_on_the_import(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    from activities.tasks import run_activity_import

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(run_activity_import, "delay", broker_down)
    response = upload(
        client_for(world.staff),
        workbook(world, [world.good_row()]),
        capture=django_capture_on_commit_callbacks,
    )
    job = ActivityImport.objects.get()
    assert response.url == detail_url(job)
    assert job.status == ActivityImportStatus.ERROR
    assert "background service is not available" in job.failure["en"]
    assert not Activity.objects.exists()


def test_a_task_delivered_twice_imports_once(world, run):
    job = run([world.good_row()])
    assert importing.activity_import_run(job.pk) == ActivityImportStatus.DONE
    assert Activity.objects.count() == 1


# --- who may do what -----------------------------------------------------------------------------


def test_anonymous_people_are_sent_to_log_in(world):
    for url in (START, TEMPLATE):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/login/" in response.url


@pytest.mark.parametrize("role", ["enterprise", "reviewer", "nobody"])
def test_only_department_staff_may_import(world, role, django_capture_on_commit_callbacks):
    if role == "enterprise":
        user = factories.EnterpriseRepresentativeFactory().user
    elif role == "reviewer":
        user = factories.ReviewerAssignmentFactory().user
    else:
        user = factories.UserFactory()
    client = client_for(user)
    assert client.get(START).status_code == 403
    assert client.get(TEMPLATE).status_code == 403
    response = upload(
        client, workbook(world, [world.good_row()]), capture=django_capture_on_commit_callbacks
    )
    assert response.status_code == 403
    assert not ActivityImport.objects.exists()


def test_another_departments_import_is_not_found(world, run):
    job = run([world.good_row(region="999999")])
    intruder = client_for(world.other_staff)
    for url in (detail_url(job), status_url(job), annotated_url(job)):
        assert intruder.get(url).status_code == 404
    # A reviewer or an enterprise without a department is refused altogether.
    assert (
        client_for(factories.ReviewerAssignmentFactory().user).get(detail_url(job)).status_code
        == 403
    )
    # The bureau's other staff see it.
    colleague = factories.DepartmentMembershipFactory(department=world.bureau).user
    assert client_for(colleague).get(detail_url(job)).status_code == 200


def test_imported_activities_belong_to_the_uploaders_department(world, run):
    run([world.good_row()], user=world.other_staff)
    assert list(Activity.objects.values_list("organiser", flat=True)) == [world.other_bureau.pk]


def test_the_upload_page_lists_recent_imports_with_constant_queries(
    world, run, django_assert_num_queries
):
    run([world.good_row()])
    client = client_for(world.staff)
    client.get(START)  # warm the session and caches

    def count_queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = client.get(START)
        assert response.status_code == 200
        return len(captured)

    one = count_queries()
    run([world.good_row()])
    run([world.good_row()])
    assert count_queries() == one
    page = client.get(START).content.decode()
    assert page.count("plan.xlsx") == 3
    assert "Download the template (.xlsx)" in page
