"""Personal data of enterprise contacts: exported and deleted on request, purged after the
campaign, while the statistics stay exactly what they were."""

import datetime as dt
import io
import json
import os
import re

import pytest
from django.core.cache import caches
from django.core.management import CommandError, call_command
from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import EnterpriseSignup, User
from qualitymonth.models import AuditLogEntry, IdempotencyKey
from registrations import complaints
from registrations.enums import RegistrationStatus
from registrations.models import Attendee, Enterprise, FeeComplaint, Registration
from registrations.retention import (
    ERASED,
    personal_data_delete,
    personal_data_export,
    personal_data_purge,
    personal_data_subject,
)
from registrations.tasks import purge_personal_data
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    caches["ratelimit"].clear()


class World:
    """Two enterprises, each with a representative who registered for activities of a past
    (2024) and a future campaign, attendees, and a fee complaint."""

    def __init__(self):
        self.past = factories.CampaignFactory(year=2024)
        self.future = factories.CampaignFactory(year=2031)
        self.admin = factories.AdminFactory(email="operator@samr.example.cn")
        self.alice = factories.UserFactory(
            email="alice@alpha.example.cn", full_name="张爱丽", phone="13711112222"
        )
        self.bob = factories.UserFactory(email="bob@beta.example.cn", full_name="鲍伯")
        self.alpha = factories.EnterpriseFactory(
            name="阿尔法质量有限公司",
            contact_name="张爱丽",
            mobile="13711112222",
            email="alice@alpha.example.cn",
        )
        self.beta = factories.EnterpriseFactory(
            name="贝塔标准化有限公司",
            contact_name="鲍伯",
            mobile="13633334444",
            email="office@beta.example.cn",
        )
        factories.EnterpriseRepresentativeFactory(user=self.alice, enterprise=self.alpha)
        factories.EnterpriseRepresentativeFactory(user=self.bob, enterprise=self.beta)
        self.registrations = []
        for campaign in (self.past, self.future):
            activity = factories.ActivityFactory(campaign=campaign, capacity=1)
            self.register(self.alpha, self.alice, activity, ["阿参会一", "阿参会二"], True)
            self.register(self.beta, self.bob, activity, ["贝参会一"], False)
        self.complaint = complaints.fee_complaint_submit(
            actor=self.alice,
            description="要求缴纳会务费2000元",
            organiser_name="某咨询公司",
            reporter_name="张爱丽",
            reporter_contact="13711112222",
        )
        self.other_complaint = complaints.fee_complaint_submit(
            actor=self.bob,
            description="要求缴纳资料费",
            organiser_name="另一家公司",
            reporter_name="鲍伯本人",
            reporter_contact="bob.private@beta.example.cn",
        )

    def register(self, enterprise, person, activity, names, confirmed):
        status = RegistrationStatus.CONFIRMED if confirmed else RegistrationStatus.WAITING
        registration = factories.RegistrationFactory(
            activity=activity,
            enterprise=enterprise,
            status=status,
            registered_by=person,
            attendee_count=len(names),
            contact_name=f"{names[0]}联系人",
            contact_mobile="13800001111" if confirmed else "13900002222",
            note=f"{enterprise.name}的备注：请联系{names[0]}",
            confirmed_at=timezone.now() if confirmed else None,
            checked_in_at=timezone.now() if confirmed else None,
        )
        for index, name in enumerate(names):
            factories.AttendeeFactory(
                registration=registration, name=name, mobile=f"1381234{index:04d}"
            )
        self.registrations.append(registration)
        return registration


@pytest.fixture
def world():
    return World()


def statistics() -> dict:
    """What the portal's figures are made of: per activity and status, per region, attendees,
    check-ins, and every registration's dates."""
    return {
        "per_activity": list(
            Registration.objects.values("activity_id", "status")
            .annotate(n=Count("id"), people=Sum("attendee_count"))
            .order_by("activity_id", "status")
        ),
        "per_region": list(
            Registration.objects.values("activity__region__code", "status")
            .annotate(n=Count("id"))
            .order_by("activity__region__code", "status")
        ),
        "attendees": Attendee.objects.count(),
        "checked_in": Registration.objects.filter(checked_in_at__isnull=False).count(),
        "dates": list(
            Registration.objects.order_by("id").values_list(
                "id", "status", "created_at", "confirmed_at", "updated_at", "check_in_code"
            )
        ),
        "enterprises": Enterprise.objects.count(),
    }


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def audit_since(pk: int) -> str:
    entries = AuditLogEntry.objects.filter(pk__gt=pk).order_by("pk")
    return json.dumps(
        [[e.action, e.actor_repr, e.object_repr, e.changes, e.comment] for e in entries],
        ensure_ascii=False,
    )


def last_audit_pk() -> int:
    return AuditLogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# --- export --------------------------------------------------------------------------------------


def test_a_persons_export_holds_their_data_and_nobody_elses(world):
    text = run("personal_data", "export", "ALICE@alpha.example.cn")
    data = json.loads(text)

    assert data["account"]["email"] == "alice@alpha.example.cn"
    assert data["account"]["phone"] == "13711112222"
    assert data["account"]["representations"][0]["uscc"] == world.alpha.uscc
    assert [e["uscc"] for e in data["enterprise_contact_of"]] == [world.alpha.uscc]
    assert len(data["registrations"]) == 2
    attendees = {a["name"] for r in data["registrations"] for a in r["attendees"]}
    assert attendees == {"阿参会一", "阿参会二"}
    assert data["fee_complaints"][0]["reporter_name"] == "张爱丽"
    assert data["fee_complaints"][0]["description"] == "要求缴纳会务费2000元"
    assert any(
        e["action"] == "registrations.feecomplaint.received" for e in data["audit_entries_about"]
    )
    for foreign in ("bob@beta.example.cn", "鲍伯", "贝参会一", "贝塔", world.beta.uscc, "资料费"):
        assert foreign not in text


def test_an_enterprises_export_holds_its_registrations_and_representatives(world):
    data = json.loads(run("personal_data", "export", world.alpha.uscc.lower()))

    assert data["enterprise"]["contact_name"] == "张爱丽"
    assert data["enterprise"]["mobile"] == "13711112222"
    assert [p["email"] for p in data["representatives"]] == ["alice@alpha.example.cn"]
    assert {r["activity"]["id"] for r in data["registrations"]} == {
        r.activity_id for r in world.registrations if r.enterprise_id == world.alpha.pk
    }
    assert len(data["fee_complaints"]) == 1
    assert "贝参会一" not in json.dumps(data, ensure_ascii=False)


def test_an_export_is_written_privately_and_audited_without_the_data(world, tmp_path):
    target = tmp_path / "alice.json"
    before = last_audit_pk()

    output = run(
        "personal_data",
        "export",
        "alice@alpha.example.cn",
        "--output",
        str(target),
        "--actor",
        world.admin.email,
        "--reason",
        "request 2025-17",
    )

    assert f"written to {target}" in output
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert json.loads(target.read_text())["account"]["full_name"] == "张爱丽"
    entry = AuditLogEntry.objects.get(pk__gt=before)
    assert (entry.action, entry.actor, entry.comment) == (
        "registrations.personal_data.exported",
        world.admin,
        "request 2025-17",
    )
    assert "13711112222" not in audit_since(before)


def test_an_unknown_subject_is_named(world):
    with pytest.raises(CommandError, match=re.escape("nobody@example.cn")):
        run("personal_data", "export", "nobody@example.cn")
    with pytest.raises(CommandError, match="91110000000000000X"):
        run("personal_data", "export", "91110000000000000X")


def test_only_an_administrator_may_be_named_as_the_operator(world):
    with pytest.raises(CommandError, match="只有平台管理员"):
        run(
            "personal_data",
            "delete",
            "alice@alpha.example.cn",
            "--reason",
            "x",
            "--yes",
            "--actor",
            world.bob.email,
        )
    assert User.objects.get(pk=world.alice.pk).is_active


# --- deletion on request -------------------------------------------------------------------------


def test_deleting_a_person_anonymises_them_and_keeps_the_statistics(world):
    figures = statistics()
    before = last_audit_pk()

    output = run(
        "personal_data",
        "delete",
        "alice@alpha.example.cn",
        "--reason",
        "request 2025-18",
        "--actor",
        world.admin.email,
        "--yes",
    )

    assert "anonymised" in output and "registrations: 2" in output and "attendees: 4" in output
    alice = User.objects.get(pk=world.alice.pk)
    assert not alice.is_active
    assert alice.email == f"deleted-{alice.pk}@deleted.invalid"
    assert (alice.full_name, alice.phone) == (ERASED, "")
    assert not alice.has_usable_password()
    for registration in Registration.objects.filter(registered_by=alice):
        assert (registration.contact_name, registration.contact_mobile, registration.note) == (
            ERASED,
            "",
            "",
        )
        assert {(a.name, a.mobile) for a in registration.attendees.all()} == {(ERASED, "")}
    alpha = Enterprise.objects.get(pk=world.alpha.pk)
    assert (alpha.name, alpha.contact_name, alpha.mobile, alpha.email) == (
        "阿尔法质量有限公司",
        ERASED,
        "",
        "",
    )
    complaint = FeeComplaint.objects.get(pk=world.complaint.pk)
    assert (complaint.reporter_name, complaint.reporter_contact) == ("", "")
    assert complaint.description == "要求缴纳会务费2000元"
    assert statistics() == figures
    # Bob's data are untouched.
    assert Attendee.objects.filter(name="贝参会一").count() == 2
    assert FeeComplaint.objects.get(pk=world.other_complaint.pk).reporter_name == "鲍伯本人"
    assert Enterprise.objects.get(pk=world.beta.pk).contact_name == "鲍伯"
    # Audited: who, why, how much; never what was deleted.
    entry = AuditLogEntry.objects.filter(pk__gt=before).get(
        action="accounts.user.personal_data_deleted"
    )
    assert (entry.actor, entry.comment, entry.object_repr) == (
        world.admin,
        "request 2025-18",
        ERASED,
    )
    assert entry.changes["registrations"] == 2
    logged = audit_since(before)
    for deleted in ("alice@alpha.example.cn", "张爱丽", "13711112222", "阿参会一", "13800001111"):
        assert deleted not in logged


def test_deleting_an_enterprise_anonymises_its_registrations_and_representatives(world):
    figures = statistics()

    output = run("personal_data", "delete", world.alpha.uscc, "--reason", "企业申请", "--yes")

    assert "accounts: 1" in output
    assert not Registration.objects.filter(enterprise=world.alpha).exclude(contact_name=ERASED)
    assert not Attendee.objects.filter(registration__enterprise=world.alpha).exclude(name=ERASED)
    assert not User.objects.get(pk=world.alice.pk).is_active
    assert User.objects.get(pk=world.bob.pk).is_active
    assert (
        Registration.objects.filter(enterprise=world.beta).exclude(contact_name=ERASED).count() == 2
    )
    assert statistics() == figures
    assert AuditLogEntry.objects.filter(
        action="registrations.enterprise.personal_data_deleted", object_id=str(world.alpha.pk)
    ).exists()


def test_deleting_needs_a_reason_and_a_confirmation(world, monkeypatch):
    with pytest.raises(CommandError, match="--reason"):
        run("personal_data", "delete", "alice@alpha.example.cn", "--yes")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="Nothing was deleted"):
        run("personal_data", "delete", "alice@alpha.example.cn", "--reason", "request")
    assert User.objects.get(pk=world.alice.pk).full_name == "张爱丽"


def test_deleting_twice_changes_nothing_more(world):
    subject = personal_data_subject(world.alpha.uscc)
    personal_data_delete(subject, reason="first")
    again = personal_data_delete(personal_data_subject(world.alpha.uscc), reason="second")

    assert (again.registrations, again.attendees, again.enterprise_contacts) == (0, 0, 0)


def test_an_export_after_deletion_shows_only_anonymised_values(world):
    personal_data_delete(personal_data_subject(world.alpha.uscc), reason="request")

    data = personal_data_export(personal_data_subject(world.alpha.uscc))

    assert {a["name"] for r in data["registrations"] for a in r["attendees"]} == {ERASED}
    assert data["enterprise"]["mobile"] == ""


# --- the API's idempotency records -------------------------------------------------------------


def idempotency_record(user, enterprise, attendee: str, key: str) -> IdempotencyKey:
    """What an API sign-up with an Idempotency-Key leaves for 24 hours: its response."""
    return IdempotencyKey.objects.create(
        user=user,
        key=key,
        request="POST /api/v1/registrations/",
        body_sha256="0" * 64,
        response_status=201,
        response_body={
            "enterprise": {"id": enterprise.pk, "name": enterprise.name, "uscc": enterprise.uscc},
            "attendees": [{"name": attendee, "mobile": "13812340000"}],
        },
    )


def test_a_persons_idempotency_records_are_exported_and_deleted(world):
    idempotency_record(world.alice, world.alpha, "阿参会一", "alice-1")
    idempotency_record(world.bob, world.beta, "贝参会一", "bob-1")

    data = personal_data_export(personal_data_subject("alice@alpha.example.cn"))
    erasure = personal_data_delete(personal_data_subject("alice@alpha.example.cn"), reason="申请")

    assert [r["response"]["attendees"][0]["name"] for r in data["api_idempotency_records"]] == [
        "阿参会一"
    ]
    assert data["api_idempotency_records"][0]["request"] == "POST /api/v1/registrations/"
    assert erasure.idempotency_records == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["bob-1"]


def test_an_enterprises_idempotency_records_go_with_it_also_a_former_representatives(world):
    idempotency_record(world.alice, world.alpha, "阿参会一", "alice-1")
    former = factories.UserFactory(email="former@alpha.example.cn")  # no longer represents it
    idempotency_record(former, world.alpha, "阿参会二", "former-1")
    idempotency_record(former, world.beta, "贝参会一", "former-2")  # about another enterprise
    idempotency_record(world.bob, world.beta, "贝参会一", "bob-1")

    data = personal_data_export(personal_data_subject(world.alpha.uscc))
    output = run("personal_data", "delete", world.alpha.uscc, "--reason", "企业申请", "--yes")

    exported = data["api_idempotency_records"]
    names = sorted(r["response"]["attendees"][0]["name"] for r in exported)
    assert names == ["阿参会一", "阿参会二"]
    assert "idempotency records: 2" in output
    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["bob-1", "former-2"]


# --- the periodic purge --------------------------------------------------------------------------


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(3, 0)))


def test_the_purge_waits_for_the_retention_period_after_the_feedback_deadline(world, settings):
    settings.PERSONAL_DATA_RETENTION_DAYS = 365
    deadline = world.past.feedback_deadline  # 2024-10-31
    past_registrations = Registration.objects.filter(activity__campaign=world.past)

    early = personal_data_purge(now=at(deadline + dt.timedelta(days=365)))

    assert early.registrations == 0
    assert not past_registrations.filter(contact_name=ERASED).exists()

    figures = statistics()
    done = personal_data_purge(now=at(deadline + dt.timedelta(days=366)))

    assert (done.campaigns, done.registrations, done.attendees) == ([2024], 2, 3)
    assert not past_registrations.exclude(contact_name=ERASED, contact_mobile="", note="")
    assert not Attendee.objects.filter(registration__activity__campaign=world.past).exclude(
        name=ERASED, mobile=""
    )
    # The future campaign's registrations, and the enterprises' own records, are kept.
    future = Registration.objects.filter(activity__campaign=world.future)
    assert not future.filter(contact_name=ERASED).exists()
    assert Enterprise.objects.get(pk=world.alpha.pk).contact_name == "张爱丽"
    assert statistics() == figures
    entry = AuditLogEntry.objects.get(action="registrations.personal_data.purged")
    assert entry.changes == {"registrations": 2, "attendees": 3, "retention_days": 365}
    # Again: nothing left to do.
    assert personal_data_purge(now=at(deadline + dt.timedelta(days=400))).registrations == 0


def test_closed_complaints_lose_their_reporter_after_the_period(world, settings):
    settings.PERSONAL_DATA_RETENTION_DAYS = 30
    complaints.fee_complaint_close(world.complaint, actor=world.admin, outcome="已查处")

    personal_data_purge(now=timezone.now() + dt.timedelta(days=29))
    assert FeeComplaint.objects.get(pk=world.complaint.pk).reporter_name == "张爱丽"

    purged = personal_data_purge(now=timezone.now() + dt.timedelta(days=31))

    assert purged.fee_complaints == 1
    closed = FeeComplaint.objects.get(pk=world.complaint.pk)
    assert (closed.reporter_name, closed.reporter_contact, closed.outcome) == ("", "", "已查处")
    # Still being handled: kept.
    assert FeeComplaint.objects.get(pk=world.other_complaint.pk).reporter_name == "鲍伯本人"


def sign_up(email: str, uscc: str) -> User:
    region = factories.CountyFactory()
    return accounts_services.enterprise_signup(
        email=email,
        password="Quality-Month-2024!",
        full_name="未验证的人",
        preferred_language="zh-hans",
        enterprise={
            "uscc": uscc,
            "name": "未验证企业",
            "region": region,
            "industry": "C",
            "size": "small",
            "address": "",
            "contact_name": "未验证的人",
            "mobile": "13755556666",
            "email": email,
        },
    )


def test_unverified_sign_ups_are_deleted_after_their_period(settings):
    settings.UNVERIFIED_SIGNUP_RETENTION_DAYS = 30
    stale = sign_up("stale@example.cn", factories.valid_uscc("110000"))
    verified = factories.UserFactory(email="verified@example.cn")
    factories_signup = EnterpriseSignup.objects.create(
        user=verified, uscc=factories.valid_uscc("110000"), details={"name": "已验证企业"}
    )

    assert personal_data_purge(now=timezone.now() + dt.timedelta(days=29)).sign_ups == 0
    purged = personal_data_purge(now=timezone.now() + dt.timedelta(days=31))

    assert purged.sign_ups == 1
    assert not EnterpriseSignup.objects.filter(user=stale).exists()
    account = User.objects.get(pk=stale.pk)
    assert (account.email, account.full_name, account.is_active) == (
        f"deleted-{stale.pk}@deleted.invalid",
        ERASED,
        False,
    )
    assert EnterpriseSignup.objects.filter(pk=factories_signup.pk).exists()
    entry = AuditLogEntry.objects.get(action="accounts.signup.purged")
    assert entry.changes["accounts"] == [stale.pk]


def test_the_purge_command_and_the_periodic_task(world, settings):
    settings.PERSONAL_DATA_RETENTION_DAYS = 365

    output = run("purge_personal_data")

    assert "Retention: 365 days after the feedback deadline" in output
    assert "Anonymised 2 registrations and 3 attendees (campaigns: 2024)" in output
    assert purge_personal_data.delay().get() == {}
    assert settings.CELERY_BEAT_SCHEDULE["personal-data-purge"]["task"] == (
        "registrations.tasks.purge_personal_data"
    )
    # The feedback tasks are still scheduled beside it.
    assert "feedback-deadline-reminders" in settings.CELERY_BEAT_SCHEDULE


# --- the site administration --------------------------------------------------------------------


def test_an_administrator_downloads_an_enterprises_personal_data(world, client):
    client.force_login(world.admin)

    response = client.post(
        reverse("admin:registrations_enterprise_changelist"),
        {"action": "export_personal_data", "_selected_action": [world.alpha.pk]},
    )

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="personal-data-{world.alpha.uscc}.json"'
    )
    data = json.loads(response.content)
    assert data["enterprise"]["email"] == "alice@alpha.example.cn"
    assert AuditLogEntry.objects.filter(
        action="registrations.personal_data.exported", actor=world.admin
    ).exists()
