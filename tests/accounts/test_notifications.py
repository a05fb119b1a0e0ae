import logging

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction

from qualitymonth.notifications import notify
from tests import factories


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server down")


@pytest.mark.django_db
def test_email_is_sent_only_when_the_transaction_commits(django_capture_on_commit_callbacks):
    user = factories.UserFactory(preferred_language="en")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(user, "password_reset", {"reset_url": "http://x/", "days": 3})
        assert mail.outbox == []
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]


@pytest.mark.django_db(transaction=True)
def test_nothing_rolled_back_is_announced():
    user = factories.UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(user, "password_reset", {"reset_url": "http://x/", "days": 3})
        raise RuntimeError("the action failed")
    assert mail.outbox == []


@pytest.mark.django_db
def test_email_declares_and_uses_the_recipients_language(django_capture_on_commit_callbacks):
    english = factories.UserFactory(preferred_language="en")
    chinese = factories.UserFactory(preferred_language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        notify(english, "password_reset", {"reset_url": "http://x/", "days": 3})
        notify(chinese, "password_reset", {"reset_url": "http://x/", "days": 3})
        notify("someone@example.cn", "password_reset", {"reset_url": "http://x/", "days": 3})
        notify(chinese, "password_reset", {"reset_url": "http://x/", "days": 3}, language="en")
    languages = [message.extra_headers["Content-Language"] for message in mail.outbox]
    assert languages == ["en", "zh-hans", "zh-hans", "en"]


@pytest.mark.django_db
def test_subject_is_one_line_and_body_is_not_html_escaped(django_capture_on_commit_callbacks):
    user = factories.UserFactory(full_name="O'Brien & <Partners>")
    with django_capture_on_commit_callbacks(execute=True):
        notify(user, "password_reset", {"reset_url": "http://x/?a=1&b=2", "days": 3})
    message = mail.outbox[0]
    assert "\n" not in message.subject
    assert "O'Brien & <Partners>" in message.body
    assert "http://x/?a=1&b=2" in message.body


@pytest.mark.django_db
def test_a_mail_failure_is_logged_never_fatal(settings, django_capture_on_commit_callbacks, caplog):
    settings.EMAIL_BACKEND = "tests.accounts.test_notifications.BrokenBackend"
    user = factories.UserFactory()
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        notify(user, "password_reset", {"reset_url": "http://x/", "days": 3})
    assert mail.outbox == []
    assert "failed" in caplog.text
