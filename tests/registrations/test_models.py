"""Database constraints of enterprises and registrations, and what `full_clean` says instead."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from registrations.enums import RegistrationStatus
from registrations.models import Enterprise, Registration
from registrations.validators import uscc_check_character
from tests.factories import ActivityFactory, EnterpriseFactory, RegistrationFactory

pytestmark = pytest.mark.django_db

CONFIRMED, WAITING = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING
WITHDRAWN, CANCELLED = RegistrationStatus.WITHDRAWN, RegistrationStatus.CANCELLED


def refused(build):
    with pytest.raises(IntegrityError), transaction.atomic():
        build()


def english_errors(obj) -> dict[str, list[str]]:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        obj.full_clean()
    with translation.override("en"):
        return {field: [str(m) for m in messages] for field, messages in caught.value}


# --- Enterprise ----------------------------------------------------------------------------------


def test_database_refuses_a_second_enterprise_with_the_same_credit_code():
    EnterpriseFactory(uscc="91110000600037341L")
    refused(lambda: EnterpriseFactory(uscc="91110000600037341L"))


def test_database_refuses_the_same_credit_code_typed_differently():
    EnterpriseFactory(uscc="91110000600037341L")
    refused(lambda: EnterpriseFactory(uscc="9111 0000 6000 3734 1l"))


@pytest.mark.parametrize(
    "uscc",
    [
        "9111000060003734",  # too short
        "9111000060003734IL",  # a letter the standard never uses
        "91A1000060003734XL",  # a letter in the region code
        "91110000600037341/",
    ],
)
def test_database_refuses_a_credit_code_of_the_wrong_shape(uscc):
    refused(lambda: EnterpriseFactory(uscc=uscc))


def test_the_credit_code_is_stored_in_one_spelling():
    enterprise = EnterpriseFactory(uscc=" 9111 0000 6000 3734 1l ")
    assert enterprise.uscc == "91110000600037341L"
    enterprise.refresh_from_db()
    assert enterprise.uscc == "91110000600037341L"
    assert Enterprise.objects.get(uscc="91110000-600037341l") == enterprise


def test_full_clean_reports_credit_code_mistakes_on_the_field():
    region = EnterpriseFactory().region
    enterprise = EnterpriseFactory.build(region=region, uscc="91110000600037341A")
    assert english_errors(enterprise) == {
        "uscc": [
            "The last character of this credit code (its check character) does not match the "
            "others: please check the code for typos."
        ]
    }


def test_full_clean_reports_a_taken_credit_code_on_the_field():
    taken = EnterpriseFactory(uscc="91110000600037341L")
    newcomer = EnterpriseFactory.build(region=taken.region, uscc="9111 0000 6000 3734 1l")
    assert english_errors(newcomer) == {
        "uscc": ["Enterprise with this Unified Social Credit Code already exists."]
    }


def test_full_clean_normalises_a_credit_code_typed_in_groups():
    region = EnterpriseFactory().region
    enterprise = EnterpriseFactory.build(region=region, uscc="9144 0300 7152 6726 xg")
    enterprise.full_clean()
    assert enterprise.uscc == "9144030071526726XG"


def test_full_clean_reports_a_landline_as_mobile_on_the_field():
    region = EnterpriseFactory().region
    enterprise = EnterpriseFactory.build(region=region, mobile="010-65123456")
    assert english_errors(enterprise) == {
        "mobile": ["Enter a valid mainland China mobile number, e.g. 138 0013 8000."]
    }


def test_full_clean_keeps_a_mobile_as_eleven_digits():
    enterprise = EnterpriseFactory.build(
        region=EnterpriseFactory().region, mobile="+86 138 0013 8000"
    )
    enterprise.full_clean()
    assert enterprise.mobile == "13800138000"


def test_database_refuses_an_unknown_industry_or_size():
    refused(lambda: EnterpriseFactory(industry="Z"))
    refused(lambda: EnterpriseFactory(size="giant"))


def test_the_factory_makes_valid_distinct_codes():
    first, second = EnterpriseFactory(), EnterpriseFactory()
    first.full_clean()
    second.full_clean()
    assert first.uscc != second.uscc
    assert first.uscc[17] == uscc_check_character(first.uscc[:17])


# --- Registration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [(CONFIRMED, CONFIRMED), (CONFIRMED, WAITING), (WAITING, CONFIRMED), (WAITING, WAITING)],
)
def test_database_refuses_two_active_registrations_of_one_enterprise(first, second):
    registration = RegistrationFactory(status=first)
    refused(
        lambda: RegistrationFactory(
            activity=registration.activity, enterprise=registration.enterprise, status=second
        )
    )


@pytest.mark.parametrize("ended", [WITHDRAWN, CANCELLED])
def test_an_ended_registration_leaves_room_for_a_new_one(ended):
    old = RegistrationFactory(status=ended)
    new = RegistrationFactory(activity=old.activity, enterprise=old.enterprise, status=CONFIRMED)
    assert set(Registration.objects.filter(enterprise=old.enterprise)) == {old, new}


def test_an_enterprise_may_withdraw_and_return_many_times():
    activity, enterprise = ActivityFactory(), EnterpriseFactory()
    for _ in range(3):
        RegistrationFactory(activity=activity, enterprise=enterprise, status=WITHDRAWN)
    RegistrationFactory(activity=activity, enterprise=enterprise, status=WAITING)
    assert Registration.objects.filter(activity=activity).count() == 4


def test_database_refuses_reviving_an_old_registration_beside_an_active_one():
    old = RegistrationFactory(status=WITHDRAWN)
    RegistrationFactory(activity=old.activity, enterprise=old.enterprise, status=CONFIRMED)
    refused(lambda: Registration.objects.filter(pk=old.pk).update(status=CONFIRMED))


def test_one_enterprise_may_register_for_many_activities_and_many_for_one():
    enterprise, activity = EnterpriseFactory(), ActivityFactory()
    RegistrationFactory(enterprise=enterprise, activity=activity)
    RegistrationFactory(enterprise=enterprise)
    RegistrationFactory(activity=activity)
    assert Registration.objects.count() == 3


def test_database_refuses_an_unknown_registration_status():
    refused(lambda: RegistrationFactory(status="paid"))


def test_full_clean_says_the_enterprise_is_already_registered():
    registration = RegistrationFactory()
    again = Registration(activity=registration.activity, enterprise=registration.enterprise)
    assert english_errors(again) == {
        "__all__": ["This enterprise is already registered for this activity."]
    }
