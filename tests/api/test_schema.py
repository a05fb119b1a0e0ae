"""The OpenAPI schema is valid, and the documentation pages work without the internet."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db

FOREIGN_HOSTS = ("cdn", "jsdelivr", "unpkg", "googleapis", "gstatic", "cloudflare")


def test_schema_is_valid_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    # Raises (and fails the test) on any warning or validation error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    assert "openapi: 3" in target.read_text()


def test_schema_is_served_to_anyone(api):
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Quality Month portal API"
    assert set(schema["components"]["securitySchemes"]) == {"personalToken", "cookieAuth"}
    tags = {
        tag
        for operations in schema["paths"].values()
        for operation in operations.values()
        for tag in operation["tags"]
    }
    assert tags == {
        "reference data",
        "activities",
        "enterprises and registrations",
        "account",
        "feedback reports",
    }


def test_every_operation_has_a_summary(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if not operation.get("summary")
    ]
    assert missing == []


def _urls_in(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize(
    ("path", "expected_script"),
    [
        ("/api/docs/", "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/api/redoc/", "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_docs_are_served_from_our_own_static_files(api, path, expected_script):
    response = api.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert expected_script in html
    for host in FOREIGN_HOSTS:
        assert host not in html
    for url in _urls_in(html):
        assert url.startswith("/"), url  # nothing from elsewhere
        assert not url.startswith("//"), url
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), f"{url} is not a static file"


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_tell_the_browser_to_load_nothing_from_elsewhere(api, path):
    policy = api.get(path)["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "img-src 'self' data:" in policy
    assert "http" not in policy


def test_swagger_ui_points_at_our_schema(api):
    html = api.get("/api/docs/").content.decode()

    assert '"/api/schema/"' in html
