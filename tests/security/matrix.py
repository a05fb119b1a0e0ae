"""Who may do what: the expected answer of every URL and every API operation to every role.

This table is the documentation of the portal's permissions. Each row names a URL (by its URL
name) or an API operation (by its OpenAPI operationId), the objects its arguments take from the
test world (`W("draft")`: the draft activity of department A) and the outcome for each role, in
the column order of ROLES:

    anonymous   nobody signed in
    enterprise  the representative of an enterprise in province P, registered for A's activity
    staff_a     staff of department A (province P): every object in the world is A's
    staff_b     staff of department B, also in province P: A's objects are another organisation's
    reviewer_q  reviewer of province Q: P's objects are outside their region
    national    national reviewer
    admin       platform administrator

Outcomes: "ok" (2xx; a redirect by design; 400/405/409 where the request got past the
permission check and was refused for its content or the object's state), "login" (redirected to
the sign-in page), "403" (refused whatever the object: the test also asks with an unknown
object and expects 403 again, so a 403 never reveals that an object exists), "403*" (refused,
to someone who may see the object, or a public one such as a campaign year: an unknown object
answers 404), "404" (another organisation's object: its existence is not revealed),
"401" (the API without credentials). Pages are asked with GET unless the row says otherwise;
state-changing requests go with an empty body and are rolled back.

A new URL or API operation without a row here fails the test: add it.
"""

from dataclasses import dataclass, field

ROLES = (
    "anonymous",
    "enterprise",
    "staff_a",
    "staff_b",
    "reviewer_q",
    "national_reviewer",
    "admin",
)


@dataclass(frozen=True)
class W:
    """A value from the test world: an object (its pk) or one of its attributes."""

    path: str


@dataclass(frozen=True)
class Probe:
    expect: dict[str, str]
    method: str = "GET"
    kwargs: dict = field(default_factory=dict)
    query: str = ""
    data: dict | None = None  # a form body for a POST (values may be W(...))
    environ: dict | None = None  # e.g. REMOTE_ADDR


def expect(
    outcomes: str,
    *,
    method: str = "GET",
    query: str = "",
    data: dict | None = None,
    environ: dict | None = None,
    **kwargs,
) -> Probe:
    columns = outcomes.split()
    assert len(columns) == len(ROLES), f"{outcomes!r}: one outcome per role {ROLES}"
    return Probe(dict(zip(ROLES, columns, strict=True)), method, kwargs, query, data, environ)


# Shorthands for the common rows.
PUBLIC = "ok ok ok ok ok ok ok"
SIGNED_IN = "login ok ok ok ok ok ok"
ADMIN_ONLY = "login 403 403 403 403 403 ok"

#         anonymous enterprise staff_a staff_b reviewer_q national admin
PAGES: dict[str, Probe] = {
    # --- public pages and the language switch
    "home": expect(PUBLIC),
    "set_language": expect(PUBLIC, method="POST"),
    "switch_language": expect(PUBLIC, code="en"),
    # --- accounts
    "accounts:login": expect(PUBLIC),
    "accounts:logout": expect(PUBLIC, method="POST"),
    "accounts:password_change": expect(SIGNED_IN),
    "accounts:password_reset": expect(PUBLIC),
    "accounts:password_reset_done": expect(PUBLIC),
    "accounts:password_reset_confirm": expect(PUBLIC, uidb64="MQ", token="set-password"),
    "accounts:password_reset_complete": expect(PUBLIC),
    "accounts:signup": expect(PUBLIC),
    "accounts:signup_done": expect(PUBLIC),
    "accounts:verification_resend": expect(PUBLIC),
    "accounts:email_verify": expect(PUBLIC, uidb64="MQ", token="abc-def"),
    "accounts:staff_list": expect(ADMIN_ONLY),
    "accounts:staff_invite": expect(ADMIN_ONLY),
    "accounts:staff_invitation_resend": expect(ADMIN_ONLY, method="POST", pk=W("invited")),
    "accounts:invitation_accept": expect(PUBLIC, uidb64="MQ", token="abc-def"),
    "accounts:profile": expect(SIGNED_IN),
    "accounts:token_list": expect(SIGNED_IN),
    "accounts:token_create": expect(SIGNED_IN, method="POST"),
    "accounts:token_revoke": expect("login 404 ok 404 404 404 404", method="POST", pk=W("token")),
    "accounts:my_enterprise": expect(SIGNED_IN),
    "accounts:enterprise_claim": expect(SIGNED_IN),
    "accounts:enterprise_representatives": expect(
        "login ok 404 404 404 404 ok", pk=W("enterprise")
    ),
    "accounts:claim_list": expect(ADMIN_ONLY),
    "accounts:claim_approve": expect("login ok 404 404 404 404 ok", method="POST", pk=W("claim")),
    "accounts:claim_reject": expect("login ok 404 404 404 404 ok", method="POST", pk=W("claim")),
    "accounts:claim_withdraw": expect(
        "login 404 404 404 404 404 404", method="POST", pk=W("claim")
    ),
    "accounts:representative_remove": expect(
        "login ok 404 404 404 404 ok", method="POST", pk=W("representation")
    ),
    "accounts:otp_login": expect(SIGNED_IN),
    "accounts:otp_setup": expect("login 403 ok ok ok ok ok"),
    "accounts:otp_backup_codes": expect(SIGNED_IN),
    "accounts:otp_disable": expect(SIGNED_IN),
    "accounts:otp_reset": expect(ADMIN_ONLY, method="POST", pk=W("users.staff_a")),
    # --- activities: the organisers' workspace, imports, review
    "activities:workspace": expect("login 403 ok ok 403 403 ok"),
    "activities:activity_create": expect("login 403 ok ok 403 403 ok"),
    "activities:activity_manage": expect("login 404 ok 404 404 ok ok", pk=W("draft")),
    "activities:activity_edit": expect("login 404 ok 404 404 403* ok", pk=W("draft")),
    "activities:activity_transition": expect(
        "login 404 ok 404 404 403* ok", method="POST", pk=W("draft"), action="submit"
    ),
    # Imports are a department's: administrators (no department) are refused like everyone else.
    "activities:import_start": expect("login 403 ok ok 403 403 403"),
    "activities:import_template": expect("login 403 ok ok 403 403 403"),
    "activities:import_detail": expect("login 403 ok 404 403 403 403", pk=W("activity_import")),
    "activities:import_status": expect("login 403 ok 404 403 403 403", pk=W("activity_import")),
    # staff_a 404: the annotated workbook exists only once the import ran.
    "activities:import_annotated": expect("login 403 404 404 403 403 403", pk=W("activity_import")),
    "activities:review_queue": expect("login 403 403 403 ok ok ok"),
    "activities:activity_review": expect("login 403 403 403 404 ok ok", pk=W("draft")),
    # --- registrations: organisers
    # KNOWN (policy gap, not a status): co-organisers and regional reviewers see attendee names
    # here but not in the API.
    "organiser:registrants": expect("login 404 ok 404 404 ok ok", pk=W("published")),
    "organiser:capacity": expect("login 404 ok 404 404 403* ok", method="POST", pk=W("published")),
    "organiser:check_in": expect("login 404 ok 404 404 403* ok", pk=W("published")),
    "organiser:activity_export": expect(
        "login 404 ok 404 404 ok ok", pk=W("published"), file_format="csv"
    ),
    "organiser:check_in_scan": expect(
        "login 404 ok 404 404 404 ok", code=W("registration.check_in_code")
    ),
    "organiser:campaign_exports": expect(ADMIN_ONLY),
    "organiser:campaign_export": expect(ADMIN_ONLY, year=W("campaign.year"), file_format="csv"),
    # --- fee complaints
    "complaints:report": expect(PUBLIC),
    "complaints:thanks": expect(PUBLIC),
    "complaints:queue": expect(ADMIN_ONLY),
    "complaints:detail": expect("login 404 404 404 404 404 ok", reference=W("complaint.reference")),
    "complaints:evidence": expect(
        "login 404 404 404 404 404 ok", reference=W("complaint.reference"), pk=W("evidence")
    ),
    # --- public activities and the calendar (the draft: only those who may see it)
    "public:activity_list": expect(PUBLIC),
    # Public pages show published activities only, to organisers too (they use the workspace).
    "public:activity_detail": expect("404 404 404 404 404 404 404", pk=W("draft")),
    "public:activity_detail #published": expect(PUBLIC, pk=W("published")),
    "public:activity_qr": expect("404 404 404 404 404 404 404", pk=W("draft")),
    "calendar:month": expect(PUBLIC),
    "calendar:day": expect(PUBLIC, day="2031-09-10"),
    "calendar:feed": expect(PUBLIC),
    "calendar:feed_arrangement": expect(PUBLIC, number=1),
    "calendar:feed_region": expect(PUBLIC, code=W("province_p.code")),
    "calendar:activity_ics": expect("404 404 404 404 404 404 404", pk=W("draft")),
    # --- registrations: enterprises
    "registrations:my_registrations": expect(SIGNED_IN),
    "registrations:sign_up": expect(PUBLIC, pk=W("published")),
    # The enterprise's own page (with its check-in code); organisers and reviewers use the
    # registrants pages and the API.
    "registrations:registration_detail": expect(
        "login ok 404 404 404 404 404", pk=W("registration")
    ),
    "registrations:withdraw": expect("login ok 404 404 404 404 404", pk=W("registration")),
    # --- feedback after the month
    "feedback:report_edit": expect("login 403* ok ok 403* 403* ok", year=W("campaign.year")),
    "feedback:case_create": expect("login 403* ok ok 403* 403* ok", year=W("campaign.year")),
    "feedback:case_edit": expect("login 403 ok 404 403 403 ok", pk=W("case")),
    "feedback:case_delete": expect("login 403 ok 404 403 403 ok", pk=W("case")),
    "feedback:upload_start": expect(
        "403 404 ok 404 404 403 ok",
        method="POST",
        data={"report": W("report"), "name": "现场.mp4", "size": 1000},
    ),
    # A resumable upload belongs to whoever started it (administrators included).
    "feedback:upload": expect("403 404 ok 404 404 404 404", pk=W("upload")),
    "feedback:media_upload": expect(
        "login 404 ok 404 404 403* ok", method="POST", report_id=W("report")
    ),
    "feedback:media_delete": expect("login 404 ok 404 404 403* ok", method="POST", pk=W("media")),
    "feedback:media_caption": expect("login 404 ok 404 404 403* ok", method="POST", pk=W("media")),
    "feedback:media_status": expect("404 404 ok 404 404 ok ok", pk=W("media")),
    "feedback:media_file (pk)": expect("404 404 ok 404 404 ok ok", pk=W("media")),
    "feedback:media_file (pk,variant)": expect(
        "404 404 ok 404 404 ok ok", pk=W("case_media"), variant="web"
    ),
    "feedback:report_queue": expect("login 403 403 403 ok ok ok"),
    "feedback:overview": expect("login 403 403 403 ok ok ok"),
    "feedback:deadline_extend": expect(
        ADMIN_ONLY, year=W("campaign.year"), department=W("department_a")
    ),
    "feedback:report_review": expect("login 404 ok 404 404 ok ok", pk=W("report")),
    "feedback:showcase": expect(PUBLIC),
    "feedback:case_public": expect("404 404 404 404 404 404 404", pk=W("case")),
    "feedback:case_public #published": expect(PUBLIC, pk=W("published_case")),
    # Was 403 to those who may not see the case (revealing it exists): fixed in
    # feedback/showcase_views.py::_case_for_action.
    "feedback:case_publish": expect("login 404 403* 404 404 ok ok", method="POST", pk=W("case")),
    "feedback:case_unpublish": expect(
        "login 403* 403* 403* 403* ok ok", method="POST", pk=W("published_case")
    ),
    # --- the API's own pages (its operations are in API below), operations
    "api-root": expect(PUBLIC),
    "api-schema": expect(PUBLIC),
    "api-docs": expect(PUBLIC),
    "api-redoc": expect(PUBLIC),
    "health-live": expect(PUBLIC),
    "health-ready": expect(PUBLIC),
    # Metrics: METRICS_ALLOWED_IPS only (the test client comes from 127.0.0.1).
    "metrics": expect(PUBLIC),
    "metrics #from outside": expect(
        "403 403 403 403 403 403 403", environ={"REMOTE_ADDR": "203.0.113.9"}
    ),
    "health-ready #from outside": expect(PUBLIC, environ={"REMOTE_ADDR": "203.0.113.9"}),
}

X = PUBLIC
#         anonymous enterprise staff_a staff_b reviewer_q national admin
API: dict[str, Probe] = {
    "v1_me_retrieve": expect("401 ok ok ok ok ok ok"),
    "v1_campaigns_list": expect(PUBLIC),
    "v1_campaigns_retrieve": expect(PUBLIC, year=W("campaign.year")),
    "v1_content_areas_list": expect(PUBLIC),
    "v1_content_areas_retrieve": expect(PUBLIC, id=W("content_area")),
    "v1_key_arrangements_list": expect(PUBLIC),
    "v1_key_arrangements_retrieve": expect(PUBLIC, id=W("arrangement")),
    "v1_regions_list": expect(PUBLIC),
    "v1_regions_retrieve": expect(PUBLIC, code=W("province_p.code")),
    "v1_departments_list": expect(PUBLIC),
    "v1_departments_retrieve": expect(PUBLIC, id=W("department_a")),
    "v1_activities_list": expect(PUBLIC),
    "v1_activities_create": expect("401 403 ok ok 403 403 ok"),
    "v1_activities_retrieve": expect("404 404 ok 404 404 ok ok", id=W("draft")),
    "v1_activities_update": expect("401 404 ok 404 404 403* ok", id=W("draft")),
    "v1_activities_partial_update": expect("401 404 ok 404 404 403* ok", id=W("draft")),
    "v1_activities_approve_create": expect("401 404 403* 404 404 ok ok", id=W("draft")),
    "v1_activities_cancel_create": expect("401 404 ok 404 404 403* ok", id=W("draft")),
    "v1_activities_history_retrieve": expect("404 404 ok 404 404 ok ok", id=W("draft")),
    "v1_activities_ical_retrieve": expect("404 404 404 404 404 404 404", id=W("draft")),
    "v1_activities_reject_create": expect("401 404 403* 404 404 ok ok", id=W("draft")),
    "v1_activities_return_create": expect("401 404 403* 404 404 ok ok", id=W("draft")),
    "v1_activities_submit_create": expect("401 404 ok 404 404 403* ok", id=W("draft")),
    "v1_activities_withdraw_create": expect("401 404 ok 404 404 403* ok", id=W("draft")),
    "v1_review_queue_list": expect("401 403 403 403 ok ok ok"),
    # Reviewers of a region see enterprises with the contact's mobile and email masked
    # (registrations.view_enterprise_contacts; tests/api/test_registrations.py).
    "v1_enterprises_list": expect("401 ok ok ok ok ok ok"),
    "v1_enterprises_retrieve": expect("401 ok 404 404 404 ok ok", id=W("enterprise")),
    "v1_registrations_list": expect("401 ok ok ok ok ok ok"),
    "v1_registrations_create": expect("401 ok 403 403 403 403 403"),
    "v1_registrations_retrieve": expect("401 ok ok 404 404 ok ok", id=W("registration")),
    "v1_registrations_withdraw_create": expect("401 ok ok 404 404 403* ok", id=W("registration")),
    "v1_tokens_list": expect("401 ok ok ok ok ok ok"),
    "v1_tokens_create": expect("401 ok ok ok ok ok ok"),
    "v1_tokens_retrieve": expect("401 404 ok 404 404 404 404", id=W("token")),
    "v1_tokens_destroy": expect("401 404 ok 404 404 404 404", id=W("token")),
    "v1_feedback_reports_list": expect("401 ok ok ok ok ok ok"),
    "v1_feedback_reports_create": expect("401 403 ok ok 403 403 ok"),
    "v1_feedback_reports_retrieve": expect("401 404 ok 404 404 ok ok", id=W("report")),
    "v1_feedback_reports_partial_update": expect("401 404 ok 404 404 403* ok", id=W("report")),
    "v1_feedback_reports_accept_create": expect("401 404 403* 404 404 ok ok", id=W("report")),
    "v1_feedback_reports_history_retrieve": expect("401 404 ok 404 404 ok ok", id=W("report")),
    "v1_feedback_reports_missing_retrieve": expect("401 404 ok 404 404 ok ok", id=W("report")),
    "v1_feedback_reports_reopen_create": expect("401 404 403* 404 404 ok ok", id=W("report")),
    "v1_feedback_reports_return_create": expect("401 404 403* 404 404 ok ok", id=W("report")),
    "v1_feedback_reports_submit_create": expect("401 404 ok 404 404 403* ok", id=W("report")),
    "v1_feedback_reports_withdraw_create": expect("401 404 ok 404 404 403* ok", id=W("report")),
    "v1_feedback_reports_cases_list": expect("401 404 ok 404 404 ok ok", report_pk=W("report")),
    "v1_feedback_reports_cases_create": expect("401 404 ok 404 404 403* ok", report_pk=W("report")),
    "v1_feedback_reports_cases_retrieve": expect(
        "401 404 ok 404 404 ok ok", report_pk=W("report"), id=W("case")
    ),
    "v1_feedback_reports_cases_partial_update": expect(
        "401 404 ok 404 404 403* ok", report_pk=W("report"), id=W("case")
    ),
    "v1_feedback_reports_cases_destroy": expect(
        "401 404 ok 404 404 403* ok", report_pk=W("report"), id=W("case")
    ),
    "v1_feedback_reports_media_list": expect("401 404 ok 404 404 ok ok", report_pk=W("report")),
    "v1_feedback_reports_media_create": expect("401 404 ok 404 404 403* ok", report_pk=W("report")),
    "v1_feedback_reports_media_retrieve": expect(
        "401 404 ok 404 404 ok ok", report_pk=W("report"), id=W("media")
    ),
    "v1_feedback_reports_media_partial_update": expect(
        "401 404 ok 404 404 403* ok", report_pk=W("report"), id=W("media")
    ),
    "v1_feedback_reports_media_destroy": expect(
        "401 404 ok 404 404 403* ok", report_pk=W("report"), id=W("media")
    ),
    "v1_typical_cases_list": expect(PUBLIC),
    # The public showcase: an unpublished case is not there, for its department too.
    "v1_typical_cases_retrieve": expect("404 404 404 404 404 404 404", id=W("case")),
    "v1_typical_cases_retrieve #published": expect(PUBLIC, id=W("published_case")),
    "v1_feedback_overview_list": expect("401 403 403 403 ok ok ok"),
    "v1_feedback_reminders_create": expect("401 403 403 403 ok ok ok"),
}
