"""The custom user (email login, preferred language) and the constraints on people's roles."""

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.utils import translation

from accounts.enums import RepresentationStatus
from accounts.models import User
from tests.factories import (
    DepartmentMembershipFactory,
    EnterpriseFactory,
    EnterpriseRepresentativeFactory,
    ReviewerAssignmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PENDING, APPROVED = RepresentationStatus.PENDING, RepresentationStatus.APPROVED
REJECTED, REVOKED = RepresentationStatus.REJECTED, RepresentationStatus.REVOKED


def refused(build):
    with pytest.raises(IntegrityError), transaction.atomic():
        build()


# --- Email login --------------------------------------------------------------------------------


def test_email_is_unique_whatever_its_case_in_the_database():
    User.objects.create(email="li.na@example.cn")
    # Straight to the table, past the manager's lower-casing: the database still refuses.
    refused(lambda: User.objects.create(email="Li.Na@Example.CN"))


def test_create_user_stores_the_email_in_lower_case():
    user = User.objects.create_user("Li.Na@Example.CN", password="correct-horse-battery")
    assert user.email == "li.na@example.cn"
    refused(lambda: User.objects.create_user("LI.NA@example.cn"))


def test_login_works_whatever_case_the_person_types():
    User.objects.create_user("li.na@example.cn", password="correct-horse-battery")
    request = RequestFactory().post("/accounts/login/")
    user = authenticate(request, username="Li.Na@EXAMPLE.cn", password="correct-horse-battery")
    assert user is not None and user.email == "li.na@example.cn"


def test_full_clean_says_the_email_is_taken_on_the_email_field():
    UserFactory(email="li.na@example.cn")
    newcomer = User(email="LI.NA@example.CN")
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        newcomer.full_clean(exclude=["password"])
    with translation.override("en"):
        assert dict(caught.value) == {"email": ["User with this Email address already exists."]}


def test_full_clean_lower_cases_the_email():
    person = User(email="Wang.Fang@SAMR.example.cn")
    person.set_unusable_password()
    person.full_clean()
    assert person.email == "wang.fang@samr.example.cn"


def test_a_new_user_reads_chinese_until_they_choose_otherwise():
    person = User.objects.create_user("zhao.lei@example.cn")
    assert person.preferred_language == "zh-hans"
    assert not person.has_usable_password()


def test_create_superuser_makes_a_verified_platform_administrator():
    admin = User.objects.create_superuser("admin@example.cn", password="correct-horse-battery")
    assert admin.is_platform_admin and admin.is_staff and admin.email_verified_at is not None
    admin.is_active = False
    assert not admin.is_platform_admin


# --- One role of each kind per person ---------------------------------------------------------


def test_a_person_is_staff_of_one_department_only():
    membership = DepartmentMembershipFactory()
    refused(lambda: DepartmentMembershipFactory(user=membership.user))


def test_a_person_holds_one_reviewer_assignment_only():
    assignment = ReviewerAssignmentFactory()
    refused(lambda: ReviewerAssignmentFactory(user=assignment.user))


@pytest.mark.parametrize(
    ("first", "second"),
    [(PENDING, PENDING), (PENDING, APPROVED), (APPROVED, PENDING), (APPROVED, APPROVED)],
)
def test_a_person_claims_one_enterprise_at_a_time(first, second):
    claim = EnterpriseRepresentativeFactory(status=first)
    refused(lambda: EnterpriseRepresentativeFactory(user=claim.user, status=second))


@pytest.mark.parametrize("ended", [REJECTED, REVOKED])
def test_after_a_claim_ends_the_person_may_claim_again(ended):
    old = EnterpriseRepresentativeFactory(status=ended)
    EnterpriseRepresentativeFactory(user=old.user, enterprise=old.enterprise, status=PENDING)
    EnterpriseRepresentativeFactory(user=old.user, status=ended)
    assert old.user.enterprise_representations.count() == 3


def test_an_enterprise_may_have_several_representatives():
    enterprise = EnterpriseFactory()
    EnterpriseRepresentativeFactory(enterprise=enterprise, status=APPROVED)
    EnterpriseRepresentativeFactory(enterprise=enterprise, status=APPROVED)
    EnterpriseRepresentativeFactory(enterprise=enterprise, status=PENDING)
    assert enterprise.representatives.count() == 3


def test_database_refuses_an_unknown_claim_status():
    refused(lambda: EnterpriseRepresentativeFactory(status="maybe"))
