"""Security headers every page carries: Content-Security-Policy without inline code, framing
refused, no MIME sniffing."""

import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


@pytest.mark.parametrize("url", ["/", "/activities/", "/calendar/", "/accounts/login/"])
def test_pages_forbid_inline_scripts_and_styles_and_framing(client, url):
    response = client.get(url)
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_api_documentation_keeps_its_own_policy(client):
    # Swagger UI needs inline bootstrapping; its page says so itself and nothing else does.
    response = client.get("/api/docs/")
    assert "script-src 'self' 'unsafe-inline'" in response["Content-Security-Policy"]


def test_no_template_has_inline_script_style_or_event_handlers():
    """Under the policy above such code would be blocked in the browser: none may exist."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if path.parts[-2] == "api":  # the API docs pages (own policy, see above)
            continue
        text = path.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"<style\b",
            r"\sstyle=\"",
            r"\son[a-z]+=\"",
        ):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(TEMPLATES)}: {pattern}")
    assert offenders == []
