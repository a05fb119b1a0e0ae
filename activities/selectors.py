"""Reads of campaign data. Every queryset a person sees is limited here to what they may see."""

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from accounts.rules import roles_of

from .enums import ACTIVITY_PUBLIC_STATES, ACTIVITY_PUBLISHED_STATES, CampaignStatus
from .models import Activity, Campaign, Department, KeyArrangement, Region

CURRENT_CAMPAIGN_CACHE_KEY = "activities:campaign-current"


def campaign_current() -> Campaign | None:
    """The campaign the portal shows: the newest open one, otherwise the newest of all.

    Every page's layout asks for it, so it is cached (CURRENT_CAMPAIGN_CACHE_SECONDS) and the
    cache is dropped whenever a campaign is saved or deleted (activities/signals.py)."""
    seconds = settings.CURRENT_CAMPAIGN_CACHE_SECONDS
    if seconds:
        cached = cache.get(CURRENT_CAMPAIGN_CACHE_KEY)
        if cached is not None:
            return cached or None  # False: there is no campaign
    found = (
        Campaign.objects.filter(status=CampaignStatus.OPEN).order_by("-year").first()
        or Campaign.objects.order_by("-year").first()
    )
    if seconds:
        cache.set(CURRENT_CAMPAIGN_CACHE_KEY, found or False, seconds)
    return found


def region_scope_q(region: Region | None, field: str = "region") -> Q:
    """Rows whose `field` lies in `region` or below it (GB/T 2260 codes are hierarchical)."""
    if region is None:
        return Q()
    return Q(**{f"{field}__code__startswith": region.scope_prefix})


def organised_by_q(department_id: int) -> Q:
    """Activities the department organises or co-organises. A subquery, not a join: an activity
    appears once however many co-organisers it has."""
    return Q(organiser_id=department_id) | Q(
        pk__in=Activity.co_organisers.through.objects.filter(department_id=department_id).values(
            "activity_id"
        )
    )


def activity_visible_to(user) -> QuerySet[Activity]:
    """Published activities, plus those the person organises, co-organises, reviews or
    administers. Each activity once, however many co-organisers it has."""
    roles = roles_of(user)
    activities = Activity.objects.all()
    if roles.is_admin or roles.is_national_reviewer:
        return activities
    visible = Q(status__in=ACTIVITY_PUBLISHED_STATES)
    if roles.department_id is not None:
        visible |= organised_by_q(roles.department_id)
    if roles.is_reviewer:
        visible |= region_scope_q(roles.reviewer_region)
    return activities.filter(visible)


def activities_public() -> QuerySet[Activity]:
    """Every activity the public may see on its pages and feeds: published or cancelled."""
    return Activity.objects.filter(status__in=ACTIVITY_PUBLIC_STATES)


def activity_published() -> QuerySet[Activity]:
    return Activity.objects.filter(status__in=ACTIVITY_PUBLISHED_STATES)


_published_count = Count("activities", filter=Q(activities__status__in=ACTIVITY_PUBLISHED_STATES))


def key_arrangements_with_counts(campaign: Campaign) -> QuerySet[KeyArrangement]:
    """The campaign's key arrangements, each with the number of published activities under it."""
    return campaign.key_arrangements.annotate(published_count=_published_count).order_by("number")


def content_areas_with_counts(campaign: Campaign):
    return campaign.content_areas.annotate(published_count=_published_count).order_by("number")


def department_list() -> QuerySet[Department]:
    return Department.objects.filter(is_active=True).select_related("region")


# --- review -------------------------------------------------------------------------------------


def activity_review_scope(user) -> QuerySet[Activity]:
    """Every activity `user` reviews, in any state: all of them for national reviewers and
    administrators, those in a provincial reviewer's region and below, none for anyone else
    (the same scope as the permission ``activities.review_activity``)."""
    roles = roles_of(user)
    if roles.is_admin or roles.is_national_reviewer:
        return Activity.objects.all()
    if roles.is_reviewer:
        return Activity.objects.filter(region_scope_q(roles.reviewer_region))
    return Activity.objects.none()


def activity_review_queue(
    user,
    *,
    key_arrangement: KeyArrangement | None = None,
    organiser: Department | None = None,
    region: Region | None = None,
    waiting_days: int | None = None,
) -> QuerySet[Activity]:
    """The submitted activities waiting for `user`'s review, the longest waiting first, with what
    a list shows loaded; each carries `reviewed_before` (returned for revision at least once).

    Filters: a key arrangement, an organising department, a region (and everything below it), and
    `waiting_days` (submitted more than that many days ago)."""
    import datetime as dt

    from django.contrib.contenttypes.models import ContentType
    from django.db.models import CharField, Exists, F, OuterRef
    from django.db.models.functions import Cast
    from django.utils import timezone

    from qualitymonth.models import ReviewDecision

    from .enums import ActivityStatus

    queue = activity_review_scope(user).filter(status=ActivityStatus.SUBMITTED)
    if key_arrangement is not None:
        queue = queue.filter(key_arrangement=key_arrangement)
    if organiser is not None:
        queue = queue.filter(organiser=organiser)
    if region is not None:
        queue = queue.filter(region_scope_q(region))
    if waiting_days:
        # An unknown submission time (data from before it was recorded) counts as long ago.
        queue = queue.filter(
            Q(submitted_at__lt=timezone.now() - dt.timedelta(days=waiting_days))
            | Q(submitted_at__isnull=True)
        )
    decisions = ReviewDecision.objects.filter(
        content_type=ContentType.objects.get_for_model(Activity),
        object_id=Cast(OuterRef("pk"), output_field=CharField()),
    )
    return (
        queue.select_related("campaign", "key_arrangement", "organiser", "region")
        .annotate(reviewed_before=Exists(decisions))
        .order_by(F("submitted_at").asc(nulls_first=True), "pk")
    )


# --- the staff workspace ------------------------------------------------------------------------


def activity_workspace_scope(user) -> QuerySet[Activity]:
    """Every activity `user` may open in the staff workspace, in any state: those their department
    organises or co-organises and those in the region they review; all for administrators and
    national reviewers; none for anyone else. Anything outside answers 404 when guessed by URL."""
    roles = roles_of(user)
    visible = activity_visible_to(user)
    if roles.is_admin or roles.is_national_reviewer:
        return visible
    scope = None
    if roles.department_id is not None:
        scope = organised_by_q(roles.department_id)
    if roles.is_reviewer:
        in_region = region_scope_q(roles.reviewer_region)
        scope = in_region if scope is None else scope | in_region
    return visible.none() if scope is None else visible.filter(scope)


def activity_workspace(
    user,
    *,
    department: Department | None,
    campaign: Campaign | None = None,
    key_arrangement: KeyArrangement | None = None,
) -> QuerySet[Activity]:
    """The activities `department` organises or co-organises (all of them for an administrator
    who chose no department), as far as `user` may open them, with what the list shows loaded.

    Each row carries `is_co_organised`: the department only co-organises it (read-only)."""
    from django.db.models import BooleanField, ExpressionWrapper, Value

    activities = activity_workspace_scope(user)
    if department is not None:
        activities = activities.filter(organised_by_q(department.pk)).annotate(
            is_co_organised=ExpressionWrapper(
                ~Q(organiser_id=department.pk), output_field=BooleanField()
            )
        )
    else:
        activities = activities.annotate(is_co_organised=Value(False))
    if campaign is not None:
        activities = activities.filter(campaign=campaign)
    if key_arrangement is not None:
        activities = activities.filter(key_arrangement=key_arrangement)
    return activities.select_related("campaign", "key_arrangement", "organiser", "region")


def activity_status_counts(activities: QuerySet[Activity]) -> dict[str, int]:
    """How many of `activities` are in each state (one query); states without any are absent."""
    rows = activities.order_by().values_list("status").annotate(n=Count("pk"))
    return dict(rows)


def activity_history(activity: Activity) -> list[dict]:
    """Everything that happened to `activity`, newest first, as people read it: every audit log
    entry (who, when, what in words, the comment, the fields changed with old and new values) and
    every review decision with its comments per field. A decision is shown on the audit entry
    its transition wrote; one without such an entry stands on its own.

    Each entry: ``when``, ``who``, ``action`` (in words), ``code`` (the last part of the action
    code, e.g. "returned"), ``comment``, ``field_comments`` and ``changes`` (lists of
    (label, text) and of dicts with label/before/after), ``edited`` (the changed fields' labels),
    ``decision`` (a ReviewDecisionKind value or "")."""
    from django.utils.translation import gettext_lazy as _

    from qualitymonth.models import AuditLogEntry
    from qualitymonth.review import history_in_words

    from .enums import ActivityStatus
    from .services import ACTIVITY_WORKFLOW

    prefix = ACTIVITY_WORKFLOW.audit_prefix + "."
    words = {
        "created": _("Created as a draft"),
        "changed": _("Details changed"),
        "deleted": _("Deleted"),
        ActivityStatus.SUBMITTED: _("Submitted for review"),
        ActivityStatus.DRAFT: _("Submission withdrawn: a draft again"),
        ActivityStatus.APPROVED: _("Approved and published"),
        ActivityStatus.RETURNED: _("Returned for revision"),
        ActivityStatus.REJECTED: _("Rejected"),
        ActivityStatus.CANCELLED: _("Cancelled"),
    }
    labels = ACTIVITY_WORKFLOW.field_labels

    def label(name: str):
        return labels.get(name, name.replace("_", " "))

    def readable(name: str, value) -> str:
        if value is None or value == "":
            return ""
        if isinstance(value, bool):
            return str(_("yes") if value else _("no"))
        if isinstance(value, list | tuple):
            return "; ".join(readable(name, v) for v in value)
        text = str(value)
        # Older snapshots wrote foreign keys as "<pk>:<name>".
        if name in ("key_arrangement", "region") and ":" in text:
            head, _sep, rest = text.partition(":")
            if head.isdigit():
                return rest
        return text

    def code_of(entry) -> str:
        return entry.action.removeprefix(prefix) if entry.action.startswith(prefix) else "other"

    reviewed = (ActivityStatus.APPROVED, ActivityStatus.RETURNED, ActivityStatus.REJECTED)
    return history_in_words(
        AuditLogEntry.objects.for_object(activity).select_related("actor"),
        list(ACTIVITY_WORKFLOW.decisions(activity)),
        code_of=code_of,
        action_of=lambda entry, code: words.get(code) or entry.action,
        # The activity's states and the decision kinds share their names.
        decision_kind_of=lambda entry, code: code if code in reviewed else None,
        orphan_action=lambda decision: decision.get_decision_display(),
        label=label,
        readable=readable,
        shows_changes=lambda code: code != "created",
    )
