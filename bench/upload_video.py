"""Benchmark: uploading a 1 GB video through the resumable protocol (issue 5), against its targets.

    .venv/bin/python bench/upload_video.py                           # a temporary SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm \\
        .venv/bin/python bench/upload_video.py                       # a fresh qm_bench database

It sets up its own database (PostgreSQL: `<name>_bench` on the server DATABASE_URL names, created
and dropped; otherwise a temporary SQLite file) with the reference data, a department, one of its
staff and a draft feedback report, then starts the portal as a real server process: gunicorn with
one gthread worker (4 threads) where gunicorn is installed, else `manage.py runserver
--noreload`; DEBUG off. A client in this process (http.client, one kept-alive connection) signs
in with a session cookie and uploads a 1 GB MP4 in the portal's chunks (FEEDBACK_UPLOAD_CHUNK_BYTES,
8 MB): start, PATCH each chunk, until the last one answers with the stored file. The file is an
MP4 by its content: an ISO BMFF `ftyp` box, then (where ffmpeg is installed, so that ffprobe
accepts it and a poster frame is made) a real two-second clip, then a box of incompressible
filler up to 1 GB. Without ffprobe the probe is skipped and the signature decides.

Printed: seconds and MB/s of the upload (the first byte sent to the stored file's answer,
including the checksum, the move into storage and the background processing, which runs in the
web process when no Celery broker is configured), the peak memory of the process that served the
requests (VmHWM from /proc, over its whole life, and its size after a warm-up upload), and the
baseline measured in the same run on the same disk: copying the same file with shutil.copyfile
and fsync (before and after the upload; the faster counts). PASS/FAIL against the targets: peak
memory under 100 MB, throughput at least 0.5x the copy's. Exit status 0 on PASS, 1 on FAIL.
For context it also sends the same file, in the same chunks, through the same gunicorn to a bare
WSGI app that only writes and hashes the bytes: what any Python web process can take in here.
The stored file is compared with the original by SHA-256.
"""

import argparse
import hashlib
import http.client
import json
import os
import random
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


def prepare_data():
    """A draft report of a provincial bureau and one of its staff, signed in: (report, cookies)."""
    from django.test import Client

    from accounts.models import DepartmentMembership, User
    from activities.enums import DepartmentLevel
    from activities.models import Campaign, Department
    from activities.reference_data import load_reference_data
    from feedback.models import FeedbackReport

    load_reference_data()
    campaign = Campaign.objects.get(year=2024)
    department = Department.objects.filter(level=DepartmentLevel.PROVINCIAL).order_by("pk").first()
    user = User.objects.create_user(
        email="bench-upload@example.cn", password=None, full_name="基准测试"
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
    return report, cookies


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
        self.timings = []
        with open(path, "rb") as f:
            while True:
                f.seek(offset)
                piece = f.read(chunk)
                sent = time.perf_counter()
                status, headers, data = self.request(
                    "PATCH",
                    url,
                    piece,
                    {
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
                self.timings.append(time.perf_counter() - sent)
                if status == 201:
                    return json.loads(data)
                if status not in (200, 409):
                    sys.exit(f"A chunk failed at {offset}: {status} {data[:500]!r}")
                offset = int(headers["Upload-Offset"])


def answer_chunk_mb(portal: Portal) -> float:
    from django.conf import settings

    return settings.FEEDBACK_UPLOAD_CHUNK_BYTES / 1024**2


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
    report, cookies = prepare_data()
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

    private = folder / "private-media"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for(engine, database_name),
        "DEBUG": "false",
        "PRIVATE_MEDIA_ROOT": str(private),
        "FEEDBACK_UPLOAD_DIR": str(private / "partial-uploads"),
        "MEDIA_ROOT": str(folder / "media"),
        "CELERY_BROKER_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    python = runtime_python() if args.packages == "runtime" else sys.executable
    server, description = start_server(args.server, port, env, folder / "server.log", python)
    description += (
        ", runtime packages only (requirements.lock, as deployed)"
        if args.packages == "runtime"
        else ", with the development tools (.venv)"
    )
    try:
        pid = serving_pid(server)
        portal = Portal(port, cookies)
        portal.upload(report.pk, warm, "warm-up.mp4")  # every code path imported once
        after_warm_up = memory_mb(pid)

        started = time.perf_counter()
        answer = portal.upload(report.pk, source, "开幕式全程.mp4")
        seconds = time.perf_counter() - started
        peak = memory_mb(pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    copy_after = copy_seconds(source, folder)
    bare = (
        bare_ceiling(python, folder, source, int(answer_chunk_mb(portal) * 1024**2))
        if "gunicorn" in description
        else float("nan")
    )
    copy = min(copy_before, copy_after)
    media = FeedbackMedia.objects.get(pk=answer["media"]["id"])
    stored = Path(private) / media.file.name
    identical = media.sha256 == checksum and stored.stat().st_size == size
    throughput = size / 1024**2 / seconds
    copy_throughput = size / 1024**2 / copy
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
        f"Chunks:               {len(portal.timings)} of {answer_chunk_mb(portal):.0f} MB, "
        f"median {timings[len(timings) // 2] * 1000:.0f} ms; the last one (checksum, probe, "
        f"move into storage, poster frame) {portal.timings[-1]:.2f} s"
    )
    print(f"Ratio to copy:        {ratio:.2f}x")
    print(
        f"Bare WSGI app:        {bare:.2f} s, {size / 1024**2 / bare:,.0f} MB/s "
        f"({copy / bare:.2f}x the copy; the portal {bare / seconds:.2f}x of it): the same gunicorn "
        "and chunks into an app that only writes and hashes, for context"
    )
    print(
        f"Server memory:        peak {peak['VmHWM']:.0f} MB (VmHWM, whole life); "
        f"{after_warm_up['VmRSS']:.0f} MB after the warm-up, {peak['VmRSS']:.0f} MB at the end"
    )
    print(
        f"Added by the upload:  {peak['VmHWM'] - after_warm_up['VmHWM']:.0f} MB "
        "(peak after the 1 GB upload minus peak after the warm-up)"
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
        f"\n{'PASS' if verdict else 'FAIL'}: {size / 1024**2:,.0f} MB in {seconds:.1f} s "
        f"({ratio:.2f}x the copy), {peak['VmHWM']:.0f} MB peak "
        f"(targets: {TARGET_RATIO}x, {TARGET_MB:.0f} MB)"
    )
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
