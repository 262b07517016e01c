"""Public page benchmark: /publik served to a crowd by the live server.

It creates a throw-away database (SQLite; PostgreSQL too with --pg-url), migrates it, loads the
demo plan (`seratus demo`: the public page on, most programs published), starts
`seratus serve --workers N` (rate limit off, since every client comes from 127.0.0.1) and runs
C closed-loop anonymous clients (no think time) for T seconds in two phases:

- `304`: every client revalidates a page it already holds (If-None-Match with the page's
  ETag) — what a returning visitor, a CDN or the reverse proxy costs once max-age has passed;
- `page`: every client fetches full pages (home, a program, the kecamatan list, a kecamatan,
  the method page, in turn) without validators.

It prints requests/s, p50/p95 latency seen by the client, and the p50 server time the app
reports in its `Server-Timing` header (request received → answer started), per phase. The load
generator runs in `--procs` processes of threads on plain http.client and shares the machine's
cores with the server, so the figures are a floor. It asserts nothing about time, but exits
non-zero when any answer was not the expected one.

    python bench/public.py                          # C=16, T=10 s per phase, 2 workers
    python bench/public.py --clients 4 --duration 2 # smoke run
    python bench/public.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

import argparse
import http.client
import multiprocessing
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.live import LiveServer, seratus, throwaway_database

PASSWORD = "banyuasin-100"
_TIMING = re.compile(r"app;dur=([0-9.]+)")


def page_paths(base_url: str) -> list[str]:
    """Home, two programs, the kecamatan list, two kecamatan and the method page."""
    home = httpx.get(f"{base_url}/publik", timeout=30).text
    programs = re.findall(r'href="(/publik/program/\d+)"', home)
    districts_page = httpx.get(f"{base_url}/publik/kecamatan", timeout=30).text
    districts = re.findall(r'href="(/publik/kecamatan/\d+)"', districts_page)
    paths = ["/publik", *programs[:2], "/publik/kecamatan", *districts[:2]]
    return [*dict.fromkeys(paths), "/publik/cara-kami-menilai"]


def _client(
    port: int,
    phase: str,
    paths: list[str],
    etags: dict[str, str],
    offset: int,
    start_at: float,
    duration: float,
    out: dict[str, Any],
    lock: threading.Lock,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    expected = 304 if phase == "304" else 200
    latencies: list[float] = []
    server: list[float] = []
    errors = 0
    i = offset
    while time.time() < start_at:
        time.sleep(0.005)
    end = start_at + duration
    while time.time() < end:
        path = paths[i % len(paths)]
        i += 1
        headers = {"If-None-Match": etags[path]} if phase == "304" else {}
        began = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            errors += 1
            continue
        latencies.append((time.perf_counter() - began) * 1000)
        timing = _TIMING.search(response.getheader("Server-Timing", ""))
        if timing:
            server.append(float(timing.group(1)))
        if response.status != expected:
            errors += 1
    conn.close()
    with lock:
        out["latencies"].extend(latencies)
        out["server"].extend(server)
        out["errors"] += errors


def _generator(
    port: int,
    phase: str,
    paths: list[str],
    etags: dict[str, str],
    threads: int,
    first: int,
    go: Any,
    duration: float,
    queue: "multiprocessing.Queue[dict[str, Any]]",
) -> None:
    queue.put({"ready": True})
    go.wait()
    start_at = time.time()
    out: dict[str, Any] = {"latencies": [], "server": [], "errors": 0}
    lock = threading.Lock()
    workers = [
        threading.Thread(
            target=_client,
            args=(port, phase, paths, etags, first + n, start_at, duration, out, lock),
        )
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(out)


def run_phase(
    server: LiveServer, phase: str, paths: list[str], *, clients: int, duration: float, procs: int
) -> dict[str, Any]:
    etags = {p: httpx.get(f"{server.url}{p}", timeout=30).headers["etag"] for p in paths}
    procs = max(1, min(procs, clients))
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[dict[str, Any]] = context.Queue()
    # The clients start together once every generator process has imported.
    go = context.Event()
    shares = [clients // procs + (1 if n < clients % procs else 0) for n in range(procs)]
    workers = [
        context.Process(
            target=_generator,
            args=(
                server.port,
                phase,
                paths,
                etags,
                shares[n],
                sum(shares[:n]),
                go,
                duration,
                queue,
            ),
        )
        for n in range(procs)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        queue.get(timeout=300)
    go.set()
    total: dict[str, Any] = {"latencies": [], "server": [], "errors": 0}
    for _ in workers:
        part = queue.get(timeout=duration + 300)
        total["latencies"].extend(part["latencies"])
        total["server"].extend(part["server"])
        total["errors"] += part["errors"]
    for worker in workers:
        worker.join()
    return total


def _percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def report(title: str, results: dict[str, dict[str, Any]], duration: float) -> int:
    print(f"\n== {title}")
    print(
        f"{'phase':<6} {'requests':>8} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'server p50 ms':>13} {'errors':>6}"
    )
    errors = 0
    for phase, result in results.items():
        values = result["latencies"]
        errors += result["errors"]
        print(
            f"{phase:<6} {len(values):>8} {len(values) / duration:>8.1f} "
            f"{_percentile(values, 50):>7.2f} {_percentile(values, 95):>7.2f} "
            f"{_percentile(result['server'], 50):>13.2f} {result['errors']:>6}"
        )
    return errors


def bench_one(backend: str, args: argparse.Namespace, folder: Path) -> int:
    with throwaway_database(
        backend, folder=folder / backend, server_url=args.pg_url, tag="public"
    ) as url:
        seratus(url, "migrate")
        seratus(url, "demo", "--password", PASSWORD)
        server = LiveServer(
            url,
            log_path=folder / f"{backend}.log",
            workers=args.workers,
            SERATUS_PUBLIC_RATE_LIMIT="0",
            SERATUS_DATA_DIR=str(folder / f"{backend}-data"),
        )
        with server:  # starts it (LiveServer.__enter__), and stops it on the way out
            paths = page_paths(server.url)
            for path in paths:  # warm each worker's cache of the built site
                for _ in range(args.workers * 2):
                    httpx.get(f"{server.url}{path}", timeout=30)
            results = {
                phase: run_phase(
                    server,
                    phase,
                    paths,
                    clients=args.clients,
                    duration=args.duration,
                    procs=args.procs,
                )
                for phase in ("304", "page")
            }
            sizes = [len(httpx.get(f"{server.url}{p}", timeout=30).content) for p in paths]
        title = (
            f"{backend}, {args.workers} worker(s), {args.clients} clients, "
            f"{args.duration:g} s per phase, pages {min(sizes) // 1024}–{max(sizes) // 1024} KB"
        )
        return report(title, results, args.duration)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server for a second run")
    args = parser.parse_args()
    errors = 0
    with tempfile.TemporaryDirectory(prefix="seratus-public-bench-") as tmp:
        for backend in ("sqlite", "postgresql") if args.pg_url else ("sqlite",):
            errors += bench_one(backend, args, Path(tmp))
    if errors:
        print(f"\n{errors} unexpected answers")
        sys.exit(1)


if __name__ == "__main__":
    main()
