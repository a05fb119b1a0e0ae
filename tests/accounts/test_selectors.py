"""The selectors list exactly what `has_perm(view_...)` allows, for every role, once each."""

import pytest
from django.db import transaction

from activities.enums import ActivityStatus
from activities.models import Activity
from activities.selectors import activity_visible_to
from registrations.models import Enterprise, Registration
from registrations.selectors import enterprise_visible_to, registration_visible_to
from tests.accounts.test_rules import ROLES, build_world
from tests.factories import (
    ActivityFactory,
    DepartmentFactory,
    DepartmentMembershipFactory,
    RegistrationFactory,
)

pytestmark = pytest.mark.django_db

SELECTORS = {
    "activities.view_activity": (activity_visible_to, Activity),
    "registrations.view_enterprise": (enterprise_visible_to, Enterprise),
    "registrations.view_registration": (registration_visible_to, Registration),
}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_world()
        # More co-organisers on more activities: a join on them must not repeat a row.
        staff_co = built.people["staff_co"]
        co_department = staff_co.department_membership.department
        extra = DepartmentFactory(region=co_department.region)
        for activity in Activity.objects.all():
            activity.co_organisers.add(co_department, extra)
        DepartmentMembershipFactory(department=extra)
        yield built
        transaction.set_rollback(True)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("permission", sorted(SELECTORS))
def test_selector_lists_exactly_what_the_permission_allows(world, permission, role):
    selector, model = SELECTORS[permission]
    person = world.person(role)
    listed = list(selector(person))
    allowed = [obj for obj in model.objects.all() if person.has_perm(permission, obj)]
    assert {obj.pk for obj in listed} == {obj.pk for obj in allowed}
    assert len(listed) == len({obj.pk for obj in listed}), "an object is listed twice"
    assert selector(person).count() == len(listed)


def test_co_organiser_staff_see_each_co_organised_activity_once():
    co_department, another = DepartmentFactory(), DepartmentFactory()
    staff = DepartmentMembershipFactory(department=co_department).user
    activity = ActivityFactory(status=ActivityStatus.SUBMITTED)
    activity.co_organisers.set([co_department, another])
    own = ActivityFactory(organiser=co_department, status=ActivityStatus.DRAFT)
    own.co_organisers.set([co_department, another])
    not_ours = ActivityFactory(status=ActivityStatus.DRAFT)
    not_ours.co_organisers.set([another])
    RegistrationFactory.create_batch(2, activity=activity)
    asked = {activity.pk, own.pk, not_ours.pk}
    visible = [a.pk for a in activity_visible_to(staff) if a.pk in asked]
    assert sorted(visible) == sorted([activity.pk, own.pk])


def test_the_activity_selector_costs_the_same_for_one_or_many(django_assert_num_queries):
    staff = DepartmentMembershipFactory().user
    department = staff.department_membership.department
    drafts = ActivityFactory.create_batch(3, organiser=department, status=ActivityStatus.DRAFT)
    for draft in drafts:
        draft.co_organisers.set([department, DepartmentFactory()])
    with django_assert_num_queries(4):  # the person's three roles, then the list
        listed = {a.pk for a in activity_visible_to(staff)}
    assert listed >= {d.pk for d in drafts}
