"""Every permission of `accounts/rules.py`, for every role, allowed and refused.

One small world (two provinces, a city and a county, four departments, four activities, three
enterprises, four registrations, three feedback reports with typical cases and media) is built
once per module; each test asks one permission of one
role about every object and compares the set it may act on with the table below.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from accounts.enums import RepresentationStatus
from accounts.models import User
from accounts.services import (
    department_membership_grant,
    department_membership_revoke,
    enterprise_representative_remove,
    platform_admin_revoke,
    reviewer_assignment_grant,
    reviewer_assignment_revoke,
    token_create,
)
from activities.enums import ActivityStatus, DepartmentLevel
from feedback.enums import ReportStatus
from tests.factories import (
    ActivityFactory,
    AdminFactory,
    CampaignFactory,
    CityFactory,
    CountyFactory,
    DepartmentFactory,
    DepartmentMembershipFactory,
    EnterpriseFactory,
    EnterpriseRepresentativeFactory,
    FeedbackMediaFactory,
    FeedbackReportFactory,
    KeyArrangementFactory,
    NationalDepartmentFactory,
    ProvinceFactory,
    RegistrationFactory,
    ReviewerAssignmentFactory,
    TypicalCaseFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

APPROVED, PENDING = RepresentationStatus.APPROVED, RepresentationStatus.PENDING

ROLES = [
    "anonymous",
    "rep_e1",  # approved representative of enterprise e1 (Shenzhen)
    "rep_pending",  # a claim on e2 still waiting for approval
    "staff_a",  # Guangdong provincial bureau (department A)
    "staff_b",  # Jiangsu provincial bureau (department B)
    "staff_co",  # Jiangsu industry department, co-organiser of b_sub
    "reviewer_gd",  # provincial reviewer for Guangdong (and Shenzhen, Futian below it)
    "reviewer_sz",  # reviewer for the city of Shenzhen only
    "reviewer_js",  # provincial reviewer for Jiangsu
    "reviewer_national",
    "staff_b_reviewer_gd",  # one person, two roles: Jiangsu staff and Guangdong reviewer
    "admin",
    "inactive",  # holds every role above, but the account is deactivated
]


class World:
    """Objects by name, and the people who look at them."""

    def __init__(self):
        self.objects: dict[str, object] = {}
        self.people: dict[str, object] = {}

    def __getattr__(self, name):
        return self.__dict__["objects"][name]

    def of(self, names) -> dict[str, object]:
        return {name: self.objects[name] for name in names}

    def person(self, role: str):
        """A freshly loaded user, as the next request would see them."""
        found = self.people[role]
        return found if found.pk is None else User.objects.get(pk=found.pk)


def build_world() -> World:
    w = World()
    o = w.objects
    guangdong = ProvinceFactory(code="440000", name_zh="广东省", name_en="Guangdong")
    shenzhen = CityFactory(code="440300", parent=guangdong, name_zh="深圳市")
    futian = CountyFactory(code="440304", parent=shenzhen, name_zh="福田区")
    jiangsu = ProvinceFactory(code="320000", name_zh="江苏省", name_en="Jiangsu")

    o["dep_a"] = DepartmentFactory(name_zh="广东省市场监督管理局", region=guangdong)
    o["dep_b"] = DepartmentFactory(name_zh="江苏省市场监督管理局", region=jiangsu)
    o["dep_co"] = DepartmentFactory(name_zh="江苏省工业和信息化厅", region=jiangsu)
    o["dep_n"] = NationalDepartmentFactory(
        name_zh="国家市场监督管理总局", level=DepartmentLevel.NATIONAL, is_lead=True
    )

    campaign = CampaignFactory(year=2024)
    arrangement = KeyArrangementFactory(campaign=campaign, number=2)
    common = {"campaign": campaign, "key_arrangement": arrangement}
    o["a_pub"] = ActivityFactory(organiser=o["dep_a"], region=futian, **common)
    o["a_draft"] = ActivityFactory(
        organiser=o["dep_a"], status=ActivityStatus.DRAFT, no_fee_declared=False, **common
    )
    o["b_sub"] = ActivityFactory(organiser=o["dep_b"], status=ActivityStatus.SUBMITTED, **common)
    o["b_sub"].co_organisers.set([o["dep_co"], o["dep_n"]])
    o["n_returned"] = ActivityFactory(
        organiser=o["dep_n"], region=shenzhen, status=ActivityStatus.RETURNED, **common
    )

    o["e1"] = EnterpriseFactory(region=shenzhen)
    o["e2"] = EnterpriseFactory(region=jiangsu)
    o["e3"] = EnterpriseFactory(region=futian)
    o["r1"] = RegistrationFactory(enterprise=o["e1"], activity=o["a_pub"])
    o["r2"] = RegistrationFactory(enterprise=o["e2"], activity=o["b_sub"])
    o["r3"] = RegistrationFactory(enterprise=o["e1"], activity=o["b_sub"])
    o["r4"] = RegistrationFactory(enterprise=o["e3"], activity=o["n_returned"])

    # Feedback: Guangdong's report accepted, with a published case and an unpublished one (no
    # consent); Jiangsu's submitted with one case; the national department's a draft.
    o["rep_a"] = FeedbackReportFactory(
        campaign=campaign, department=o["dep_a"], status=ReportStatus.ACCEPTED
    )
    o["rep_b"] = FeedbackReportFactory(
        campaign=campaign, department=o["dep_b"], status=ReportStatus.SUBMITTED
    )
    o["rep_n"] = FeedbackReportFactory(campaign=campaign, department=o["dep_n"])
    o["case_a_pub"] = TypicalCaseFactory(
        report=o["rep_a"], key_arrangement=arrangement, published_at=timezone.now()
    )
    o["case_a"] = TypicalCaseFactory(
        report=o["rep_a"], key_arrangement=arrangement, publication_consent=False
    )
    o["case_b"] = TypicalCaseFactory(report=o["rep_b"], key_arrangement=arrangement)
    o["media_a"] = FeedbackMediaFactory(report=o["rep_a"])  # of the report itself
    o["media_a_pub"] = FeedbackMediaFactory(report=o["rep_a"], case=o["case_a_pub"])
    o["media_b"] = FeedbackMediaFactory(report=o["rep_b"], case=o["case_b"])

    p = w.people
    p["anonymous"] = AnonymousUser()
    p["rep_e1"] = EnterpriseRepresentativeFactory(enterprise=o["e1"], status=APPROVED).user
    p["rep_pending"] = EnterpriseRepresentativeFactory(enterprise=o["e2"], status=PENDING).user
    p["staff_a"] = DepartmentMembershipFactory(department=o["dep_a"]).user
    p["staff_b"] = DepartmentMembershipFactory(department=o["dep_b"]).user
    p["staff_co"] = DepartmentMembershipFactory(department=o["dep_co"]).user
    p["reviewer_gd"] = ReviewerAssignmentFactory(region=guangdong).user
    p["reviewer_sz"] = ReviewerAssignmentFactory(region=shenzhen).user
    p["reviewer_js"] = ReviewerAssignmentFactory(region=jiangsu).user
    p["reviewer_national"] = ReviewerAssignmentFactory(region=None).user
    both = DepartmentMembershipFactory(department=o["dep_b"]).user
    ReviewerAssignmentFactory(user=both, region=guangdong)
    p["staff_b_reviewer_gd"] = both
    p["admin"] = AdminFactory()
    inactive = AdminFactory(is_active=False)
    DepartmentMembershipFactory(user=inactive, department=o["dep_a"])
    ReviewerAssignmentFactory(user=inactive, region=None)
    EnterpriseRepresentativeFactory(user=inactive, enterprise=o["e1"], status=APPROVED)
    p["inactive"] = inactive

    o["tok_rep"] = token_create(user=p["rep_e1"], name="ERP")[0]
    o["tok_staff_a"] = token_create(user=p["staff_a"], name="报表")[0]
    o["tok_inactive"] = token_create(user=inactive, name="旧脚本")[0]
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction that is rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


ALL_ACTIVITIES = {"a_pub", "a_draft", "b_sub", "n_returned"}
ALL_DEPARTMENTS = {"dep_a", "dep_b", "dep_co", "dep_n"}
ALL_ENTERPRISES = {"e1", "e2", "e3"}
ALL_REGISTRATIONS = {"r1", "r2", "r3", "r4"}
ALL_TOKENS = {"tok_rep", "tok_staff_a", "tok_inactive"}
PUBLIC = {"a_pub"}
ALL_REPORTS = {"rep_a", "rep_b", "rep_n"}
ALL_CASES = {"case_a_pub", "case_a", "case_b"}
ALL_MEDIA = {"media_a", "media_a_pub", "media_b"}
PUBLIC_CASES = {"case_a_pub"}
PUBLIC_MEDIA = {"media_a_pub"}

# permission -> (the objects asked about, {role: those it is granted on}); unnamed roles: none.
OBJECT_PERMISSIONS = {
    "activities.view_activity": (
        ALL_ACTIVITIES,
        {
            "anonymous": PUBLIC,
            "rep_e1": PUBLIC,
            "rep_pending": PUBLIC,
            "staff_a": {"a_pub", "a_draft"},
            "staff_b": {"a_pub", "b_sub"},
            "staff_co": {"a_pub", "b_sub"},  # a co-organiser sees the activity ...
            "reviewer_gd": {"a_pub", "a_draft", "n_returned"},
            "reviewer_sz": {"a_pub", "n_returned"},
            "reviewer_js": {"a_pub", "b_sub"},
            "reviewer_national": ALL_ACTIVITIES,
            "staff_b_reviewer_gd": {"a_pub", "a_draft", "b_sub", "n_returned"},
            "admin": ALL_ACTIVITIES,
            "inactive": PUBLIC,  # no more than the public
        },
    ),
    "activities.change_activity": (
        ALL_ACTIVITIES,
        {
            "staff_a": {"a_pub", "a_draft"},
            "staff_b": {"b_sub"},  # ... but only the organiser changes it
            "staff_b_reviewer_gd": {"b_sub"},
            "admin": ALL_ACTIVITIES,
        },
    ),
    "activities.submit_activity": (
        ALL_ACTIVITIES,
        {
            "staff_a": {"a_pub", "a_draft"},
            "staff_b": {"b_sub"},
            "staff_b_reviewer_gd": {"b_sub"},
            "admin": ALL_ACTIVITIES,
        },
    ),
    "activities.cancel_activity": (
        ALL_ACTIVITIES,
        {
            "staff_a": {"a_pub", "a_draft"},
            "staff_b": {"b_sub"},
            "staff_b_reviewer_gd": {"b_sub"},
            "admin": ALL_ACTIVITIES,
        },
    ),
    "activities.view_activity_history": (
        ALL_ACTIVITIES,
        {
            "staff_a": {"a_pub", "a_draft"},
            "staff_b": {"b_sub"},
            "staff_co": {"b_sub"},  # co-organisers read the history, not the public
            "reviewer_gd": {"a_pub", "a_draft", "n_returned"},
            "reviewer_sz": {"a_pub", "n_returned"},
            "reviewer_js": {"b_sub"},
            "reviewer_national": ALL_ACTIVITIES,
            "staff_b_reviewer_gd": {"a_pub", "a_draft", "b_sub", "n_returned"},
            "admin": ALL_ACTIVITIES,
        },
    ),
    "activities.review_activity": (
        ALL_ACTIVITIES,
        {
            "reviewer_gd": {"a_pub", "a_draft", "n_returned"},
            "reviewer_sz": {"a_pub", "n_returned"},
            "reviewer_js": {"b_sub"},
            "reviewer_national": ALL_ACTIVITIES,
            "staff_b_reviewer_gd": {"a_pub", "a_draft", "n_returned"},
            "admin": ALL_ACTIVITIES,
        },
    ),
    "activities.view_department": (ALL_DEPARTMENTS, dict.fromkeys(ROLES, ALL_DEPARTMENTS)),
    "activities.change_department": (ALL_DEPARTMENTS, {"admin": ALL_DEPARTMENTS}),
    "activities.view_department_staff": (
        ALL_DEPARTMENTS,
        {
            "staff_a": {"dep_a"},
            "staff_b": {"dep_b"},
            "staff_co": {"dep_co"},
            "reviewer_gd": {"dep_a"},
            "reviewer_js": {"dep_b", "dep_co"},
            "reviewer_national": ALL_DEPARTMENTS,
            "staff_b_reviewer_gd": {"dep_a", "dep_b"},
            "admin": ALL_DEPARTMENTS,
        },
    ),
    "registrations.view_enterprise": (
        ALL_ENTERPRISES,
        {
            "rep_e1": {"e1"},
            "reviewer_gd": {"e1", "e3"},
            "reviewer_sz": {"e1", "e3"},
            "reviewer_js": {"e2"},
            "reviewer_national": ALL_ENTERPRISES,
            "staff_b_reviewer_gd": {"e1", "e3"},
            "admin": ALL_ENTERPRISES,
        },
    ),
    "registrations.change_enterprise": (
        ALL_ENTERPRISES,
        {"rep_e1": {"e1"}, "admin": ALL_ENTERPRISES},
    ),
    "registrations.manage_representatives": (
        ALL_ENTERPRISES,
        {"rep_e1": {"e1"}, "admin": ALL_ENTERPRISES},
    ),
    "registrations.view_enterprise_contacts": (
        ALL_ENTERPRISES,
        {"rep_e1": {"e1"}, "admin": ALL_ENTERPRISES},
    ),
    "registrations.view_registration": (
        ALL_REGISTRATIONS,
        {
            "rep_e1": {"r1", "r3"},
            "staff_a": {"r1"},
            "staff_b": {"r2", "r3"},
            "staff_co": {"r2", "r3"},  # co-organiser of b_sub
            "reviewer_gd": {"r1", "r4"},
            "reviewer_sz": {"r1", "r4"},
            "reviewer_js": {"r2", "r3"},
            "reviewer_national": ALL_REGISTRATIONS,
            "staff_b_reviewer_gd": ALL_REGISTRATIONS,
            "admin": ALL_REGISTRATIONS,
        },
    ),
    "registrations.sign_up": (
        ALL_ACTIVITIES,
        # A pending claim and staff sign nobody up. Superusers pass every has_perm; the service
        # still signs up only the enterprise the person represents.
        {"rep_e1": PUBLIC, "admin": ALL_ACTIVITIES},
    ),
    "registrations.withdraw_registration": (
        ALL_REGISTRATIONS,
        {
            "rep_e1": {"r1", "r3"},
            "staff_a": {"r1"},
            "staff_b": {"r2", "r3"},
            "staff_b_reviewer_gd": {"r2", "r3"},  # as organiser staff, not as reviewer
            "admin": ALL_REGISTRATIONS,
        },
    ),
    "registrations.manage_registrations": (
        ALL_ACTIVITIES,
        {
            "staff_a": {"a_pub", "a_draft"},
            "staff_b": {"b_sub"},  # the co-organiser does not
            "staff_b_reviewer_gd": {"b_sub"},
            "admin": ALL_ACTIVITIES,
        },
    ),
    "registrations.view_registrants": (
        ALL_ACTIVITIES,
        {
            "staff_a": {"a_pub", "a_draft"},
            "staff_b": {"b_sub"},
            "staff_co": {"b_sub"},  # read-only
            "reviewer_gd": {"a_pub", "a_draft", "n_returned"},
            "reviewer_sz": {"a_pub", "n_returned"},
            "reviewer_js": {"b_sub"},
            "reviewer_national": ALL_ACTIVITIES,
            "staff_b_reviewer_gd": {"a_pub", "a_draft", "b_sub", "n_returned"},
            "admin": ALL_ACTIVITIES,
        },
    ),
    # Attendees, contacts and notes: those who run the activity (organiser and co-organisers),
    # not the reviewers (the API adds the enterprise's own representatives).
    "registrations.view_registrant_contacts": (
        ALL_ACTIVITIES,
        {
            "staff_a": {"a_pub", "a_draft"},
            "staff_b": {"b_sub"},
            "staff_co": {"b_sub"},
            "staff_b_reviewer_gd": {"b_sub"},  # as organiser staff, not as reviewer
            "admin": ALL_ACTIVITIES,
        },
    ),
    # The report, its cases and media: its department's staff, the reviewers of its region
    # (national reviewers alone for a national department) and administrators.
    "feedback.view_report": (
        ALL_REPORTS,
        {
            "staff_a": {"rep_a"},
            "staff_b": {"rep_b"},
            "reviewer_gd": {"rep_a"},
            "reviewer_js": {"rep_b"},  # Jiangsu's reviewer; the Shenzhen one sees no province
            "reviewer_national": ALL_REPORTS,
            "staff_b_reviewer_gd": {"rep_a", "rep_b"},
            "admin": ALL_REPORTS,
        },
    ),
    "feedback.change_report": (
        ALL_REPORTS,
        {
            "staff_a": {"rep_a"},  # the state (draft or returned) is the service's business
            "staff_b": {"rep_b"},
            "staff_b_reviewer_gd": {"rep_b"},  # as staff, not as reviewer
            "admin": ALL_REPORTS,
        },
    ),
    "feedback.submit_report": (
        ALL_REPORTS,
        {
            "staff_a": {"rep_a"},
            "staff_b": {"rep_b"},
            "staff_b_reviewer_gd": {"rep_b"},
            "admin": ALL_REPORTS,
        },
    ),
    "feedback.review_report": (
        ALL_REPORTS,
        {
            "reviewer_gd": {"rep_a"},
            "reviewer_js": {"rep_b"},
            "reviewer_national": ALL_REPORTS,
            "staff_b_reviewer_gd": {"rep_a"},  # never their own department's report
            "admin": ALL_REPORTS,
        },
    ),
    "feedback.extend_deadline": (ALL_REPORTS, {"admin": ALL_REPORTS}),
    "feedback.send_reminder": (
        ALL_DEPARTMENTS,
        {
            "reviewer_gd": {"dep_a"},
            "reviewer_js": {"dep_b", "dep_co"},
            "reviewer_national": ALL_DEPARTMENTS,
            "staff_b_reviewer_gd": {"dep_a"},
            "admin": ALL_DEPARTMENTS,
        },
    ),
    "feedback.publish_case": (
        ALL_CASES,
        {
            # Consent and an accepted report are the service's business.
            "reviewer_gd": {"case_a_pub", "case_a"},
            "reviewer_js": {"case_b"},
            "reviewer_national": ALL_CASES,
            "staff_b_reviewer_gd": {"case_a_pub", "case_a"},
            "admin": ALL_CASES,
        },
    ),
    "feedback.view_case": (
        ALL_CASES,
        {
            "anonymous": PUBLIC_CASES,
            "rep_e1": PUBLIC_CASES,
            "rep_pending": PUBLIC_CASES,
            "staff_a": {"case_a_pub", "case_a"},
            "staff_b": {"case_a_pub", "case_b"},
            "staff_co": PUBLIC_CASES,
            "reviewer_gd": {"case_a_pub", "case_a"},
            "reviewer_sz": PUBLIC_CASES,
            "reviewer_js": {"case_a_pub", "case_b"},
            "reviewer_national": ALL_CASES,
            "staff_b_reviewer_gd": ALL_CASES,
            "admin": ALL_CASES,
            "inactive": PUBLIC_CASES,
        },
    ),
    "feedback.view_media": (
        ALL_MEDIA,
        {
            # Only a published case's pictures are public, not the report's own files.
            "anonymous": PUBLIC_MEDIA,
            "rep_e1": PUBLIC_MEDIA,
            "rep_pending": PUBLIC_MEDIA,
            "staff_a": {"media_a", "media_a_pub"},
            "staff_b": {"media_a_pub", "media_b"},
            "staff_co": PUBLIC_MEDIA,
            "reviewer_gd": {"media_a", "media_a_pub"},
            "reviewer_sz": PUBLIC_MEDIA,
            "reviewer_js": {"media_a_pub", "media_b"},
            "reviewer_national": ALL_MEDIA,
            "staff_b_reviewer_gd": ALL_MEDIA,
            "admin": ALL_MEDIA,
            "inactive": PUBLIC_MEDIA,
        },
    ),
    "accounts.revoke_token": (
        ALL_TOKENS,
        {
            "rep_e1": {"tok_rep"},
            "staff_a": {"tok_staff_a"},
            "admin": ALL_TOKENS,
            # "inactive" owns tok_inactive, yet may not act on it
        },
    ),
}

# permission -> roles that hold it (no object involved)
GLOBAL_PERMISSIONS = {
    "activities.add_activity": {"staff_a", "staff_b", "staff_co", "staff_b_reviewer_gd", "admin"},
    "activities.view_review_queue": {
        "reviewer_gd",
        "reviewer_sz",
        "reviewer_js",
        "reviewer_national",
        "staff_b_reviewer_gd",
        "admin",
    },
    "registrations.export_campaign_registrations": {"admin"},
    "accounts.invite_staff": {"admin"},
    "accounts.grant_roles": {"admin"},
    # Two-factor authentication: for every staff member and reviewer, reset by administrators.
    "accounts.use_two_factor": {
        "staff_a",
        "staff_b",
        "staff_co",
        "reviewer_gd",
        "reviewer_sz",
        "reviewer_js",
        "reviewer_national",
        "staff_b_reviewer_gd",
        "admin",
    },
    "accounts.reset_two_factor": {"admin"},
    "registrations.handle_fee_complaint": {"admin"},
    "feedback.view_report_queue": {
        "reviewer_gd",
        "reviewer_sz",
        "reviewer_js",
        "reviewer_national",
        "staff_b_reviewer_gd",
        "admin",
    },
    # Who has not reported yet: every reviewer, for the departments of their region.
    "feedback.view_overdue": {
        "reviewer_gd",
        "reviewer_sz",
        "reviewer_js",
        "reviewer_national",
        "staff_b_reviewer_gd",
        "admin",
    },
}


def test_the_tables_cover_every_registered_permission():
    # A permission added to accounts/rules.py fails here until its row is written above.
    import rules

    assert set(rules.permissions.permissions) == set(OBJECT_PERMISSIONS) | set(GLOBAL_PERMISSIONS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("permission", sorted(OBJECT_PERMISSIONS))
def test_object_permission(world, permission, role):
    asked, table = OBJECT_PERMISSIONS[permission]
    person = world.person(role)
    allowed = {name for name, obj in world.of(asked).items() if person.has_perm(permission, obj)}
    assert allowed == table.get(role, set())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("permission", sorted(GLOBAL_PERMISSIONS))
def test_global_permission(world, permission, role):
    assert world.person(role).has_perm(permission) == (role in GLOBAL_PERMISSIONS[permission])


@pytest.mark.parametrize("role", ROLES)
def test_nobody_acts_on_nothing(world, role):
    person = world.person(role)
    for permission in OBJECT_PERMISSIONS:
        if permission in {"activities.view_department"}:
            continue
        if role == "admin":  # Django grants an active superuser everything
            continue
        assert not person.has_perm(permission, None), permission


# --- Granting and revoking act on the next request ---------------------------------------------


@pytest.fixture
def admin():
    return AdminFactory()


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def test_revoking_department_staff_acts_on_the_next_request(admin):
    draft = ActivityFactory(status=ActivityStatus.DRAFT, no_fee_declared=False)
    staff = DepartmentMembershipFactory(department=draft.organiser).user
    this_request = fresh(staff)
    assert this_request.has_perm("activities.change_activity", draft)

    department_membership_revoke(fresh(staff), actor=admin)

    next_request = fresh(staff)
    assert not next_request.has_perm("activities.change_activity", draft)
    assert not next_request.has_perm("activities.view_activity", draft)
    assert not next_request.has_perm("activities.add_activity")


def test_granting_another_department_moves_the_rights(admin):
    first, second = DepartmentFactory(), DepartmentFactory()
    draft_1 = ActivityFactory(organiser=first, status=ActivityStatus.DRAFT)
    draft_2 = ActivityFactory(organiser=second, status=ActivityStatus.DRAFT)
    staff = DepartmentMembershipFactory(department=first).user
    department_membership_grant(staff, department=second, actor=admin)
    # The service forgets the roles it changed, even on the object it was given ...
    assert staff.has_perm("activities.change_activity", draft_2)
    # ... and the next request sees the same.
    next_request = fresh(staff)
    assert next_request.has_perm("activities.change_activity", draft_2)
    assert not next_request.has_perm("activities.change_activity", draft_1)


def test_revoking_a_reviewer_acts_on_the_next_request(admin):
    province = ProvinceFactory()
    activity = ActivityFactory(organiser=DepartmentFactory(region=province), region=province)
    reviewer = UserFactory()
    reviewer_assignment_grant(reviewer, region=province, actor=admin)
    assert fresh(reviewer).has_perm("activities.review_activity", activity)

    reviewer_assignment_revoke(fresh(reviewer), actor=admin)
    assert not fresh(reviewer).has_perm("activities.review_activity", activity)


def test_narrowing_a_reviewer_to_one_province_acts_on_the_next_request(admin):
    here, there = ProvinceFactory(), ProvinceFactory()
    activity = ActivityFactory(organiser=DepartmentFactory(region=there), region=there)
    reviewer = ReviewerAssignmentFactory(region=None).user
    assert fresh(reviewer).has_perm("activities.review_activity", activity)
    reviewer_assignment_grant(fresh(reviewer), region=here, actor=admin)
    assert not fresh(reviewer).has_perm("activities.review_activity", activity)


def test_revoking_an_administrator_acts_on_the_next_request(admin):
    other_admin = AdminFactory()
    department = DepartmentFactory()
    platform_admin_revoke(fresh(other_admin), actor=admin)
    assert not fresh(other_admin).has_perm("activities.change_department", department)
    assert not fresh(other_admin).has_perm("accounts.grant_roles")


def test_removing_a_representative_acts_on_the_next_request(admin):
    claim = EnterpriseRepresentativeFactory(status=APPROVED)
    assert fresh(claim.user).has_perm("registrations.change_enterprise", claim.enterprise)
    enterprise_representative_remove(claim, actor=admin, reason="已离职")
    assert not fresh(claim.user).has_perm("registrations.change_enterprise", claim.enterprise)
    assert not fresh(claim.user).has_perm("registrations.view_enterprise", claim.enterprise)


def test_deactivating_a_person_takes_every_right_away():
    draft = ActivityFactory(status=ActivityStatus.DRAFT)
    staff = DepartmentMembershipFactory(department=draft.organiser).user
    staff.is_active = False
    staff.save(update_fields=["is_active"])
    assert not fresh(staff).has_perm("activities.view_activity", draft)
    assert not fresh(staff).has_perm("activities.add_activity")
