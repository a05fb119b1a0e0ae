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

import datetime as dt
import functools
import logging
import re
from contextlib import nullcontext
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
from qualitymonth.audit import audit_entry, audit_log
from qualitymonth.compiled import fetch_one_prepared
from qualitymonth.errors import DomainError, IllegalTransition, NotAllowed
from qualitymonth.notifications import absolute_url, notify

from .enums import (
    REGISTRATION_ACTIVE_STATES,
    NoticeKind,
    NoticeState,
    RegistrationStatus,
)
from .models import Attendee, Enterprise, Registration, RegistrationNotice
from .validators import normalise_mobile, validate_cn_mobile

AUDIT = "registrations.registration"

logger = logging.getLogger(__name__)


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


def _tell_representatives(registration: Registration, template: NoticeKind, **context) -> None:
    """Email each representative of the registration's enterprise, in their language, about
    `template`: a `RegistrationNotice` written in the caller's transaction (the outbox), sent
    after the commit by `notices_send`. `context` must be plain JSON (a reason, a flag); the
    person who acted goes as ``actor_id``; the waiting place is counted when it is sent."""
    actor = context.pop("actor", None)
    if actor is not None:
        context["actor_id"] = actor.pk
    notice = RegistrationNotice.objects.create(
        registration_id=registration.pk, template=template, context=context
    )
    _send_notices_after_commit(notice.pk)


def _send_notices_after_commit(notice_id: int) -> None:
    """Where tasks run in-process (no broker: the SQLite demo, tests), the notice goes out as soon
    as the transaction commits. With a broker the request does nothing more: celery beat runs
    `registrations.tasks.send_notices` every few seconds (settings.CELERY_BEAT_SCHEDULE), so a
    burst of sign-ups spends no web time on emails and none is lost with a process or a
    broker that fails after the commit."""
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        transaction.on_commit(functools.partial(notices_send, ids=[notice_id]))


# The email a sign-up sends, by its outcome.
SIGN_UP_NOTICES = {
    RegistrationStatus.CONFIRMED: NoticeKind.CONFIRMED.value,
    RegistrationStatus.WAITING: NoticeKind.WAITING.value,
}

def notices_send(*, ids=None, batch: int = 100) -> int:
    """Email the notices not yet sent (of `ids` only, if given), oldest first; returns how many
    went out. Notices are claimed with SKIP LOCKED, so that runs in several workers share them
    and never send one twice at the same time; the emails are queued when a batch commits, so
    a run killed half-way sends none of its batch and the next run sends them all. A failing
    email is logged and its notice tried again on the next run, at most NOTICE_ATTEMPTS times.
    Each notice is looked at once per run."""
    sent, after = 0, 0
    while True:
        with transaction.atomic():
            unsent = (
                RegistrationNotice.objects.select_for_update(skip_locked=True)
                .in_state(NoticeState.WAITING)
                .filter(pk__gt=after)
            )
            if ids is not None:
                unsent = unsent.filter(pk__in=ids)
            notices = list(unsent.order_by("pk")[:batch])
            for notice in notices:
                notice.attempts += 1
                try:
                    with transaction.atomic():
                        representatives_tell(
                            notice.registration_id, notice.template, notice.context
                        )
                except Exception as error:
                    logger.exception(
                        "Could not email notice %s (%s, registration %s)",
                        notice.pk,
                        notice.template,
                        notice.registration_id,
                    )
                    notice.last_error = f"{type(error).__name__}: {error}"[:300]
                else:
                    notice.sent_at, notice.last_error = timezone.now(), ""
                    sent += 1
                notice.save(update_fields=["attempts", "sent_at", "last_error"])
        if len(notices) < batch:
            return sent
        after = notices[-1].pk


def notices_retry(notices, *, actor) -> int:
    """Give notices whose email failed NOTICE_ATTEMPTS times new attempts (an administrator, once
    the cause is mended); the next run sends them. Returns how many; recorded in the audit log
    of each notice's registration."""
    retried = 0
    with transaction.atomic():
        for notice in (
            RegistrationNotice.objects.select_for_update(of=("self",))
            .in_state(NoticeState.GIVEN_UP)
            .filter(pk__in=[n.pk for n in notices])
            .select_related("registration")
        ):
            audit_log(
                notice.registration,
                f"{AUDIT}.notice_retried",
                actor=actor,
                changes={
                    "template": notice.template,
                    "attempts": [notice.attempts, 0],
                    "last_error": notice.last_error,
                },
            )
            notice.attempts, notice.last_error = 0, ""
            notice.save(update_fields=["attempts", "last_error"])
            retried += 1
    return retried


def notices_purge(*, now=None) -> int:
    """Delete notices sent more than REGISTRATION_NOTICE_KEEP_DAYS ago (periodic: celery beat);
    returns how many. The audit log keeps the changes they reported."""
    from django.conf import settings

    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.REGISTRATION_NOTICE_KEEP_DAYS)
    deleted, _by_model = RegistrationNotice.objects.filter(sent_at__lt=cutoff).delete()
    return deleted


def representatives_tell(registration_id: int, template: str, context: dict) -> int:
    """What `_tell_representatives` queued, done: each representative of the registration's
    enterprise gets the email `template` in their own language, with links to the registration
    and the activity (and the waiting place for ``registration_waiting``). Returns how many."""
    from accounts.models import User

    registration = (
        Registration.objects.select_related(
            "activity__campaign", "activity__region", "activity__organiser", "enterprise"
        )
        .filter(pk=registration_id)
        .first()
    )
    if registration is None:
        return 0
    activity = registration.activity
    resolved = {
        "registration": registration,
        "activity": activity,
        "enterprise": registration.enterprise,
        "url": _registration_link(registration),
        "activity_url": _link("public:activity_detail", activity.pk),
        **{k: v for k, v in context.items() if k != "actor_id"},
    }
    if context.get("actor_id"):
        resolved["actor"] = User.objects.filter(pk=context["actor_id"]).first()
    if template == NoticeKind.WAITING:
        resolved["position"] = registration_waiting_position(registration)
    sent = 0
    for recipient in _representatives(registration.enterprise_id):
        notify(recipient, template, resolved)
        sent += 1
    return sent


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


def _clean_attendees(attendees, limit: int | None) -> list[_Person]:
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
    if limit is not None and len(people) > limit:
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
    list. Only `activity.pk` is read from `activity` (its count of confirmed enterprises is set
    afterwards): the caller need not load it.

    Steps: refuse anyone but a verified representative of the enterprise (NotAllowed); check the
    attendees (each with a name and a mainland mobile), the contact and the note. Then, in one
    statement on PostgreSQL (`_sign_up_in_one_statement`; elsewhere in one transaction,
    `_sign_up_under_row_lock`): lock the activity's row, only if it is published, open for
    sign-up now and takes that many attendees; insert the registration, confirmed with a seat
    if one is free, else waiting; its attendees; the audit log (``confirmed`` or ``waiting``);
    the notice to its representatives (`RegistrationNotice`). The database refuses a second
    active registration of the enterprise ("already registered"). When nothing was written, the
    activity is read to say why: not found (also for one the actor may not see), not
    published, not open, too many attendees. After the commit the notice is emailed to the
    representatives, the confirmation with the check-in code or their place in the queue
    (`notices_send`). The registration comes back with its activity (campaign, region),
    enterprise and attendees loaded.
    """
    from django.conf import settings
    from django.db import connection

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
    people = _clean_attendees(attendees, limit=None)  # the activity's limit: below

    one_statement = connection.vendor == "postgresql" and settings.SIGNUP_ONE_STATEMENT
    sign_up = _sign_up_in_one_statement if one_statement else _sign_up_under_row_lock
    for _attempt in range(5):
        now = timezone.now()
        registration = Registration(
            activity_id=activity.pk,
            enterprise=enterprise,
            status=RegistrationStatus.WAITING,
            attendee_count=len(people),
            contact_name=contact_name,
            contact_mobile=contact_mobile,
            note=note,
            registered_by=actor,
        )
        try:
            notice_id = sign_up(registration, people, actor=actor, now=now)
        except IntegrityError as error:
            constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", "")
            if "check_in_code" in (constraint or ""):
                continue  # a check-in code that happened to be taken: draw another
            if Registration.objects.filter(
                activity_id=activity.pk,
                enterprise_id=enterprise.pk,
                status__in=REGISTRATION_ACTIVE_STATES,
            ).exists():
                raise _already_registered() from None
            raise
        if notice_id is not None:
            break
        _refuse_why_not(activity.pk, actor, people, attendees, now)
        # Nothing refuses it now: the activity changed in between (reopened, seats added).
    else:
        raise DomainError(_("Please try again."), code="retry")
    activity.confirmed_count = registration.activity.confirmed_count
    _send_notices_after_commit(notice_id)  # the sign-up wrote its notice
    return registration


def _refuse_why_not(activity_id, actor, people, attendees, now) -> None:
    """After a sign-up that wrote nothing: the refusal that explains it, if one applies now."""
    from activities.enums import ACTIVITY_PUBLIC_STATES

    current = Activity.objects.filter(pk=activity_id).first()
    hidden = current is not None and current.status not in ACTIVITY_PUBLIC_STATES
    if current is None or (hidden and not actor.has_perm("activities.view_activity", current)):
        # Whether an activity the person may not see exists is not theirs to know.
        raise DomainError(
            _("There is no such activity."), code="activity_not_found", field="activity"
        )
    _refuse_closed(current, now)
    if len(people) > current.attendees_per_enterprise:
        _clean_attendees(attendees, current.attendees_per_enterprise)  # raises: too many


def _audit_entries(registration: Registration, people, *, actor) -> dict:
    """The audit entries of the two outcomes (confirmed, waiting), for the one statement; the
    registration's id and description are filled in by it."""
    from django.contrib.contenttypes.models import ContentType

    changes = {"attendees": [p.name for p in people], "contact_name": registration.contact_name}
    entries = {}
    for status in (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING):
        entry = audit_entry(
            None, f"{AUDIT}.{status}", actor=actor, changes={"status": [None, status], **changes}
        )
        entry.content_type = ContentType.objects.get_for_model(Registration)
        entries[status] = entry
    return entries


def _describe_with(enterprise: Enterprise) -> tuple[str, str]:
    """What `str(registration)` puts before and after the activity's title: the audit log's
    description of a registration whose title the statement reads."""
    marker = "\x00"
    text = str(Registration(enterprise=enterprise, activity=Activity(title=marker)))
    before, _marker, after = text.partition(marker)
    return before, after


@dataclass(frozen=True)
class _Statement:
    """The sign-up's one statement, built once per process from the models' metadata."""

    sql: str
    slots: tuple  # what each run of placeholders takes: a parameter's name, "reg" or "log"
    activity_fields: tuple
    region_fields: tuple
    campaign_fields: tuple
    reg_fields: tuple
    log_fields: tuple


@functools.cache
def _sign_up_statement(guarded: bool) -> _Statement:
    from django.db import connection

    from qualitymonth.models import AuditLogEntry

    quote = connection.ops.quote_name
    activity_meta, registration_meta = Activity._meta, Registration._meta
    attendee_meta, log_meta = Attendee._meta, AuditLogEntry._meta
    region_model = activity_meta.get_field("region").related_model
    campaign_model = activity_meta.get_field("campaign").related_model
    activity_fields = tuple(f for f in activity_meta.concrete_fields if f.attname != "description")
    region_fields = tuple(region_model._meta.concrete_fields)
    campaign_fields = tuple(campaign_model._meta.get_field(name) for name in ("id", "year"))
    reg_fields = tuple(
        f
        for f in registration_meta.concrete_fields
        if not f.primary_key and f.attname not in ("status", "confirmed_at")
    )
    log_fields = tuple(
        f
        for f in log_meta.concrete_fields
        if not f.primary_key and f.attname not in ("action", "changes", "object_id", "object_repr")
    )
    a_cols = ", ".join(f"a.{quote(f.column)}" for f in activity_fields)
    notice_meta = RegistrationNotice._meta
    notice_cols = ", ".join(
        quote(notice_meta.get_field(name).column)
        for name in ("registration", "template", "context", "created_at", "attempts", "last_error")
    )
    sql = f"""
WITH act AS (
    SELECT {a_cols}, (a.capacity IS NULL OR a.confirmed_count < a.capacity) AS free
    FROM {quote(activity_meta.db_table)} a
    WHERE a.id = %(activity)s AND a.status = ANY(%(published)s) AND a.signup_enabled
      AND a.signup_opens_at <= %(now)s AND a.signup_closes_at > %(now)s
      AND a.attendees_per_enterprise >= %(count)s
    {"FOR NO KEY UPDATE" if guarded else ""}
), seat AS (
    UPDATE {quote(activity_meta.db_table)} t
    SET confirmed_count = {"t.confirmed_count" if guarded else "act.confirmed_count"} + 1
    FROM act WHERE t.id = act.id AND act.free
    RETURNING t.confirmed_count
), reg AS (
    INSERT INTO {quote(registration_meta.db_table)}
        ({", ".join(quote(f.column) for f in reg_fields)}, status, confirmed_at)
    SELECT %(reg)s,
        CASE WHEN act.free THEN %(confirmed)s ELSE %(waiting)s END,
        CASE WHEN act.free THEN %(now)s::timestamptz END
    FROM act
    RETURNING id, status, confirmed_at, created_at, updated_at
), att AS (
    INSERT INTO {quote(attendee_meta.db_table)} (registration_id, name, mobile)
    SELECT reg.id, p.name, p.mobile
    FROM reg, unnest(%(names)s::text[], %(mobiles)s::text[]) WITH ORDINALITY AS p(name, mobile, n)
    ORDER BY p.n
    RETURNING id
), notice AS (
    INSERT INTO {quote(notice_meta.db_table)} ({notice_cols})
    SELECT reg.id,
        CASE WHEN act.free THEN %(notice_confirmed)s ELSE %(notice_waiting)s END,
        '{{}}'::jsonb, %(now)s, 0, ''
    FROM reg, act
    RETURNING id
), log AS (
    INSERT INTO {quote(log_meta.db_table)}
        ({", ".join(quote(f.column) for f in log_fields)}, action, changes, object_id, object_repr)
    SELECT %(log)s,
        CASE WHEN act.free THEN %(action_confirmed)s ELSE %(action_waiting)s END,
        CASE WHEN act.free THEN %(changes_confirmed)s::jsonb ELSE %(changes_waiting)s::jsonb END,
        reg.id::text, left(%(before)s || act.title || %(after)s, 300)
    FROM reg, act
    RETURNING id
)
SELECT reg.id, reg.status, reg.confirmed_at, reg.created_at, reg.updated_at,
    coalesce((SELECT confirmed_count FROM seat), a.confirmed_count),
    (SELECT array_agg(id ORDER BY id) FROM att), (SELECT id FROM notice),
    (SELECT count(*) FROM log),
    {a_cols}, {", ".join(f"r.{quote(f.column)}" for f in region_fields)},
    {", ".join(f"c.{quote(f.column)}" for f in campaign_fields)}
FROM reg, act a
JOIN {quote(region_model._meta.db_table)} r ON r.id = a.region_id
JOIN {quote(campaign_model._meta.db_table)} c ON c.id = a.campaign_id
"""  # noqa: S608 - names from the models' metadata; every value is a parameter  # nosec B608
    slots, pieces = [], []
    for piece in re.split(r"(%\(\w+\)s)", sql):
        if not piece.startswith("%("):
            pieces.append(piece)
            continue
        name = piece[2:-2]
        slots.append(name)
        width = {"reg": len(reg_fields), "log": len(log_fields)}.get(name, 1)
        pieces.append(", ".join(["%s"] * width))
    return _Statement(
        "".join(pieces),
        tuple(slots),
        activity_fields,
        region_fields,
        campaign_fields,
        reg_fields,
        log_fields,
    )


def _sign_up_in_one_statement(registration, people, *, actor, now) -> int | None:
    """The sign-up's writes as ONE PostgreSQL statement (data-modifying CTEs), so that a burst of
    sign-ups holds each activity's row lock only for the time of one statement and needs one
    round trip to the database.

    ``act`` locks the activity's row (FOR NO KEY UPDATE, only while it is published, open at
    `now` and takes this many attendees). Under READ COMMITTED a locking read that waited for
    another writer re-checks the row's newest version, so whether a seat is free (``free``) is
    decided on the newest count, while we hold the lock: never oversold, and a seat freed by a
    withdrawal that committed meanwhile is taken. ``seat`` takes it; ``reg`` inserts the
    registration confirmed or waiting; ``att`` the attendees; ``notice`` the email to its
    representatives (the outbox); ``log`` the audit entry of the outcome. A refusal by a
    constraint (a second active registration of the enterprise, a check-in code taken) undoes
    the whole statement. Returns the notice's id, or None if the activity was not open for it
    (nothing written)."""
    from django.conf import settings
    from django.db import connection

    statement = _sign_up_statement(settings.SIGNUP_CAPACITY_GUARD)
    entries = _audit_entries(registration, people, actor=actor)
    confirmed, waiting = entries[RegistrationStatus.CONFIRMED], entries[RegistrationStatus.WAITING]
    changes = type(confirmed)._meta.get_field("changes")
    before, after = _describe_with(registration.enterprise)

    def prepared(obj, fields):
        return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]

    values = {
        "activity": registration.activity_id,
        "published": [str(state) for state in ACTIVITY_PUBLISHED_STATES],
        "now": now,
        "count": len(people),
        "reg": prepared(registration, statement.reg_fields),
        "confirmed": RegistrationStatus.CONFIRMED.value,
        "waiting": RegistrationStatus.WAITING.value,
        "names": [p.name for p in people],
        "mobiles": [p.mobile for p in people],
        "log": prepared(confirmed, statement.log_fields),
        "notice_confirmed": SIGN_UP_NOTICES[RegistrationStatus.CONFIRMED],
        "notice_waiting": SIGN_UP_NOTICES[RegistrationStatus.WAITING],
        "action_confirmed": confirmed.action,
        "action_waiting": waiting.action,
        "changes_confirmed": changes.get_db_prep_save(confirmed.changes, connection),
        "changes_waiting": changes.get_db_prep_save(waiting.changes, connection),
        "before": before,
        "after": after,
    }
    params = []
    for slot in statement.slots:
        if slot in ("reg", "log"):
            params.extend(values[slot])
        else:
            params.append(values[slot])
    # Autocommit when alone (the statement is its own transaction); a savepoint inside a
    # caller's transaction, so that a refusal by a constraint leaves that transaction usable.
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint:
        # Prepared once per connection: planning this statement costs more than running it.
        row = fetch_one_prepared(statement.sql, params)
    if row is None:
        return None
    pk, status, confirmed_at, created_at, updated_at, seats = row[:6]
    attendee_ids, notice_id, _logged = row[6:9]
    db, rest = connection.alias, row[9:]
    built = []
    for fields in (statement.activity_fields, statement.region_fields, statement.campaign_fields):
        model = fields[0].model
        built.append(model.from_db(db, [f.attname for f in fields], rest[: len(fields)]))
        rest = rest[len(fields) :]
    activity, region, campaign = built
    activity.region, activity.campaign, activity.confirmed_count = region, campaign, seats
    registration.pk, registration.status, registration.confirmed_at = pk, status, confirmed_at
    registration.created_at, registration.updated_at = created_at, updated_at
    registration.activity = activity
    _keep_attendees(
        registration,
        [
            Attendee(id=i, registration=registration, name=p.name, mobile=p.mobile)
            for i, p in zip(attendee_ids, people, strict=True)
        ],
    )
    return notice_id


def _keep_attendees(registration: Registration, saved: list[Attendee]) -> None:
    """As if prefetched: whoever shows the new registration needs no query for its attendees."""
    attendees = Attendee.objects.filter(registration=registration).order_by("id")
    attendees._result_cache, attendees._prefetch_done = saved, True
    registration._prefetched_objects_cache = {"attendees": attendees}


def _sign_up_under_row_lock(registration, people, *, actor, now) -> int | None:
    """The same writes as `_sign_up_in_one_statement`, in one transaction under the activity's
    row lock (databases without data-modifying CTEs: the SQLite demo). Returns the notice's id,
    or None if the activity was not open for it (nothing written)."""
    from django.conf import settings

    with transaction.atomic():
        rows = Activity.objects.select_related("campaign", "region").filter(
            pk=registration.activity_id,
            status__in=ACTIVITY_PUBLISHED_STATES,
            signup_enabled=True,
            signup_opens_at__lte=now,
            signup_closes_at__gt=now,
            attendees_per_enterprise__gte=len(people),
        )
        if settings.SIGNUP_CAPACITY_GUARD:
            rows = rows.select_for_update(no_key=True, of=("self",))
        current = rows.first()
        if current is None:
            return None
        if current.capacity is None or current.confirmed_count < current.capacity:
            registration.status, registration.confirmed_at = RegistrationStatus.CONFIRMED, now
            Activity.objects.filter(pk=current.pk).update(
                confirmed_count=(
                    F("confirmed_count")
                    if settings.SIGNUP_CAPACITY_GUARD
                    else current.confirmed_count
                )
                + 1
            )
            current.confirmed_count += 1
        registration.activity = current
        registration.save(force_insert=True)
        _keep_attendees(
            registration,
            Attendee.objects.bulk_create(
                [Attendee(registration=registration, name=p.name, mobile=p.mobile) for p in people]
            ),
        )
        entry = _audit_entries(registration, people, actor=actor)[registration.status]
        entry.object_id, entry.object_repr = str(registration.pk), str(registration)[:300]
        entry.save(force_insert=True)
        notice = RegistrationNotice.objects.create(
            registration=registration, template=SIGN_UP_NOTICES[registration.status]
        )
    return notice.pk


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
            NoticeKind.WITHDRAWN,
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
        _tell_representatives(first, NoticeKind.PROMOTED)
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
        _tell_representatives(registration, NoticeKind.CANCELLED, reason=reason)
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
