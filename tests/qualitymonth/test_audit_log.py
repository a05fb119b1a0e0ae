"""The append-only audit log: what an entry records, and that nothing can change or delete one."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management.color import no_style
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from qualitymonth.audit import audit_log, field_changes
from qualitymonth.middleware import RequestAuditContextMiddleware, current_ip
from qualitymonth.models import AuditLogEntry, AuditLogImmutable
from registrations.services import registration_sign_up
from tests.factories import (
    ActivityFactory,
    AdminFactory,
    EnterpriseFactory,
    EnterpriseRepresentativeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TABLE = AuditLogEntry._meta.db_table
UPDATE_SQL = "UPDATE qualitymonth_auditlogentry SET comment = %s WHERE id = %s"
DELETE_SQL = "DELETE FROM qualitymonth_auditlogentry"
TRUNCATE_SQL = "TRUNCATE qualitymonth_auditlogentry CASCADE"


@pytest.fixture
def entry():
    actor = UserFactory(email="wang.fang@samr.example.cn")
    activity = ActivityFactory(title="质量强企培训")
    return audit_log(
        activity,
        "activities.activity.approved",
        actor=actor,
        changes={"status": ["submitted", "approved"]},
        comment="材料齐全",
    )


def stored(entry) -> dict:
    """The entry's row as the database holds it, bypassing every Python-side guard."""
    row = AuditLogEntry.objects.filter(pk=entry.pk).values("action", "comment").first()
    return row or {}


def raw_sql_refused(sql: str, params=()):
    """The database itself refuses `sql` (the triggers of qualitymonth migration 0002)."""
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


def through_a_request(meta: dict, then):
    """Run `then` inside a request that passed the audit context middleware."""
    middleware = RequestAuditContextMiddleware(lambda request: then() or HttpResponse())
    middleware(RequestFactory().post("/", **meta))


# --- What an entry records ---------------------------------------------------------------------


def test_an_entry_records_who_did_what_to_which_object_and_why(entry):
    entry = AuditLogEntry.objects.get(pk=entry.pk)
    activity = entry.content_type.get_object_for_this_type(pk=entry.object_id)
    assert entry.actor.email == "wang.fang@samr.example.cn"
    assert entry.actor_repr == "wang.fang@samr.example.cn"
    assert entry.action == "activities.activity.approved"
    assert entry.content_type == ContentType.objects.get(app_label="activities", model="activity")
    assert activity.title == "质量强企培训"
    assert entry.object_repr == "质量强企培训"
    assert entry.changes == {"status": ["submitted", "approved"]}
    assert entry.comment == "材料齐全"
    assert entry.created_at is not None
    assert list(AuditLogEntry.objects.for_object(activity)) == [entry]


def test_the_actor_as_recorded_outlives_a_change_of_email(entry):
    entry.actor.email = "fang.wang@samr.example.cn"
    entry.actor.save()
    assert AuditLogEntry.objects.get(pk=entry.pk).actor_repr == "wang.fang@samr.example.cn"


def test_an_action_without_a_person_is_recorded_as_the_system():
    logged = audit_log(None, "activities.reminders.sent", changes={"count": 12})
    assert (logged.actor, logged.actor_repr, logged.object_id, logged.content_type) == (
        None,
        "system",
        "",
        None,
    )


def test_secrets_are_masked_at_any_depth_and_nothing_else_is():
    logged = audit_log(
        UserFactory(),
        "accounts.user.changed",
        changes={
            "password": ["old-secret", "new-secret"],
            "new_password1": "hunter2",
            "api_key": "qm_abc",
            "token": "qm_def",
            "key_hash": "9f86d08",
            "client_secret": "s3cr3t",
            "settings": {"smtp": {"password": "mail-pass"}, "language": "en"},
            "key_arrangement": ["1. 第五届中国质量奖", "2. 质量强企"],
            "full_name": ["王芳", "王 芳"],
        },
    )
    assert AuditLogEntry.objects.get(pk=logged.pk).changes == {
        "password": "***",
        "new_password1": "***",
        "api_key": "***",
        "token": "***",
        "key_hash": "***",
        "client_secret": "***",
        "settings": {"smtp": {"password": "***"}, "language": "en"},
        "key_arrangement": ["1. 第五届中国质量奖", "2. 质量强企"],
        "full_name": ["王芳", "王 芳"],
    }


def test_contact_details_are_kept_only_partly_because_the_log_is_never_purged():
    logged = audit_log(
        UserFactory(),
        "registrations.enterprise.changed",
        changes={
            "mobile": ["13800138000", "13912345678"],
            "email": ["", "wang@gzqt.com.cn"],
            "attendees": [{"name": "李雷", "mobile": "13700001111"}],
            "contact_phone": "010-12345678",
        },
    )
    assert AuditLogEntry.objects.get(pk=logged.pk).changes == {
        "mobile": ["138****8000", "139****5678"],
        "email": ["", "w***@gzqt.com.cn"],
        "attendees": [{"name": "李**", "mobile": "137****1111"}],
        "contact_phone": "010****5678",
    }


def test_peoples_names_are_kept_only_partly_but_not_actors_titles_or_organisations():
    actor = UserFactory(full_name="王审核")
    logged = audit_log(
        UserFactory(),
        "registrations.registration.confirmed",
        actor=actor,
        changes={
            "attendees": ["张三丰", "Li Lei", ""],
            "contact_name": ["陈经理", "王五"],
            "details": {"name": "广州质量科技有限公司", "contact_name": "陈经理"},
            "attendee": "赵六",
            "attendee_name": "钱七",
            "reporter_name": "孙八",
            "title": "杭州质量开放日",
            "name": "ERP 脚本",
            "full_name": ["王芳", "王 芳"],
        },
    )
    entry = AuditLogEntry.objects.get(pk=logged.pk)
    assert entry.changes == {
        "attendees": ["张**", "L**", ""],
        "contact_name": ["陈**", "王**"],
        "details": {"name": "广州质量科技有限公司", "contact_name": "陈**"},
        "attendee": "赵**",
        "attendee_name": "钱**",
        "reporter_name": "孙**",
        "title": "杭州质量开放日",
        "name": "ERP 脚本",
        "full_name": ["王芳", "王 芳"],
    }
    assert entry.actor == actor


def test_a_sign_up_records_its_attendees_and_contact_only_partly():
    now = timezone.now()
    activity = ActivityFactory(
        starts_at=now + dt.timedelta(days=10),
        ends_at=now + dt.timedelta(days=10, hours=3),
        signup_opens_at=now - dt.timedelta(days=1),
        signup_closes_at=now + dt.timedelta(days=5),
    )
    enterprise = EnterpriseFactory()
    registration = registration_sign_up(
        activity,
        actor=EnterpriseRepresentativeFactory(enterprise=enterprise).user,
        enterprise=enterprise,
        attendees=[{"name": "张三丰", "mobile": "13800138000"}],
        contact_name="李经理",
        contact_mobile="13912345678",
        note="",
    )

    entry = AuditLogEntry.objects.get(object_id=str(registration.pk), action__endswith="confirmed")
    assert entry.changes["attendees"] == ["张**"]
    assert entry.changes["contact_name"] == "李**"


def test_field_changes_lists_only_what_changed():
    before = {"title": "旧", "capacity": 10, "venue": "A"}
    after = {"title": "新", "capacity": 10, "venue": "B"}
    assert field_changes(before, after) == {"title": ["旧", "新"], "venue": ["A", "B"]}


def test_the_ip_address_comes_from_the_request_through_the_middleware():
    logged = []
    through_a_request(
        {"REMOTE_ADDR": "203.0.113.7"},
        lambda: logged.append(audit_log(None, "accounts.user.logged_in")),
    )
    assert AuditLogEntry.objects.get(pk=logged[0].pk).ip_address == "203.0.113.7"
    assert current_ip.get() is None  # and is forgotten after the request


def test_the_proxy_forwarded_address_wins_over_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    logged = []
    through_a_request(
        {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_REAL_IP": "2001:db8::1"},
        lambda: logged.append(audit_log(None, "accounts.user.logged_in")),
    )
    assert AuditLogEntry.objects.get(pk=logged[0].pk).ip_address == "2001:db8::1"


def test_an_address_header_from_an_untrusted_client_is_ignored():
    logged = []
    through_a_request(
        {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_REAL_IP": "198.51.100.1"},
        lambda: logged.append(audit_log(None, "accounts.user.logged_in")),
    )
    assert AuditLogEntry.objects.get(pk=logged[0].pk).ip_address == "203.0.113.9"


def test_a_forged_address_header_cannot_break_the_action_being_logged(settings):
    # An inet column would refuse this; the action must still be recorded, without an address.
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    logged = []
    through_a_request(
        {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_REAL_IP": "'; DROP TABLE x; --"},
        lambda: logged.append(audit_log(None, "accounts.user.logged_in")),
    )
    assert AuditLogEntry.objects.get(pk=logged[0].pk).ip_address is None


def test_the_ip_address_can_be_set_by_context_or_given():
    token = current_ip.set("198.51.100.23")
    try:
        from_context = audit_log(None, "registrations.enterprise.exported")
    finally:
        current_ip.reset(token)
    given = audit_log(None, "registrations.enterprise.exported", ip_address="192.0.2.1")
    assert from_context.ip_address == "198.51.100.23"
    assert given.ip_address == "192.0.2.1"


# --- Nothing changes or deletes an entry -------------------------------------------------------


def test_save_refuses_to_change_an_entry(entry):
    entry.comment = "改过"
    with pytest.raises(AuditLogImmutable):
        entry.save()
    loaded = AuditLogEntry.objects.get(pk=entry.pk)
    loaded.action = "activities.activity.rejected"
    with pytest.raises(AuditLogImmutable):
        loaded.save(update_fields=["action"])
    assert stored(entry) == {"action": "activities.activity.approved", "comment": "材料齐全"}


def test_a_new_object_with_an_existing_id_cannot_overwrite_an_entry(entry):
    forged = AuditLogEntry(pk=entry.pk, action="activities.activity.rejected", comment="改过")
    with pytest.raises(IntegrityError), transaction.atomic():
        forged.save()
    assert stored(entry) == {"action": "activities.activity.approved", "comment": "材料齐全"}


def test_delete_refuses(entry):
    with pytest.raises(AuditLogImmutable):
        entry.delete()
    assert stored(entry)


def test_queryset_update_and_delete_refuse(entry):
    with pytest.raises(AuditLogImmutable):
        AuditLogEntry.objects.filter(pk=entry.pk).update(comment="改过")
    with pytest.raises(AuditLogImmutable):
        AuditLogEntry.objects.all().delete()
    with pytest.raises(AuditLogImmutable):
        AuditLogEntry._base_manager.filter(pk=entry.pk).update(comment="改过")
    with pytest.raises(AuditLogImmutable):
        AuditLogEntry._default_manager.all().delete()
    assert stored(entry) == {"action": "activities.activity.approved", "comment": "材料齐全"}


def test_raw_sql_update_is_refused_by_the_database(entry):
    raw_sql_refused(UPDATE_SQL, ["改过", entry.pk])
    assert stored(entry)["comment"] == "材料齐全"


def test_raw_sql_delete_is_refused_by_the_database(entry):
    raw_sql_refused(DELETE_SQL)
    assert stored(entry)


@pytest.mark.postgres
def test_truncate_is_refused_by_the_database(entry):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with connection.cursor() as cursor:
        # Check the test's pending foreign keys now: PostgreSQL will not truncate a table with
        # pending trigger events, and the refusal under test must be ours.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    raw_sql_refused(TRUNCATE_SQL)
    assert stored(entry)


def test_the_site_administration_can_neither_change_nor_delete_an_entry(client, entry):
    client.force_login(AdminFactory())
    for name in ("change", "delete"):
        url = reverse(f"admin:qualitymonth_auditlogentry_{name}", args=[entry.pk])
        assert client.post(url, {"comment": "改过", "post": "yes"}).status_code == 403
    assert stored(entry)["comment"] == "材料齐全"


# --- People with a history are deactivated, never deleted -------------------------------------


def test_a_person_with_recorded_actions_cannot_be_deleted(entry):
    actor = entry.actor
    with pytest.raises(ProtectedError), transaction.atomic():
        actor.delete()
    assert User.objects.filter(pk=actor.pk).exists()


def test_a_person_with_recorded_actions_is_deactivated_instead(entry):
    actor = entry.actor
    actor.is_active = False
    actor.save(update_fields=["is_active"])
    assert AuditLogEntry.objects.get(pk=entry.pk).actor == actor
    assert not User.objects.get(pk=actor.pk).is_active


def test_a_person_without_recorded_actions_can_be_deleted():
    person = UserFactory()
    person.delete()
    assert not User.objects.filter(pk=person.pk).exists()


# --- The test suite's own flush ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_transactional_tests_can_flush_the_log_and_the_guard_stays_up():
    # Every transactional test (live_server, transaction=True) ends with this flush.
    audit_log(None, "qualitymonth.test.flushed")
    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), [TABLE]))
    assert not AuditLogEntry.objects.exists()
    audit_log(None, "qualitymonth.test.after_flush")
    raw_sql_refused(DELETE_SQL)
