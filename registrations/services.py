"""Writes about registrations: sign-up, withdrawal, the waiting list, capacity and check-in.

Registration states change only here. Each service runs in one transaction, writes the audit log
(``registrations.registration.<what happened>``) and emails the enterprise's representatives once
the transaction commits.

Never oversell. A seat is taken by ONE conditional update of the activity's `confirmed_count`
(``... SET confirmed_count = confirmed_count + 1 WHERE ... confirmed_count < capacity``), which
PostgreSQL re-checks on the latest row version after waiting for any other writer, so that under
READ COMMITTED no two transactions can take the last seat; the constraint
``confirmed_count <= capacity`` is the last line of defence. Locks are always taken in the same
order (the activity row, then registration rows), so that withdrawals, capacity changes,
cancellations and sign-ups never deadlock.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.rules import roles_of
from activities.enums import ACTIVITY_PUBLISHED_STATES
from activities.models import Activity
from qualitymonth.audit import audit_log
from qualitymonth.errors import DomainError, IllegalTransition, NotAllowed
from qualitymonth.notifications import absolute_url, notify_on_commit

from .enums import REGISTRATION_ACTIVE_STATES, RegistrationStatus
from .models import Attendee, Enterprise, Registration, new_check_in_code
from .validators import normalise_mobile, validate_cn_mobile

AUDIT = "registrations.registration"


# --- helpers -------------------------------------------------------------------------------------


def _representatives(enterprise_id: int):
    """The people who speak for the enterprise: they receive every email about its registrations
    (the registration's contact is a bare mobile number)."""
    from accounts.enums import RepresentationStatus
    from accounts.models import User

    return User.objects.filter(
        is_active=True,
        enterprise_representations__enterprise_id=enterprise_id,
        enterprise_representations__status=RepresentationStatus.APPROVED,
    ).distinct()


def _link(viewname: str, *args) -> str:
    """An absolute link for an email; the portal's home page where the page does not exist."""
    from django.conf import settings

    try:
        return absolute_url(viewname, *args)
    except NoReverseMatch:
        return settings.SITE_URL + "/"


def _registration_link(registration: Registration) -> str:
    return _link("registrations:registration_detail", registration.pk)


def _tell_representatives(registration: Registration, template: str, **context) -> None:
    """Email each representative of the registration's enterprise, in their language, once the
    transaction commits. Who they are is looked up and the emails are rendered only then, so
    that none of it lengthens the transaction (and the activity's row lock it may hold).
    Context values that are callables are called at that moment (e.g. the waiting place)."""
    activity = registration.activity
    context = {
        "registration": registration,
        "activity": activity,
        "enterprise": registration.enterprise,
        "url": _registration_link(registration),
        "activity_url": _link("public:activity_detail", activity.pk),
        **context,
    }

    def recipients():
        return _representatives(registration.enterprise_id)

    notify_on_commit(recipients, template, context)


def _take_seat(activity_id: int, *, now=None) -> bool:
    """Take one seat of the activity if one is free: the single conditional UPDATE that never
    oversells. With `now`, only while the activity is published and open for sign-up.

    The row stays locked until the transaction ends (so call it late). True if a seat was taken."""
    from django.conf import settings

    if not settings.SIGNUP_CAPACITY_GUARD:
        # TEST-ONLY negative control (bench/signup_burst.py; refused in production by
        # qualitymonth.switches): the naive read-then-write this function exists to avoid.
        # Concurrent sign-ups read the same count and confirm more enterprises than seats.
        seen = Activity.objects.get(pk=activity_id)
        if seen.capacity is not None and seen.confirmed_count >= seen.capacity:
            return False
        Activity.objects.filter(pk=activity_id).update(confirmed_count=seen.confirmed_count + 1)
        return True
    rows = Activity.objects.filter(pk=activity_id).filter(
        Q(capacity__isnull=True) | Q(confirmed_count__lt=F("capacity"))
    )
    if now is not None:
        rows = rows.filter(
            status__in=ACTIVITY_PUBLISHED_STATES,
            signup_enabled=True,
            signup_opens_at__lte=now,
            signup_closes_at__gt=now,
        )
    return rows.update(confirmed_count=F("confirmed_count") + 1) == 1


def _take_seat_and_confirm(registration: Registration, *, now) -> int | None:
    """Take one seat of the registration's activity, while it is published and open for sign-up
    at `now`, and confirm the registration: ONE statement (the conditional update of
    `_take_seat` and the registration's update in a data-modifying CTE), so that a sign-up
    holds the activity's row lock for as short a time as possible. The activity's count of
    confirmed enterprises after taking the seat, or None if none was taken."""
    from django.conf import settings
    from django.db import connection

    if not settings.SIGNUP_CAPACITY_GUARD:
        # TEST-ONLY negative control (see `_take_seat`).
        if not _take_seat(registration.activity_id, now=now):
            return None
        Registration.objects.filter(pk=registration.pk).update(
            status=RegistrationStatus.CONFIRMED, confirmed_at=now
        )
        return Activity.objects.values_list("confirmed_count", flat=True).get(
            pk=registration.activity_id
        )
    quote = connection.ops.quote_name
    activities, registrations = Activity._meta.db_table, Registration._meta.db_table
    published = ", ".join(["%s"] * len(ACTIVITY_PUBLISHED_STATES))
    sql = (
        f"WITH seat AS (UPDATE {quote(activities)} "  # noqa: S608 - table names, no input  # nosec B608
        "SET confirmed_count = confirmed_count + 1 "
        "WHERE id = %s AND (capacity IS NULL OR confirmed_count < capacity) "
        f"AND status IN ({published}) AND signup_enabled "
        "AND signup_opens_at <= %s AND signup_closes_at > %s RETURNING confirmed_count) "
        f"UPDATE {quote(registrations)} SET status = %s, confirmed_at = %s "
        "WHERE id = %s AND EXISTS (SELECT 1 FROM seat) "
        "RETURNING (SELECT confirmed_count FROM seat)"
    )
    params = [
        registration.activity_id,
        *[str(state) for state in ACTIVITY_PUBLISHED_STATES],
        now,
        now,
        RegistrationStatus.CONFIRMED.value,
        now,
        registration.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


def _free_seat(activity_id: int) -> None:
    Activity.objects.filter(pk=activity_id, confirmed_count__gt=0).update(
        confirmed_count=F("confirmed_count") - 1
    )


def _lock_activity(activity: Activity) -> Activity:
    # FOR NO KEY UPDATE: excludes seat-taking updates and other lockers, yet not the key-share
    # locks that inserting a registration (its foreign key) takes on the activity row.
    return Activity.objects.select_for_update(no_key=True).get(pk=activity.pk)


def _refuse_closed(activity: Activity, now) -> None:
    """DomainError unless enterprises may sign up for `activity` at `now`."""
    if activity.status not in ACTIVITY_PUBLISHED_STATES:
        raise DomainError(
            _("This activity is not open for sign-up: it is “%(status)s”.")
            % {"status": activity.get_status_display()},
            code="activity_not_published",
        )
    if not activity.signup_enabled:
        raise DomainError(
            _("Enterprises do not sign up for this activity: everyone may simply come."),
            code="signup_disabled",
        )
    if activity.signup_opens_at and now < activity.signup_opens_at:
        raise DomainError(
            _("Sign-up opens on %(when)s.") % {"when": _when(activity.signup_opens_at)},
            code="signup_not_open_yet",
        )
    if activity.signup_closes_at and now >= activity.signup_closes_at:
        raise DomainError(
            _("Sign-up closed on %(when)s.") % {"when": _when(activity.signup_closes_at)},
            code="signup_closed",
        )


def _when(moment) -> str:
    from django.utils.formats import date_format

    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


@dataclass(frozen=True)
class _Person:
    name: str
    mobile: str


def _clean_mobile(value, *, field: str) -> str:
    mobile = normalise_mobile(str(value or "").strip())
    try:
        validate_cn_mobile(mobile)
    except ValidationError as error:
        raise DomainError(error.messages[0], code="mobile_invalid", field=field) from error
    return mobile


def _clean_attendees(attendees, limit: int) -> list[_Person]:
    people = []
    for index, attendee in enumerate(attendees or []):
        name = str(attendee.get("name") or "").strip()
        if not name:
            raise DomainError(
                _("Give the name of attendee %(number)d.") % {"number": index + 1},
                code="attendee_name_required",
                field="attendees",
            )
        if len(name) > Attendee._meta.get_field("name").max_length:
            raise DomainError(
                _("The name of attendee %(number)d is too long.") % {"number": index + 1},
                code="attendee_name_too_long",
                field="attendees",
            )
        people.append(_Person(name, _clean_mobile(attendee.get("mobile"), field="attendees")))
    if not people:
        raise DomainError(
            _("Name at least one person who will attend."),
            code="attendees_required",
            field="attendees",
        )
    if len(people) > limit:
        raise DomainError(
            ngettext(
                "Each enterprise may send at most %(limit)d person to this activity.",
                "Each enterprise may send at most %(limit)d people to this activity.",
                limit,
            )
            % {"limit": limit},
            code="too_many_attendees",
            field="attendees",
        )
    mobiles = [p.mobile for p in people]
    if len(set(mobiles)) != len(mobiles):
        raise DomainError(
            _("Each attendee needs their own mobile number."),
            code="attendee_mobile_repeated",
            field="attendees",
        )
    return people


def _already_registered() -> DomainError:
    return DomainError(
        _(
            "Your enterprise is already registered for this activity (or on its waiting list). "
            "See “My registrations”."
        ),
        code="already_registered",
    )


# --- sign-up -------------------------------------------------------------------------------------


def registration_sign_up(
    activity: Activity,
    *,
    actor,
    enterprise: Enterprise,
    attendees: list[dict],
    contact_name: str,
    contact_mobile: str,
    note: str = "",
) -> Registration:
    """Sign `enterprise` up for `activity`: confirmed while a seat is free, else on the waiting
    list.

    Steps: refuse anyone but a verified representative of the enterprise (NotAllowed); check the
    attendees (1 to the activity's limit, each with a name and a mainland mobile), the contact and
    the note; refuse an activity not published, not open for sign-up or outside its window
    (DomainError). In one transaction: insert the registration, waiting (the database refuses a
    second active one of the enterprise: "already registered"), and its attendees; take a seat
    and confirm it in one statement (`_take_seat_and_confirm`), or else lock the activity, check
    it again and stay on the waiting list; write the audit log (``confirmed`` or ``waiting``).
    The activity's row lock is held only from the seat to the commit. After the commit, email
    the representatives the confirmation with the check-in code, or their place in the queue.
    The registration comes back with its activity (campaign, region), enterprise and attendees
    loaded, and, when waiting, its ``waiting_position`` once the emails have counted it.
    """
    roles = roles_of(actor)
    if roles.enterprise_id is None or roles.enterprise_id != enterprise.pk:
        raise NotAllowed(_("Only a representative of the enterprise may sign it up."))
    if actor.email_verified_at is None:
        raise NotAllowed(_("Verify your email address before signing your enterprise up."))
    contact_name = (contact_name or "").strip()
    if not contact_name:
        raise DomainError(
            _("Say who the organiser can call about this registration."),
            code="contact_required",
            field="contact_name",
        )
    if len(contact_name) > Registration._meta.get_field("contact_name").max_length:
        raise DomainError(
            _("The contact's name is too long."), code="contact_too_long", field="contact_name"
        )
    contact_mobile = _clean_mobile(contact_mobile, field="contact_mobile")
    note = (note or "").strip()
    if len(note) > Registration._meta.get_field("note").max_length:
        raise DomainError(
            _("The note may have at most %(limit)d characters.")
            % {"limit": Registration._meta.get_field("note").max_length},
            code="note_too_long",
            field="note",
        )

    now = timezone.now()
    # Read and checked before the transaction: the seat is taken by a statement that checks the
    # window and the state again, and the waiting list is joined only after checking again
    # under the activity's row lock.
    current = Activity.objects.select_related("campaign", "region").get(pk=activity.pk)
    _refuse_closed(current, now)
    people = _clean_attendees(attendees, current.attendees_per_enterprise)
    registration = Registration(
        activity=current,
        enterprise=enterprise,
        status=RegistrationStatus.WAITING,
        attendee_count=len(people),
        contact_name=contact_name,
        contact_mobile=contact_mobile,
        note=note,
        registered_by=actor,
    )
    for _attempt in range(5):
        inserted = False
        try:
            with transaction.atomic():
                # First, so that a refusal by the partial unique constraint (PostgreSQL waits
                # for a concurrent sign-up of the enterprise to commit before deciding) rolls
                # back nothing else and needs no savepoint.
                registration.save(force_insert=True)
                inserted = True
                _sign_up_in_transaction(registration, current, people, actor=actor, now=now)
            break
        except IntegrityError:
            if inserted:
                raise
            if Registration.objects.filter(
                activity_id=current.pk,
                enterprise_id=enterprise.pk,
                status__in=REGISTRATION_ACTIVE_STATES,
            ).exists():
                raise _already_registered() from None
            # A check-in code that happened to be taken: draw another.
            registration.pk = None
            registration.check_in_code = new_check_in_code()
            registration.status = RegistrationStatus.WAITING
            registration.confirmed_at = None
    else:
        raise DomainError(_("Please try again."), code="retry")
    activity.confirmed_count = registration.activity.confirmed_count
    return registration


def _sign_up_in_transaction(registration, current, people, *, actor, now) -> None:
    """The rest of the sign-up, after its registration is inserted (waiting): the attendees,
    then the seat (the activity's row lock is held from here to the commit, so nothing slow
    follows), the audit log, the emails (rendered after the commit)."""
    saved = Attendee.objects.bulk_create(
        [Attendee(registration=registration, name=p.name, mobile=p.mobile) for p in people]
    )
    # As if prefetched: whoever shows the new registration needs no query for its attendees.
    attendees = Attendee.objects.filter(registration=registration).order_by("id")
    attendees._result_cache, attendees._prefetch_done = saved, True
    registration._prefetched_objects_cache = {"attendees": attendees}
    seats_taken = _take_seat_and_confirm(registration, now=now)
    if seats_taken is None:
        # Full, or the activity changed since it was read: look again under the row lock (a
        # cancellation or withdrawal waits for us, and a seat freed meanwhile is taken now).
        current = _keep_related(_lock_activity(current), current, "campaign", "region")
        _refuse_closed(current, now)
        if current.capacity is None or current.confirmed_count < current.capacity:
            seats_taken = _take_seat_and_confirm(registration, now=now)
    taken = seats_taken is not None
    if taken:
        current.confirmed_count = seats_taken
        registration.status = RegistrationStatus.CONFIRMED
        registration.confirmed_at = now
    registration.activity = current
    audit_log(
        registration,
        f"{AUDIT}.{registration.status}",
        actor=actor,
        changes={
            "status": [None, registration.status],
            "attendees": [p.name for p in people],
            "contact_name": registration.contact_name,
        },
    )
    if taken:
        _tell_representatives(registration, "registration_confirmed")
    else:
        _tell_representatives(
            registration,
            "registration_waiting",
            position=lambda: _note_waiting_position(registration),
        )


def _note_waiting_position(registration: Registration) -> int | None:
    """`registration_waiting_position`, also kept on the registration (as `with_waiting_position`
    would annotate it) for whoever shows it next."""
    registration.waiting_position = registration_waiting_position(registration)
    return registration.waiting_position


def _keep_related(fresh: Activity, known: Activity, *names: str) -> Activity:
    """`fresh` with the related objects already loaded on `known` (the same rows)."""
    for name in names:
        field = Activity._meta.get_field(name)
        same = getattr(fresh, field.attname) == getattr(known, field.attname)
        if same and field.is_cached(known):
            field.set_cached_value(fresh, field.get_cached_value(known))
    return fresh


# --- withdrawal and the waiting list -------------------------------------------------------------


def registration_withdraw(registration: Registration, *, actor, reason: str = "") -> Registration:
    """Withdraw a registration: the enterprise's representative at will, the organiser's staff or
    an administrator with a reason.

    Steps: refuse anyone else (NotAllowed); lock the activity, then the registration; refuse one
    no longer active or an activity already begun (IllegalTransition / DomainError); save
    ``withdrawn`` with the time; a confirmed one frees its seat and the first waiting
    registration is confirmed in the same transaction (`_promote_waiting`); write the audit log
    (``withdrawn``, and ``promoted`` for each promoted one); email the representatives of the
    withdrawn registration (with the reason when someone else withdrew it) and of each promoted
    one.
    """
    if not actor.has_perm("registrations.withdraw_registration", registration):
        raise NotAllowed(_("You may not withdraw this registration."))
    reason = (reason or "").strip()
    by_enterprise = roles_of(actor).enterprise_id == registration.enterprise_id
    if not by_enterprise and not reason:
        raise DomainError(
            _("Please give the enterprise a reason for withdrawing its registration."),
            code="reason_required",
            field="reason",
        )
    now = timezone.now()
    with transaction.atomic():
        activity = _lock_activity(registration.activity)
        current = Registration.objects.select_for_update().get(pk=registration.pk)
        if current.status not in REGISTRATION_ACTIVE_STATES:
            raise IllegalTransition(
                _("This registration is already “%(status)s”.")
                % {"status": current.get_status_display()},
                code="not_active",
            )
        if activity.starts_at <= now:
            raise DomainError(
                _("The activity has begun: registrations can no longer be withdrawn."),
                code="activity_started",
            )
        before = current.status
        Registration.objects.filter(pk=current.pk).update(
            status=RegistrationStatus.WITHDRAWN, withdrawn_at=now, updated_at=now
        )
        for obj in (current, registration):
            obj.status, obj.withdrawn_at = RegistrationStatus.WITHDRAWN, now
        current.activity = activity
        audit_log(
            current,
            f"{AUDIT}.withdrawn",
            actor=actor,
            changes={"status": [before, RegistrationStatus.WITHDRAWN]},
            comment=reason,
        )
        _tell_representatives(
            current,
            "registration_withdrawn",
            actor=actor,
            reason=reason,
            by_enterprise=by_enterprise,
        )
        if before == RegistrationStatus.CONFIRMED:
            _free_seat(activity.pk)
            _promote_waiting(activity, actor=actor, now=now)
    return registration


def _promote_waiting(activity: Activity, *, actor, now) -> list[Registration]:
    """Confirm waiting registrations in order of arrival while seats are free. Call with the
    activity row locked. Nothing is promoted once the activity is no longer published or over."""
    if activity.status not in ACTIVITY_PUBLISHED_STATES or activity.ends_at <= now:
        return []
    promoted = []
    waiting = Registration.objects.filter(
        activity_id=activity.pk, status=RegistrationStatus.WAITING
    )
    while True:
        first = (
            waiting.select_for_update(of=("self",))
            .select_related("enterprise")
            .order_by("created_at", "id")
            .first()
        )
        if first is None:
            # The row found first may have been withdrawn while we waited for its lock.
            if waiting.exists():
                continue
            break
        if not _take_seat(activity.pk):
            break
        Registration.objects.filter(pk=first.pk).update(
            status=RegistrationStatus.CONFIRMED, confirmed_at=now, updated_at=now
        )
        first.status, first.confirmed_at = RegistrationStatus.CONFIRMED, now
        first.activity = activity
        audit_log(
            first,
            f"{AUDIT}.promoted",
            actor=actor,
            changes={"status": [RegistrationStatus.WAITING, RegistrationStatus.CONFIRMED]},
        )
        _tell_representatives(first, "registration_promoted")
        promoted.append(first)
    activity.refresh_from_db(fields=["confirmed_count"])
    return promoted


def activity_capacity_change(activity: Activity, *, actor, capacity: int | None) -> Activity:
    """Set how many enterprises the activity takes (None: no limit).

    Steps: refuse anyone but the organiser's staff or an administrator (NotAllowed); lock the
    activity; refuse a capacity below 1 or below the enterprises already confirmed (DomainError);
    save it with a bumped version; write the audit log (``activities.activity.capacity_changed``);
    confirm as many waiting registrations as the new capacity allows, in order of arrival, each
    audited and told by email. `activity` is updated and returned.
    """
    if not actor.has_perm("registrations.manage_registrations", activity):
        raise NotAllowed(_("You may not change the capacity of this activity."))
    if capacity is not None and int(capacity) < 1:
        raise DomainError(
            _("The capacity is at least 1, or empty for no limit."),
            code="capacity_invalid",
            field="capacity",
        )
    capacity = None if capacity is None else int(capacity)
    now = timezone.now()
    with transaction.atomic():
        current = _lock_activity(activity)
        if capacity is not None and capacity < current.confirmed_count:
            raise DomainError(
                _(
                    "%(count)d enterprises are already confirmed: the capacity cannot be lower. "
                    "Withdraw registrations first if the places are truly fewer."
                )
                % {"count": current.confirmed_count},
                code="capacity_below_confirmed",
                field="capacity",
            )
        before = current.capacity
        if before != capacity:
            Activity.objects.filter(pk=current.pk).update(
                capacity=capacity, version=F("version") + 1, updated_at=now
            )
            current.refresh_from_db()
            audit_log(
                current,
                "activities.activity.capacity_changed",
                actor=actor,
                changes={"capacity": [before, capacity]},
            )
            _promote_waiting(current, actor=actor, now=now)
        current.refresh_from_db()
        for f in Activity._meta.concrete_fields:
            setattr(activity, f.attname, getattr(current, f.attname))
    return activity


def registrations_cancel_with_activity(activity: Activity, *, actor, reason: str) -> int:
    """Cancel every active registration of a cancelled activity (the `activity_cancelled`
    handler, inside the cancelling transaction, which holds the activity's row lock).

    Steps: save ``cancelled`` on each, free the seats; write the audit log (``cancelled``) for each;
    email each enterprise's representatives the reason. Returns how many were cancelled."""
    now = timezone.now()
    active = list(
        Registration.objects.select_for_update(of=("self",))
        .filter(activity_id=activity.pk, status__in=REGISTRATION_ACTIVE_STATES)
        .select_related("enterprise")
        .order_by("id")
    )
    if not active:
        return 0
    Registration.objects.filter(pk__in=[r.pk for r in active]).update(
        status=RegistrationStatus.CANCELLED, updated_at=now
    )
    Activity.objects.filter(pk=activity.pk).update(confirmed_count=0)
    activity.confirmed_count = 0
    for registration in active:
        before = registration.status
        registration.status = RegistrationStatus.CANCELLED
        registration.activity = activity
        audit_log(
            registration,
            f"{AUDIT}.cancelled",
            actor=actor,
            changes={"status": [before, RegistrationStatus.CANCELLED]},
            comment=reason,
        )
        _tell_representatives(registration, "registration_cancelled", reason=reason)
    return len(active)


def registration_waiting_position(registration: Registration) -> int | None:
    """The registration's place in its activity's waiting list (1 is next), or None if it is
    not waiting."""
    if registration.status != RegistrationStatus.WAITING:
        return None
    return (
        Registration.objects.filter(
            activity_id=registration.activity_id, status=RegistrationStatus.WAITING
        )
        .filter(
            Q(created_at__lt=registration.created_at)
            | Q(created_at=registration.created_at, pk__lte=registration.pk)
        )
        .count()
    )


# --- check-in ------------------------------------------------------------------------------------

_CODE_NOISE = re.compile(r"[\s\-]+")


def normalise_check_in_code(code: str) -> str:
    """The code as stored: capitals, without the spaces or hyphens people type. A scanned
    confirmation QR gives the check-in URL, whose last part is the code."""
    text = str(code or "").strip()
    if "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    return _CODE_NOISE.sub("", text).upper()


def registration_check_in(activity: Activity, *, actor, code: str) -> Registration:
    """Mark an enterprise's attendance at the door by its check-in code (typed or scanned).

    Steps: refuse anyone but the organiser's staff or an administrator (NotAllowed); find the
    code (any case, spaces ignored) and lock its registration; refuse an unknown code, a code of
    another activity, a registration not confirmed, and a second check-in, saying when the first
    was (DomainError); save the time and who checked in; write the audit log (``checked_in``).
    """
    if not actor.has_perm("registrations.manage_registrations", activity):
        raise NotAllowed(_("You may not check enterprises in at this activity."))
    normalised = normalise_check_in_code(code)
    if not normalised:
        raise DomainError(_("Type or scan a check-in code."), code="code_required", field="code")
    now = timezone.now()
    with transaction.atomic():
        registration = (
            Registration.objects.select_for_update(of=("self",))
            .filter(check_in_code=normalised)
            .select_related("enterprise", "activity")
            .first()
        )
        if registration is None:
            raise DomainError(
                _("No registration has the check-in code %(code)s. Please check it.")
                % {"code": normalised},
                code="code_unknown",
                field="code",
            )
        if registration.activity_id != activity.pk:
            raise DomainError(
                # Not its title: the activity may be another department's, or unpublished.
                _("The code %(code)s is for another activity.") % {"code": normalised},
                code="code_other_activity",
                field="code",
            )
        if registration.status != RegistrationStatus.CONFIRMED:
            raise DomainError(
                _("%(enterprise)s cannot be checked in: its registration is “%(status)s”.")
                % {
                    "enterprise": registration.enterprise.name,
                    "status": registration.get_status_display(),
                },
                code="not_confirmed",
                field="code",
            )
        if registration.checked_in_at is not None:
            raise DomainError(
                _("%(enterprise)s was already checked in at %(when)s.")
                % {
                    "enterprise": registration.enterprise.name,
                    "when": _when(registration.checked_in_at),
                },
                code="already_checked_in",
                field="code",
            )
        Registration.objects.filter(pk=registration.pk).update(
            checked_in_at=now, checked_in_by=actor, updated_at=now
        )
        registration.checked_in_at, registration.checked_in_by = now, actor
        audit_log(
            registration,
            f"{AUDIT}.checked_in",
            actor=actor,
            changes={"checked_in_at": [None, now.isoformat()]},
        )
    return registration
