"""Benchmark: which gunicorn worker class and count to run (docs/deploy.md, "Choosing the workers").

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/qm     # seeded: seed_demo
    .venv/bin/python bench/gunicorn_workers.py [--clients 16] [--seconds 10] [--rounds 3] \
        [--quiet 0.25] [--only sync:3,gthread:3x4] [--pool]

It reads an already seeded database (writes nothing but the sessions of nobody: all requests are
anonymous), collects the static files into a temporary folder and starts gunicorn with the
portal's own configuration (qualitymonth/gunicorn_conf.py) in production mode, once per
configuration below, on a free local port. Against each it runs bench/httpload.py: keep-alive
client threads requesting

  - the public list of activities with its cache off (PUBLIC_LIST_CACHE_SECONDS=0, the work of a
    filter combination nobody asked for in the last 30 seconds), cycling through filters;
  - the public page of an activity (always live), cycling through 200 public activities;
  - the same pages while a few other clients (--feeds, 2) pull the whole campaign's iCalendar
    feed (/calendar/activities.ics, seconds each): what long requests (feeds, exports, files
    streamed without nginx) do to everyone else's.

Redis is the cache when REDIS_URL (default redis://127.0.0.1:6379/15) answers, as in
production; the script flushes that database before each run. Prints requests per second and
latency percentiles for each configuration and page, and the ratio of each to the best.
"""

import argparse
import functools
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpload  # noqa: E402

CONFIGURATIONS = [
    # (worker class, workers, threads)
    ("sync", 2, 1),
    ("sync", 3, 1),
    ("sync", 5, 1),
    ("gthread", 2, 4),
    ("gthread", 3, 4),
    ("gthread", 3, 8),
    ("gthread", 5, 2),
]

LIST_PATHS = [
    "/activities/",
    "/activities/?province=330000",
    "/activities/?key_arrangement=2",
    "/activities/?q=%E8%B4%A8%E9%87%8F",  # 质量
    "/activities/?page=2",
    "/activities/?content_area=1",
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent keep-alive clients")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each configuration")
    parser.add_argument(
        "--feeds", type=int, default=2, help="clients pulling the iCalendar feed in detail+feeds"
    )
    parser.add_argument(
        "--quiet",
        type=float,
        default=0.0,
        help="before each run wait (up to 10 minutes) until less than this share of the CPUs "
        "(0-1) is busy: on a shared machine, measure only when little else runs",
    )
    parser.add_argument(
        "--only", default="", help="comma-separated configurations to run, e.g. sync:3,gthread:3x4"
    )
    parser.add_argument("--pool", action="store_true", help="DATABASE_POOL=true (psycopg pool)")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def public_activity_paths(n: int) -> list[str]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qualitymonth.settings")
    django.setup()
    from activities.public_views import activities_public
    from activities.selectors import campaign_current

    campaign = campaign_current()
    ids = list(
        activities_public()
        .filter(campaign=campaign)
        .order_by("pk")
        .values_list("pk", flat=True)[: n * 10 : 10]
    )
    if not ids:
        sys.exit("No public activities: seed the database first (manage.py seed_demo).")
    return [f"/activities/{pk}/" for pk in ids]


def redis_cache_url() -> str | None:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.flushdb()
        return url
    except Exception:
        return None


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer")


PAGES = ("list", "detail", "detail+feeds")
FEED_PATH = "/calendar/activities.ics"


def label_of(worker_class: str, workers: int, threads: int) -> str:
    return f"{worker_class}:{workers}" + (f"x{threads}" if worker_class == "gthread" else "")


@dataclass
class Run:
    rps: float
    p95: float
    cpu_ms: float  # the gunicorn processes' CPU time per request
    load: float  # the share of the CPUs busy with other work just before the run
    server_errors: int
    feeds: int = 0  # whole iCalendar feeds answered beside (detail+feeds)

    def __str__(self):
        feeds = f"  {self.feeds} feeds" if self.feeds else ""
        return (
            f"{self.rps:7.1f} req/s  p95 {self.p95:6.1f} ms  {self.cpu_ms:5.1f} cpu-ms/request  "
            f"(CPUs {self.load:.0%} busy before){feeds}"
        )


def cpu_seconds(master: int) -> float:
    """User + system CPU time of the gunicorn master and its workers, from /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if master in (pid, ppid):
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        if pid == master:  # workers replaced after max_requests: their time went to the master
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_busy(seconds: float = 2.0) -> float:
    """The share of all CPUs busy over the next `seconds` (from /proc/stat)."""

    def sample():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields), idle

    total_before, idle_before = sample()
    time.sleep(seconds)
    total, idle = sample()
    return 1 - (idle - idle_before) / max(1, total - total_before)


def wait_for_quiet(threshold: float, patience: float = 600) -> float:
    """Wait (up to `patience` seconds) until less than `threshold` of the CPUs is busy with
    anything else; returns the share busy when the run starts."""
    deadline = time.monotonic() + patience
    busy = cpu_busy()
    while threshold and busy >= threshold and time.monotonic() < deadline:
        busy = cpu_busy()
    return busy


def _run_into(out: list, *args, **kwargs) -> None:
    out.append(httpload.run(*args, **kwargs))


def _append_cpu(into: list, master: int) -> None:
    into.append(cpu_seconds(master))


def measure(configuration, base_env, detail_paths, args) -> dict[str, Run]:
    worker_class, workers, threads = configuration
    port = free_port()
    env = {
        **base_env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKER_CLASS": worker_class,
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "qualitymonth/gunicorn_conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    results = {}
    try:
        wait_until_up(base + "/health/live", process)
        for page, paths in (("list", LIST_PATHS), ("detail", detail_paths), ("detail+feeds", [])):
            load = wait_for_quiet(args.quiet)
            cpu_before = []
            if page == "detail+feeds":
                # Long requests beside the short ones: calendar apps pulling the whole
                # campaign's iCalendar feed (seconds each) while visitors open activities.
                paths = detail_paths
                feed_results = []
                feeds = threading.Thread(
                    target=_run_into,
                    args=(feed_results, base, [FEED_PATH]),
                    kwargs={"clients": args.feeds, "seconds": args.seconds, "warmup": 0},
                )
                feeds.start()
            result = httpload.run(
                base,
                paths,
                clients=args.clients,
                seconds=args.seconds,
                warmup=args.warmup,
                headers={"Cookie": "django_language=zh-hans"},
                on_measure=functools.partial(_append_cpu, cpu_before, process.pid),
            )
            # The few requests in flight at either end make this approximate, alike for all.
            cpu = cpu_seconds(process.pid) - cpu_before[0]
            feeds_done = 0
            if page == "detail+feeds":
                feeds.join()
                feeds_done = feed_results[0].requests
                cpu = float("nan")  # the feeds' work is in it too
            results[page] = Run(
                rps=result.rps,
                p95=result.percentile(95),
                cpu_ms=cpu * 1000 / max(1, result.requests),
                load=load,
                server_errors=sum(n for code, n in result.statuses.items() if code >= 500)
                + sum(result.errors.values()),
                feeds=feeds_done,
            )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return results


def main() -> int:
    args = parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a seeded PostgreSQL database.")
    detail_paths = public_activity_paths(200)
    cache_url = redis_cache_url()
    static_root = Path(tempfile.mkdtemp(prefix="portal-bench-static-"))
    base_env = {
        **os.environ,
        "PORTAL_MODE": "production",
        "SECRET_KEY": "bench-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(static_root),
        "PUBLIC_LIST_CACHE_SECONDS": "0",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL": "true" if args.pool else "false",
    }
    if cache_url:
        base_env["CACHE_URL"] = cache_url
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=base_env,
        check=True,
    )
    wanted = {item.strip() for item in args.only.split(",") if item.strip()}
    configurations = [c for c in CONFIGURATIONS if not wanted or label_of(*c) in wanted]
    print(
        f"{os.cpu_count()} CPUs, {args.clients} keep-alive clients, {args.seconds:.0f} s per run "
        f"after {args.warmup:.0f} s warm-up, {args.rounds} rounds (configurations interleaved); "
        f"cache: {'Redis' if cache_url else 'local memory'}; "
        f"database pool: {'on' if args.pool else 'off (persistent connections)'}"
    )
    runs: dict[tuple[str, str], list[Run]] = {}
    try:
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}", flush=True)
            for configuration in configurations:
                label = label_of(*configuration)
                for page, result in measure(configuration, base_env, detail_paths, args).items():
                    runs.setdefault((label, page), []).append(result)
                    print(f"  {label:<12} {page:<7} {result}", flush=True)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)

    print(
        "\nBest of the rounds (the run least disturbed by anything else on the machine): requests"
        "\nper second, its ratio to the best configuration, p95 latency; and the median over the"
        "\nrounds of the workers' own CPU time per request"
    )
    best = {
        page: max(max(r.rps for r in runs[(label_of(*c), page)]) for c in configurations)
        for page in PAGES
    }
    for page in PAGES:
        print(f"  {page}")
        for configuration in configurations:
            label = label_of(*configuration)
            top = max(runs[(label, page)], key=lambda r: r.rps)
            cpu = statistics.median(r.cpu_ms for r in runs[(label, page)])
            cpu_text = "" if math.isnan(cpu) else f"  {cpu:4.1f} cpu-ms/request"
            feeds = f"  ({top.feeds} feeds beside)" if top.feeds else ""
            print(
                f"    {label:<13}{top.rps:7.1f} req/s ({top.rps / best[page]:.2f}x)  "
                f"p95 {top.p95:5.0f} ms{cpu_text}{feeds}"
            )
    failures = sum(r.server_errors for results in runs.values() for r in results)
    print(f"\nServer errors: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    # Stopped with SIGTERM: stop the gunicorn being measured too (the finally blocks run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
