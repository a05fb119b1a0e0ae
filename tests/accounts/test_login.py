import pytest
from django.contrib.auth import get_user
from django.core import mail
from django.urls import reverse

from qualitymonth.models import AuditLogEntry
from tests import factories

from .links import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    """Pages speak English here, so the assertions hold once Chinese translations exist."""
    client.cookies["django_language"] = "en"


PASSWORD = "correct-horse-battery"  # the factories' password
NEW_PASSWORD = "Quality-Month-2024!"


@pytest.fixture
def person():
    return factories.UserFactory(email="li.na@example.cn", preferred_language="en")


def log_in(client, email, password):
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_the_login_page_asks_for_an_email(client):
    client.cookies["django_language"] = "en"
    response = client.get(reverse("accounts:login"))
    html = response.content.decode()
    assert '<label for="id_username">Email</label>' in html
    assert 'type="email" name="username"' in html


def test_log_in_with_email_in_any_case_and_log_out(client, person):
    response = log_in(client, "Li.Na@Example.cn", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    assert get_user(client).pk == person.pk
    assert client.get(reverse("accounts:logout")).status_code == 405  # only by POST
    client.post(reverse("accounts:logout"))
    assert not get_user(client).is_authenticated


def test_a_wrong_password_says_so_and_keeps_the_address(client, person):
    response = log_in(client, "li.na@example.cn", "wrong")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The email address or the password is wrong" in html
    assert 'value="li.na@example.cn"' in html


def test_the_sixth_attempt_is_refused_even_with_the_right_password(client, person):
    for _ in range(5):
        refused = log_in(client, "li.na@example.cn", "wrong")
        assert refused.status_code in (200, 429)  # the fifth failure locks at once
    assert not get_user(client).is_authenticated
    response = log_in(client, "li.na@example.cn", PASSWORD)
    assert response.status_code == 429
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert "Even the right password is refused" in html
    assert "15 minutes" in html
    assert not get_user(client).is_authenticated


def test_changing_the_letter_case_buys_no_extra_attempts(client, person):
    for variant in [
        "li.na@example.cn",
        "LI.NA@example.cn",
        "Li.Na@example.cn",
        "li.NA@example.cn",
        "LI.na@EXAMPLE.cn",
    ]:
        log_in(client, variant, "wrong")
    assert log_in(client, "li.na@example.cn", PASSWORD).status_code == 429


def test_the_lockout_is_per_account(client, person):
    other = factories.UserFactory(email="other@example.cn")
    for _ in range(5):
        log_in(client, "li.na@example.cn", "wrong")
    assert log_in(client, other.email, PASSWORD).status_code == 302


def test_password_change(client, person):
    client.force_login(person)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == reverse("accounts:profile")
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert get_user(client).is_authenticated  # still signed in here
    assert (
        AuditLogEntry.objects.for_object(person)
        .filter(action="accounts.user.password_changed")
        .exists()
    )


def test_password_change_refuses_a_wrong_current_password(client, person):
    client.force_login(person)
    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors


def test_password_reset_email_in_the_persons_language_and_link_works_once(
    client, person, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": "LI.NA@example.cn"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    (message,) = mail.outbox
    assert message.to == ["li.na@example.cn"]
    assert message.extra_headers["Content-Language"] == "en"
    assert "li.na@example.cn" in message.body

    link = link_in(message, "/accounts/password/reset/")
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == reverse("accounts:password_reset_complete")
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)

    again = client.get(link)
    assert again.context["validlink"] is False
    assert again.context["link_state"] == "invalid"


def test_password_reset_in_chinese_for_a_chinese_reader(client, django_capture_on_commit_callbacks):
    factories.UserFactory(email="zh@example.cn", preferred_language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:password_reset"),
            {"email": "zh@example.cn"},
            HTTP_COOKIE="django_language=en",
        )
    assert mail.outbox[0].extra_headers["Content-Language"] == "zh-hans"


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.cn"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_an_invited_person_who_lost_the_invitation_can_reset(
    client, django_capture_on_commit_callbacks
):
    admin = factories.AdminFactory()
    from accounts.services import staff_invite

    with django_capture_on_commit_callbacks(execute=True):
        invited = staff_invite(
            email="lost@example.cn",
            full_name="L",
            preferred_language="en",
            reviewer=True,
            actor=admin,
        )
        client.post(reverse("accounts:password_reset"), {"email": "lost@example.cn"})
    assert len(mail.outbox) == 2
    link = link_in(mail.outbox[1], "/accounts/password/reset/")
    form_url = client.get(link)["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    invited.refresh_from_db()
    assert invited.check_password(NEW_PASSWORD)
    assert invited.email_verified_at is not None
