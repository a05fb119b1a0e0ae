import pytest
from django.contrib.auth import get_user
from django.core import mail
from django.urls import reverse

from accounts.enums import RepresentationStatus
from accounts.models import EnterpriseRepresentative, EnterpriseSignup, User
from qualitymonth.models import AuditLogEntry
from registrations.models import Enterprise
from tests import factories

from .links import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    """Pages speak English here, so the assertions hold once Chinese translations exist."""
    client.cookies["django_language"] = "en"


PASSWORD = "Quality-Month-2024!"


@pytest.fixture
def city():
    province = factories.ProvinceFactory(code="320000", name_zh="江苏省", name_en="Jiangsu")
    return factories.CityFactory(
        parent=province, code="320100", name_zh="南京市", name_en="Nanjing"
    )


def signup_data(city, **overrides):
    data = {
        "email": "Chen@Enterprise.example.cn",
        "full_name": "陈明",
        "preferred_language": "en",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "enterprise-uscc": factories.valid_uscc("320100"),
        "enterprise-name": "南京质量科技有限公司",
        "enterprise-region": city.pk,
        "enterprise-industry": "C",
        "enterprise-size": "small",
        "enterprise-address": "江东中路1号",
        "enterprise-contact_name": "陈明",
        "enterprise-mobile": "138 0013 8000",
        "enterprise-email": "office@enterprise.example.cn",
    }
    data.update(overrides)
    return data


def sign_up(client, city, capture, **overrides):
    data = signup_data(city, **overrides)
    with capture(execute=True):
        response = client.post(reverse("accounts:signup"), data)
    assert response.status_code == 302, response.context and [
        response.context["account_form"].errors,
        response.context["enterprise_form"].errors,
    ]
    return User.objects.get(email__iexact=data["email"]), data


def verify(client, message, capture):
    link = link_in(message, "/accounts/verify/")
    page = client.get(link)
    assert page.status_code == 200 and page.context["link_state"] == "valid"
    with capture(execute=True):
        return client.post(link)


def test_the_signup_page_offers_provinces_with_their_cities(client, city):
    response = client.get(reverse("accounts:signup"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<optgroup label="Jiangsu">' in html
    assert "Nanjing" in html
    assert 'name="enterprise-uscc"' in html


def test_signup_keeps_everything_in_waiting_until_the_email_is_verified(
    client, city, django_capture_on_commit_callbacks
):
    user, data = sign_up(client, city, django_capture_on_commit_callbacks)
    assert user.email == "chen@enterprise.example.cn"
    assert user.check_password(PASSWORD)
    assert user.email_verified_at is None
    assert user.preferred_language == "en"
    # Nothing claimed, no enterprise created, until verification.
    assert not Enterprise.objects.filter(uscc=data["enterprise-uscc"]).exists()
    assert not EnterpriseRepresentative.objects.filter(user=user).exists()
    signup = EnterpriseSignup.objects.get(user=user)
    assert signup.uscc == data["enterprise-uscc"]
    assert signup.details["mobile"] == "13800138000"

    (message,) = mail.outbox
    assert message.to == ["chen@enterprise.example.cn"]
    assert message.extra_headers["Content-Language"] == "en"
    assert "南京质量科技有限公司" in message.body
    response = client.get(reverse("accounts:signup_done"))
    assert "chen@enterprise.example.cn" in response.content.decode()


def test_verification_creates_the_enterprise_and_signs_in_its_first_holder(
    client, city, django_capture_on_commit_callbacks
):
    user, data = sign_up(client, city, django_capture_on_commit_callbacks)
    response = verify(client, mail.outbox[0], django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:my_enterprise")
    assert get_user(client).pk == user.pk
    user.refresh_from_db()
    assert user.email_verified_at is not None

    enterprise = Enterprise.objects.get(uscc=data["enterprise-uscc"])
    assert enterprise.name == "南京质量科技有限公司"
    assert enterprise.region == city
    assert enterprise.mobile == "13800138000"
    claim = EnterpriseRepresentative.objects.get(user=user)
    assert claim.enterprise == enterprise
    assert claim.status == RepresentationStatus.APPROVED
    assert not EnterpriseSignup.objects.filter(user=user).exists()
    assert (
        AuditLogEntry.objects.for_object(user)
        .filter(action="accounts.user.email_verified")
        .exists()
    )
    assert (
        AuditLogEntry.objects.for_object(claim)
        .filter(action="accounts.representative.claimed")
        .exists()
    )

    page = client.get(reverse("accounts:my_enterprise"))
    assert "南京质量科技有限公司" in page.content.decode()
    assert mail.outbox[-1].subject.startswith("You now represent")


def test_a_verification_link_works_once(client, city, django_capture_on_commit_callbacks):
    sign_up(client, city, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0], "/accounts/verify/")
    verify(client, mail.outbox[0], django_capture_on_commit_callbacks)
    client.logout()
    response = client.get(link)
    assert response.context["link_state"] == "invalid"
    assert response.context["already_verified"] is True
    assert "您的邮箱已通过验证" in response.content.decode()  # Chinese by default
    assert client.post(link).context["link_state"] == "invalid"
    assert EnterpriseRepresentative.objects.count() == 1


def test_an_expired_verification_link_is_refused(
    client, settings, city, django_capture_on_commit_callbacks
):
    user, _data = sign_up(client, city, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0], "/accounts/verify/")
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = client.post(link)
    assert response.context["link_state"] == "expired"
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_opening_the_link_alone_verifies_nothing(client, city, django_capture_on_commit_callbacks):
    """Mail scanners open links: only the button (POST) verifies."""
    user, _data = sign_up(client, city, django_capture_on_commit_callbacks)
    client.get(link_in(mail.outbox[0], "/accounts/verify/"))
    user.refresh_from_db()
    assert user.email_verified_at is None


def test_the_verification_link_can_be_sent_again(client, city, django_capture_on_commit_callbacks):
    user, _data = sign_up(client, city, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:verification_resend"), {"email": "CHEN@enterprise.example.cn"}
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    response = verify(client, mail.outbox[1], django_capture_on_commit_callbacks)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email_verified_at is not None


def test_resending_says_the_same_for_unknown_addresses(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:verification_resend"), {"email": "nobody@example.cn"}, follow=True
        )
    assert "If an account with an unverified address" in response.content.decode()
    assert mail.outbox == []


def test_mistakes_show_next_to_their_field_and_nothing_typed_is_lost(client, city):
    data = signup_data(
        city,
        **{
            "enterprise-uscc": "91320100MA1XXXXXX1",
            "enterprise-mobile": "12345",
            "password2": "something else",
        },
    )
    response = client.post(reverse("accounts:signup"), data)
    assert response.status_code == 200
    account_form = response.context["account_form"]
    enterprise_form = response.context["enterprise_form"]
    assert "password2" in account_form.errors
    assert "uscc" in enterprise_form.errors
    assert "mobile" in enterprise_form.errors
    html = response.content.decode()
    assert 'id="id_enterprise-uscc_errors"' in html
    for typed in ("Chen@Enterprise.example.cn", "陈明", "南京质量科技有限公司", "江东中路1号"):
        assert typed in html
    assert f'<option value="{city.pk}" selected>' in html
    assert not User.objects.exists()


def test_an_address_cannot_sign_up_twice(client, city):
    factories.UserFactory(email="chen@enterprise.example.cn")
    response = client.post(reverse("accounts:signup"), signup_data(city))
    assert response.status_code == 200
    assert "exists already" in str(response.context["account_form"].errors["email"])


def test_signed_in_people_are_sent_to_their_enterprise(client):
    client.force_login(factories.UserFactory())
    response = client.get(reverse("accounts:signup"))
    assert response["Location"] == reverse("accounts:my_enterprise")


def test_municipalities_offer_their_districts(client):
    beijing = factories.ProvinceFactory(code="110000", name_zh="北京市", name_en="Beijing")
    districts = factories.CityFactory(
        parent=beijing, code="110100", name_zh="北京市市辖区", name_en="Beijing Districts"
    )
    factories.CountyFactory(parent=districts, code="110105", name_zh="朝阳区", name_en="Chaoyang")
    html = client.get(reverse("accounts:signup")).content.decode()
    assert "Chaoyang" in html
    assert "Beijing Districts" not in html
