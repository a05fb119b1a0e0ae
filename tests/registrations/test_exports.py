"""Exports of registrations: CSV and XLSX content (header, rows, byte order mark, Chinese), who
may export and with which personal data, streaming, the audit log, the query counts.

The same tests run on SQLite (rows built by Python) and on PostgreSQL (rows written by COPY): the
files must come out the same.
"""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from qualitymonth.models import AuditLogEntry
from registrations import exports
from registrations.models import Registration
from registrations.services import registration_check_in, registration_sign_up
from tests.factories import (
    ActivityFactory,
    AdminFactory,
    CityFactory,
    DepartmentFactory,
    DepartmentMembershipFactory,
    EnterpriseFactory,
    EnterpriseRepresentativeFactory,
    KeyArrangementFactory,
    ProvinceFactory,
    ReviewerAssignmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HEADER = [
    "Status",
    "Waiting-list position",
    "Enterprise",
    "Unified Social Credit Code",
    "Enterprise region",
    "Contact person",
    "Contact mobile",
    "Number of attendees",
    "Attendees (name and mobile)",
    "Note to the organiser",
    "Registered",
    "Confirmed",
    "Withdrawn",
    "Checked in",
]


def open_activity(**kwargs):
    now = timezone.now()
    starts = now + dt.timedelta(days=10)
    return ActivityFactory(
        **{
            "title": "浙江质量开放日",
            "starts_at": starts,
            "ends_at": starts + dt.timedelta(hours=3),
            "signup_opens_at": now - dt.timedelta(days=1),
            "signup_closes_at": now + dt.timedelta(days=5),
            "capacity": 1,
            **kwargs,
        }
    )


def signed_up(activity, name, attendees, region=None) -> Registration:
    enterprise = EnterpriseFactory(name=name, **({"region": region} if region else {}))
    user = EnterpriseRepresentativeFactory(enterprise=enterprise).user
    return registration_sign_up(
        activity,
        actor=user,
        enterprise=enterprise,
        attendees=attendees,
        contact_name="李经理",
        contact_mobile="13912345678",
        note="需要停车位, 谢谢",
    )


@pytest.fixture
def zhejiang():
    return ProvinceFactory(code="330000", name_zh="浙江省", name_en="Zhejiang")


@pytest.fixture
def activity(zhejiang):
    return open_activity(organiser=DepartmentFactory(region=zhejiang), region=zhejiang)


@pytest.fixture
def staff(activity):
    return DepartmentMembershipFactory(department=activity.organiser).user


@pytest.fixture
def registrations(activity, staff, zhejiang):
    """One confirmed (two attendees, checked in) and one waiting."""
    first = signed_up(
        activity,
        "杭州恒信精密机械有限公司",
        [{"name": "张三", "mobile": "13800138000"}, {"name": "李四", "mobile": "13700137000"}],
        region=zhejiang,
    )
    registration_check_in(activity, actor=staff, code=first.check_in_code)
    second = signed_up(
        activity, "宁波“海天”塑机, 有限公司", [{"name": "王五", "mobile": "13600136000"}]
    )
    return [Registration.objects.get(pk=first.pk), second]


def browser(user) -> Client:
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def export_url(activity, file_format="csv"):
    return reverse("organiser:activity_export", args=[activity.pk, file_format])


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def test_csv_streams_with_a_bom_the_header_and_the_rows_in_chinese(activity, staff, registrations):
    first = registrations[0]

    response = browser(staff).get(export_url(activity))

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert f"registrations-activity-{activity.pk}-" in response["Content-Disposition"]
    data = body(response)
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the mark
    rows = rows_of(data)
    assert rows[0] == HEADER
    assert rows[1] == [
        "Confirmed",
        "",
        "杭州恒信精密机械有限公司",
        first.enterprise.uscc,
        "Zhejiang",
        "李经理",
        "13912345678",
        "2",
        "张三 13800138000; 李四 13700137000",
        "需要停车位, 谢谢",
        local(first.created_at),
        local(first.confirmed_at),
        "",
        local(first.checked_in_at),
    ]
    assert rows[2][:3] == ["On the waiting list", "1", "宁波“海天”塑机, 有限公司"]
    assert rows[2][8] == "王五 13600136000"
    assert rows[2][11:] == ["", "", ""]
    assert len(rows) == 3


def test_csv_in_chinese_has_chinese_headers(activity, staff, registrations):
    client = browser(staff)
    client.cookies["django_language"] = "zh-hans"
    rows = rows_of(body(client.get(export_url(activity))))
    assert rows[0][2] != "Enterprise"  # the header speaks the reader's language
    assert rows[1][2] == "杭州恒信精密机械有限公司"
    assert rows[1][4] == "浙江省"  # Chinese readers get the Chinese region name


def test_csv_of_an_activity_without_registrations_is_the_header(activity, staff):
    rows = rows_of(body(browser(staff).get(export_url(activity))))
    assert rows == [HEADER]


def rows_in(response, file_format: str) -> list[list]:
    data = body(response)
    if file_format == "csv":
        return rows_of(data)
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    return [[c if c is not None else "" for c in row] for row in sheet.values]


def test_co_organisers_export_the_attendees_and_contacts_read_only(activity, registrations):
    """They run the door with the organiser: the same people as on the registrants page."""
    co = DepartmentFactory()
    activity.co_organisers.add(co)
    user = DepartmentMembershipFactory(department=co).user

    for file_format in ("csv", "xlsx"):
        response = browser(user).get(export_url(activity, file_format))
        assert response.status_code == 200
        rows = rows_in(response, file_format)
        assert rows[0] == HEADER
        assert rows[1][5:10] == [
            "李经理",
            "13912345678",
            "2" if file_format == "csv" else 2,
            "张三 13800138000; 李四 13700137000",
            "需要停车位, 谢谢",
        ]
    entry = AuditLogEntry.objects.filter(action="registrations.registrations.exported").last()
    assert entry.changes["personal_data"] is True


@pytest.mark.parametrize("region", ["province", "national"])
def test_reviewers_export_the_list_without_the_people(activity, registrations, region):
    user = ReviewerAssignmentFactory(region=activity.region if region == "province" else None).user
    people = {"Contact person", "Contact mobile", "Attendees (name and mobile)"}
    people.add("Note to the organiser")

    for file_format in ("csv", "xlsx"):
        response = browser(user).get(export_url(activity, file_format))
        assert response.status_code == 200
        rows = rows_in(response, file_format)
        assert rows[0] == [h for h in HEADER if h not in people]
        assert [str(v) for v in rows[1][:6]] == [
            "Confirmed",
            "",
            "杭州恒信精密机械有限公司",
            registrations[0].enterprise.uscc,
            "Zhejiang",
            "2",
        ]
        text = repr(rows)
        for personal in ("张三", "李四", "李经理", "13912345678", "139****", "138****", "停车位"):
            assert personal not in text, personal
    entries = AuditLogEntry.objects.filter(action="registrations.registrations.exported")
    assert [e.changes["personal_data"] for e in entries] == [False, False]


@pytest.mark.parametrize("who", ["other_staff", "enterprise", "nobody"])
def test_others_cannot_export(activity, registrations, who):
    if who == "other_staff":
        user = DepartmentMembershipFactory().user
    elif who == "enterprise":
        user = EnterpriseRepresentativeFactory(enterprise=registrations[0].enterprise).user
    else:
        user = UserFactory()
    for file_format in ("csv", "xlsx"):
        assert browser(user).get(export_url(activity, file_format)).status_code == 404
    assert not AuditLogEntry.objects.filter(action="registrations.registrations.exported").exists()


def test_every_export_is_audit_logged(activity, staff, registrations):
    client = browser(staff)
    body(client.get(export_url(activity, "csv")))
    body(client.get(export_url(activity, "xlsx")))

    entries = AuditLogEntry.objects.filter(action="registrations.registrations.exported").order_by(
        "id"
    )
    assert [(e.actor, e.object_id, e.changes["format"]) for e in entries] == [
        (staff, str(activity.pk), "csv"),
        (staff, str(activity.pk), "xlsx"),
    ]
    assert all(e.changes["personal_data"] is True for e in entries)


def test_xlsx_is_a_file_response_with_typed_cells(activity, staff, registrations):
    first = registrations[0]

    response = browser(staff).get(export_url(activity, "xlsx"))

    assert response.status_code == 200
    assert isinstance(response, FileResponse) and response.streaming
    assert response["Content-Type"] == exports_content_type()
    sheet = load_workbook(io.BytesIO(body(response))).active
    rows = list(sheet.values)
    assert list(rows[0]) == HEADER
    assert rows[1][2] == "杭州恒信精密机械有限公司"
    assert rows[1][7] == 2  # a number, not text
    registered = rows[1][10]
    assert isinstance(registered, dt.datetime)
    assert registered.strftime("%Y-%m-%d %H:%M") == local(first.created_at)
    assert rows[2][:2] == ("On the waiting list", 1)
    assert sheet.freeze_panes == "A2"


def exports_content_type():
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_export_makes_the_same_queries_for_1_and_3_registrations(zhejiang):
    def activity_with(n):
        a = open_activity(region=zhejiang, capacity=2)
        for i in range(n):
            signed_up(a, f"公司{n}-{i}", [{"name": "张三", "mobile": "13800138000"}])
        return a

    one, three = activity_with(1), activity_with(3)
    admin = AdminFactory()
    client = browser(admin)

    def count(activity, file_format):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(export_url(activity, file_format))
            body(response)
        return len(captured)

    for file_format in ("csv", "xlsx"):
        count(one, file_format)  # warm the session
        assert count(one, file_format) == count(three, file_format), file_format


# --- campaign exports (administrators) --------------------------------------------------------


def test_an_administrator_exports_a_campaign_optionally_by_region(activity, registrations):
    hangzhou = CityFactory(code="330100", parent=activity.region, name_en="Hangzhou")
    elsewhere = open_activity(campaign=activity.campaign, title="北京活动", capacity=5)
    signed_up(elsewhere, "北京某公司", [{"name": "赵六", "mobile": "13500135000"}])
    local_one = open_activity(campaign=activity.campaign, region=hangzhou, title="杭州活动")
    signed_up(local_one, "杭州某公司", [{"name": "钱七", "mobile": "13300133000"}])
    client = browser(AdminFactory())
    url = reverse("organiser:campaign_export", args=[activity.campaign.year, "csv"])

    every = rows_of(body(client.get(url)))
    zhejiang_only = rows_of(body(client.get(url, {"region": "330000"})))

    assert every[0][:5] == [
        "Activity ID",
        "Activity",
        "Organiser",
        "Activity region",
        "Activity starts",
    ]
    assert every[0][5:] == HEADER
    assert sorted(r[1] for r in every[1:]) == sorted(
        ["浙江质量开放日", "浙江质量开放日", "北京活动", "杭州活动"]
    )
    assert sorted(r[1] for r in zhejiang_only[1:]) == [
        "杭州活动",
        "浙江质量开放日",
        "浙江质量开放日",
    ]
    hengxin = next(r for r in every if r[7] == "杭州恒信精密机械有限公司")
    assert hengxin[13] == "张三 13800138000; 李四 13700137000"  # administrators see the mobiles
    entry = (
        AuditLogEntry.objects.filter(action="registrations.registrations.exported")
        .order_by("id")
        .last()
    )
    assert entry.changes["region"] == "330000"

    number = activity.key_arrangement.number
    other = KeyArrangementFactory(campaign=activity.campaign, number=50)
    open_activity(campaign=activity.campaign, key_arrangement=other, title="另一重点安排")
    by_arrangement = rows_of(body(client.get(url, {"key_arrangement": number})))
    assert [r[1] for r in by_arrangement[1:]] == ["浙江质量开放日", "浙江质量开放日"]
    assert client.get(url, {"key_arrangement": 99}).status_code == 404

    xlsx = client.get(reverse("organiser:campaign_export", args=[activity.campaign.year, "xlsx"]))
    sheet = load_workbook(io.BytesIO(body(xlsx)), read_only=True).active
    assert len(list(sheet.values)) == 5


def test_only_administrators_export_a_campaign(activity, staff, registrations):
    url = reverse("organiser:campaign_export", args=[activity.campaign.year, "csv"])
    for user in (staff, ReviewerAssignmentFactory(region=None).user):
        assert browser(user).get(url).status_code == 403
        assert browser(user).get(reverse("organiser:campaign_exports")).status_code == 403
    page = browser(AdminFactory()).get(reverse("organiser:campaign_exports"))
    assert page.status_code == 200 and url in page.content.decode()


# --- streaming ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_csv_comes_in_blocks_and_a_client_going_away_leaves_the_connection_usable(
    activity, staff, registrations, monkeypatch
):
    # Outside a test transaction, as in production: stopping COPY half-way cancels the statement.
    monkeypatch.setattr(exports, "CHUNK_BYTES", 64)
    response = browser(staff).get(export_url(activity))
    chunks = iter(response.streaming_content)
    first, second = next(chunks), next(chunks)
    assert first.startswith(exports.BOM) and not second.startswith(exports.BOM)
    response.close()  # the client went away half-way: the WSGI server closes the response
    assert Registration.objects.count() == 2  # the connection still answers
    whole = body(browser(staff).get(export_url(activity)))
    assert len(rows_of(whole)) == 3


def test_mask_mobile():
    assert exports.mask_mobile("13800138000") == "138****8000"
    assert exports.mask_mobile("") == ""
    assert exports.mask_mobile("123") == "****"


@pytest.mark.django_db
def test_cells_typed_by_enterprises_never_run_as_spreadsheet_formulas():
    from registrations.exports import defuse_formula

    assert defuse_formula("=CMD|'/c calc'!A1") == "'=CMD|'/c calc'!A1"
    assert defuse_formula("+86 138") == "'+86 138"
    assert defuse_formula("@SUM(A1)") == "'@SUM(A1)"
    assert defuse_formula("杭州质量科技有限公司") == "杭州质量科技有限公司"
    assert defuse_formula(3) == 3
