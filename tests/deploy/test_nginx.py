"""The example nginx site (deploy/nginx/qualitymonth.conf): nginx accepts it, and it does what
docs/deploy.md promises (proxy headers, private media, upload sizes, operations endpoints).

``nginx -t`` runs whenever nginx is installed (``./portal test`` installs nginx-light with the
browser packages). Where it is not, the structural checks below still run: they parse the file
into blocks and directives, which catches what a hand edit usually breaks."""

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
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


def locations(directives: list) -> list:
    """Every location, nested ones too."""
    found = []
    for directive in find(directives, "location"):
        found.append(directive)
        found.extend(locations(directive[2]))
    return found


def render(directives: list, indent: str = "") -> str:
    """The parsed directives as nginx configuration again (comments dropped)."""
    lines = []
    for name, arguments, children in directives:
        head = " ".join([name, *arguments])
        if children is None:
            lines.append(f"{indent}{head};")
        else:
            lines += [f"{indent}{head} {{", render(children, indent + "    "), f"{indent}}}"]
    return "\n".join(lines)


UPLOADS = "/workspace/feedback/uploads/"


def chunk_location(https: list):
    """The location that hands a chunk's body over as a file, inside the uploads location."""
    (chunk,) = find(one(https, "location", UPLOADS)[2], "location", "~")
    return chunk


def upload_front(*, listen: int, web: str, folder: Path, body_dir: Path) -> str:
    """An nginx.conf serving plain HTTP on 127.0.0.1:`listen` with the site's proxy settings and
    its uploads location as they stand (the body folder moved to `body_dir`), everything else
    passed to `web` (host:port): the site's upload path, for a real nginx in a test."""
    (server,) = [
        s for s in find(parse(SITE.read_text()), "server") if find(s[2], "ssl_certificate")
    ]
    own = [d for d in server[2] if d[2] is None and d[0].startswith(("proxy_", "client_"))]
    uploads = one(server[2], "location", UPLOADS)

    def moved(directives):
        return [
            (name, [str(body_dir)], None)
            if name == "client_body_temp_path"
            else (name, arguments, None if children is None else moved(children))
            for name, arguments, children in directives
        ]

    user = ""
    if os.geteuid() == 0:  # workers as the portal's user (here: the tests'), as deployed
        user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
    return f"""
{user}
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    access_log {folder}/access.log;
    upstream qualitymonth_web {{ server {web}; }}
    server {{
        listen 127.0.0.1:{listen};
{render(own, "        ")}
{render(moved([uploads]), "        ")}
        location / {{ proxy_pass http://qualitymonth_web; }}
    }}
}}
"""


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
    (tmp_path / "lib" / "private-media").mkdir(parents=True)
    site = (
        SITE.read_text()
        .replace("/etc/ssl/qualitymonth/", f"{tmp_path}/")
        .replace("/var/log/nginx/", f"{tmp_path}/")
        .replace("/var/lib/qualitymonth/", f"{tmp_path}/lib/")
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
    # proxy_set_header inherits only into locations that set none themselves: one that sets any
    # repeats all of the server's (the body file's headers are the chunk location's own).
    server_headers = {tuple(d[1]) for d in find(https, "proxy_set_header")}
    own = {("X-Upload-Body-File", '""'), ("X-Upload-Body-Length", '""')}
    for location in locations(https):
        headers = {tuple(d[1]) for d in find(location[2], "proxy_set_header")}
        if headers:
            assert server_headers - own <= headers, location[1]


def test_every_proxied_location_goes_to_the_web_nodes(site, https):
    one(site, "upstream", "qualitymonth_web")
    proxied = [loc for loc in locations(https) if find(loc[2], "proxy_pass")]
    assert len(proxied) >= 2
    for location in proxied:
        assert one(location[2], "proxy_pass")[1] == ["http://qualitymonth_web"]


def test_a_chunk_reaches_the_portal_as_a_file_of_nginx_and_a_client_cannot_name_one(https):
    """The chunk location writes the body to a file and passes its name and length instead of
    the body (FEEDBACK_UPLOAD_BODY_FROM_NGINX). Every other location clears those headers, so a
    client's own never reaches the portal."""
    chunk = chunk_location(https)
    assert chunk[1] == ["~", '"^/workspace/feedback/uploads/[0-9a-f-]{36}/$"']
    assert one(chunk[2], "client_body_in_file_only")[1] == ["clean"]
    assert one(chunk[2], "proxy_pass_request_body")[1] == ["off"]
    assert one(chunk[2], "proxy_set_header", "Content-Length")[1] == ["Content-Length", '""']
    assert one(chunk[2], "proxy_set_header", "X-Upload-Body-File")[1] == [
        "X-Upload-Body-File",
        "$request_body_file",
    ]
    assert one(chunk[2], "proxy_set_header", "X-Upload-Body-Length")[1] == [
        "X-Upload-Body-Length",
        "$content_length",
    ]
    assert one(https, "proxy_set_header", "X-Upload-Body-File")[1] == ["X-Upload-Body-File", '""']
    assert one(https, "proxy_set_header", "X-Upload-Body-Length")[1][1] == '""'
    # Starting an upload and its status keep their bodies: only an upload's own address.
    assert not find(one(https, "location", UPLOADS)[2], "proxy_pass_request_body")


def test_the_body_folder_is_the_documented_setting_beside_the_partial_uploads(https):
    folder = one(chunk_location(https)[2], "client_body_temp_path")[1][0]
    example = (BASE_DIR / "deploy" / "qualitymonth.env.example").read_text()
    values = dict(
        line.split("=", 1) for line in example.splitlines() if "=" in line and line[0].isupper()
    )
    assert values["FEEDBACK_UPLOAD_BODY_FROM_NGINX"] == "true"
    assert values["FEEDBACK_UPLOAD_NGINX_BODY_DIR"] == folder
    # One file system: both under the same data folder, so copy_file_range stays in the kernel.
    assert Path(folder).parent == Path(values["FEEDBACK_UPLOAD_DIR"]).parent


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

    chunk = chunk_location(https)
    allowed = megabytes(one(chunk[2], "client_max_body_size")[1][0])
    # The portal's chunk size where nginx hands chunks over, as the environment example sets.
    behind_nginx = chunk_bytes_with({"FEEDBACK_UPLOAD_BODY_FROM_NGINX": "true"})
    assert behind_nginx / 1024**2 < allowed <= behind_nginx / 1024**2 + 8
    # Starting an upload is a small request: the server's limit.
    assert not find(one(https, "location", UPLOADS)[2], "client_max_body_size")

    form = one(https, "location", "~", '"^/workspace/feedback/reports/[0-9]+/media/$"')
    allowed = megabytes(one(form[2], "client_max_body_size")[1][0])
    assert allowed > settings.FEEDBACK_DOCUMENT_MAX_BYTES / 1024**2

    everything_else = megabytes(one(https, "client_max_body_size")[1][0])
    assert everything_else <= 16


def chunk_bytes_with(environment: dict) -> int:
    """FEEDBACK_UPLOAD_CHUNK_BYTES as the settings module works it out under `environment`."""
    script = "from qualitymonth import settings; print(settings.FEEDBACK_UPLOAD_CHUNK_BYTES)"
    environment = {**os.environ, **environment}
    environment.pop("FEEDBACK_UPLOAD_CHUNK_BYTES", None)
    found = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(found.stdout)


def test_chunks_are_larger_only_where_nginx_hands_them_over():
    assert chunk_bytes_with({"FEEDBACK_UPLOAD_BODY_FROM_NGINX": "false"}) == 8 * 1024**2
    assert chunk_bytes_with({"FEEDBACK_UPLOAD_BODY_FROM_NGINX": "true"}) == 32 * 1024**2


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
