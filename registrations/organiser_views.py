"""The organisers' side of registrations: an activity's registrants, waiting list and attendance,
its capacity, check-in at the door, and the exports.

Who sees what (permissions in `accounts/rules.py`):
- the organiser's staff and administrators: everything, and they change the capacity, check
  enterprises in and export;
- the co-organisers' staff: the same lists and exports read-only, with the attendees and contacts
  (`registrations.view_registrant_contacts`, as in the API: they run the door too);
- the reviewers of the activity's region: the lists and exports read-only, without the people:
  enterprises, statuses and counts, no attendees' names, mobiles, contacts or notes;
- anyone else: 404, whether the activity exists or not.
Administrators also export every registration of a campaign (optionally of one region).

Views check who may open what and call the services; every rule lives in `services.py`.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from activities.models import Activity, Campaign, Region
from activities.selectors import activity_workspace_scope, campaign_current, region_scope_q
from qualitymonth.errors import DomainError, NotAllowed

from . import exports
from .enums import RegistrationStatus
from .models import Registration
from .selectors import registration_visible_to, registrations_of_activity
from .services import (
    activity_capacity_change,
    normalise_check_in_code,
    registration_check_in,
)

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CapacityForm(forms.Form):
    capacity = forms.IntegerField(
        label=_("Capacity (enterprises)"),
        required=False,
        min_value=1,
        help_text=_(
            "Empty for no limit. A larger capacity confirms the first enterprises on the waiting "
            "list at once; they are told by email."
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class CheckInForm(forms.Form):
    code = forms.CharField(
        label=_("Check-in code"),
        # A scanner types the whole URL of the confirmation's QR code; the code is taken from it.
        max_length=300,
        help_text=_(
            "The 8 characters under the enterprise's QR code; case and spaces do not matter."
        ),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
                "class": "check-in-code",
            }
        ),
    )

    def clean_code(self):
        return normalise_check_in_code(self.cleaned_data["code"])


class CampaignExportForm(forms.Form):
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=Region.objects.none(),
        required=False,
        to_field_name="code",
        empty_label=_("All regions"),
        help_text=_("Activities in this province and below."),
    )

    key_arrangement = forms.TypedChoiceField(
        label=_("Key arrangement"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=_("By its number, the same in every year's circular."),
    )

    def __init__(self, *args, campaign: Campaign | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = Region.objects.filter(parent__isnull=True).order_by("code")
        arrangements = campaign.key_arrangements.order_by("number") if campaign else []
        self.fields["key_arrangement"].choices = [
            ("", _("All key arrangements")),
            *((a.number, str(a)) for a in arrangements),
        ]

    def cleaned_data_for_url(self) -> dict:
        """The chosen filters as the export links' query string."""
        found = {}
        if self.cleaned_data.get("region") is not None:
            found["region"] = self.cleaned_data["region"].code
        if self.cleaned_data.get("key_arrangement") is not None:
            found["key_arrangement"] = self.cleaned_data["key_arrangement"]
        return found


# --- lookups -----------------------------------------------------------------------------------


def _activity(request, pk: int, permission: str = "registrations.view_registrants") -> Activity:
    """The activity, if the person may see its registrants: 404 for any other, whether it exists
    or not; 403 if they see it but may not do what `permission` asks."""
    activity = get_object_or_404(
        activity_workspace_scope(request.user).select_related("campaign", "organiser", "region"),
        pk=pk,
    )
    if not request.user.has_perm("registrations.view_registrants", activity):
        raise Http404
    if permission != "registrations.view_registrants" and not request.user.has_perm(
        permission, activity
    ):
        raise PermissionDenied
    return activity


def _attendance(activity: Activity, registrations: list[Registration]) -> dict:
    confirmed = [r for r in registrations if r.status == RegistrationStatus.CONFIRMED]
    arrived = sum(1 for r in confirmed if r.checked_in_at)
    return {
        "confirmed": len(confirmed),
        "arrived": arrived,
        "attendees": sum(r.attendee_count for r in confirmed),
        "attendees_arrived": sum(r.attendee_count for r in confirmed if r.checked_in_at),
        "percent": round(100 * arrived / len(confirmed)) if confirmed else 0,
        "seats_left": (
            max(activity.capacity - activity.confirmed_count, 0)
            if activity.capacity is not None
            else None
        ),
    }


def _people(registration: Registration, *, personal: bool) -> tuple[list, str]:
    """The attendees (name, mobile) and the contact's mobile, for those given them; nothing for
    the others, whose pages show the number of attendees instead."""
    if not personal:
        return [], ""
    attendees = [(a.name, a.mobile) for a in registration.attendees.all()]
    return attendees, registration.contact_mobile


def _registrants_context(request, activity: Activity, *, capacity_form=None) -> dict:
    registrations = list(registrations_of_activity(activity))
    user = request.user
    personal = user.has_perm("registrations.view_registrant_contacts", activity)
    for registration in registrations:
        registration.shown_attendees, registration.shown_mobile = _people(
            registration, personal=personal
        )
    by_status = {value: [] for value in RegistrationStatus.values}
    for registration in registrations:
        by_status[registration.status].append(registration)
    may_manage = user.has_perm("registrations.manage_registrations", activity)
    return {
        "activity": activity,
        "confirmed": by_status[RegistrationStatus.CONFIRMED],
        "waiting": by_status[RegistrationStatus.WAITING],
        "ended": by_status[RegistrationStatus.WITHDRAWN] + by_status[RegistrationStatus.CANCELLED],
        "attendance": _attendance(activity, registrations),
        "may_manage": may_manage,
        "personal_data": personal,
        "capacity_form": capacity_form
        or CapacityForm(initial={"capacity": activity.capacity}, auto_id="capacity-%s"),
    }


# --- the registrants page --------------------------------------------------------------------


@login_required
@never_cache
def registrants(request, pk: int):
    """An activity's registrants with their attendees, contacts and check-in, its waiting list in
    order, the withdrawn and cancelled ones, and the attendance. The same queries however many."""
    activity = _activity(request, pk)
    return render(request, "organiser/registrants.html", _registrants_context(request, activity))


@login_required
@require_POST
def capacity_change(request, pk: int):
    """Change the capacity; say who was confirmed from the waiting list, or why not."""
    activity = _activity(request, pk, "registrations.manage_registrations")
    form = CapacityForm(request.POST, auto_id="capacity-%s")
    if form.is_valid():
        waiting_before = set(
            Registration.objects.filter(
                activity=activity, status=RegistrationStatus.WAITING
            ).values_list("pk", flat=True)
        )
        try:
            activity_capacity_change(
                activity, actor=request.user, capacity=form.cleaned_data["capacity"]
            )
        except NotAllowed as error:
            raise PermissionDenied from error
        except DomainError as error:
            form.add_error("capacity", error.message)
        else:
            promoted = list(
                Registration.objects.filter(
                    pk__in=waiting_before, status=RegistrationStatus.CONFIRMED
                )
                .select_related("enterprise")
                .order_by("confirmed_at", "created_at", "pk")
            )
            messages.success(request, _capacity_message(activity, promoted))
            return redirect("organiser:registrants", activity.pk)
    context = _registrants_context(request, activity, capacity_form=form)
    return render(request, "organiser/registrants.html", context, status=400)


def _capacity_message(activity: Activity, promoted: list[Registration]) -> str:
    if activity.capacity is None:
        said = str(_("The activity now takes any number of enterprises."))
    else:
        said = ngettext(
            "The capacity is now %(count)d enterprise.",
            "The capacity is now %(count)d enterprises.",
            activity.capacity,
        ) % {"count": activity.capacity}
    if promoted:
        said += " " + ngettext(
            "Confirmed from the waiting list and told by email: %(names)s.",
            "Confirmed from the waiting list and told by email: %(names)s.",
            len(promoted),
        ) % {"names": "、".join(r.enterprise.name for r in promoted)}
    return said


# --- check-in --------------------------------------------------------------------------------


def _arrival(request, activity: Activity, registration: Registration) -> dict:
    personal = request.user.has_perm("registrations.view_registrant_contacts", activity)
    attendees, mobile = _people(registration, personal=personal)
    return {
        "registration": registration,
        "attendees": attendees,
        "mobile": mobile,
        "personal_data": personal,
    }


def _render_check_in(request, activity, form, *, result=None, error=None, status=200):
    counts = {
        "arrived": activity.registrations.filter(
            status=RegistrationStatus.CONFIRMED, checked_in_at__isnull=False
        ).count(),
        "confirmed": activity.confirmed_count,
    }
    return render(
        request,
        "organiser/check_in.html",
        {
            "activity": activity,
            "form": form,
            "result": result,
            "error": error,
            "counts": counts,
        },
        status=status,
    )


@login_required
@never_cache
def check_in(request, pk: int):
    """Check an enterprise in at the door by its code, typed (or put there by a scanner); shows
    the enterprise and its attendees, or why not."""
    activity = _activity(request, pk, "registrations.manage_registrations")
    if request.method != "POST":
        return _render_check_in(request, activity, CheckInForm())
    form = CheckInForm(request.POST)
    if not form.is_valid():
        return _render_check_in(request, activity, form, status=400)
    try:
        registration = registration_check_in(
            activity, actor=request.user, code=form.cleaned_data["code"]
        )
    except NotAllowed as error:
        raise PermissionDenied from error
    except DomainError as error:
        return _render_check_in(request, activity, CheckInForm(), error=error.message, status=409)
    registration = (
        Registration.objects.select_related("enterprise")
        .prefetch_related("attendees")
        .get(pk=registration.pk)
    )
    result = _arrival(request, activity, registration)
    return _render_check_in(request, activity, CheckInForm(), result=result)


@login_required
@require_GET
@never_cache
def check_in_scan(request, code: str):
    """Where a check-in QR code leads when organiser staff scan it with their phone's camera:
    the enterprise and its attendees, and one button to check them in (a GET changes nothing, so
    a link preview cannot check anyone in)."""
    normalised = normalise_check_in_code(code)
    registration = (
        registration_visible_to(request.user)
        .filter(check_in_code=normalised)
        .select_related("enterprise", "activity", "activity__organiser", "activity__campaign")
        .prefetch_related("attendees")
        .first()
    )
    if registration is None or not request.user.has_perm(
        "registrations.manage_registrations", registration.activity
    ):
        return render(
            request,
            "organiser/check_in_scan.html",
            {"code": normalised, "registration": None},
            status=404,
        )
    return render(
        request,
        "organiser/check_in_scan.html",
        {
            "code": normalised,
            "registration": registration,
            "activity": registration.activity,
            "arrival": _arrival(request, registration.activity, registration),
            "form": CheckInForm(initial={"code": normalised}),
        },
    )


# --- exports ---------------------------------------------------------------------------------


def _filename(stem: str, extension: str) -> str:
    return f"{stem}-{timezone.localtime():%Y%m%d-%H%M}.{extension}"


def _csv_response(export: exports.RegistrationExport) -> StreamingHttpResponse:
    response = StreamingHttpResponse(exports.csv_chunks(export), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        True, _filename(export.filename, "csv")
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _xlsx_response(export: exports.RegistrationExport) -> FileResponse:
    response = FileResponse(
        exports.xlsx_file(export),
        as_attachment=True,
        filename=_filename(export.filename, "xlsx"),
        content_type=XLSX_CONTENT_TYPE,
    )
    response["Cache-Control"] = "private, no-store"
    return response


RESPONSES = {"csv": _csv_response, "xlsx": _xlsx_response}


@login_required
@require_GET
def activity_export(request, pk: int, file_format: str):
    """The activity's registrations as CSV or XLSX, streamed; audit-logged."""
    if file_format not in RESPONSES:
        raise Http404
    activity = _activity(request, pk)
    export = exports.RegistrationExport(
        registrations=Registration.objects.filter(activity=activity),
        with_activity=False,
        personal_data=request.user.has_perm("registrations.view_registrant_contacts", activity),
        filename=f"registrations-activity-{activity.pk}",
    )
    exports.export_logged(
        activity, actor=request.user, export=export, file_format=file_format, scope={}
    )
    return RESPONSES[file_format](export)


@login_required
def campaign_exports(request):
    """Administrators: every registration of a campaign (or of one province), as CSV or XLSX."""
    if not request.user.has_perm("registrations.export_campaign_registrations"):
        raise PermissionDenied
    campaigns = list(Campaign.objects.order_by("-year"))
    form = CampaignExportForm(request.GET or None, campaign=campaign_current())
    return render(
        request,
        "organiser/campaign_exports.html",
        {
            "campaigns": campaigns,
            "form": form,
            "query": urlencode(form.cleaned_data_for_url()) if form.is_valid() else "",
        },
    )


@login_required
@require_GET
def campaign_export(request, year: int, file_format: str):
    if file_format not in RESPONSES:
        raise Http404
    if not request.user.has_perm("registrations.export_campaign_registrations"):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, year=year)
    form = CampaignExportForm(request.GET, campaign=campaign)
    if not form.is_valid():
        raise Http404
    region = form.cleaned_data.get("region")
    number = form.cleaned_data.get("key_arrangement")
    registrations = Registration.objects.filter(activity__campaign=campaign)
    stem = f"registrations-{campaign.year}"
    if region is not None:
        registrations = registrations.filter(region_scope_q(region, field="activity__region"))
        stem += f"-{region.code}"
    if number is not None:
        registrations = registrations.filter(activity__key_arrangement__number=number)
        stem += f"-arrangement{number}"
    export = exports.RegistrationExport(
        registrations=registrations,
        with_activity=True,
        personal_data=True,
        filename=stem,
    )
    exports.export_logged(
        campaign,
        actor=request.user,
        export=export,
        file_format=file_format,
        scope={"region": region.code if region else None, "key_arrangement": number},
    )
    return RESPONSES[file_format](export)
