import pytest
from django.contrib.auth import get_user
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import DepartmentMembership, ReviewerAssignment, User
from accounts.services import staff_invite
from accounts.tokens import (
    email_verification_token_generator,
    invitation_token_generator,
    password_reset_token_generator,
)
from qualitymonth.models import AuditLogEntry
from tests import factories

from .links import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    """Pages speak English here, so the assertions hold once Chinese translations exist."""
    client.cookies["django_language"] = "en"


PASSWORD = "Quality-Month-2024!"


@pytest.fixture
def admin():
    return factories.AdminFactory()


@pytest.fixture
def department():
    return factories.DepartmentFactory(name_zh="北京市市场监督管理局", name_en="Beijing AMR")


def invite_form(**overrides):
    data = {
        "email": "Wang.Fang@samr.example.cn",
        "full_name": "王芳",
        "preferred_language": "zh-hans",
        "department": "",
        "reviewer": "",
    }
    data.update(overrides)
    return data


def test_only_administrators_may_open_or_post_the_invitation_page(client, department):
    url = reverse("accounts:staff_invite")
    assert client.get(url).status_code == 302  # to the login page
    staff = factories.DepartmentMembershipFactory(department=department).user
    client.force_login(staff)
    assert client.get(url).status_code == 403
    response = client.post(url, invite_form(department=department.pk))
    assert response.status_code == 403
    assert not User.objects.filter(email="wang.fang@samr.example.cn").exists()
    assert client.get(reverse("accounts:staff_list")).status_code == 403


def test_admin_invites_department_staff_in_their_language(
    client, admin, department, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:staff_invite"),
            invite_form(department=department.pk, preferred_language="en"),
        )
    assert response.status_code == 302
    person = User.objects.get(email="wang.fang@samr.example.cn")
    assert person.full_name == "王芳"
    assert not person.has_usable_password()
    assert person.email_verified_at is None
    assert DepartmentMembership.objects.get(user=person).department == department
    assert AuditLogEntry.objects.for_object(person).filter(action="accounts.user.invited").exists()

    (message,) = mail.outbox
    assert message.to == ["wang.fang@samr.example.cn"]
    assert message.extra_headers["Content-Language"] == "en"
    assert "Beijing AMR" in message.body  # names in the invitee's language
    assert "北京市市场监督管理局" not in message.body
    link_in(message, "/accounts/invitation/")


def test_a_chinese_invitee_reads_chinese_names(
    admin, department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        staff_invite(
            email="li@samr.example.cn",
            full_name="李",
            preferred_language="zh-hans",
            department=department,
            actor=admin,
        )
    (message,) = mail.outbox
    assert message.extra_headers["Content-Language"] == "zh-hans"
    assert "北京市市场监督管理局" in message.body


def test_invite_provincial_reviewer_and_administrator(
    client, admin, django_capture_on_commit_callbacks
):
    province = factories.ProvinceFactory(code="440000", name_zh="广东省", name_en="Guangdong")
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:staff_invite"),
            invite_form(reviewer=str(province.pk), platform_admin="on"),
        )
    person = User.objects.get(email="wang.fang@samr.example.cn")
    assert ReviewerAssignment.objects.get(user=person).region == province
    assert person.is_superuser and person.is_staff
    assert len(mail.outbox) == 1


def test_invite_national_reviewer(admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        person = staff_invite(
            email="n@samr.example.cn",
            full_name="N",
            preferred_language="en",
            reviewer=True,
            actor=admin,
        )
    assert ReviewerAssignment.objects.get(user=person).region is None
    assert "National reviewer" in mail.outbox[0].body


def test_an_invitation_needs_a_role_and_keeps_what_was_typed(client, admin):
    client.force_login(admin)
    response = client.post(reverse("accounts:staff_invite"), invite_form())
    assert response.status_code == 200
    assert "Choose at least one role" in response.content.decode()
    assert 'value="Wang.Fang@samr.example.cn"' in response.content.decode()
    assert not User.objects.filter(email__iexact="wang.fang@samr.example.cn").exists()


def test_inviting_an_existing_person_reuses_their_account(
    admin, department, django_capture_on_commit_callbacks
):
    existing = factories.UserFactory(
        email="zhao@example.cn", full_name="赵", preferred_language="en"
    )
    with django_capture_on_commit_callbacks(execute=True):
        person = staff_invite(
            email="ZHAO@example.cn",
            full_name="Someone else",
            preferred_language="zh-hans",
            department=department,
            actor=admin,
        )
    assert person == existing
    person.refresh_from_db()
    assert person.full_name == "赵" and person.preferred_language == "en"
    assert person.has_usable_password()
    assert User.objects.filter(email__iexact="zhao@example.cn").count() == 1
    assert mail.outbox[0].extra_headers["Content-Language"] == "en"


def test_the_link_sets_the_password_once_verifies_and_signs_in(
    client, admin, department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        person = staff_invite(
            email="qian@samr.example.cn",
            full_name="钱",
            preferred_language="en",
            department=department,
            actor=admin,
        )
    link = link_in(mail.outbox[0], "/accounts/invitation/")

    response = client.get(link)
    assert response.status_code == 302  # the token moves to the session, out of the address
    form_url = response["Location"]
    response = client.get(form_url)
    assert response.status_code == 200 and response.context["validlink"]

    response = client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    person.refresh_from_db()
    assert person.check_password(PASSWORD)
    assert person.email_verified_at is not None
    assert get_user(client).pk == person.pk
    assert (
        AuditLogEntry.objects.for_object(person)
        .filter(action="accounts.user.invitation_accepted")
        .exists()
    )

    client.logout()
    response = client.get(link)  # the second use
    assert response.status_code == 200
    assert response.context["validlink"] is False
    assert response.context["link_state"] == "invalid"
    assert "该链接已被使用" in response.content.decode()  # Chinese by default
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


def test_an_expired_invitation_is_refused_clearly(
    client, settings, admin, department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        person = staff_invite(
            email="sun@samr.example.cn",
            full_name="孙",
            preferred_language="en",
            department=department,
            actor=admin,
        )
    link = link_in(mail.outbox[0], "/accounts/invitation/")
    settings.PASSWORD_RESET_TIMEOUT = -1  # every link made so far is now too old
    response = client.get(link)
    assert response.status_code == 200
    assert response.context["link_state"] == "expired"
    assert "expired" in response.content.decode()
    person.refresh_from_db()
    assert not person.has_usable_password()


def test_a_tampered_invitation_link_is_refused(
    client, admin, department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        staff_invite(
            email="zhou@samr.example.cn",
            full_name="周",
            preferred_language="en",
            department=department,
            actor=admin,
        )
    link = link_in(mail.outbox[0], "/accounts/invitation/")
    response = client.get(link[:-3] + "xyz/")
    assert response.context["link_state"] == "invalid"


def test_the_invitation_token_opens_nothing_else():
    person = factories.UserFactory()
    token = invitation_token_generator.make_token(person)
    assert invitation_token_generator.check_token(person, token)
    assert not password_reset_token_generator.check_token(person, token)
    assert not email_verification_token_generator.check_token(person, token)


def test_admin_resends_a_pending_invitation(
    client, admin, department, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        person = staff_invite(
            email="wu@samr.example.cn",
            full_name="吴",
            preferred_language="en",
            department=department,
            actor=admin,
        )
    client.force_login(admin)
    response = client.get(reverse("accounts:staff_list"))
    assert "wu@samr.example.cn" in response.content.decode()
    assert (
        reverse("accounts:staff_invitation_resend", args=[person.pk]) in response.content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:staff_invitation_resend", args=[person.pk]))
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == ["wu@samr.example.cn"]
    # The new link works.
    link = link_in(mail.outbox[1], "/accounts/invitation/")
    client.logout()
    assert client.get(client.get(link)["Location"]).context["validlink"]


def test_no_resend_once_the_password_is_set(client, admin, django_capture_on_commit_callbacks):
    person = factories.DepartmentMembershipFactory().user  # has a password
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:staff_invitation_resend", args=[person.pk]), follow=True
        )
    assert mail.outbox == []
    assert "already set a password" in response.content.decode()


def test_staff_list_queries_do_not_grow_with_people(client, admin):
    client.force_login(admin)

    def queries_for_the_page():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("accounts:staff_list"))
        assert response.status_code == 200
        return len(queries)

    factories.DepartmentMembershipFactory()
    factories.ReviewerAssignmentFactory(region=factories.ProvinceFactory())
    with_one = queries_for_the_page()
    for _ in range(2):
        factories.DepartmentMembershipFactory()
        factories.ReviewerAssignmentFactory(region=factories.ProvinceFactory())
    assert queries_for_the_page() == with_one
