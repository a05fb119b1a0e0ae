"""Excel import pages: the template, the upload, the import's progress and errors, and the
annotated copy of a file with errors. Department staff only; another department's import is a
404. The work itself is in activities/importing.py (and its task)."""

import io

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.rules import roles_of
from qualitymonth.errors import DomainError
from qualitymonth.lazy import lazy_import

from .models import Activity, ActivityImportMode, ActivityImportStatus, Department
from .selectors import campaign_current

# openpyxl is loaded on first use: most web processes never read a workbook.
importing = lazy_import("activities.importing")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

RECENT_IMPORTS = 10


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Filled-in template (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": f".xlsx,{XLSX_CONTENT_TYPE}"}),
    )
    import_valid_rows = forms.BooleanField(
        label=_("If some rows have errors, import the valid rows anyway"),
        help_text=_(
            "By default nothing is imported until every row is valid. With this box ticked, the "
            "valid rows become drafts and the others are listed for you to correct."
        ),
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Formatted per request, in the reader's language.
        self.fields["file"].help_text = _(
            "One Excel workbook (.xlsx) of at most %(limit)s MB and %(rows)s activities."
        ) % {
            "limit": importing.MAX_UPLOAD_BYTES // (1024 * 1024),
            "rows": f"{importing.MAX_ROWS:,}",
        }

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            importing.sniff_workbook(upload)
        except importing.UnreadableFile as error:
            raise forms.ValidationError(
                error.message, code=error.code, params=error.params
            ) from error
        return upload

    @property
    def mode(self) -> str:
        if self.cleaned_data.get("import_valid_rows"):
            return ActivityImportMode.VALID_AS_DRAFTS
        return ActivityImportMode.ALL_OR_NOTHING


def _staff_only(request) -> None:
    """Importing is for a department's staff (the imported activities are their department's)."""
    if roles_of(request.user).department_id is None:
        raise PermissionDenied(_("Only a department's staff can import activities."))


def _visible_import(request, pk: int):
    return get_object_or_404(importing.activity_imports_visible_to(request.user), pk=pk)


@login_required
def import_start(request):
    _staff_only(request)
    campaign = campaign_current()
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = importing.activity_import_start(
                actor=request.user, upload=form.cleaned_data["file"], mode=form.mode
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else "file", error.message)
        else:
            return redirect("activities:import_detail", job.pk)
    recent = importing.activity_imports_visible_to(request.user)[:RECENT_IMPORTS]
    department = Department.objects.filter(pk=roles_of(request.user).department_id).first()
    return render(
        request,
        "activities/import/start.html",
        {"form": form, "campaign": campaign, "department": department, "recent": recent},
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def import_template(request):
    _staff_only(request)
    campaign = campaign_current()
    if campaign is None:
        raise Http404(_("There is no campaign yet."))
    out = io.BytesIO()
    importing.template_workbook(campaign, out)
    return _xlsx_response(out.getvalue(), importing.template_filename(campaign))


def _error_rows(job, limit: int):
    """The errors as the page lists them, in the reader's language."""
    labels = {
        f.name: f.verbose_name for f in Activity._meta.get_fields() if hasattr(f, "verbose_name")
    }
    rows = []
    for entry in job.errors[:limit]:
        header = (entry.get("header") or "").splitlines()
        rows.append(
            {
                "row": entry.get("row"),
                "column": entry.get("column"),
                "header": header[0] if header else "",
                "field": labels.get(entry.get("field"), ""),
                "message": importing.in_language(entry.get("message")),
            }
        )
    return rows


@login_required
@never_cache
def import_detail(request, pk: int):
    _staff_only(request)
    job = _visible_import(request, pk)
    errors = _error_rows(job, importing.ERRORS_SHOWN)
    return render(
        request,
        "activities/import/detail.html",
        {
            "job": job,
            "errors": errors,
            "errors_hidden": max(len(job.errors) - len(errors), 0),
            "error_rows": len({e.get("row") for e in job.errors if e.get("row")}),
            "notices": [importing.in_language(n) for n in job.notices],
            "failure": importing.in_language(job.failure),
            "statuses": ActivityImportStatus,
            "poll": not job.is_finished,
        },
    )


@login_required
@never_cache
def import_status(request, pk: int):
    _staff_only(request)
    job = _visible_import(request, pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_display": str(job.get_status_display()),
            "finished": job.is_finished,
            "processed": job.rows_processed,
            "total": job.rows_total,
            "errors": job.error_count,
            "created": job.created_count,
        }
    )


@login_required
@require_GET
def import_annotated(request, pk: int):
    _staff_only(request)
    job = _visible_import(request, pk)
    if not job.is_finished or job.status == ActivityImportStatus.ERROR:
        raise Http404(_("This import has no annotated file."))
    out = io.BytesIO()
    importing.annotated_workbook(job, out)
    return _xlsx_response(out.getvalue(), importing.annotated_filename(job))


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=importing.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=filename
    )
    response["Cache-Control"] = "private, no-store"
    return response
