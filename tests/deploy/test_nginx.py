"""The example nginx site (deploy/nginx/qualitymonth.conf): nginx accepts it, and it does what
docs/deploy.md promises (proxy headers, private media, upload sizes, operations endpoints).

``nginx -t`` runs whenever nginx is installed (``./portal test`` installs nginx-light with the
browser packages). Where it is not, the structural checks below still run: they parse the file
into blocks and directives, which catches what a hand edit usually breaks."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
SITE = BASE_DIR / "deploy" / "nginx" / "qualitymonth.conf"
NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
)


# --- a small parser: blocks and directives ----------------------------------------------------


def tokens(text: str):
    token_re = re.compile(
        r"""\s*(?:#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[{};]|[^\s{};"'#]+)"""
    )
    position = 0
    while position < len(text):
        match = token_re.match(text, position)
        if not match or match.end() == position:
            if text[position:].strip():
                raise ValueError(
                    f"cannot read the configuration at {text[position : position + 40]!r}"
                )
            return
        position = match.end()
        token = match.group(0).strip()
        if token and not token.startswith("#"):
            yield token


def parse(text: str) -> list:
    """[(name, [arguments], children or None)], children for blocks."""
    stack, current, words = [], [], []
    for token in tokens(text):
        if token == ";":
            if not words:
                raise ValueError("an empty directive")
            current.append((words[0], words[1:], None))
            words = []
        elif token == "{":
            block = (words[0], words[1:], [])
            current.append(block)
            stack.append(current)
            current, words = block[2], []
        elif token == "}":
            if words or not stack:
                raise ValueError("unbalanced braces or a directive without ';'")
            current = stack.pop()
        else:
            words.append(token)
    if stack or words:
        raise ValueError("unclosed block or a directive without ';'")
    return current


def find(directives: list, name: str, *arguments: str) -> list:
    return [
        d for d in directives if d[0] == name and list(d[1][: len(arguments)]) == list(arguments)
    ]


@pytest.fixture(scope="module")
def site():
    return parse(SITE.read_text())


@pytest.fixture(scope="module")
def https(site):
    (server,) = [s for s in find(site, "server") if find(s[2], "ssl_certificate")]
    return server[2]


def one(directives, name, *arguments):
    found = find(directives, name, *arguments)
    assert len(found) == 1, (name, arguments, found)
    return found[0]


# --- nginx itself ------------------------------------------------------------------------------


def test_nginx_accepts_the_site(tmp_path):
    """The site inside a minimal nginx.conf, with a throwaway certificate and paths under
    tmp_path; `nginx -t` parses it, checks every directive and opens the certificate."""
    if NGINX is None:
        # No nginx here (./portal test installs it where it can): the parser must accept it.
        assert parse(SITE.read_text())
        return
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=zlj.example.gov.cn",
            "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = (
        SITE.read_text()
        .replace("/etc/ssl/qualitymonth/", f"{tmp_path}/")
        .replace("/var/log/nginx/", f"{tmp_path}/")
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    access_log {tmp_path}/access.log;
    include {tmp_path}/site.conf;
}}
"""
    )

    result = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    # nginx 1.25 deprecates "listen ... http2" for "http2 on" (which 1.22, Debian 12's, lacks).
    warnings = [
        line
        for line in result.stderr.splitlines()
        if "[warn]" in line and '"http2" directive is deprecated' not in line
    ]
    assert warnings == [], result.stderr


# --- what the site promises --------------------------------------------------------------------


def test_the_parser_refuses_a_broken_file():
    with pytest.raises(ValueError):
        parse("server { listen 80 }")
    with pytest.raises(ValueError):
        parse("server { listen 80; ")


def test_http_is_redirected_to_https(site):
    (plain,) = [s for s in find(site, "server") if find(s[2], "listen", "80")]
    (location,) = find(plain[2], "location", "/")
    assert find(location[2], "return", "301")


def test_the_portal_gets_the_client_address_and_a_request_id(https):
    assert one(https, "proxy_set_header", "X-Real-IP")[1] == ["X-Real-IP", "$remote_addr"]
    assert one(https, "proxy_set_header", "X-Request-ID")[1] == ["X-Request-ID", "$request_id"]
    assert one(https, "proxy_set_header", "X-Forwarded-Proto")[1] == [
        "X-Forwarded-Proto",
        "$scheme",
    ]
    assert one(https, "proxy_set_header", "Host")[1] == ["Host", "$host"]
    # proxy_set_header inherits only into locations that set none themselves.
    for location in find(https, "location"):
        assert not find(location[2], "proxy_set_header"), location[1]


def test_every_proxied_location_goes_to_the_web_nodes(site, https):
    one(site, "upstream", "qualitymonth_web")
    proxied = [loc for loc in find(https, "location") if find(loc[2], "proxy_pass")]
    assert proxied
    for location in proxied:
        assert one(location[2], "proxy_pass")[1] == ["http://qualitymonth_web"]


def test_private_media_is_internal_and_matches_the_documented_setting(https):
    location = one(https, "location", "/protected/")
    assert find(location[2], "internal")
    assert one(location[2], "alias")[1][0].endswith("/private-media/")
    example = (BASE_DIR / "deploy" / "qualitymonth.env.example").read_text()
    assert "FEEDBACK_MEDIA_ACCEL_REDIRECT=/protected/" in example


def megabytes(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()
    return int(number) * {"": 1 / 1024**2, "k": 1 / 1024, "m": 1, "g": 1024}[unit.lower()]


def test_upload_size_limits_fit_the_portals_own(https):
    from django.conf import settings

    chunk = one(https, "location", "/workspace/feedback/uploads/")
    allowed = megabytes(one(chunk[2], "client_max_body_size")[1][0])
    assert settings.FEEDBACK_UPLOAD_CHUNK_BYTES / 1024**2 < allowed <= 16

    form = one(https, "location", "~", '"^/workspace/feedback/reports/[0-9]+/media/$"')
    allowed = megabytes(one(form[2], "client_max_body_size")[1][0])
    assert allowed > settings.FEEDBACK_DOCUMENT_MAX_BYTES / 1024**2

    everything_else = megabytes(one(https, "client_max_body_size")[1][0])
    assert everything_else <= 16


def test_static_files_are_served_by_nginx(https):
    location = one(https, "location", "/static/")
    assert one(location[2], "alias")[1][0].endswith("/staticfiles/")


def test_metrics_are_not_served_to_the_public_and_readiness_only_locally(https):
    metrics = one(https, "location", "=", "/metrics")
    assert not find(metrics[2], "proxy_pass")
    ready = one(https, "location", "=", "/health/ready")
    assert find(ready[2], "deny", "all")


def test_nginx_gives_up_after_gunicorn(https):
    from tests.deploy.test_gunicorn_conf import CONF

    read_timeout = int(one(https, "proxy_read_timeout")[1][0].rstrip("s"))
    gunicorn_default = int(re.search(r'"GUNICORN_TIMEOUT", (\d+)', CONF.read_text()).group(1))
    assert read_timeout > gunicorn_default
