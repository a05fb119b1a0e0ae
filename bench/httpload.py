"""A small HTTP load generator: N client threads, each with its own keep-alive connection
(http.client), requesting a list of paths in turn for a fixed time.

    .venv/bin/python bench/httpload.py http://127.0.0.1:8000 /activities/ /activities/1/ \\
        --clients 16 --seconds 20

Prints requests per second, latency percentiles (p50, p95, p99) and the status codes seen. Used
by bench/gunicorn_workers.py; also handy on its own against any running server.

Threads and the GIL: one Python process can drive roughly 2,000-4,000 small requests per second
on this kind of machine before the generator itself is the limit; the portal's pages run well
below that, so the figures measure the server, not the client. Run it on the same machine as the
server only if you accept that the two share the CPUs (the figures then compare configurations
with one another, which is what they are for).
"""

import argparse
import http.client
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """The p-th percentile latency in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000

    def summary(self) -> str:
        codes = " ".join(f"{code}:{n}" for code, n in sorted(self.statuses.items()))
        errors = " ".join(f"{kind}:{n}" for kind, n in self.errors.items())
        return (
            f"{self.rps:8.1f} req/s  p50 {self.percentile(50):7.1f} ms  "
            f"p95 {self.percentile(95):7.1f} ms  p99 {self.percentile(99):7.1f} ms  "
            f"[{codes}]{'  errors ' + errors if errors else ''}"
        )


def _client(host, port, paths, headers, deadline, warmup_until, out: Result, lock, offset):
    connection = http.client.HTTPConnection(host, port, timeout=30)
    latencies, statuses, errors = [], Counter(), Counter()
    i = offset
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        path = paths[i % len(paths)]
        i += 1
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        except (OSError, http.client.HTTPException) as error:
            errors[type(error).__name__] += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
            continue
        finished = time.perf_counter()
        if started >= warmup_until:
            latencies.append(finished - started)
            statuses[status] += 1
    connection.close()
    with lock:
        out.latencies.extend(latencies)
        out.statuses.update(statuses)
        out.errors.update(errors)


def run(
    base_url: str,
    paths: list[str],
    *,
    clients: int = 8,
    seconds: float = 10.0,
    warmup: float = 2.0,
    headers: dict | None = None,
    on_measure=None,
) -> Result:
    """Load `paths` (cycled, each client starting at a different one) from `clients` threads for
    `warmup + seconds`; only requests started after the warm-up count. `on_measure`, if given, is
    called when the warm-up ends."""
    parts = urlsplit(base_url)
    host, port = parts.hostname, parts.port or 80
    headers = {"Host": parts.netloc, **(headers or {})}
    out, lock = Result(), threading.Lock()
    start = time.perf_counter()
    warmup_until = start + warmup
    deadline = warmup_until + seconds
    threads = [
        threading.Thread(
            target=_client,
            args=(host, port, paths, headers, deadline, warmup_until, out, lock, n),
            daemon=True,
        )
        for n in range(clients)
    ]
    timer = threading.Timer(warmup, on_measure) if on_measure else None
    for thread in threads:
        thread.start()
    if timer:
        timer.start()
    for thread in threads:
        thread.join()
    if timer:
        timer.join()
    out.seconds = time.perf_counter() - warmup_until
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--cookie", default="django_language=zh-hans")
    args = parser.parse_args()
    result = run(
        args.base_url,
        args.paths,
        clients=args.clients,
        seconds=args.seconds,
        warmup=args.warmup,
        headers={"Cookie": args.cookie} if args.cookie else None,
    )
    print(result.summary())
    if result.latencies:
        print(
            f"mean {statistics.fmean(result.latencies) * 1000:.1f} ms, {result.requests} requests"
        )


if __name__ == "__main__":
    main()
