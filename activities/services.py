"""Writes about campaigns and activities. Each service runs in a transaction and writes the
audit log. Activity states change only through ACTIVITY_WORKFLOW (qualitymonth/review.py)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from qualitymonth.audit import audit_log, field_changes
from qualitymonth.errors import DomainError, IllegalTransition, NotAllowed
from qualitymonth.models import ReviewDecisionKind
from qualitymonth.review import Transition, Workflow

from .enums import ACTIVITY_EDITABLE_STATES, ActivityStatus, CampaignStatus
from .models import Activity, Campaign, ContentArea, Department, KeyArrangement
from .search import activity_search_text
from .signals import activity_cancelled

FIRST_YEAR, LAST_YEAR = 1978, 2100


def _shift_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def campaign_copy(
    source: Campaign,
    *,
    year: int,
    actor,
    theme_zh: str | None = None,
    theme_en: str | None = None,
) -> Campaign:
    """Prepare the campaign of `year` as a copy of `source`, with its content areas and key
    arrangements, for administrators to adapt.

    Steps: refuse a year outside 1978–2100 or one that has a campaign already; create the campaign
    in the state "preparing" with its dates moved by the difference in years, the year in its names
    replaced, and the new theme (or the old one until it is known); copy the headings with their
    numbers, titles and descriptions; write the audit log. Activities are not copied.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise DomainError(
            _("The year must lie between %(first)d and %(last)d.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
            code="campaign_year_implausible",
            field="year",
        )
    exists = DomainError(
        _("There is already a campaign for %(year)d.") % {"year": year},
        code="campaign_year_taken",
        field="year",
    )
    if Campaign.objects.filter(year=year).exists():
        raise exists
    shift = year - source.year
    old, new = str(source.year), str(year)
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                year=year,
                name_zh=source.name_zh.replace(old, new),
                name_en=source.name_en.replace(old, new),
                theme_zh=source.theme_zh if theme_zh is None else theme_zh,
                theme_en=source.theme_en if theme_en is None else theme_en,
                month_start=_shift_years(source.month_start, shift),
                month_end=_shift_years(source.month_end, shift),
                feedback_deadline=_shift_years(source.feedback_deadline, shift),
                status=CampaignStatus.PREPARING,
            )
            headings = {}
            for model in (ContentArea, KeyArrangement):
                copies = [
                    model(
                        campaign=campaign,
                        number=h.number,
                        title_zh=h.title_zh,
                        title_en=h.title_en,
                        description_zh=h.description_zh,
                        description_en=h.description_en,
                    )
                    for h in model.objects.filter(campaign=source).order_by("number")
                ]
                model.objects.bulk_create(copies)
                headings[model._meta.model_name] = len(copies)
            audit_log(
                campaign,
                "activities.campaign.copied",
                actor=actor,
                changes={
                    "source": source.year,
                    "year": year,
                    "theme_zh": campaign.theme_zh,
                    "theme_en": campaign.theme_en,
                    "content_areas": headings["contentarea"],
                    "key_arrangements": headings["keyarrangement"],
                },
            )
    except IntegrityError as exc:
        # Another administrator copied into the same year at the same moment.
        if Campaign.objects.filter(year=year).exists():
            raise exists from exc
        raise
    return campaign


# --- activities: create, edit and the review workflow -----------------------------------------

# What an organiser fills in; everything else (status, version, times) belongs to the workflow.
ACTIVITY_EDITABLE_FIELDS = (
    "key_arrangement",
    "title",
    "summary",
    "description",
    "region",
    "venue",
    "online_url",
    "starts_at",
    "ends_at",
    "signup_enabled",
    "capacity",
    "signup_opens_at",
    "signup_closes_at",
    "attendees_per_enterprise",
    "contact_name",
    "contact_phone",
    "contact_email",
    "no_fee_declared",
)
ACTIVITY_REVIEWED_FIELDS = (*ACTIVITY_EDITABLE_FIELDS, "content_areas", "co_organisers")


def _describe_activity_field(activity: Activity, name: str) -> str:
    """A field's value as a reviewer reads it (for snapshots and the diff since the last review)."""
    if name in ("content_areas", "co_organisers"):
        if activity.pk is None:
            return ""
        return "; ".join(str(o) for o in getattr(activity, name).order_by("pk"))
    value = getattr(activity, name)
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, models.Model):
        # Region names repeat (Beijing and Changchun both have a 朝阳区): the code tells them apart.
        code = getattr(value, "code", "")
        return f"{value} ({code})" if code else str(value)
    return str(value)


def _activity_recipients(activity: Activity, transition: Transition):
    """Reviewers are told of submissions; the organiser's staff of every decision about them."""
    from accounts.models import User

    if transition.name == "submit":
        return activity_reviewers_for(activity)
    staff = User.objects.filter(
        is_active=True, department_membership__department_id=activity.organiser_id
    )
    return staff


def activity_reviewers_for(activity: Activity):
    """The reviewers closest to the activity: its province's reviewers (and those of its city),
    or the national reviewers where no regional reviewer covers it."""
    from accounts.models import User

    region_codes = {
        activity.region.code,
        activity.region.code[:4] + "00",
        activity.region.code[:2] + "0000",
    }
    people = User.objects.filter(is_active=True, reviewer_assignment__isnull=False)
    regional = people.filter(reviewer_assignment__region__code__in=region_codes)
    return (
        regional if regional.exists() else people.filter(reviewer_assignment__region__isnull=True)
    )


def _activity_link(activity: Activity, transition: Transition) -> str:
    from qualitymonth.notifications import absolute_url

    if transition.name == "submit":
        return absolute_url("activities:activity_review", activity.pk)
    return absolute_url("activities:activity_manage", activity.pk)


ACTIVITY_WORKFLOW = Workflow(
    model=Activity,
    link=_activity_link,
    audit_prefix="activities.activity",
    reviewed_fields=ACTIVITY_REVIEWED_FIELDS,
    describe=_describe_activity_field,
    recipients=_activity_recipients,
    transitions={
        t.name: t
        for t in (
            Transition(
                "submit",
                (ActivityStatus.DRAFT, ActivityStatus.RETURNED),
                ActivityStatus.SUBMITTED,
                "activities.submit_activity",
                email="activity_submitted",
                sets_submitted_at=True,
                check=lambda activity: _refuse_incomplete(activity),
            ),
            Transition(
                "withdraw",
                (ActivityStatus.SUBMITTED,),
                ActivityStatus.DRAFT,
                "activities.submit_activity",
            ),
            Transition(
                "approve",
                (ActivityStatus.SUBMITTED,),
                ActivityStatus.APPROVED,
                "activities.review_activity",
                decision=ReviewDecisionKind.APPROVED,
                email="activity_approved",
            ),
            Transition(
                "return",
                (ActivityStatus.SUBMITTED,),
                ActivityStatus.RETURNED,
                "activities.review_activity",
                comment_required=True,
                decision=ReviewDecisionKind.RETURNED,
                email="activity_returned",
            ),
            Transition(
                "reject",
                (ActivityStatus.SUBMITTED,),
                ActivityStatus.REJECTED,
                "activities.review_activity",
                comment_required=True,
                comment_label=_("reason"),
                decision=ReviewDecisionKind.REJECTED,
                email="activity_rejected",
            ),
            Transition(
                "cancel",
                (ActivityStatus.APPROVED,),
                ActivityStatus.CANCELLED,
                "activities.cancel_activity",
                comment_required=True,
                comment_label=_("reason"),
                email="activity_cancelled",
            ),
        )
    },
)


def _field_labels() -> dict[str, str]:
    return {name: Activity._meta.get_field(name).verbose_name for name in ACTIVITY_REVIEWED_FIELDS}


ACTIVITY_WORKFLOW.field_labels = _field_labels()


def activity_check_headings(activity: Activity, content_areas) -> None:
    errors = {}
    if activity.key_arrangement_id and activity.key_arrangement.campaign_id != activity.campaign_id:
        errors["key_arrangement"] = _("Choose a key arrangement of this activity's campaign.")
    if any(area.campaign_id != activity.campaign_id for area in content_areas or ()):
        errors["content_areas"] = _("Choose content areas of this activity's campaign.")
    if errors:
        raise ValidationError(errors)


def activity_may_edit(activity: Activity, user) -> bool:
    """Whether `user` may change the activity's details now (the rule activity_update enforces),
    for showing an Edit button or an API's allowed actions."""
    return activity.status in ACTIVITY_EDITABLE_STATES and user.has_perm(
        "activities.change_activity", activity
    )


@transaction.atomic
def activity_create(
    *,
    actor,
    campaign: Campaign,
    organiser: Department,
    content_areas=(),
    co_organisers=(),
    **fields,
) -> Activity:
    """Create an activity as a draft of `organiser` in `campaign`.

    Steps: check the person may add activities for this organiser; validate every field and
    that headings belong to the campaign (ValidationError with messages per field); save; write
    the audit log. Nothing is published until a reviewer approves it.
    """
    from accounts.rules import roles_of

    roles = roles_of(actor)
    if not (roles.is_admin or roles.department_id == organiser.pk):
        raise NotAllowed(_("You may only create activities of your own department."))
    unknown = set(fields) - set(ACTIVITY_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    activity = Activity(
        campaign=campaign,
        organiser=organiser,
        created_by=actor,
        status=ActivityStatus.DRAFT,
        **fields,
    )
    activity_check_headings(activity, content_areas)
    # Activity.clean() words every database constraint as a field message; checking the
    # constraints again by query would cost ten round trips per activity (bulk imports).
    activity.full_clean(validate_constraints=False)
    activity.search_text = activity_search_text(activity)
    activity.save()
    activity.content_areas.set(content_areas)
    activity.co_organisers.set([d for d in co_organisers if d.pk != organiser.pk])
    audit_log(
        activity,
        "activities.activity.created",
        actor=actor,
        changes={name: ["", v] for name, v in ACTIVITY_WORKFLOW.snapshot(activity).items() if v},
    )
    return activity


@transaction.atomic
def activity_update(
    activity: Activity,
    *,
    actor,
    expected_version: int | None = None,
    content_areas=None,
    co_organisers=None,
    **fields,
) -> Activity:
    """Change an activity's details while it is a draft or returned for revision.

    Steps: check the permission (NotAllowed); lock the saved row and refuse a stale version
    (EditConflict: someone saved or acted in between) or a state other than draft and returned
    (IllegalTransition), both judged on the saved row, not on the caller's copy; validate the
    fields and headings (ValidationError per field); save only the given fields with a bumped
    version, keeping content areas and co-organisers unless given; log the changed fields with
    their old and new values. `activity` is refreshed from the saved row and returned.
    """
    if not actor.has_perm("activities.change_activity", activity):
        raise NotAllowed(_("You may not change this activity."))
    unknown = set(fields) - set(ACTIVITY_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    current = ACTIVITY_WORKFLOW.lock(activity, expected_version=expected_version)
    if current.status not in ACTIVITY_EDITABLE_STATES:
        raise IllegalTransition(
            _(
                "Only a draft or an activity returned for revision can be changed; "
                "this one is “%(status)s”."
            )
            % {"status": current.get_status_display()}
        )
    # The old values come from the saved row: the caller's copy may already hold the new ones
    # (a bound ModelForm writes them onto its instance while validating).
    before = ACTIVITY_WORKFLOW.snapshot(current)
    for name, value in fields.items():
        setattr(current, name, value)
    activity_check_headings(current, content_areas)
    current.full_clean(validate_constraints=False)  # see activity_create
    current.version += 1
    current.search_text = activity_search_text(current)
    current.save(update_fields=[*fields, "search_text", "version", "updated_at"])
    if content_areas is not None:
        current.content_areas.set(content_areas)
    if co_organisers is not None:
        current.co_organisers.set([d for d in co_organisers if d.pk != current.organiser_id])
    changed = field_changes(before, ACTIVITY_WORKFLOW.snapshot(current))
    if changed:
        audit_log(current, "activities.activity.changed", actor=actor, changes=changed)
    activity.refresh_from_db()
    return activity


def activity_missing_for_submission(activity: Activity) -> dict[str, str]:
    """What a complete submission needs beyond what a draft needs, per field."""
    missing = {}
    if not activity.no_fee_declared:
        missing["no_fee_declared"] = _(
            "Declare that enterprises are charged no fee before submitting."
        )
    if not activity.summary.strip():
        missing["summary"] = _("Write a short summary for enterprises and the public.")
    if not activity.content_areas.exists():
        missing["content_areas"] = _("Choose at least one content area.")
    if not (activity.contact_name.strip() and (activity.contact_phone or activity.contact_email)):
        missing["contact_name"] = _("Give a public contact with a telephone number or an email.")
    return missing


def _refuse_incomplete(activity: Activity) -> None:
    missing = activity_missing_for_submission(activity)
    if missing:
        raise ValidationError(missing)


def activity_submit(activity: Activity, *, actor, expected_version: int | None = None) -> Activity:
    """Submit a draft (or a revised activity) for review; reviewers are told by email.
    An incomplete activity is refused with a ValidationError per missing field (checked on the
    saved row, after the permission and the state)."""
    return ACTIVITY_WORKFLOW.perform(
        activity, "submit", actor=actor, expected_version=expected_version
    )


def activity_withdraw(
    activity: Activity, *, actor, expected_version: int | None = None
) -> Activity:
    """Take a submission back before it is reviewed; it becomes a draft again."""
    return ACTIVITY_WORKFLOW.perform(
        activity, "withdraw", actor=actor, expected_version=expected_version
    )


def activity_approve(
    activity: Activity, *, actor, comment: str = "", expected_version: int | None = None
) -> Activity:
    """Approve and publish a submitted activity; the organiser's staff are told."""
    return ACTIVITY_WORKFLOW.perform(
        activity, "approve", actor=actor, comment=comment, expected_version=expected_version
    )


def activity_return(
    activity: Activity,
    *,
    actor,
    comment: str = "",
    field_comments: dict[str, str] | None = None,
    expected_version: int | None = None,
) -> Activity:
    """Return a submission for revision with a comment (overall and/or per field)."""
    return ACTIVITY_WORKFLOW.perform(
        activity,
        "return",
        actor=actor,
        comment=comment,
        field_comments=field_comments,
        expected_version=expected_version,
    )


def activity_reject(
    activity: Activity, *, actor, reason: str, expected_version: int | None = None
) -> Activity:
    """Reject a submission for good, with the reason."""
    return ACTIVITY_WORKFLOW.perform(
        activity, "reject", actor=actor, comment=reason, expected_version=expected_version
    )


def activity_cancel(
    activity: Activity, *, actor, reason: str, expected_version: int | None = None
) -> Activity:
    """Cancel a published activity with the reason (kept on the activity for its registrants).
    Sends `activity_cancelled` in the same transaction (registrations are cancelled with it)."""
    with transaction.atomic():
        ACTIVITY_WORKFLOW.perform(
            activity,
            "cancel",
            actor=actor,
            comment=reason,
            expected_version=expected_version,
            extra={"cancellation_reason": (reason or "").strip()},
        )
        activity_cancelled.send(
            sender=Activity, activity=activity, actor=actor, reason=activity.cancellation_reason
        )
    return activity


def activity_bulk_approve(
    activities, *, actor, versions: dict[int, int] | None = None
) -> tuple[list[Activity], list[tuple[Activity, str]]]:
    """Approve each activity on its own (one refusal does not stop the others).

    `versions` maps activity ids to the version the reviewer saw in the queue: an activity
    changed since (withdrawn, edited, resubmitted) is refused rather than approved unseen.
    Returns the approved ones and the refused ones with the reason."""
    versions = versions or {}
    approved, refused = [], []
    for activity in activities:
        try:
            approved.append(
                activity_approve(activity, actor=actor, expected_version=versions.get(activity.pk))
            )
        except (DomainError, NotAllowed) as error:
            refused.append((activity, str(getattr(error, "message", error))))
    return approved, refused
