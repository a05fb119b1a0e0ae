"""Checking enterprises in at the door by their 8-character code."""

import pytest
from django.utils import translation

from qualitymonth.errors import DomainError, NotAllowed
from qualitymonth.models import AuditLogEntry
from registrations.enums import RegistrationStatus
from registrations.services import normalise_check_in_code, registration_check_in
from tests.factories import (
    AdminFactory,
    DepartmentMembershipFactory,
    EnterpriseFactory,
    EnterpriseRepresentativeFactory,
    RegistrationFactory,
    UserFactory,
)
from tests.registrations.test_signup import open_activity

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def activity():
    return open_activity()


@pytest.fixture
def staff(activity):
    return DepartmentMembershipFactory(department=activity.organiser).user


@pytest.fixture
def registration(activity):
    return RegistrationFactory(
        activity=activity, enterprise=EnterpriseFactory(name="杭州恒信精密机械有限公司")
    )


def spaced_lower(code: str) -> str:
    return f" {code[:4].lower()} {code[4:].lower()} "


def test_organiser_staff_check_in_by_code_in_any_case_with_spaces(activity, staff, registration):
    checked = registration_check_in(
        activity, actor=staff, code=spaced_lower(registration.check_in_code)
    )

    assert checked.pk == registration.pk
    registration.refresh_from_db()
    assert registration.checked_in_at is not None
    assert registration.checked_in_by == staff
    entry = AuditLogEntry.objects.get(action="registrations.registration.checked_in")
    assert entry.actor == staff and entry.object_id == str(registration.pk)


def test_hyphenated_codes_are_read_too():
    assert normalise_check_in_code("ab2c-d3ef") == "AB2CD3EF"
    assert normalise_check_in_code("\tab2c d3ef\n") == "AB2CD3EF"


def test_a_second_check_in_says_when_the_first_was(activity, staff, registration):
    registration_check_in(activity, actor=staff, code=registration.check_in_code)
    first = type(registration).objects.get(pk=registration.pk).checked_in_at

    with pytest.raises(
        DomainError, match="杭州恒信精密机械有限公司 was already checked in at"
    ) as refused:
        registration_check_in(activity, actor=AdminFactory(), code=registration.check_in_code)

    assert refused.value.code == "already_checked_in"
    registration.refresh_from_db()
    assert registration.checked_in_at == first and registration.checked_in_by == staff
    assert AuditLogEntry.objects.filter(action="registrations.registration.checked_in").count() == 1


def test_a_code_of_another_activity_is_refused(activity, staff):
    elsewhere = RegistrationFactory(activity=open_activity(title="另一场培训"))
    with pytest.raises(DomainError, match="is for another activity") as refused:
        registration_check_in(activity, actor=staff, code=elsewhere.check_in_code)
    assert refused.value.code == "code_other_activity"
    elsewhere.refresh_from_db()
    assert elsewhere.checked_in_at is None


@pytest.mark.parametrize(
    "status",
    [RegistrationStatus.WAITING, RegistrationStatus.WITHDRAWN, RegistrationStatus.CANCELLED],
)
def test_only_confirmed_registrations_check_in(activity, staff, status):
    registration = RegistrationFactory(activity=activity, status=status)
    with pytest.raises(DomainError) as refused:
        registration_check_in(activity, actor=staff, code=registration.check_in_code)
    assert refused.value.code == "not_confirmed"
    assert str(RegistrationStatus(status).label) in str(refused.value)
    registration.refresh_from_db()
    assert registration.checked_in_at is None


@pytest.mark.parametrize(
    ("code", "expected"), [("ZZZZ9999", "code_unknown"), ("  ", "code_required")]
)
def test_unknown_and_empty_codes(activity, staff, registration, code, expected):
    with pytest.raises(DomainError) as refused:
        registration_check_in(activity, actor=staff, code=code)
    assert refused.value.code == expected


def test_an_administrator_may_check_in(activity, registration):
    registration_check_in(activity, actor=AdminFactory(), code=registration.check_in_code)
    registration.refresh_from_db()
    assert registration.checked_in_at is not None


def test_nobody_else_checks_in(activity, registration):
    people = [
        DepartmentMembershipFactory().user,  # another department's staff
        EnterpriseRepresentativeFactory(enterprise=registration.enterprise).user,
        UserFactory(),
    ]
    for person in people:
        with pytest.raises(NotAllowed):
            registration_check_in(activity, actor=person, code=registration.check_in_code)
    registration.refresh_from_db()
    assert registration.checked_in_at is None


def test_a_scanned_confirmation_qr_url_gives_its_code():
    from registrations.services import normalise_check_in_code

    url = "https://zlj.example.gov.cn/workspace/registrations/check-in/ab3d-ef7h/"
    assert normalise_check_in_code(url) == "AB3DEF7H"
    assert normalise_check_in_code(" ab3d ef7h ") == "AB3DEF7H"


def test_the_check_in_form_takes_a_scanned_qr_url():
    from registrations.organiser_views import CheckInForm

    url = "https://zlj.example.gov.cn/workspace/registrations/check-in/AB3DEF7H/"
    form = CheckInForm({"code": url})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["code"] == "AB3DEF7H"
