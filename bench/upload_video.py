"""Benchmark: uploading a 1 GB video through the resumable protocol (issue 5), against its targets.

    .venv/bin/python bench/upload_video.py                           # a temporary SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm \\
        .venv/bin/python bench/upload_video.py                       # a fresh qm_bench database
    ... --size-mb 256 --chunk-mb 8 --front none --bare               # smaller, other chunks, etc.

It sets up its own database (PostgreSQL: `<name>_bench` on the server DATABASE_URL names, created
and dropped; otherwise a temporary SQLite file) with the reference data, two departments, one of
each one's staff and a draft feedback report each, then starts the portal as a real server
process: gunicorn with one gthread worker (4 threads) where gunicorn is installed, else `manage.py
runserver --noreload`; DEBUG off. Where nginx is installed (and the server is gunicorn), an nginx
of its own (no root needed: a configuration in the temporary folder, workers as this user) stands
in front, as deployed: deploy/nginx/qualitymonth.conf's server-level proxy settings and its upload
location, verbatim but for the body folder, so that each chunk reaches the portal as a file of
nginx's (FEEDBACK_UPLOAD_BODY_FROM_NGINX on, TRUSTED_PROXIES 127.0.0.1, docs/deploy.md).

A client in this process (http.client, one kept-alive connection, each chunk sent from the page
cache by sendfile) signs in with a session cookie and uploads a 1 GB MP4 in the chunks the server
announces (FEEDBACK_UPLOAD_CHUNK_BYTES: 32 MB behind nginx, 8 MB without): start, PATCH each
chunk, until the last one answers with the stored file. The file is an MP4 by its content: an ISO
BMFF `ftyp` box, then (where ffmpeg is installed, so that ffprobe accepts it and a poster frame is
made) a real two-second clip, then a box of incompressible filler up to 1 GB. Without ffprobe the
probe is skipped and the signature decides.

Printed: seconds and MB/s of the upload (the first byte sent to the stored file's answer,
including the checksum, the move into storage and the background processing, which runs in the
web process when no Celery broker is configured), the CPU time the web process, nginx and the
client used meanwhile, the peak memory of the process that served the requests (VmHWM from /proc,
over its whole life, and its size after a warm-up upload), and the baseline measured in the same
run on the same disk: copying the same file with shutil.copyfile and fsync (before and after the
upload; the faster counts). PASS/FAIL against the targets: peak memory under 100 MB, throughput
at least 0.5x the copy's. Exit status 0 on PASS, 1 on FAIL. The stored file is compared with the
original by SHA-256.

For context, behind nginx it then sends the same file, in the same chunks, straight to the same
gunicorn (the body read by the portal, as without nginx; its memory is printed but not counted);
with --bare also to a bare WSGI app under the same gunicorn that only writes and hashes the bytes:
what any Python web process can take in here.
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MB = 100.0
TARGET_RATIO = 0.5
CSRF = "benchcsrftokenbenchcsrftoken0123"  # 32 characters: a valid CSRF secret
FILLER_BLOCK = 4 * 1024 * 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the video (1024 MB)")
    parser.add_argument(
        "--dir", help="where the video, the copies and the storage go (a fresh temporary folder)"
    )
    parser.add_argument(
        "--server", choices=("auto", "gunicorn", "runserver"), default="auto", help="web server"
    )
    parser.add_argument(
        "--front",
        choices=("auto", "nginx", "none"),
        default="auto",
        help="nginx in front of gunicorn, handing chunks over as files (auto: where nginx is "
        "installed and the server is gunicorn), or gunicorn alone",
    )
    parser.add_argument(
        "--chunk-mb", type=int, help="FEEDBACK_UPLOAD_CHUNK_BYTES for the server (its default)"
    )
    parser.add_argument(
        "--bare",
        action="store_true",
        help="also send the file to a bare WSGI app under the same gunicorn (its ceiling)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--packages",
        choices=("runtime", "dev"),
        default="runtime",
        help="the server's packages: requirements.lock only, as a production server installs them "
        "(in .portal/runtime-venv, made on first use), or this .venv with the development tools",
    )
    return parser.parse_args()


# --- the database -------------------------------------------------------------------------------


def configure_database(folder: Path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql"
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    return "sqlite"


def database_url_for(engine: str, name: str) -> str:
    url = os.environ["DATABASE_URL"]
    if engine == "sqlite":
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def prepare_data(count: int = 2) -> list:
    """Draft reports of `count` provincial bureaus, each with one of its staff signed in:
    [(report, cookies)]. The same video uploaded twice to one report would be refused as a
    duplicate, so each way in (through nginx, to gunicorn alone) gets its own report."""
    from django.test import Client

    from accounts.models import DepartmentMembership, User
    from activities.enums import DepartmentLevel
    from activities.models import Campaign, Department
    from activities.reference_data import load_reference_data
    from feedback.models import FeedbackReport

    load_reference_data()
    campaign = Campaign.objects.get(year=2024)
    departments = Department.objects.filter(level=DepartmentLevel.PROVINCIAL).order_by("pk")
    prepared = []
    for number, department in enumerate(departments[:count]):
        user = User.objects.create_user(
            email=f"bench-upload-{number}@example.cn", password=None, full_name="基准测试"
        )
        DepartmentMembership.objects.create(user=user, department=department)
        report = FeedbackReport.objects.create(campaign=campaign, department=department)
        client = Client()
        client.force_login(user)
        cookies = {
            "sessionid": client.cookies["sessionid"].value,
            "csrftoken": CSRF,
            "django_language": "en",
        }
        prepared.append((report, cookies))
    return prepared


# --- the file -----------------------------------------------------------------------------------


def real_clip(folder: Path) -> bytes | None:
    """A two-second MP4 (moov before mdat) made by ffmpeg, or None without ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        return None
    clip = folder / "clip.mp4"
    subprocess.run(  # noqa: S603 (fixed arguments)
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi",
         "-i", "testsrc=duration=2:size=640x360:rate=25", "-pix_fmt", "yuv420p",
         "-c:v", "mpeg4", "-movflags", "+faststart", str(clip)],
        check=True,
    )  # fmt: skip
    data = clip.read_bytes()
    clip.unlink()
    return data


def write_video(path: Path, size: int, clip: bytes | None) -> str:
    """An MP4 of exactly `size` bytes; returns its SHA-256."""
    if clip is None:
        # ftyp, then one mdat box of filler: an MP4 by its signature.
        head = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
        box = b"mdat"
    else:
        head = clip  # ftyp, moov, mdat of a real clip; the filler goes into a "free" box after it
        box = b"free"
    filler = size - len(head) - 8
    digest = hashlib.sha256()
    block = random.Random(2024).randbytes(FILLER_BLOCK)  # noqa: S311 (filler, not a secret)
    with open(path, "wb") as f:
        start = head + struct.pack(">I", filler + 8) + box
        f.write(start)
        digest.update(start)
        left = filler
        while left:
            piece = block[: min(left, len(block))]
            f.write(piece)
            digest.update(piece)
            left -= len(piece)
        f.flush()
        os.fsync(f.fileno())
    return digest.hexdigest()


def copy_seconds(source: Path, folder: Path) -> float:
    """The baseline: copy the file on the same disk and make it durable."""
    target = folder / "copy.mp4"
    started = time.perf_counter()
    shutil.copyfile(source, target)
    with open(target, "rb") as f:
        os.fsync(f.fileno())
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


# --- the server ---------------------------------------------------------------------------------


BARE_APP = """
import hashlib, os
def application(environ, start_response):
    left = int(environ.get("CONTENT_LENGTH") or 0)
    digest = hashlib.sha256()
    with open(os.environ["BARE_SINK"], "ab") as sink:
        while left:
            block = environ["wsgi.input"].read(min(1 << 20, left))
            if not block:
                break
            sink.write(block)
            digest.update(block)
            left -= len(block)
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
"""


def bare_ceiling(python: str, folder: Path, source: Path, chunk: int) -> float:
    """Seconds to send `source` in `chunk`-sized PATCH requests to a bare WSGI app under the same
    gunicorn that only writes and hashes the bytes: the most any Python web process can take in
    on this machine, to read the portal's figure against."""
    (folder / "bare_app.py").write_text(BARE_APP)
    sink = folder / "bare.bin"
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own bare app  # nosec B603
        [python, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1", "--threads",
         "4", "--bind", f"127.0.0.1:{port}", "--chdir", str(folder), "bare_app:application"],
        env={**os.environ, "BARE_SINK": str(sink)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline:
                    return float("nan")
                time.sleep(0.2)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        started = time.perf_counter()
        with open(source, "rb") as f:
            while piece := f.read(chunk):
                connection.request("PATCH", "/", body=piece)
                connection.getresponse().read()
        with open(sink, "rb+") as f:
            os.fsync(f.fileno())
        return time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        sink.unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RUNTIME_VENV = ROOT / ".portal" / "runtime-venv"


def runtime_python() -> str:
    """A virtual environment with requirements.lock only (what a production server installs:
    no test tools, which some packages import when present), made or updated on first use."""
    lock = ROOT / "requirements.lock"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    python = RUNTIME_VENV / "bin" / "python"
    stamp = RUNTIME_VENV / ".lock-sha256"
    if not (python.exists() and stamp.exists() and stamp.read_text().strip() == digest):
        print(f"Installing requirements.lock into {RUNTIME_VENV.relative_to(ROOT)} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(RUNTIME_VENV)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603 - our own lock file, with hashes
            [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(lock)],
            check=True,
        )
        stamp.write_text(digest)
    return str(python)


def start_server(
    kind: str, port: int, env: dict, log: Path, python: str = sys.executable
) -> tuple[subprocess.Popen, str]:
    if kind == "auto":
        kind = (
            "gunicorn" if shutil.which("gunicorn", path=str(Path(python).parent)) else "runserver"
        )
    if kind == "gunicorn":
        command = [
            python, "-m", "gunicorn", "--worker-class", "gthread", "--workers", "1",
            "--threads", "4", "--timeout", "600", "--bind", f"127.0.0.1:{port}",
            "qualitymonth.wsgi:application",
        ]  # fmt: skip
        description = "gunicorn, 1 gthread worker with 4 threads"
    else:
        command = [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        description = "manage.py runserver --noreload (threaded)"
    process = subprocess.Popen(  # noqa: S603 (our own server)
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb")
    )  # a file, not a pipe: a full pipe would stop the server
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit("The server did not start:\n" + log.read_text(errors="replace")[-3000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, description
        except OSError:
            time.sleep(0.3)
    process.kill()
    sys.exit("The server did not start within 120 s.")


def serving_pid(process: subprocess.Popen) -> int:
    """The process answering requests: gunicorn's worker (the master's child), or the server."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    try:
        pids = [int(p) for p in children.read_text().split()]
    except OSError:
        pids = []
    return pids[0] if pids else process.pid


def memory_mb(pid: int) -> dict[str, float]:
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) / 1024
    return values


# --- nginx in front, as deployed ------------------------------------------------------------------

SITE = ROOT / "deploy" / "nginx" / "qualitymonth.conf"
UPLOAD_LOCATION = "location /workspace/feedback/uploads/"


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def _block(text: str, start: int) -> str:
    """The text from `start` to the brace closing the first block opened after it."""
    depth = 0
    for position in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[position], 0)
        if depth == 0:
            return text[start : position + 1]
    raise ValueError("unbalanced braces in " + str(SITE))


def site_for_bench(folder: Path, listen: int, web_port: int, body_dir: Path, chunk: int) -> str:
    """deploy/nginx/qualitymonth.conf's TLS server reduced to what an upload meets: its
    server-level client_* and proxy_* directives and its upload location, verbatim, with the
    body folder moved into `folder` (and the chunk limit raised if --chunk-mb asks for more),
    on plain HTTP at 127.0.0.1:`listen` in front of the gunicorn at `web_port`."""
    text = SITE.read_text()
    server = _block(text, text.rindex("server {", 0, text.index("listen 443")))
    # Directives of the server itself (depth 1): one line each in the site file.
    depth, own = 0, []
    for line in server.splitlines()[1:]:
        stripped = line.strip()
        if depth == 0 and stripped.startswith(("proxy_", "client_")) and stripped.endswith(";"):
            own.append(stripped)
        depth += line.count("{") - line.count("}")
    location = _block(server, server.index(UPLOAD_LOCATION))
    location = re.sub(r"client_body_temp_path \S+;", f"client_body_temp_path {body_dir};", location)
    allowed = int(re.findall(r"client_max_body_size (\d+)m;", location)[-1])
    if chunk > (allowed - 1) * 1024**2:
        location = location.replace(
            f"client_max_body_size {allowed}m;", f"client_max_body_size {chunk // 1024**2 + 1}m;"
        )
    user = ""
    if os.geteuid() == 0:  # workers as the portal's user (here: this one), as deployed
        import grp
        import pwd

        user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
    nl = "\n    "
    return f"""
{user}
worker_processes auto;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {folder}/nginx-body;
    proxy_temp_path {folder}/nginx-proxy;
    fastcgi_temp_path {folder}/nginx-fastcgi;
    uwsgi_temp_path {folder}/nginx-uwsgi;
    scgi_temp_path {folder}/nginx-scgi;
    access_log off;
    upstream qualitymonth_web {{
        server 127.0.0.1:{web_port};
        keepalive 32;
    }}
    server {{
    listen 127.0.0.1:{listen};
    {nl.join(own)}
    {location}
    location / {{
        proxy_pass http://qualitymonth_web;
    }}
    }}
}}
"""


def start_nginx(nginx: str, folder: Path, config: str) -> subprocess.Popen:
    conf = folder / "nginx.conf"
    conf.write_text(config)
    process = subprocess.Popen(  # noqa: S603 - our own configuration  # nosec B603
        [nginx, "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "nginx-stderr.log").open("wb"),
    )
    return process


def nginx_worker_memory(process: subprocess.Popen) -> float:
    """The largest peak (VmHWM, MB) of nginx's workers."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    try:
        pids = [int(p) for p in children.read_text().split()]
    except OSError:
        return float("nan")
    peaks = []
    for pid in pids:
        try:
            peaks.append(memory_mb(pid)["VmHWM"])
        except OSError:
            continue
    return max(peaks, default=float("nan"))


def cpu_seconds(*pids: int) -> float:
    """User and system CPU time the processes used so far (threads included)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def children(process: subprocess.Popen) -> list[int]:
    try:
        return [
            int(p)
            for p in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        ]
    except OSError:
        return []


def wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} did not start:\n" + log.read_text(errors="replace")[-3000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit(f"{what} did not start within 60 s.")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


# --- the client ---------------------------------------------------------------------------------


class Portal:
    """One kept-alive connection to the server, signed in."""

    def __init__(self, port: int, cookies: dict):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())

    def request(self, method: str, path: str, body=None, headers=None):
        headers = {"Cookie": self.cookie, "X-CSRFToken": CSRF, **(headers or {})}
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        return response.status, response.headers, data

    def upload(self, report_id: int, path: Path, name: str) -> dict:
        size = path.stat().st_size
        status, _headers, data = self.request(
            "POST",
            "/workspace/feedback/uploads/",
            json.dumps({"report": report_id, "name": name, "size": size}),
            {"Content-Type": "application/json"},
        )
        if status != 201:
            sys.exit(f"Starting the upload failed: {status} {data[:500]!r}")
        started = json.loads(data)
        url, chunk, offset = started["url"], started["chunk_size"], started["offset"]
        self.chunk = chunk
        self.timings = []
        with open(path, "rb") as f:
            while True:
                sent = time.perf_counter()
                status, headers, data = self.send_chunk(url, f, offset, min(chunk, size - offset))
                self.timings.append(time.perf_counter() - sent)
                if status == 201:
                    return json.loads(data)
                if status not in (200, 409):
                    sys.exit(f"A chunk failed at {offset}: {status} {data[:500]!r}")
                offset = int(headers["Upload-Offset"])

    def send_chunk(self, url: str, f, offset: int, length: int):
        """PATCH `length` bytes of the open file `f` from `offset`, sent from the page cache by
        sendfile (a client's reading of the file should cost as little as a browser's)."""
        self.connection.putrequest("PATCH", url)
        for header, value in (
            ("Cookie", self.cookie),
            ("X-CSRFToken", CSRF),
            ("Upload-Offset", str(offset)),
            ("Content-Type", "application/offset+octet-stream"),
            ("Content-Length", str(length)),
        ):
            self.connection.putheader(header, value)
        self.connection.endheaders()
        self.connection.sock.sendfile(f, offset, length)
        response = self.connection.getresponse()
        return response.status, response.headers, response.read()


def main() -> int:
    args = parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="qm-bench-upload-"))
    folder.mkdir(parents=True, exist_ok=True)
    engine = configure_database(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitymonth.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    database = settings.DATABASES["default"]
    database.setdefault("TEST", {})["NAME"] = (
        f"{database['NAME']}_bench" if engine == "postgresql" else database["NAME"]
    )
    old_name = database["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        return run(args, engine, test_name, folder)
    finally:
        connection.close()
        if not args.keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(folder, ignore_errors=True)


def run(args, engine: str, database_name: str, folder: Path) -> int:
    from django.db import connection

    from feedback.models import FeedbackMedia

    print(f"Database: {engine} ({database_name}); files in {folder}")
    (report, cookies), (direct_report, direct_cookies) = prepare_data(2)
    connection.close()  # the server's requests must not wait for this process's transaction

    size = args.size_mb * 1024 * 1024
    source = folder / "video.mp4"
    clip = real_clip(folder)
    started = time.perf_counter()
    checksum = write_video(source, size, clip)
    print(
        f"Video: {size / 1024**2:,.0f} MB written in {time.perf_counter() - started:.1f} s "
        + (
            "(a real clip and filler: ffprobe probes it)."
            if clip
            else "(ftyp and filler: no ffprobe, the signature decides)."
        )
    )
    warm = folder / "warm.mp4"
    write_video(warm, 3 * 1024 * 1024, clip)

    copy_before = copy_seconds(source, folder)

    python = runtime_python() if args.packages == "runtime" else sys.executable
    kind = args.server
    if kind == "auto":
        kind = (
            "gunicorn" if shutil.which("gunicorn", path=str(Path(python).parent)) else "runserver"
        )
    nginx = find_nginx() if args.front != "none" and kind == "gunicorn" else None
    if args.front == "nginx" and nginx is None:
        sys.exit("--front nginx needs nginx installed and --server gunicorn.")
    private = folder / "private-media"
    body_dir = private / "upload-bodies"
    chunk = args.chunk_mb * 1024**2 if args.chunk_mb else 0
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for(engine, database_name),
        "DEBUG": "false",
        "PRIVATE_MEDIA_ROOT": str(private),
        "FEEDBACK_UPLOAD_DIR": str(private / "partial-uploads"),
        "MEDIA_ROOT": str(folder / "media"),
        "CELERY_BROKER_URL": "",
        "PYTHONUNBUFFERED": "1",
        # nginx is on this machine; a request straight to gunicorn names no body file.
        "TRUSTED_PROXIES": "127.0.0.1",
        "FEEDBACK_UPLOAD_BODY_FROM_NGINX": "true" if nginx else "false",
        "FEEDBACK_UPLOAD_NGINX_BODY_DIR": str(body_dir),
        **({"FEEDBACK_UPLOAD_CHUNK_BYTES": str(chunk)} if chunk else {}),
    }
    port = free_port()
    server, description = start_server(kind, port, env, folder / "server.log", python)
    description += (
        ", runtime packages only (requirements.lock, as deployed)"
        if args.packages == "runtime"
        else ", with the development tools (.venv)"
    )
    front = None
    direct_seconds = direct_peak = direct_chunk = None
    try:
        pid = serving_pid(server)
        if nginx:
            front_port = free_port()
            body_dir.mkdir(parents=True, exist_ok=True)  # nginx makes the last folder only
            site = site_for_bench(folder, front_port, port, body_dir, chunk)
            front = start_nginx(nginx, folder, site)
            wait_for_port(front_port, front, "nginx", folder / "nginx-stderr.log")
            description = (
                "nginx (deploy/nginx's upload location, chunks handed over as files) in front of "
                + description
            )
        portal = Portal(front_port if front else port, cookies)
        portal.upload(report.pk, warm, "warm-up.mp4")  # every code path imported once
        after_warm_up = memory_mb(pid)

        nginx_pids = children(front) if front else []
        cpu_before = (cpu_seconds(pid), cpu_seconds(*nginx_pids), time.process_time())
        started = time.perf_counter()
        answer = portal.upload(report.pk, source, "开幕式全程.mp4")
        seconds = time.perf_counter() - started
        cpu = [
            after - before
            for before, after in zip(
                cpu_before,
                (cpu_seconds(pid), cpu_seconds(*nginx_pids), time.process_time()),
                strict=True,
            )
        ]
        peak = memory_mb(pid)
        nginx_peak = nginx_worker_memory(front) if front else float("nan")

        if front:  # for context: the same file, in the same chunks, straight to gunicorn
            direct = Portal(port, direct_cookies)
            started = time.perf_counter()
            direct.upload(direct_report.pk, source, "开幕式全程.mp4")
            direct_seconds = time.perf_counter() - started
            direct_peak = memory_mb(pid)
            direct_chunk = direct.chunk
    finally:
        if front is not None:
            stop(front)
        stop(server)

    copy_after = copy_seconds(source, folder)
    bare = (
        bare_ceiling(python, folder, source, portal.chunk)
        if args.bare and kind == "gunicorn"
        else None
    )
    copy = min(copy_before, copy_after)
    media = FeedbackMedia.objects.get(pk=answer["media"]["id"])
    stored = Path(private) / media.file.name
    identical = media.sha256 == checksum and stored.stat().st_size == size
    megabytes = size / 1024**2
    throughput = megabytes / seconds
    copy_throughput = megabytes / copy
    ratio = throughput / copy_throughput

    print()
    print(f"Server:               {description} (pid {pid})")
    print(f"Stored:               {media.original_name}, {media.kind}, state {media.state}, "
          f"probed {media.probed}{', poster made' if media.poster else ''}")  # fmt: skip
    print(f"Identical (SHA-256):  {identical}")
    print(f"Upload:               {seconds:.2f} s, {throughput:,.0f} MB/s")
    print(
        f"Copy (same disk):     {copy:.2f} s, {copy_throughput:,.0f} MB/s "
        f"(before {copy_before:.2f} s, after {copy_after:.2f} s; the faster counts)"
    )
    timings = sorted(portal.timings[:-1])
    print(
        f"Chunks:               {len(portal.timings)} of {portal.chunk / 1024**2:.0f} MB, "
        f"median {timings[len(timings) // 2] * 1000:.0f} ms; the last one (checksum, probe, "
        f"move into storage, poster frame) {portal.timings[-1]:.2f} s"
    )
    print(f"Ratio to copy:        {ratio:.2f}x")
    print(
        f"CPU during the upload: web process {cpu[0]:.2f} s"
        + (f", nginx {cpu[1]:.2f} s" if front is not None else "")
        + f", this client {cpu[2]:.2f} s (in {seconds:.2f} s on {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f})"
    )
    if direct_seconds is not None:
        print(
            f"Gunicorn alone:       {direct_seconds:.2f} s, {megabytes / direct_seconds:,.0f} MB/s "
            f"({copy / direct_seconds:.2f}x the copy): the same file in "
            f"{direct_chunk / 1024**2:.0f} MB chunks straight to the same gunicorn, the body "
            "read by the portal, for context"
        )
    if bare is not None:
        print(
            f"Bare WSGI app:        {bare:.2f} s, {megabytes / bare:,.0f} MB/s "
            f"({copy / bare:.2f}x the copy): the same gunicorn and chunks into an app that only "
            "writes and hashes, for context"
        )
    print(
        f"Server memory:        peak {peak['VmHWM']:.0f} MB (VmHWM, whole life); "
        f"{after_warm_up['VmRSS']:.0f} MB after the warm-up, {peak['VmRSS']:.0f} MB at the end"
    )
    print(
        f"Added by the upload:  {peak['VmHWM'] - after_warm_up['VmHWM']:.0f} MB "
        f"(peak after the {megabytes:,.0f} MB upload minus peak after the warm-up)"
    )
    if front is not None:
        print(
            f"nginx workers:        peak {nginx_peak:.0f} MB each; the web process after the "
            f"gunicorn-alone upload: peak {direct_peak['VmHWM']:.0f} MB (not counted)"
        )

    checks = {
        "stored file identical": identical,
        f"peak memory under {TARGET_MB:.0f} MB": peak["VmHWM"] < TARGET_MB,
        f"throughput at least {TARGET_RATIO}x the copy's": ratio >= TARGET_RATIO,
    }
    print()
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    verdict = all(checks.values())
    print(
        f"\n{'PASS' if verdict else 'FAIL'}: {megabytes:,.0f} MB in {seconds:.1f} s "
        f"({ratio:.2f}x the copy), {peak['VmHWM']:.0f} MB peak "
        f"(targets: {TARGET_RATIO}x, {TARGET_MB:.0f} MB)"
        + (" through nginx" if front is not None else "")
    )
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
