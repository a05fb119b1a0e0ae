"""Registration emails go through an outbox (`RegistrationNotice`): written in the same
transaction as the change they report, sent afterwards. A process that dies after the commit, or a
broker that is away, delays an email but never loses it; with a broker the request does no more
than write the notice (issue 6, bench/signup_burst.py)."""

import datetime as dt
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import token_create
from registrations import services
from registrations.enums import NOTICE_ATTEMPTS
from registrations.models import RegistrationNotice
from registrations.services import notices_purge, notices_send
from registrations.tasks import send_notices

from .test_signup import mail_to, open_activity, representative, sign_up

pytestmark = pytest.mark.django_db


def test_with_a_broker_the_sign_up_only_writes_its_notice_and_beat_sends_it(
    settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in production: a broker and celery beat
    settings.SIGNUP_RATE_PER_IP = "off"
    activity = open_activity(capacity=1)
    user = representative()
    _token, key = token_create(user=user, name="notices")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with (
        mock.patch("registrations.tasks.tell_representatives.delay") as queued,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = client.post(
            "/api/v1/registrations/",
            {"activity": activity.pk, "attendees": [{"name": "王五", "mobile": "13800138000"}]},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert not callbacks and not queued.called and not mailoutbox
    [notice] = RegistrationNotice.objects.all()
    assert (notice.registration_id, notice.template) == (
        response.json()["id"],
        "registration_confirmed",
    )
    assert notice.sent_at is None and notice.attempts == 0

    settings.CELERY_TASK_ALWAYS_EAGER = True  # the worker sends the email it renders
    with django_capture_on_commit_callbacks(execute=True):  # the worker's transaction
        assert notices_send() == 1  # what the beat task runs
    [mail] = mail_to(mailoutbox, user)
    assert response.json()["check_in_code"] in mail.body
    notice.refresh_from_db()
    assert notice.sent_at is not None and notice.attempts == 1
    assert notices_send() == 0  # never twice


def test_an_email_lost_with_its_process_after_the_commit_is_sent_by_the_next_run(
    django_capture_on_commit_callbacks, mailoutbox
):
    activity = open_activity(capacity=1)
    sign_up(activity, representative())
    user = representative()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        registration = sign_up(activity, user)  # the process dies before its callbacks run
    assert len(callbacks) == 1 and not mailoutbox
    assert registration.status == "waiting"

    with django_capture_on_commit_callbacks(execute=True):
        # The first sign-up's too: its callback never ran either.
        assert send_notices.delay().get() == 2
    [mail] = mail_to(mailoutbox, user)
    assert "waiting list" in mail.body
    assert not RegistrationNotice.objects.filter(sent_at__isnull=True).exists()


def test_without_a_broker_each_notice_goes_out_when_its_transaction_commits(
    django_capture_on_commit_callbacks, mailoutbox
):
    activity = open_activity(capacity=1)
    first = representative()
    sign_up(activity, first)  # its callback is never run: stays in the outbox
    user = representative()
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(activity, user)
    assert len(mailoutbox) == 1 and mail_to(mailoutbox, user)  # only this transaction's
    assert RegistrationNotice.objects.filter(sent_at__isnull=True).count() == 1


def test_a_failing_email_is_tried_again_then_left_with_its_error(mailoutbox):
    activity = open_activity(capacity=1)
    user = representative()
    registration = sign_up(activity, user)
    with mock.patch.object(
        services, "representatives_tell", side_effect=ConnectionRefusedError("smtp down")
    ) as tell:
        for _run in range(NOTICE_ATTEMPTS + 2):
            assert notices_send() == 0
    assert tell.call_count == NOTICE_ATTEMPTS
    notice = registration.notices.get()
    assert notice.sent_at is None and notice.attempts == NOTICE_ATTEMPTS
    assert notice.last_error == "ConnectionRefusedError: smtp down"
    assert notices_send() == 0 and not mailoutbox  # left for someone to look at


def test_one_failing_notice_does_not_hold_back_the_others(
    django_capture_on_commit_callbacks, mailoutbox
):
    activity = open_activity(capacity=3)
    users = [representative() for _n in range(3)]
    registrations = [sign_up(activity, user) for user in users]
    real = services.representatives_tell

    def tell(registration_id, template, context):
        if registration_id == registrations[1].pk:
            raise OSError("mailbox full")
        return real(registration_id, template, context)

    with (
        mock.patch.object(services, "representatives_tell", side_effect=tell),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert notices_send(batch=2) == 2
    assert mail_to(mailoutbox, users[0]) and mail_to(mailoutbox, users[2])
    assert not mail_to(mailoutbox, users[1])
    assert registrations[1].notices.get().attempts == 1


def test_withdrawals_and_promotions_write_their_notices_too(mailoutbox):
    activity = open_activity(capacity=1)
    first, second = representative(), representative()
    confirmed = sign_up(activity, first)
    waiting = sign_up(activity, second)
    services.registration_withdraw(confirmed, actor=first)
    templates = sorted(RegistrationNotice.objects.values_list("registration_id", "template"))
    assert templates == sorted(
        [
            (confirmed.pk, "registration_confirmed"),
            (confirmed.pk, "registration_withdrawn"),
            (waiting.pk, "registration_waiting"),
            (waiting.pk, "registration_promoted"),
        ]
    )


def test_sent_notices_are_deleted_after_the_days_they_are_kept(settings):
    settings.REGISTRATION_NOTICE_KEEP_DAYS = 30
    activity = open_activity(capacity=3)
    old, recent, unsent = (sign_up(activity, representative()) for _n in range(3))
    now = timezone.now()
    RegistrationNotice.objects.filter(registration=old).update(sent_at=now - dt.timedelta(days=31))
    RegistrationNotice.objects.filter(registration=recent).update(
        sent_at=now - dt.timedelta(days=29)
    )
    assert notices_purge(now=now) == 1
    assert set(RegistrationNotice.objects.values_list("registration_id", flat=True)) == {
        recent.pk,
        unsent.pk,
    }


def test_celery_beat_sends_the_notices_every_few_seconds_and_drops_stale_runs():
    entry = django_settings.CELERY_BEAT_SCHEDULE["registration-notices"]
    assert entry["task"] == "registrations.tasks.send_notices"
    assert entry["schedule"] == django_settings.REGISTRATION_NOTICE_SECONDS <= 10
    assert entry["options"]["expires"] == entry["schedule"]
    purge = django_settings.CELERY_BEAT_SCHEDULE["registration-notices-purge"]
    assert purge["task"] == "registrations.tasks.purge_sent_notices"


def test_an_administrator_has_given_up_notices_tried_again_and_it_is_recorded(client):
    from django.urls import reverse

    from qualitymonth.models import AuditLogEntry
    from tests.factories import AdminFactory

    activity = open_activity(capacity=2)
    given_up, waiting = (sign_up(activity, representative()) for _n in range(2))
    RegistrationNotice.objects.filter(registration=given_up).update(
        attempts=NOTICE_ATTEMPTS, last_error="SMTPRecipientsRefused: mailbox unavailable"
    )
    admin_user = AdminFactory()
    client.force_login(admin_user)
    url = reverse("admin:registrations_registrationnotice_changelist")
    assert "mailbox unavailable" in client.get(url, {"state": "given_up"}).content.decode()

    response = client.post(
        url,
        {
            "action": "try_again",
            "_selected_action": list(RegistrationNotice.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert response.status_code == 200
    notice = given_up.notices.get()
    assert (notice.attempts, notice.last_error) == (0, "")
    assert waiting.notices.get().attempts == 0  # untouched: it was not given up
    entry = AuditLogEntry.objects.get(action="registrations.registration.notice_retried")
    assert entry.actor == admin_user and entry.object_id == str(given_up.pk)
    assert entry.changes["attempts"] == [NOTICE_ATTEMPTS, 0]
