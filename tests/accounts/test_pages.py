"""Every accounts page opens, in both languages, for the people it is meant for."""

import pytest
from django.urls import reverse

from accounts.enums import RepresentationStatus
from accounts.models import EnterpriseSignup
from tests import factories

pytestmark = pytest.mark.django_db

ANONYMOUS_PAGES = [
    "accounts:login",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_complete",
    "accounts:signup",
    "accounts:signup_done",
    "accounts:verification_resend",
]
PERSONAL_PAGES = [
    "accounts:profile",
    "accounts:password_change",
    "accounts:token_list",
    "accounts:my_enterprise",
    "accounts:enterprise_claim",
]
ADMIN_PAGES = ["accounts:staff_list", "accounts:staff_invite", "accounts:claim_list"]


@pytest.fixture(params=["zh-hans", "en"])
def language(request, client):
    client.cookies["django_language"] = request.param
    return request.param


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_public_pages_open(client, language, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.content.decode()


@pytest.mark.parametrize("name", PERSONAL_PAGES + ADMIN_PAGES)
def test_pages_for_signed_in_people_need_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("name", PERSONAL_PAGES)
def test_personal_pages_open(client, language, name):
    client.force_login(factories.UserFactory())
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_pages_open_for_administrators_only(client, language, name):
    client.force_login(factories.UserFactory())
    assert client.get(reverse(name)).status_code == 403
    client.force_login(factories.AdminFactory())
    assert client.get(reverse(name)).status_code == 200


def test_my_enterprise_in_each_situation(client, language):
    # Unverified, with the details typed at sign-up.
    person = factories.UserFactory(email_verified_at=None)
    EnterpriseSignup.objects.create(user=person, uscc="x", details={"name": "厦门质量公司"})
    client.force_login(person)
    assert "厦门质量公司" in client.get(reverse("accounts:my_enterprise")).content.decode()
    # Waiting for approval.
    waiting = factories.EnterpriseRepresentativeFactory(status=RepresentationStatus.PENDING)
    client.force_login(waiting.user)
    html = client.get(reverse("accounts:my_enterprise")).content.decode()
    assert waiting.enterprise.name in html
    assert reverse("accounts:claim_withdraw", args=[waiting.pk]) in html
    # Holding it: the enterprise, its representatives and the waiting claim.
    holder = factories.EnterpriseRepresentativeFactory(enterprise=waiting.enterprise)
    client.force_login(holder.user)
    html = client.get(reverse("accounts:my_enterprise")).content.decode()
    assert waiting.enterprise.uscc in html
    assert holder.user.email in html
    assert reverse("accounts:claim_reject", args=[waiting.pk]) in html
    # An administrator opens the same page by the enterprise.
    client.force_login(factories.AdminFactory())
    url = reverse("accounts:enterprise_representatives", args=[waiting.enterprise_id])
    assert reverse("accounts:claim_approve", args=[waiting.pk]) in client.get(url).content.decode()


def test_an_unverified_person_is_asked_to_verify_before_claiming(client):
    client.force_login(factories.UserFactory(email_verified_at=None))
    response = client.get(reverse("accounts:enterprise_claim"))
    assert response["Location"] == reverse("accounts:verification_resend")
