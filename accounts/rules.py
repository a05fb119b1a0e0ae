"""Who may do what: the one module of permission predicates.

Web views, the API and the admin all ask these (``user.has_perm("activities.view_activity",
activity)``), and the selectors build their querysets from the same role lookups, so a list and a
detail page can never disagree about what a person may see.
"""

from dataclasses import dataclass

import rules

from activities.enums import ACTIVITY_PUBLISHED_STATES
from activities.models import Region

from .enums import RepresentationStatus


@dataclass(frozen=True)
class Roles:
    """A person's roles, looked up once per request (so revoking one acts on the next request)."""

    is_admin: bool = False
    department_id: int | None = None
    is_reviewer: bool = False
    reviewer_region: Region | None = None  # None with is_reviewer: a national reviewer
    enterprise_id: int | None = None

    @property
    def is_national_reviewer(self) -> bool:
        return self.is_reviewer and self.reviewer_region is None

    def reviews_region(self, region: Region | None) -> bool:
        if not self.is_reviewer:
            return False
        if self.reviewer_region is None:
            return True
        return self.reviewer_region.covers(region)


NO_ROLES = Roles()


def _role_rows(person):
    """Where a person's roles are recorded: their department membership, reviewer assignment
    and approved enterprise representation (`person` a User or an OuterRef to one)."""
    from .models import DepartmentMembership, EnterpriseRepresentative, ReviewerAssignment

    return (
        DepartmentMembership.objects.filter(user=person),
        ReviewerAssignment.objects.filter(user=person),
        EnterpriseRepresentative.objects.filter(user=person, status=RepresentationStatus.APPROVED),
    )


def _remember(user, *, department_id, is_reviewer, reviewer_region, enterprise_id) -> Roles:
    found = Roles(
        is_admin=user.is_superuser,
        department_id=department_id,
        is_reviewer=is_reviewer,
        reviewer_region=reviewer_region,
        enterprise_id=enterprise_id,
    )
    user._portal_roles = found
    return found


def roles_of(user) -> Roles:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_ROLES
    cached = getattr(user, "_portal_roles", None)
    if cached is not None:
        return cached
    memberships, assignments, representations = _role_rows(user)
    assignment = assignments.select_related("region").first()
    return _remember(
        user,
        department_id=memberships.values_list("department_id", flat=True).first(),
        is_reviewer=assignment is not None,
        reviewer_region=assignment.region if assignment else None,
        enterprise_id=representations.values_list("enterprise_id", flat=True).first(),
    )


def roles_annotations(user: str = "user") -> dict:
    """The lookups of `roles_of` as subqueries on a queryset whose rows have a `user` (a path to
    it): one query finds a person and their roles (the API's token authentication). Give the
    annotated values to `remember_roles`."""
    from django.db.models import Exists, OuterRef, Subquery

    memberships, assignments, representations = _role_rows(OuterRef(user))
    return {
        "roles_department_id": Subquery(memberships.values("department_id")[:1]),
        "roles_is_reviewer": Exists(assignments),
        "roles_reviewer_region_id": Subquery(assignments.values("region_id")[:1]),
        "roles_enterprise_id": Subquery(representations.values("enterprise_id")[:1]),
    }


def remember_roles(user, row) -> Roles:
    """Keep on `user` for this request the roles `roles_annotations` found on `row`."""
    if not user.is_active:
        user._portal_roles = NO_ROLES
        return NO_ROLES
    region_id = row.roles_reviewer_region_id
    return _remember(
        user,
        department_id=row.roles_department_id,
        is_reviewer=row.roles_is_reviewer,
        reviewer_region=Region.objects.get(pk=region_id) if region_id is not None else None,
        enterprise_id=row.roles_enterprise_id,
    )


def forget_roles(user) -> None:
    """Drop the cached roles after granting or revoking one within the same request."""
    if hasattr(user, "_portal_roles"):
        del user._portal_roles


# --- predicates about the person -----------------------------------------------------------


@rules.predicate
def is_platform_admin(user):
    return roles_of(user).is_admin


@rules.predicate
def is_reviewer(user):
    return roles_of(user).is_reviewer


@rules.predicate
def is_national_reviewer(user):
    return roles_of(user).is_national_reviewer


@rules.predicate
def is_department_staff(user):
    return roles_of(user).department_id is not None


@rules.predicate
def is_enterprise_representative(user):
    return roles_of(user).enterprise_id is not None


# --- predicates about an object --------------------------------------------------------------


@rules.predicate
def is_published_activity(user, activity):
    return activity is not None and activity.status in ACTIVITY_PUBLISHED_STATES


@rules.predicate
def is_organiser_staff(user, activity):
    department_id = roles_of(user).department_id
    return (
        activity is not None
        and department_id is not None
        and activity.organiser_id == department_id
    )


@rules.predicate
def is_co_organiser_staff(user, activity):
    department_id = roles_of(user).department_id
    if activity is None or department_id is None or activity.pk is None:
        return False
    return activity.co_organisers.filter(pk=department_id).exists()


@rules.predicate
def reviews_activity_region(user, activity):
    return activity is not None and roles_of(user).reviews_region(activity.region)


@rules.predicate
def is_department_member(user, department):
    return department is not None and roles_of(user).department_id == department.pk


@rules.predicate
def reviews_department_region(user, department):
    if department is None:
        return False
    found = roles_of(user)
    if department.region_id is None:  # national departments: national reviewers only
        return found.is_national_reviewer
    return found.reviews_region(department.region)


@rules.predicate
def represents_enterprise(user, enterprise):
    return enterprise is not None and roles_of(user).enterprise_id == enterprise.pk


@rules.predicate
def reviews_enterprise_region(user, enterprise):
    return enterprise is not None and roles_of(user).reviews_region(enterprise.region)


@rules.predicate
def represents_registered_enterprise(user, registration):
    return registration is not None and roles_of(user).enterprise_id == registration.enterprise_id


@rules.predicate
def organises_registered_activity(user, registration):
    return registration is not None and is_organiser_staff(user, registration.activity)


@rules.predicate
def co_organises_registered_activity(user, registration):
    return registration is not None and is_co_organiser_staff(user, registration.activity)


@rules.predicate
def reviews_registered_activity(user, registration):
    return registration is not None and reviews_activity_region(user, registration.activity)


@rules.predicate
def is_own(user, obj):
    # An inactive account owns nothing any more (its tokens, for one, are dead).
    if obj is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return getattr(obj, "user_id", None) == user.pk


# --- permissions --------------------------------------------------------------------------------

can_see_activity = (
    is_published_activity
    | is_platform_admin
    | is_organiser_staff
    | is_co_organiser_staff
    | reviews_activity_region
)

rules.add_perm("activities.view_activity", can_see_activity)
rules.add_perm("activities.add_activity", is_platform_admin | is_department_staff)
rules.add_perm("activities.change_activity", is_platform_admin | is_organiser_staff)
rules.add_perm("activities.review_activity", is_platform_admin | reviews_activity_region)
# Submitting, withdrawing and cancelling are the organiser's (or an administrator's).
rules.add_perm("activities.submit_activity", is_platform_admin | is_organiser_staff)
rules.add_perm("activities.cancel_activity", is_platform_admin | is_organiser_staff)
# The history holds internal comments and names: for those who take part in the review.
rules.add_perm(
    "activities.view_activity_history",
    is_platform_admin | is_organiser_staff | is_co_organiser_staff | reviews_activity_region,
)
rules.add_perm("activities.view_review_queue", is_platform_admin | is_reviewer)

rules.add_perm("activities.view_department", rules.always_allow)
rules.add_perm("activities.change_department", is_platform_admin)
rules.add_perm(
    "activities.view_department_staff",
    is_platform_admin | is_department_member | reviews_department_region,
)

rules.add_perm(
    "registrations.view_enterprise",
    is_platform_admin | represents_enterprise | reviews_enterprise_region,
)
rules.add_perm("registrations.change_enterprise", is_platform_admin | represents_enterprise)
# An enterprise's contact mobile and email: its representatives and administrators. Reviewers of
# its region see the enterprise, with the contact masked (138****8000, w***@example.cn).
rules.add_perm("registrations.view_enterprise_contacts", is_platform_admin | represents_enterprise)
rules.add_perm("registrations.manage_representatives", is_platform_admin | represents_enterprise)
rules.add_perm(
    "registrations.view_registration",
    is_platform_admin
    | represents_registered_enterprise
    | organises_registered_activity
    | co_organises_registered_activity
    | reviews_registered_activity,
)

# Sign-up: a representative signs their own enterprise up for a published activity (the window,
# the capacity and the attendee limit are the service's business).
rules.add_perm("registrations.sign_up", is_enterprise_representative & is_published_activity)
# The enterprise withdraws its own registration; the organiser (or an administrator) may, with a
# reason.
rules.add_perm(
    "registrations.withdraw_registration",
    is_platform_admin | represents_registered_enterprise | organises_registered_activity,
)
# Registrants, waiting list, capacity and check-in of an activity: its organiser's.
rules.add_perm("registrations.manage_registrations", is_platform_admin | is_organiser_staff)
# Reading an activity's registrants (and exporting them): also its co-organisers and the
# reviewers of its region, read-only.
rules.add_perm(
    "registrations.view_registrants",
    is_platform_admin | is_organiser_staff | is_co_organiser_staff | reviews_activity_region,
)


@rules.predicate
def co_organises_activity(user, activity):
    """`is_co_organiser_staff` with one query per request, not one per activity: an API list of
    registrations asks it for every row."""
    department_id = roles_of(user).department_id
    if activity is None or department_id is None:
        return False
    cached = getattr(user, "_portal_co_organised", None)
    if cached is None or cached[0] != department_id:
        from activities.models import Activity

        ids = frozenset(
            Activity.co_organisers.through.objects.filter(department_id=department_id).values_list(
                "activity_id", flat=True
            )
        )
        cached = user._portal_co_organised = (department_id, ids)
    return activity.pk in cached[1]


# The registrants' personal data (attendees' names and mobiles, the registration's contact and
# note), on the web pages, the exports and the API alike: the staff of the organiser and of the
# co-organisers (they run the door) and administrators; the enterprise's own representatives see
# their registrations' (the API asks `represents_registered_enterprise` beside this). Reviewers
# see the list (enterprise, status, counts), not the people.
rules.add_perm(
    "registrations.view_registrant_contacts",
    is_platform_admin | is_organiser_staff | co_organises_activity,
)
rules.add_perm("registrations.export_campaign_registrations", is_platform_admin)

# Fee complaints name who reported them: administrators only, nobody in the reported department.
rules.add_perm("registrations.handle_fee_complaint", is_platform_admin)

rules.add_perm("accounts.invite_staff", is_platform_admin)
rules.add_perm("accounts.grant_roles", is_platform_admin)
rules.add_perm("accounts.revoke_token", is_own)


# Two-factor authentication (accounts/two_factor.py): every staff member may switch it on; it is
# required of administrators and reviewers where settings.TWO_FACTOR_REQUIRED is on.
@rules.predicate
def uses_site_administration(user):
    return bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))


@rules.predicate
def must_use_two_factor(user):
    from django.conf import settings

    return bool(settings.TWO_FACTOR_REQUIRED) and (
        is_platform_admin(user) or is_reviewer(user) or uses_site_administration(user)
    )


rules.add_perm(
    "accounts.use_two_factor",
    is_platform_admin | is_reviewer | is_department_staff | uses_site_administration,
)
rules.add_perm("accounts.reset_two_factor", is_platform_admin)

# --- feedback after the month ---------------------------------------------------------------


@rules.predicate
def is_report_department_staff(user, report):
    return report is not None and roles_of(user).department_id == report.department_id


@rules.predicate
def reviews_report_region(user, report):
    return report is not None and reviews_department_region(user, report.department)


@rules.predicate
def is_published_case(user, case):
    return case is not None and case.published_at is not None


@rules.predicate
def reviews_case_region(user, case):
    return case is not None and reviews_report_region(user, case.report)


@rules.predicate
def may_see_case_report(user, case):
    return case is not None and (
        is_report_department_staff(user, case.report) or reviews_report_region(user, case.report)
    )


@rules.predicate
def is_public_media(user, media):
    # Media of a published typical case is public; everything else stays with the report.
    return media is not None and media.case_id is not None and media.case.published_at is not None


@rules.predicate
def may_see_media_report(user, media):
    return media is not None and (
        is_report_department_staff(user, media.report) or reviews_report_region(user, media.report)
    )


# The report, its cases and media: the department's staff, the reviewers of its region (national
# reviewers for national departments) and administrators.
rules.add_perm(
    "feedback.view_report", is_platform_admin | is_report_department_staff | reviews_report_region
)
# Editing (in draft or returned; the services check the state) and submitting: the department's.
rules.add_perm("feedback.change_report", is_platform_admin | is_report_department_staff)
rules.add_perm("feedback.submit_report", is_platform_admin | is_report_department_staff)
rules.add_perm("feedback.review_report", is_platform_admin | reviews_report_region)
rules.add_perm("feedback.view_report_queue", is_platform_admin | is_reviewer)
# Who has not reported yet, and reminders: administrators and reviewers (for their region).
rules.add_perm("feedback.view_overdue", is_platform_admin | is_reviewer)
rules.add_perm("feedback.send_reminder", is_platform_admin | reviews_department_region)
# Reviewers choose accepted cases (with consent) for the public showcase.
rules.add_perm("feedback.publish_case", is_platform_admin | reviews_case_region)
rules.add_perm("feedback.view_case", is_published_case | is_platform_admin | may_see_case_report)
rules.add_perm("feedback.view_media", is_public_media | is_platform_admin | may_see_media_report)
# Granting a department a later deadline.
rules.add_perm("feedback.extend_deadline", is_platform_admin)
