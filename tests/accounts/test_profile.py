import pytest
from django.conf import settings
from django.urls import reverse

from accounts.enums import RepresentationStatus
from qualitymonth.models import AuditLogEntry
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    """Pages speak English here, so the assertions hold once Chinese translations exist."""
    client.cookies["django_language"] = "en"


def test_the_profile_needs_a_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_profile_shows_roles_in_words_and_the_links(client):
    province = factories.ProvinceFactory(code="510000", name_zh="四川省", name_en="Sichuan")
    department = factories.DepartmentFactory(name_zh="四川省市场监督管理局", name_en="Sichuan AMR")
    person = factories.UserFactory(preferred_language="en")
    factories.DepartmentMembershipFactory(user=person, department=department)
    factories.ReviewerAssignmentFactory(user=person, region=province)
    factories.EnterpriseRepresentativeFactory(
        user=person, enterprise=factories.EnterpriseFactory(name="成都质量公司")
    )
    client.force_login(person)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert "Staff of Sichuan AMR" in html
    assert "Reviewer for Sichuan and everything under it" in html
    assert "Representative of 成都质量公司" in html
    assert reverse("accounts:password_change") in html
    assert reverse("accounts:token_list") in html


def test_roles_of_an_administrator_and_a_national_reviewer(client):
    admin = factories.AdminFactory(preferred_language="en")
    factories.ReviewerAssignmentFactory(user=admin)
    client.force_login(admin)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert "Platform administrator" in html
    assert "National reviewer" in html
    assert reverse("accounts:staff_list") in html


def test_a_waiting_claim_is_not_a_role(client):
    person = factories.UserFactory(preferred_language="en")
    factories.EnterpriseRepresentativeFactory(
        user=person, status=RepresentationStatus.PENDING, enterprise__name="绵阳公司"
    )
    client.force_login(person)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert "Representative of" not in html
    assert "Your claim to represent 绵阳公司 waits for approval." in html


def test_changing_the_preferred_language_switches_the_site(client):
    del client.cookies["django_language"]  # no choice made yet: the profile's language rules
    person = factories.UserFactory(preferred_language="zh-hans", full_name="刘洋")
    client.force_login(person)
    assert '<html lang="zh-hans">' in client.get(reverse("accounts:profile")).content.decode()
    response = client.post(
        reverse("accounts:profile"),
        {"full_name": "刘洋", "phone": "010-68888888", "preferred_language": "en"},
    )
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    person.refresh_from_db()
    assert person.preferred_language == "en"
    assert person.phone == "010-68888888"
    entry = AuditLogEntry.objects.for_object(person).get(action="accounts.user.profile_changed")
    assert entry.changes["preferred_language"] == ["zh-hans", "en"]

    page = client.get(reverse("accounts:profile"))
    assert '<html lang="en">' in page.content.decode()
    assert "Your profile is saved." in page.content.decode()


def test_profile_validation_keeps_the_input(client):
    person = factories.UserFactory(full_name="刘洋")
    client.force_login(person)
    response = client.post(
        reverse("accounts:profile"),
        {"full_name": "刘洋洋", "phone": "010", "preferred_language": "fr"},
    )
    assert response.status_code == 200
    assert "preferred_language" in response.context["form"].errors
    assert 'value="刘洋洋"' in response.content.decode()
    person.refresh_from_db()
    assert person.full_name == "刘洋"


def test_unverified_people_can_ask_for_the_link_again_from_their_profile(client):
    person = factories.UserFactory(email_verified_at=None, preferred_language="en")
    client.force_login(person)
    html = client.get(reverse("accounts:profile")).content.decode()
    assert "not verified" in html
    assert reverse("accounts:verification_resend") in html
