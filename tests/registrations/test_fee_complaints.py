"""Fee complaints: anyone reports fees charged in the campaign's name; administrators handle them;
the reporter's identity never reaches anyone else."""

import datetime as dt

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from activities.enums import ActivityStatus
from qualitymonth.errors import DomainError, IllegalTransition, NotAllowed
from qualitymonth.models import AuditLogEntry
from registrations import complaints
from registrations.models import FeeComplaint, FeeComplaintEvidence, FeeComplaintStatus
from tests import factories

pytestmark = pytest.mark.django_db

REPORT = reverse("complaints:report")
THANKS = reverse("complaints:thanks")
QUEUE = reverse("complaints:queue")

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x02" * 200
WEBP_BYTES = b"RIFF\xd0\x00\x00\x00WEBPVP8 " + b"\x03" * 200
PDF_BYTES = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"

SECRET_NAME = "举报人张三丰"
SECRET_CONTACT = "zhang.sanfeng@reporter.example.cn"


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the emails queued on commit (tests run inside one transaction)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def activity():
    return factories.ActivityFactory(title="企业质量管理体系培训班")


@pytest.fixture
def admin():
    return factories.AdminFactory(full_name="平台管理员", email="admin@samr.example.cn")


def report_data(**overrides):
    data = {
        "description": "主办方要求每家企业缴纳2000元“资料费”才能参加。",
        "amount": "2000元/家",
        "occurred_on": "2024-09-03",
        "organiser_name": "",
        "reporter_name": "",
        "reporter_contact": "",
    }
    data.update(overrides)
    return data


def make_complaint(*, actor=None, activity=None, **fields):
    defaults = {
        "description": "要求缴纳会务费",
        "organiser_name": "" if activity else "某咨询公司",
        "reporter_name": SECRET_NAME,
        "reporter_contact": SECRET_CONTACT,
    }
    defaults.update(fields)
    return complaints.fee_complaint_submit(actor=actor, activity=activity, **defaults)


# --- submitting -----------------------------------------------------------------------------------


def test_anyone_reports_an_activity_without_an_account(english, activity, committed, mailoutbox):
    page = english.get(REPORT + f"?activity={activity.pk}")
    assert page.status_code == 200
    assert activity.title in page.content.decode()

    with committed():
        response = english.post(
            REPORT,
            report_data(
                activity=activity.pk,
                reporter_contact="whistle@example.cn",
                evidence=[upload("收据.jpg", JPEG_BYTES, "image/jpeg")],
            ),
        )
    assert response.status_code == 302
    assert response["Location"] == THANKS
    complaint = FeeComplaint.objects.get()
    assert complaint.activity == activity
    assert complaint.reporter is None
    assert complaint.status == FeeComplaintStatus.RECEIVED
    assert complaint.amount == "2000元/家"
    assert complaint.occurred_on == dt.date(2024, 9, 3)

    thanks = english.get(THANKS)
    text = thanks.content.decode()
    assert complaint.reference in text
    assert "We have sent you a confirmation by email" in text
    [ack] = [m for m in mailoutbox if m.to == ["whistle@example.cn"]]
    assert complaint.reference in ack.subject
    assert complaint.reference in ack.body


def test_a_signed_in_reporter_is_linked_to_their_account_and_told_by_email(
    client, activity, committed, mailoutbox
):
    rep = factories.EnterpriseRepresentativeFactory().user
    client.force_login(rep)
    with committed():
        response = client.post(REPORT, report_data(activity=activity.pk))
    assert response.status_code == 302
    complaint = FeeComplaint.objects.get()
    assert complaint.reporter == rep
    assert [m.subject for m in mailoutbox if m.to == [rep.email]] != []


def test_an_anonymous_report_without_an_email_sends_no_acknowledgment(
    english, committed, mailoutbox
):
    with committed():
        english.post(
            REPORT, report_data(organiser_name="某会展公司", reporter_contact="13800138000")
        )
    complaint = FeeComplaint.objects.get()
    assert complaint.organiser_name == "某会展公司"
    assert complaint.reporter_contact == "13800138000"
    assert [m for m in mailoutbox if "13800138000" in " ".join(m.to)] == []
    assert "we cannot tell you the outcome" in english.get(THANKS).content.decode()


def test_an_organiser_department_can_be_chosen(english):
    department = factories.NationalDepartmentFactory(name_en="Test Ministry of Things")
    response = english.post(REPORT, report_data(organiser=department.pk))
    assert response.status_code == 302
    assert FeeComplaint.objects.get().organiser == department


def test_the_find_button_lists_matching_activities_and_keeps_what_was_typed(english, activity):
    other = factories.ActivityFactory(title="计量检测开放日")
    draft = factories.ActivityFactory(title="质量管理草稿活动", status=ActivityStatus.DRAFT)
    response = english.post(REPORT, report_data(search="质量管理", find="1"))
    assert response.status_code == 200
    text = response.content.decode()
    assert activity.title in text
    assert other.title not in text
    assert draft.title not in text  # only what the public sees
    assert "主办方要求每家企业缴纳2000元" in text
    assert FeeComplaint.objects.count() == 0


def test_a_report_needs_a_description_and_who_charged(english):
    response = english.post(REPORT, report_data(description=""))
    assert response.status_code == 400
    text = response.content.decode()
    assert "This field is required." in text
    assert "Tell us who charged the fee" in text
    assert FeeComplaint.objects.count() == 0


def test_a_report_cannot_name_an_unpublished_activity(english):
    draft = factories.ActivityFactory(status=ActivityStatus.DRAFT)
    response = english.post(REPORT, report_data(activity=draft.pk))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_a_report_cannot_be_dated_in_the_future(english):
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    response = english.post(
        REPORT, report_data(organiser_name="某公司", occurred_on=tomorrow.isoformat())
    )
    assert response.status_code == 400
    assert "The day cannot be in the future." in response.content.decode()


def test_a_cancelled_activity_can_still_be_reported(english):
    cancelled = factories.ActivityFactory(status=ActivityStatus.CANCELLED)
    assert english.post(REPORT, report_data(activity=cancelled.pk)).status_code == 302


# --- evidence -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "stated", "expected"),
    [
        ("receipt.jpeg", JPEG_BYTES, "image/jpeg", "image/jpeg"),
        ("screenshot.png", PNG_BYTES, "image/png", "image/png"),
        ("chat.webp", WEBP_BYTES, "image/webp", "image/webp"),
        ("invoice.pdf", PDF_BYTES, "application/pdf", "application/pdf"),
        # Judged by content: a PNG sent with a wrong name and type is still a PNG.
        ("photo.pdf", PNG_BYTES, "application/pdf", "image/png"),
    ],
)
def test_evidence_of_accepted_types_is_kept_with_its_name_and_hash(
    english, name, content, stated, expected
):
    import hashlib

    response = english.post(
        REPORT, report_data(organiser_name="某公司", evidence=[upload(name, content, stated)])
    )
    assert response.status_code == 302
    [item] = FeeComplaintEvidence.objects.all()
    assert item.original_name == name
    assert item.content_type == expected
    assert item.size == len(content)
    assert item.sha256 == hashlib.sha256(content).hexdigest()
    stored = item.file.name
    assert stored.startswith("complaints/")
    assert name.rsplit(".", 1)[0] not in stored  # a random name, never the reporter's
    with item.file.open("rb") as handle:
        assert handle.read() == content


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("receipt.jpg", b"<html><script>alert(1)</script></html>", "is not a JPEG, PNG or WebP"),
        ("empty.png", b"", "“empty.png” is empty."),
        ("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64, "is not a JPEG"),
        ("tool.jpg", b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "is not a JPEG"),
        ("huge.jpg", JPEG_BYTES[:4] + b"\x00" * complaints.MAX_EVIDENCE_BYTES, "at most 10.0"),
    ],
)
def test_unacceptable_evidence_is_refused_and_nothing_is_saved(english, name, content, message):
    response = english.post(
        REPORT,
        report_data(organiser_name="某公司", evidence=[upload(name, content, "image/jpeg")]),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text
    assert name in text
    assert FeeComplaint.objects.count() == 0
    assert FeeComplaintEvidence.objects.count() == 0


def test_more_than_five_files_are_refused(english):
    files = [upload(f"p{n}.png", PNG_BYTES + bytes([n]), "image/png") for n in range(6)]
    response = english.post(REPORT, report_data(organiser_name="某公司", evidence=files))
    assert response.status_code == 400
    assert "Attach at most 5 files (you chose 6)." in response.content.decode()


def test_the_same_file_attached_twice_is_kept_once(english):
    files = [
        upload("a.jpg", JPEG_BYTES, "image/jpeg"),
        upload("b.jpg", JPEG_BYTES, "image/jpeg"),
        upload("c.pdf", PDF_BYTES, "application/pdf"),
    ]
    response = english.post(REPORT, report_data(organiser_name="某公司", evidence=files))
    assert response.status_code == 302
    assert sorted(FeeComplaintEvidence.objects.values_list("original_name", flat=True)) == [
        "a.jpg",
        "c.pdf",
    ]
    assert "“b.jpg” is the same file as “a.jpg”: it was kept once." in english.get(
        THANKS
    ).content.decode().replace("&ldquo;", "“").replace("&rdquo;", "”")


def test_the_service_refuses_bad_evidence_too():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        complaints.fee_complaint_submit(
            actor=None,
            description="x",
            organiser_name="某公司",
            evidence=[upload("a.jpg", b"GIF89a....", "image/jpeg")],
        )
    assert "evidence" in refused.value.message_dict
    assert FeeComplaint.objects.count() == 0


# --- rate limit -----------------------------------------------------------------------------------


def test_reports_from_one_address_are_limited_per_hour(english, settings):
    settings.FEE_COMPLAINTS_PER_HOUR = 2
    for _n in range(2):
        assert english.post(REPORT, report_data(organiser_name="某公司")).status_code == 302
    refused = english.post(REPORT, report_data(organiser_name="某公司"))
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "You have sent 2 reports from this connection within an hour" in text
    assert "主办方要求每家企业缴纳2000元" in text  # what they typed is kept
    assert FeeComplaint.objects.count() == 2
    # Another address is not affected.
    other = english.post(REPORT, report_data(organiser_name="某公司"), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302


def test_the_rate_limit_message_is_in_the_readers_language(client, settings):
    settings.FEE_COMPLAINTS_PER_HOUR = 0
    client.cookies["django_language"] = "zh-hans"
    refused = client.post(REPORT, report_data(organiser_name="某公司"))
    assert refused.status_code == 429
    assert refused.headers["Content-Language"] == "zh-hans"


def test_invalid_attempts_do_not_use_up_the_limit(english, settings):
    settings.FEE_COMPLAINTS_PER_HOUR = 1
    assert english.post(REPORT, report_data(description="")).status_code == 400
    assert english.post(REPORT, report_data(organiser_name="某公司")).status_code == 302


# --- the queue and a complaint's page, per role -------------------------------------------------


def people():
    department = factories.DepartmentFactory()
    return {
        "staff": factories.DepartmentMembershipFactory(department=department).user,
        "reviewer": factories.ReviewerAssignmentFactory().user,
        "enterprise": factories.EnterpriseRepresentativeFactory().user,
        "plain": factories.UserFactory(),
    }


@pytest.mark.parametrize("role", ["staff", "reviewer", "enterprise", "plain"])
def test_only_administrators_open_the_queue_complaints_and_evidence(client, role):
    complaint = make_complaint(evidence=[upload("a.jpg", JPEG_BYTES, "image/jpeg")])
    item = complaint.evidence.get()
    client.force_login(people()[role])
    assert client.get(QUEUE).status_code == 403
    detail = reverse("complaints:detail", args=[complaint.reference])
    assert client.get(detail).status_code == 404
    assert client.post(detail, {"action": "investigating"}).status_code == 404
    evidence = reverse("complaints:evidence", args=[complaint.reference, item.pk])
    assert client.get(evidence).status_code == 404
    complaint.refresh_from_db()
    assert complaint.status == FeeComplaintStatus.RECEIVED


def test_anonymous_people_are_sent_to_log_in(client):
    complaint = make_complaint(evidence=[upload("a.jpg", JPEG_BYTES, "image/jpeg")])
    item = complaint.evidence.get()
    for url in (
        QUEUE,
        reverse("complaints:detail", args=[complaint.reference]),
        reverse("complaints:evidence", args=[complaint.reference, item.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_queue_lists_open_complaints_oldest_first_with_counts(english, admin):
    first = make_complaint(organiser_name="甲公司")
    second = make_complaint(organiser_name="乙公司")
    closed = make_complaint(organiser_name="丙公司")
    complaints.fee_complaint_close(closed, actor=admin, outcome="已退费")
    english.force_login(admin)
    response = english.get(QUEUE)
    assert response.status_code == 200
    shown = [c.reference for c in response.context["page"]]
    assert shown == [first.reference, second.reference]
    tabs = {value: count for value, _label, count in response.context["tabs"]}
    assert tabs == {"open": 2, "received": 2, "investigating": 0, "closed": 1, "all": 3}
    assert [c.reference for c in english.get(QUEUE + "?status=closed").context["page"]] == [
        closed.reference
    ]


def test_the_queue_filters_by_age(english, admin):
    old = make_complaint(organiser_name="旧公司")
    FeeComplaint.objects.filter(pk=old.pk).update(
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    )
    new = make_complaint(organiser_name="新公司")
    english.force_login(admin)

    def listed(query):
        return {c.reference for c in english.get(QUEUE + query).context["page"]}

    assert listed("?age=30") == {old.reference}
    assert listed("?age=7") == {old.reference}
    assert listed("?age=week") == {new.reference}
    assert listed("?age=") == {old.reference, new.reference}
    assert listed("?age=nonsense") == {old.reference, new.reference}


@pytest.mark.parametrize("n", [1, 3])
def test_the_queue_takes_the_same_queries_for_one_or_three(
    client, admin, n, django_assert_num_queries
):
    activity = factories.ActivityFactory()
    for _i in range(n):
        make_complaint(
            activity=activity, evidence=[upload("a.jpg", JPEG_BYTES + bytes([_i]), "image/jpeg")]
        )
    client.force_login(admin)
    client.get(QUEUE)  # warm the session and roles
    # session, user, count, page (evidence counted in it), status counts, then the layout's
    # campaign and roles (membership, reviewer, enterprise)
    with django_assert_num_queries(9):
        assert client.get(QUEUE).status_code == 200


def test_an_administrator_sees_everything_on_the_complaint_page(english, admin, activity):
    rep = factories.UserFactory(full_name="企业代表王五", email="wangwu@ent.example.cn")
    complaint = make_complaint(
        actor=rep,
        activity=activity,
        amount="500元",
        evidence=[
            upload("收据.jpg", JPEG_BYTES, "image/jpeg"),
            upload("通知.pdf", PDF_BYTES, "application/pdf"),
        ],
    )
    english.force_login(admin)
    response = english.get(reverse("complaints:detail", args=[complaint.reference]))
    assert response.status_code == 200
    text = response.content.decode()
    for shown in (activity.title, "500元", SECRET_NAME, SECRET_CONTACT, rep.email, "收据.jpg"):
        assert shown in text
    assert "通知.pdf" in text
    for item in complaint.evidence.all():
        assert reverse("complaints:evidence", args=[complaint.reference, item.pk]) in text
        assert item.file.url not in text  # never the public media address


def test_evidence_is_served_to_administrators_only_through_the_checked_view(client, admin):
    complaint = make_complaint(
        evidence=[
            upload("收据.jpg", JPEG_BYTES, "image/jpeg"),
            upload("通知.pdf", PDF_BYTES, "application/pdf"),
        ]
    )
    picture, document = complaint.evidence.order_by("pk")
    client.force_login(admin)
    shown = client.get(reverse("complaints:evidence", args=[complaint.reference, picture.pk]))
    assert shown.status_code == 200
    assert b"".join(shown.streaming_content) == JPEG_BYTES
    assert shown["Content-Type"] == "image/jpeg"
    assert shown["Content-Disposition"].startswith("inline")
    assert "sandbox" in shown["Content-Security-Policy"]
    assert "no-store" in shown["Cache-Control"]
    pdf = client.get(reverse("complaints:evidence", args=[complaint.reference, document.pk]))
    assert pdf["Content-Disposition"].startswith("attachment")
    assert "filename*=utf-8''%E9%80%9A%E7%9F%A5.pdf" in pdf["Content-Disposition"]
    # An evidence number under another complaint's reference is not found.
    other = make_complaint()
    wrong = reverse("complaints:evidence", args=[other.reference, picture.pk])
    assert client.get(wrong).status_code == 404


# --- transitions ------------------------------------------------------------------------------


def test_an_administrator_investigates_then_closes_with_an_outcome(
    english, admin, committed, mailoutbox
):
    complaint = make_complaint()
    page = reverse("complaints:detail", args=[complaint.reference])
    english.force_login(admin)
    response = english.post(page, {"action": "investigating", "comment": "已转交属地市场监管局"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == FeeComplaintStatus.INVESTIGATING
    assert complaint.handled_by == admin

    mailoutbox.clear()
    with committed():
        response = english.post(page, {"action": "closed", "outcome": "主办方已全额退还资料费。"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == FeeComplaintStatus.CLOSED
    assert complaint.outcome == "主办方已全额退还资料费。"
    [told] = [m for m in mailoutbox if m.to == [SECRET_CONTACT]]
    assert "主办方已全额退还资料费。" in told.body
    assert complaint.reference in told.subject
    assert "已转交属地市场监管局" not in told.body  # the internal note stays internal

    entries = AuditLogEntry.objects.for_object(complaint).order_by("created_at", "id")
    assert [e.action for e in entries] == [
        "registrations.feecomplaint.received",
        "registrations.feecomplaint.investigating",
        "registrations.feecomplaint.closed",
    ]
    received, investigating, closed = entries
    assert received.actor is None
    assert investigating.actor == admin
    assert investigating.comment == "已转交属地市场监管局"
    assert investigating.changes["status"] == ["received", "investigating"]
    assert closed.actor == admin
    assert closed.changes["status"] == ["investigating", "closed"]
    assert closed.comment == "主办方已全额退还资料费。"
    history = english.get(page).content.decode()
    assert "Investigation started" in history
    assert "Closed with an outcome" in history


def test_closing_needs_an_outcome(english, admin):
    complaint = make_complaint()
    english.force_login(admin)
    page = reverse("complaints:detail", args=[complaint.reference])
    response = english.post(page, {"action": "closed", "outcome": "  "})
    assert response.status_code == 400
    assert "State the outcome before closing" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == FeeComplaintStatus.RECEIVED
    with pytest.raises(DomainError):
        complaints.fee_complaint_close(complaint, actor=admin, outcome="")


def test_a_closed_complaint_cannot_move_again(admin):
    complaint = make_complaint()
    complaints.fee_complaint_close(complaint, actor=admin, outcome="查无此事")
    with pytest.raises(IllegalTransition):
        complaints.fee_complaint_investigate(complaint, actor=admin)
    with pytest.raises(IllegalTransition):
        complaints.fee_complaint_close(complaint, actor=admin, outcome="再次关闭")


@pytest.mark.parametrize("role", ["staff", "reviewer", "enterprise", "plain"])
def test_nobody_but_an_administrator_moves_a_complaint(role):
    complaint = make_complaint()
    with pytest.raises(NotAllowed):
        complaints.fee_complaint_investigate(complaint, actor=people()[role])
    complaint.refresh_from_db()
    assert complaint.status == FeeComplaintStatus.RECEIVED


def test_administrators_are_told_of_a_new_complaint_without_the_reporters_identity(
    admin, committed, mailoutbox
):
    with committed():
        complaint = make_complaint()
    [mail] = [m for m in mailoutbox if m.to == [admin.email]]
    assert complaint.reference in mail.subject
    assert reverse("complaints:detail", args=[complaint.reference]) in mail.body
    assert SECRET_NAME not in mail.body
    assert SECRET_CONTACT not in mail.body


# --- the reporter's identity does not leak ------------------------------------------------------


def test_the_reporters_identity_appears_on_no_page_but_the_administrators(
    client, committed, mailoutbox
):
    department = factories.DepartmentFactory()
    activity = factories.ActivityFactory(organiser=department, title="标准化知识竞赛")
    staff = factories.DepartmentMembershipFactory(department=department).user
    reviewer = factories.ReviewerAssignmentFactory().user
    rep = factories.UserFactory(full_name="举报企业代表李四", email="lisi.reporter@example.cn")
    secrets = [SECRET_NAME, SECRET_CONTACT, rep.email, rep.full_name]
    with committed():
        client.force_login(rep)
        client.post(
            REPORT,
            report_data(
                activity=activity.pk,
                reporter_name=SECRET_NAME,
                reporter_contact=SECRET_CONTACT,
                evidence=[upload("证据.png", PNG_BYTES, "image/png")],
            ),
        )
    complaint = FeeComplaint.objects.get()
    admin = factories.AdminFactory()
    complaints.fee_complaint_investigate(complaint, actor=admin, comment="核查中")

    def assert_clean(response):
        body = b"".join(response.streaming_content) if response.streaming else response.content
        text = body.decode("utf-8", "replace")
        for secret in secrets:
            assert secret not in text, (response.request["PATH_INFO"], secret)

    detail = reverse("complaints:detail", args=[complaint.reference])
    # The organiser's staff: public page, workspace page, API, complaint pages.
    for viewer in (None, staff, reviewer):
        client.logout()
        if viewer is not None:
            client.force_login(viewer)
        for url in (
            reverse("public:activity_detail", args=[activity.pk]),
            f"/api/v1/activities/{activity.pk}/",
            REPORT + f"?activity={activity.pk}",
            QUEUE,
            detail,
        ):
            assert_clean(client.get(url))
    client.force_login(staff)
    assert_clean(client.get(reverse("activities:activity_manage", args=[activity.pk])))
    client.force_login(reviewer)
    assert_clean(client.get(reverse("activities:activity_review", args=[activity.pk])))
    # No email to anyone but the reporter and the administrators carries it ...
    for mail in mailoutbox:
        if set(mail.to) & {rep.email, SECRET_CONTACT}:
            continue
        for secret in secrets:
            assert secret not in mail.body
    # ... nor the audit log entries, which are read more widely than the complaint.
    for entry in AuditLogEntry.objects.for_object(complaint):
        flat = f"{entry.actor_repr} {entry.changes} {entry.comment}"
        for secret in secrets:
            assert secret not in flat
    # The administrator sees it all.
    client.force_login(admin)
    text = client.get(detail).content.decode()
    assert SECRET_NAME in text
    assert SECRET_CONTACT in text
    assert rep.email in text


# --- the site administration ----------------------------------------------------------------------


def test_the_admin_lists_complaints_read_only_for_administrators(client, admin):
    complaint = make_complaint(evidence=[upload("a.jpg", JPEG_BYTES, "image/jpeg")])
    client.force_login(admin)
    listing = client.get(reverse("admin:registrations_feecomplaint_changelist"))
    assert listing.status_code == 200
    assert complaint.reference in listing.content.decode()
    page = client.get(reverse("admin:registrations_feecomplaint_change", args=[complaint.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert SECRET_NAME in text
    item = complaint.evidence.get()
    assert reverse("complaints:evidence", args=[complaint.reference, item.pk]) in text
    assert item.file.url not in text
    assert client.get(reverse("admin:registrations_feecomplaint_add")).status_code == 403
    evidence_list = client.get(reverse("admin:registrations_feecomplaintevidence_changelist"))
    assert evidence_list.status_code == 200


def test_the_admin_hides_complaints_from_other_staff_accounts(client):
    complaint = make_complaint()
    staff = factories.UserFactory(is_staff=True)
    client.force_login(staff)
    url = reverse("admin:registrations_feecomplaint_change", args=[complaint.pk])
    assert client.get(url).status_code in (302, 403, 404)
    assert SECRET_NAME not in client.get(reverse("admin:index")).content.decode()


def test_a_search_link_lists_the_matching_activities(english, activity):
    response = english.get(REPORT, {"search": "管理体系"})
    text = response.content.decode()
    assert f'<option value="{activity.pk}">{activity.title}' in text
    assert "1 activity found" in text


def test_the_activity_page_link_opens_the_form_with_the_activity_chosen(english, activity):
    from django.template.loader import render_to_string

    html = render_to_string("complaints/_report_link.html", {"activity": activity})
    link = f"{REPORT}?activity={activity.pk}"
    assert link in html
    page = english.get(link).content.decode()
    assert f'<option value="{activity.pk}" selected>' in page
