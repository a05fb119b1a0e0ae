"""The permission matrix (issue 6, "Security, shown"): every URL pattern and every API operation,
asked by every role, against the table in tests/security/matrix.py.

One world per role (parametrised tests, each in its own rolled-back transaction); every request
that might change something runs in a savepoint that is rolled back, so the next request sees
the same world. A URL or API operation without an entry in the table fails
`test_every_url_and_api_operation_has_an_entry`.
"""

import copy
import uuid
from dataclasses import dataclass
from itertools import product
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils import timezone

from accounts import services as account_services
from accounts.enums import RepresentationStatus
from activities.enums import ActivityStatus, DepartmentLevel
from feedback import uploads
from feedback.enums import ReportStatus
from registrations import complaints
from tests import factories
from tests.feedback.corpus import jpeg_bytes, pdf_bytes

from .matrix import API, PAGES, ROLES, W

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# Serving uploaded files in development and the test-only benchmark views are no part of the
# portal as deployed; the site administration is checked by `test_site_administration`.
SKIPPED_PREFIXES = ("admin/", "bench/", "media/", "static/")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Answers that come only after the permission check passed: a form or body that does not
# validate, a step the object's state does not allow, a method the URL does not take.
PASSED_PERMISSION = {400, 405, 409, 412, 415, 422, 428}


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    province_p: object
    province_q: object
    campaign: object
    arrangement: object
    content_area: object
    department_a: object
    department_b: object
    published: object
    draft: object
    enterprise: object
    registration: object
    report: object
    case: object
    published_case: object
    media: object
    case_media: object
    upload: object
    activity_import: object
    complaint: object
    evidence: object
    token: object
    claim: object
    representation: object
    invited: object
    users: dict

    def value(self, ref):
        """A URL argument: `W("draft")` is the draft's pk, `W("campaign.year")` that attribute."""
        if not isinstance(ref, W):
            return ref
        found = self
        for part in ref.path.split("."):
            found = found[part] if isinstance(found, dict) else getattr(found, part)
        return getattr(found, "pk", found)


def build_world() -> World:
    province_p = factories.ProvinceFactory(code="440000", name_zh="广东省", name_en="Guangdong")
    city_p = factories.CityFactory(code="440100", name_zh="广州市", parent=province_p)
    province_q = factories.ProvinceFactory(code="330000", name_zh="浙江省", name_en="Zhejiang")
    campaign = factories.CampaignFactory(year=2031)
    arrangement = factories.KeyArrangementFactory(campaign=campaign, number=1)
    content_area = factories.ContentAreaFactory(campaign=campaign, number=1)
    department_a = factories.DepartmentFactory(region=province_p, name_zh="广东省市场监督管理局")
    department_b = factories.DepartmentFactory(
        region=city_p, level=DepartmentLevel.CITY, name_zh="广州市市场监督管理局"
    )
    administrator = factories.AdminFactory(email="admin@samr.example.cn")
    staff_a = factories.DepartmentMembershipFactory(department=department_a).user
    staff_b = factories.DepartmentMembershipFactory(department=department_b).user
    reviewer_q = factories.ReviewerAssignmentFactory(region=province_q).user
    national = factories.ReviewerAssignmentFactory(region=None).user
    enterprise = factories.EnterpriseFactory(region=province_p)
    representation = factories.EnterpriseRepresentativeFactory(enterprise=enterprise)

    published = factories.ActivityFactory(
        campaign=campaign, key_arrangement=arrangement, organiser=department_a
    )
    draft = factories.ActivityFactory(
        campaign=campaign,
        key_arrangement=arrangement,
        organiser=department_a,
        status=ActivityStatus.DRAFT,
    )
    registration = factories.RegistrationFactory(
        activity=published, enterprise=enterprise, registered_by=representation.user
    )
    factories.AttendeeFactory(registration=registration)

    report = factories.FeedbackReportFactory(campaign=campaign, department=department_a)
    case = factories.TypicalCaseFactory(report=report, key_arrangement=arrangement)
    # Last year's report of A, accepted, with a case on the public showcase.
    last_year = factories.CampaignFactory(year=2030)
    accepted = factories.FeedbackReportFactory(
        campaign=last_year, department=department_a, status=ReportStatus.ACCEPTED
    )
    published_case = factories.TypicalCaseFactory(
        report=accepted,
        key_arrangement=factories.KeyArrangementFactory(campaign=last_year, number=1),
        published_at=timezone.now(),
        published_by=administrator,
    )
    media = factories.FeedbackMediaFactory(report=report)
    case_media = factories.FeedbackMediaFactory(report=report, case=case)
    for item in (media, case_media):
        item.file.storage.save(item.file.name, ContentFile(jpeg_bytes()))
    upload = uploads.upload_start(report, actor=staff_a, original_name="现场.mp4", size=1000)
    activity_import = factories.ActivityImportFactory(
        campaign=campaign, department=department_a, created_by=staff_a
    )
    complaint = complaints.fee_complaint_submit(
        actor=None,
        activity=published,
        description="主办方要求每家企业缴纳2000元“资料费”。",
        reporter_name="举报人",
        reporter_contact="13800000000",
        evidence=[SimpleUploadedFile("收据.pdf", pdf_bytes(), "application/pdf")],
    )
    token, _key = account_services.token_create(user=staff_a, name="统计脚本")
    claim = factories.EnterpriseRepresentativeFactory(
        enterprise=enterprise, status=RepresentationStatus.PENDING
    )
    invited = account_services.staff_invite(
        email="invited@gd.example.cn",
        full_name="待接受邀请",
        preferred_language="zh-hans",
        actor=administrator,
        department=department_a,
    )
    return World(
        province_p=province_p,
        province_q=province_q,
        campaign=campaign,
        arrangement=arrangement,
        content_area=content_area,
        department_a=department_a,
        department_b=department_b,
        published=published,
        draft=draft,
        enterprise=enterprise,
        registration=registration,
        report=report,
        case=case,
        published_case=published_case,
        media=media,
        case_media=case_media,
        upload=upload,
        activity_import=activity_import,
        complaint=complaint,
        evidence=complaint.evidence.get(),
        token=token,
        claim=claim,
        representation=representation,
        invited=invited,
        users={
            "anonymous": None,
            "enterprise": representation.user,
            "staff_a": staff_a,
            "staff_b": staff_b,
            "reviewer_q": reviewer_q,
            "national_reviewer": national,
            "admin": administrator,
        },
    )


# --- asking -------------------------------------------------------------------------------------


def outcome_of(response) -> str:
    code = response.status_code
    if code in (301, 302, 303, 307, 308):
        location = response["Location"]
        login = reverse(settings.LOGIN_URL)
        if location.startswith((login, "/admin/login/")):
            return "login"
        return "ok"  # redirects by design (after a POST, to the canonical address, ...)
    if code < 300 or code == 304 or code in PASSED_PERMISSION:
        return "ok"
    return str(code)


def ask(client, method: str, url: str, **extra) -> tuple[str, str]:
    """(outcome, what happened) for one request, rolled back if it changed anything."""
    cookies = copy.deepcopy(client.cookies)  # signing out, switching the language: undone too
    try:
        with transaction.atomic():
            response = client.generic(method, url, **extra)
            transaction.set_rollback(True)
    except Exception as error:  # a server error: always a finding
        return "500", f"{type(error).__name__}: {error}"
    finally:
        client.cookies = cookies
    detail = str(response.status_code)
    if response.has_header("Location"):
        detail += f" → {response['Location']}"
    return outcome_of(response), detail


def signed_in(client: Client, world: World, role: str) -> Client:
    user = world.users[role]
    if user is not None:
        client.force_login(user)
    return client


def missing(ref, value):
    """An argument naming no object: to tell a refusal of the role (403 whatever the object)
    from one that reveals the object exists (403 for it, 404 for an unknown one)."""
    if not isinstance(ref, W):
        return value
    if isinstance(value, int):
        return 987654321
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=987654321)
    return "F" + "X" * 9 if str(value).startswith("F") else value


def page_url(key: str, probe, world: World, *, unknown: bool = False) -> str:
    name = key.split(" #", 1)[0].split(" (", 1)[0]
    kwargs = {arg: world.value(ref) for arg, ref in probe.kwargs.items()}
    if unknown:
        kwargs = {arg: missing(probe.kwargs[arg], value) for arg, value in kwargs.items()}
    url = reverse(name, kwargs=kwargs) if not name.startswith("/") else name
    return url + (f"?{probe.query}" if probe.query else "")


def api_url(path: str, probe, world: World, *, unknown: bool = False) -> str:
    for arg, ref in probe.kwargs.items():
        value = world.value(ref)
        path = path.replace("{" + arg + "}", str(missing(ref, value) if unknown else value))
    assert "{" not in path, f"{path}: give its arguments in the matrix"
    return path


# --- what exists ----------------------------------------------------------------------------------


def url_patterns(patterns=None, prefix="", namespace=None):
    """(route, name, pattern) of every URL pattern, names with their namespaces."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield prefix + str(pattern.pattern), name, pattern


def page_keys() -> dict[str, str]:
    """Matrix key → route for every pattern outside the API router: the URL name, with the
    arguments added where one name has several patterns, the route where it has none."""
    found = [
        (route, name, pattern)
        for route, name, pattern in url_patterns()
        if not route.startswith(SKIPPED_PREFIXES)
        and not route.lstrip("^").startswith(SKIPPED_PREFIXES)
    ]
    names = [name for _route, name, _pattern in found]
    keys = {}
    for route, name, pattern in found:
        if name is None:
            key = route
        elif names.count(name) > 1:
            key = f"{name} ({','.join(sorted(pattern.pattern.converters) or ['-'])})"
        else:
            key = name
        keys[key] = route
    return keys


def api_operations() -> dict[str, tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        operation["operationId"]: (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


SAMPLE_ARGUMENTS = ("1", "2031", "440000", str(uuid.UUID(int=1)))


def url_name_of(path: str) -> str | None:
    """The URL name an OpenAPI path resolves to, trying sample values for its arguments."""
    import re

    arguments = re.findall(r"{(\w+)}", path)
    for values in product(SAMPLE_ARGUMENTS, repeat=len(arguments)):
        concrete = path
        for argument, value in zip(arguments, values, strict=True):
            concrete = concrete.replace("{" + argument + "}", value)
        try:
            return resolve(concrete).url_name
        except Resolver404:
            continue
    return None


# --- the tests ------------------------------------------------------------------------------------


def test_every_url_and_api_operation_has_an_entry():
    """A new URL or API operation must say who may use it; a row for one gone must go too."""
    operations = api_operations()
    api_names = {url_name_of(path) for _method, path in operations.values()}
    pages = {key: route for key, route in page_keys().items() if key not in api_names}
    problems = [
        f"URL {key!r} ({route}) has no row in tests/security/matrix.py PAGES: add it to the matrix"
        for key, route in pages.items()
        if key not in PAGES
    ]
    problems += [
        f"API operation {operation_id!r} ({method} {path}) has no row in tests/security/matrix.py "
        "API: add it to the matrix"
        for operation_id, (method, path) in operations.items()
        if operation_id not in API
    ]
    problems += [
        f"URL {key!r} is in the matrix but no longer exists: remove its row"
        for key in PAGES
        if key.split(" #", 1)[0] not in pages
    ]
    problems += [
        f"API operation {operation_id!r} is in the matrix but no longer exists: remove its row"
        for operation_id in API
        if operation_id.split(" #", 1)[0] not in operations
    ]
    unreached = [
        route
        for route, name, _p in url_patterns()
        if route.startswith("api/v1/^") and name not in api_names
    ]
    problems += [f"API route {route} has no operation in the schema" for route in unreached]
    assert not problems, "\n".join(problems)


def _check(role: str, asked: list[tuple[str, str, str, str, str]]):
    wrong = [
        f"{key}: {method} {url} as {role}: expected {expected}, got {got} ({detail})"
        for key, method, url, expected, got, detail in asked
        if got != expected.rstrip("*")
    ]
    assert not wrong, f"{len(wrong)} of {len(asked)} answers differ from the matrix:\n" + "\n".join(
        wrong
    )


def hides_existence(probe) -> bool:
    return any(isinstance(ref, W) for ref in probe.kwargs.values())


@pytest.mark.parametrize("role", ROLES)
def test_pages(role, client):
    world = build_world()
    signed_in(client, world, role)
    asked = []
    for key, probe in PAGES.items():
        extra = dict(probe.environ or {})
        if probe.data is not None:
            extra.update(
                data=urlencode({k: world.value(v) for k, v in probe.data.items()}),
                content_type="application/x-www-form-urlencoded",
            )
        url = page_url(key, probe, world)
        got, detail = ask(client, probe.method, url, **extra)
        asked.append((key, probe.method, url, probe.expect[role], got, detail))
        if probe.expect[role] == "403" and hides_existence(probe):
            url = page_url(key, probe, world, unknown=True)
            unknown, detail = ask(client, probe.method, url, **extra)
            asked.append((key + " (unknown object)", probe.method, url, "403", unknown, detail))
    _check(role, asked)


@pytest.mark.parametrize("role", ROLES)
def test_api_operations(role, client):
    world = build_world()
    signed_in(client, world, role)
    operations = api_operations()
    asked = []
    for key, probe in API.items():
        method, path = operations[key.split(" #", 1)[0]]
        extra = (
            {"content_type": "application/json", "data": "{}"} if method in STATE_CHANGING else {}
        )
        url = api_url(path, probe, world)
        got, detail = ask(client, method, url, **extra)
        asked.append((key, method, url, probe.expect[role], got, detail))
        if probe.expect[role] == "403" and hides_existence(probe):
            url = api_url(path, probe, world, unknown=True)
            unknown, detail = ask(client, method, url, **extra)
            asked.append((key + " (unknown object)", method, url, "403", unknown, detail))
    _check(role, asked)


@pytest.mark.parametrize("role", ROLES)
def test_site_administration(role, client):
    """/admin/ and every model's list in it: administrators only; everyone else is sent to the
    administration's sign-in page (or refused)."""
    world = build_world()
    signed_in(client, world, role)
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    expected = "ok" if role == "admin" else "login"
    wrong = []
    for url in urls:
        got, detail = ask(client, "GET", url)
        if got != expected and not (expected == "login" and got == "403"):
            wrong.append(f"{url} as {role}: expected {expected}, got {got} ({detail})")
    assert not wrong, "\n".join(wrong)


def test_revoking_department_membership_acts_on_the_next_request(client):
    world = build_world()
    staff_a = world.users["staff_a"]
    client.force_login(staff_a)
    manage = reverse("activities:activity_manage", args=[world.draft.pk])
    api = f"/api/v1/activities/{world.draft.pk}/"
    assert client.get(manage).status_code == 200
    assert client.get(api).status_code == 200

    account_services.department_membership_revoke(staff_a, actor=world.users["admin"])

    assert client.get(manage).status_code in (403, 404)
    assert client.get(api).status_code == 404


def test_revoking_a_reviewer_assignment_acts_on_the_next_request(client):
    world = build_world()
    reviewer = world.users["national_reviewer"]
    client.force_login(reviewer)
    review = reverse("feedback:report_review", args=[world.report.pk])
    queue = "/api/v1/review-queue/"
    assert client.get(review).status_code == 200
    assert client.get(queue).status_code == 200

    account_services.reviewer_assignment_revoke(reviewer, actor=world.users["admin"])

    assert client.get(review).status_code == 404
    assert client.get(queue).status_code == 403
