"""Property-based tests of the whole API against its own OpenAPI schema (/api/schema/), with
schemathesis: every operation, as an anonymous caller and as an administrator with a personal
token (so write operations run too), with a bounded, reproducible number of generated requests.

Checked for every response: no server error (5xx), the status code is documented for the
operation, the content type is the documented one, and the body validates against the documented
schema. A failure is a real finding: fix the server or the schema (drf-spectacular annotations),
never exclude the check.

Path parameters: half of the generated ids are swapped for objects of the seeded world, so the
operations also answer about things that exist (and not only 404). The world is made once per
operation and role; the generated requests of one test share one database transaction, so what
one request creates or deletes is seen by the next (that is intended).
"""

import zlib

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import token_create
from feedback.enums import ReportStatus as FeedbackStatus
from qualitymonth.wsgi import application
from tests import factories

from .world import build_world

MAX_EXAMPLES = 15

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

CONFIG = schemathesis.Config.from_dict(
    {
        # Reproducible in CI: the same requests on every run.
        "seed": 20240901,
        # Valid and invalid requests both (schemathesis' default modes): invalid ones must be
        # refused with a documented 4xx, never a 5xx.
        "generation": {"deterministic": True, "max-examples": MAX_EXAMPLES},
        # The schema's own examples and random fuzzing; the exhaustive "coverage" phase would
        # send hundreds of boundary cases per operation (minutes, not seconds).
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)

HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        # One world (function-scoped fixtures) serves all examples of an operation: intended.
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture(autouse=True)
def _requests_share_the_test_transaction():
    """Django's WSGI handler closes the database connection after each request; the test client
    does not, and neither may we here: the requests run inside the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    """Hundreds of requests in a minute are the point here, not an attack."""
    settings.SIGNUP_RATE_PER_USER = "off"
    settings.SIGNUP_RATE_PER_IP = "off"
    settings.FEEDBACK_UPLOAD_RATE_PER_USER = "off"


@pytest.fixture
def seeded(db) -> dict[str, list]:
    """A small world and, per path parameter of the API, the values that name real objects."""
    world = build_world()
    campaign = world.campaign
    activity = world.activity(world.gd_amr)
    draft = world.draft(world.gd_amr)
    enterprise = factories.EnterpriseFactory(region=world.guangdong)
    registration = factories.RegistrationFactory(activity=activity, enterprise=enterprise)
    factories.AttendeeFactory(registration=registration)
    report = factories.FeedbackReportFactory(campaign=campaign, department=world.gd_amr)
    report.activities.add(activity)
    case = factories.TypicalCaseFactory(
        report=report, key_arrangement=world.arrangement(2), region=world.guangzhou
    )
    media = factories.FeedbackMediaFactory(report=report)
    # An accepted report of another department with a case on the public showcase.
    accepted = factories.FeedbackReportFactory(
        campaign=campaign,
        department=world.zj_amr,
        status=FeedbackStatus.ACCEPTED,
        submitted_at=timezone.now(),
    )
    published = factories.TypicalCaseFactory(
        report=accepted,
        key_arrangement=world.arrangement(3),
        region=world.hangzhou,
        published_at=timezone.now(),
    )
    return {
        "activities": [activity.pk, draft.pk],
        "campaigns": [campaign.year],
        "content-areas": [campaign.content_areas.first().pk],
        "key-arrangements": [world.arrangement(1).pk],
        "departments": [world.gd_amr.pk, world.samr.pk],
        "regions": [world.guangdong.code, world.tianhe.code],
        "enterprises": [enterprise.pk],
        "registrations": [registration.pk],
        "feedback-reports": [report.pk, accepted.pk],
        "cases": [case.pk, published.pk],
        "typical-cases": [published.pk],
        "media": [str(media.pk)],
    }


@pytest.fixture
def admin_headers(seeded) -> dict[str, str]:
    admin = factories.AdminFactory(email="admin@samr.example.cn", full_name="管理员")
    _token, key = token_create(user=admin, name="schemathesis")
    # A second token, for GET/DELETE /tokens/{id}/ (deleting the one in use would sign us out).
    spare, _key = token_create(user=admin, name="spare")
    seeded["tokens"] = [spare.pk]
    return {"Authorization": f"Token {key}"}


def _with_real_objects(case, seeded: dict[str, list]) -> None:
    """Point about half of the generated path parameters at objects of the world, chosen from
    the generated value itself so that the runs stay reproducible."""
    segments = case.operation.path.strip("/").split("/")
    for name, value in list((case.path_parameters or {}).items()):
        placeholder = "{" + name + "}"
        collection = segments[segments.index(placeholder) - 1]
        if name == "report_pk":
            collection = "feedback-reports"
        known = seeded.get(collection)
        if not known:
            continue
        pick = zlib.crc32(str(value).encode())
        if pick % 2 == 0:
            case.path_parameters[name] = known[(pick // 2) % len(known)]


@schema.parametrize()
@HYPOTHESIS
def test_api_as_anonymous(case, seeded):
    _with_real_objects(case, seeded)
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@HYPOTHESIS
def test_api_as_administrator(case, seeded, admin_headers):
    _with_real_objects(case, seeded)
    case.call_and_validate(headers=admin_headers, checks=CHECKS)
