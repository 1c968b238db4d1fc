"""Soak: a bounded mixed load against `tumen serve` (2 workers) for a fixed time; memory must stay flat.

Usage: .venv/bin/python bench/soak.py [--seconds 600] [--data-dir DIR] [--clients 6] [--cache-mb 16]

Without --data-dir it builds the demo (`tumen demo --no-bake`) in a temporary dir. It starts `tumen
serve --workers 2` there (no background baking, so the load is the same from start to end) with a
write rate limit too high to throttle, then --clients threads each send one request after another
(at most --clients in flight; a new connection every 50 requests, so both workers get a share):

- tiles (70 %): a random scene, zoom (two below its native zoom, native, one above), tile inside
  its footprint and format (png, jpg, webp);
- items queries (20 %): observations with a site's bbox and a datetime interval around a scene;
- writes (10 %): POST a sighting, or PATCH one of this client's own with If-Match.

RSS of each uvicorn worker (psutil if installed, else /proc) is sampled every second; a worker's RSS
at a moment is the median of its samples over the window before it (10 s, or a sixth of --seconds
when shorter): after the warm-up (same load, default 20 % of --seconds), at half-time and at the end.
Caches fill (tile cache, GDAL block cache, per-thread open datasets, the store growing by the POSTs),
so the whole growth is printed but the flatness target is on the second half of the measured time,
when a leak still grows at its rate and a filled cache no longer does. Targets: 0 errors; each
worker's growth over the second half < 5 % of its RSS at half-time, or its RSS at the end within
5 % of the warmed level (the highest RSS a worker had after the warm-up: workers warm unevenly, and
one may still rise to what its sibling holds); the tile cache bound respected: each worker put many
times TUMEN_TILE_CACHE_MB of rendered tiles into its cache and ended above the warmed level by less
than that (an unbounded cache would have kept them all). Prints a table; exits 1 when a target is
missed. --json FILE writes the figures.
"""

import argparse
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import morecantile

TUMEN = str(Path(sys.executable).with_name("tumen"))
TMS = morecantile.tms.get("WebMercatorQuad")
FORMATS = ("png", "jpg", "webp")
ITEMS = "/api/collections/observations/items"
GROWTH_TARGET = 5.0  # % per worker, over the second half of the measured time
RSS_WINDOW = 10.0  # s at most: a worker's RSS is the median of its samples over the window before


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of a process, MB."""
    try:
        import psutil

        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for {pid}") from None


def worker_pids(server: int) -> list[int]:
    """The uvicorn workers: processes the server spawned (multiprocessing), not other helpers."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if ppid == server and b"spawn_main" in cmdline:
            pids.append(int(stat.parent.name))
    return sorted(pids) or [server]  # one worker: uvicorn serves in the server process


class Sampler:
    """RSS of each worker once a second, in a thread, from start to stop."""

    def __init__(self, pids: list[int]) -> None:
        self.samples: list[tuple[float, dict[int, float]]] = []
        self._stop = threading.Event()
        self._pids = pids
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append((time.monotonic(), {pid: rss_mb(pid) for pid in self._pids}))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _between(self, pid: int, start: float, end: float) -> list[float]:
        return [rss[pid] for t, rss in self.samples if start <= t <= end]

    def median(self, pid: int, start: float, end: float) -> float:
        return statistics.median(self._between(pid, start, end))

    def peak(self, pid: int, start: float, end: float) -> float:
        return max(self._between(pid, start, end))


@dataclass
class Target:
    """What the load picks from: each scene's tiles by zoom, the sites, the scene times."""

    tiles: dict[str, dict[int, tuple[int, int, int, int]]]  # scene → zoom → x0, y0, x1, y1
    sites: list[dict[str, Any]]
    times: list[datetime]


def discover(client: httpx.Client) -> Target:
    tiles: dict[str, dict[int, tuple[int, int, int, int]]] = {}
    times = []
    for item in client.get("/scenes").json()["features"]:
        tj = client.get(f"/scenes/{item['id']}/WebMercatorQuad/tilejson.json").json()
        w, s, e, n = tj["bounds"]
        # Inside the footprint: the tiles of a slightly shrunk bbox.
        dx, dy = (e - w) * 0.05, (n - s) * 0.05
        tiles[item["id"]] = {}
        for z in range(tj["maxzoom"] - 2, tj["maxzoom"] + 2):  # a client's zooms around native
            nw, se = TMS.tile(w + dx, n - dy, z), TMS.tile(e - dx, s + dy, z)
            tiles[item["id"]][z] = (nw.x, nw.y, se.x, se.y)
        times.append(datetime.fromisoformat(item["properties"]["datetime"]))
    sites = client.get("/sites").json()["sites"]
    return Target(tiles, sites, times)


@dataclass
class Tally:
    """Counts per request kind, errors (with a few examples), and tile bytes by source."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    sources: Counter[str] = field(default_factory=Counter)
    dynamic_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, r: httpx.Response | Exception, ok: tuple[int, ...]) -> None:
        with self.lock:
            self.requests[kind] += 1
            if isinstance(r, Exception) or r.status_code not in ok:
                self.errors[kind] += 1
                if len(self.examples) < 10:
                    what = (
                        repr(r) if isinstance(r, Exception) else f"{r.status_code} {r.text[:200]}"
                    )
                    self.examples.append(f"{kind}: {what}")
                return
            source = r.headers.get("x-tumen-source")
            if source:
                self.sources[source] += 1
                if source == "dynamic":
                    self.dynamic_bytes += len(r.content)


def sighting(rng: random.Random, site: dict[str, Any], when: datetime) -> dict[str, Any]:
    w, s, e, n = site["bbox"]
    lon, lat = rng.uniform(w, e), rng.uniform(s, n)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "site": site["id"],
            "observed_at": (when + timedelta(minutes=rng.randrange(-600, 600))).isoformat(),
            "kind": rng.choice(["wagon", "train", "container", "ship"]),
            "count": rng.randrange(1, 80),
            "method": "manual",
            "description": "soak",
        },
    }


def client_loop(
    base: str, key: str, target: Target, tally: Tally, stop: threading.Event, seed: int
) -> None:
    rng = random.Random(seed)
    mine: list[tuple[str, int]] = []  # this client's sightings and their versions (bounded)
    scenes = list(target.tiles)
    while not stop.is_set():
        # A new connection every 50 requests, as browsers and proxies do: connections (and so
        # requests) spread over the workers, whichever accepted first.
        with httpx.Client(base_url=base, timeout=60, headers={"X-API-Key": key}) as c:
            for _ in range(50):
                if stop.is_set():
                    break
                request_one(c, rng, scenes, target, tally, mine)


def request_one(
    c: httpx.Client,
    rng: random.Random,
    scenes: list[str],
    target: Target,
    tally: Tally,
    mine: list[tuple[str, int]],
) -> None:
    """One request of a kind drawn by its share of the load; its answer counted."""
    roll = rng.random()
    if roll < 0.70:
        sid = rng.choice(scenes)
        z = rng.choice(list(target.tiles[sid]))
        x0, y0, x1, y1 = target.tiles[sid][z]
        x, y = rng.randint(x0, x1), rng.randint(y0, y1)
        fmt = rng.choice(FORMATS)
        send(
            tally,
            f"tile {fmt}",
            (200,),
            c.get,
            f"/scenes/{sid}/tiles/WebMercatorQuad/{z}/{x}/{y}.{fmt}",
        )
    elif roll < 0.90:
        site, when = rng.choice(target.sites), rng.choice(target.times)
        span = (
            f"{(when - timedelta(days=30)).isoformat()}/{(when + timedelta(days=30)).isoformat()}"
        )
        params = {
            "bbox": ",".join(map(str, site["bbox"])),
            "datetime": span,
            "limit": str(rng.choice([10, 100])),
        }
        send(tally, "items query", (200,), c.get, ITEMS, params=params)
    elif roll < 0.95 or not mine:
        site, when = rng.choice(target.sites), rng.choice(target.times)
        r = send(tally, "POST sighting", (201,), c.post, ITEMS, json=sighting(rng, site, when))
        if r is not None and r.status_code == 201:
            mine.append((r.json()["id"], 1))
            del mine[:-50]
    else:
        i = rng.randrange(len(mine))
        fid, version = mine[i]
        body = {"properties": {"count": rng.randrange(1, 80)}}
        headers = {"If-Match": f'"{version}"'}
        r = send(
            tally, "PATCH sighting", (200,), c.patch, f"{ITEMS}/{fid}", json=body, headers=headers
        )
        if r is not None and r.status_code == 200:
            mine[i] = (fid, version + 1)


def send(
    tally: Tally, kind: str, ok: tuple[int, ...], method: Any, url: str, **kw: Any
) -> httpx.Response | None:
    try:
        r = method(url, **kw)
    except httpx.HTTPError as err:
        tally.record(kind, err, ok)
        return None
    tally.record(kind, r, ok)
    return r


def build_demo(data_dir: Path) -> None:
    env = {**os.environ, "TUMEN_DATA_DIR": str(data_dir)}
    subprocess.run([TUMEN, "demo", "--no-bake"], env=env, check=True, stdout=subprocess.DEVNULL)


def start_server(
    data_dir: Path, key: str, workers: int, cache_mb: int, extra: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        **extra,
        "TUMEN_DATA_DIR": str(data_dir),
        "TUMEN_API_KEY": key,
        "TUMEN_TILE_CACHE_MB": str(cache_mb),
        "TUMEN_WRITE_RATE": "100000000",  # the per-key write limit must not throttle the soak
        "TUMEN_BAKE_ON_SERVE": "false",
        "TUMEN_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [TUMEN, "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                # Every worker up: as many workers as asked for, each answered at least once.
                if len(worker_pids(proc.pid)) >= workers or workers == 1:
                    return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("tumen serve exited at start-up")
        time.sleep(0.2)
    raise RuntimeError("tumen serve did not answer in 60 s")


def run_load(
    base: str, key: str, target: Target, tally: Tally, clients: int, seconds: float
) -> None:
    stop = threading.Event()
    threads = [
        threading.Thread(target=client_loop, args=(base, key, target, tally, stop, n), daemon=True)
        for n in range(clients)
    ]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout=120)


def report(
    args: argparse.Namespace,
    tally: Tally,
    rss: dict[int, tuple[float, float, float, float]],
    warm: Tally,
    elapsed: float,
) -> tuple[str, dict[str, Any]]:
    lines = [
        f"soak: {elapsed:.0f} s measured after {args.warmup:.0f} s of warm-up, {args.clients} clients, "
        f"{args.workers} workers, TUMEN_TILE_CACHE_MB={args.cache_mb}",
        "",
        "| requests | count | req/s | errors |",
        "|---|---:|---:|---:|",
    ]
    for kind in sorted(tally.requests):
        n = tally.requests[kind]
        lines.append(f"| {kind} | {n} | {n / elapsed:.1f} | {tally.errors[kind]} |")
    total, errors = sum(tally.requests.values()), sum(tally.errors.values())
    lines.append(f"| **all** | {total} | {total / elapsed:.1f} | {errors} |")
    lines += [
        "",
        "| worker | RSS after warm-up MB | at half-time MB | at end MB | peak MB | growth "
        "| growth, 2nd half |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    growths, late = {}, {}
    for pid, (start, mid, end, peak) in rss.items():
        growths[pid] = (end - start) / start * 100
        late[pid] = (end - mid) / mid * 100
        lines.append(
            f"| {pid} | {start:.1f} | {mid:.1f} | {end:.1f} | {peak:.1f} | {growths[pid]:+.1f} % "
            f"| {late[pid]:+.1f} % |"
        )
    # Tiles rendered during the measured time are misses, each put into a worker's cache: an
    # unbounded cache would grow by all of them. Bounded, it must have let most of them go.
    offered = tally.dynamic_bytes / 2**20 / len(rss)  # per worker (connections spread the load)
    # Workers do not warm up alike (the load spreads unevenly): one that starts the measured time
    # below its sibling may still fill the same caches up to the level the sibling already holds.
    # Growth is measured above that level; a leak goes past it.
    level = max(start for start, _, _, _ in rss.values())
    grew = max(end for _, _, end, _ in rss.values()) - level
    exercised = offered >= 4 * args.cache_mb
    cache_ok = exercised and grew < offered
    flat = {
        pid: late[pid] < GROWTH_TARGET or end <= level * (1 + GROWTH_TARGET / 100)
        for pid, (_, _, end, _) in rss.items()
    }
    sources = ", ".join(f"{k} {v}" for k, v in sorted((warm.sources + tally.sources).items()))
    lines += [
        "",
        f"tiles by source (whole run): {sources}; after warm-up each worker put ~{offered:.0f} MB of "
        f"rendered tiles into its cache bounded at {args.cache_mb} MB; the workers ended at most "
        f"{grew:+.1f} MB above the warmed level",
        "",
        "| target | value | |",
        "|---|---|---|",
        f"| errors = 0 | {errors} | {'ok' if errors == 0 else 'MISSED'} |",
        f"| RSS growth over the 2nd half < {GROWTH_TARGET:.0f} % per worker, or within "
        f"{GROWTH_TARGET:.0f} % of the warmed level ({level:.0f} MB) | "
        f"{max(late.values()):+.1f} % | {'ok' if all(flat.values()) else 'MISSED'} |",
        f"| tile cache bound ({args.cache_mb} MB/worker) respected: growth above that level < the "
        f"{offered:.0f} MB put in | {grew:+.1f} MB | "
        f"{'ok' if cache_ok else 'MISSED' if exercised else 'NOT EXERCISED (render more)'} |",
    ]
    if tally.examples:
        lines += ["", "first errors:", *tally.examples]
    figures = {
        "requests": dict(tally.requests),
        "errors": dict(tally.errors),
        "error_total": errors,
        "rss": {
            str(pid): {"start": s, "half": h, "end": e, "peak": p}
            for pid, (s, h, e, p) in rss.items()
        },
        "growth_pct": {str(pid): g for pid, g in growths.items()},
        "late_growth_pct": {str(pid): g for pid, g in late.items()},
        "offered_mb_per_worker": offered,
        "cache_mb": args.cache_mb,
        "warmed_level_mb": level,
        "flat": {str(pid): ok for pid, ok in flat.items()},
        "cache_ok": cache_ok,
        "ok": errors == 0 and all(flat.values()) and cache_ok,
    }
    return "\n".join(lines), figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600, help="measured time after the warm-up")
    ap.add_argument(
        "--warmup", type=float, default=None, help="default: 20 %% of --seconds, 10–120 s"
    )
    ap.add_argument("--data-dir", type=Path, help="default: the demo, built in a temporary dir")
    ap.add_argument("--clients", type=int, default=6, help="requests in flight at most")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache-mb", type=int, default=16, help="TUMEN_TILE_CACHE_MB of the server")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="for the server"
    )
    args = ap.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(120.0, max(10.0, args.seconds / 5))
    with tempfile.TemporaryDirectory(prefix="tumen-soak-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            print(f"building the demo in {data_dir} (tumen demo --no-bake) ...", flush=True)
            build_demo(data_dir)
        key = secrets.token_urlsafe(16)
        extra = dict(item.split("=", 1) for item in args.env)
        proc, base = start_server(data_dir, key, args.workers, args.cache_mb, extra)
        try:
            with httpx.Client(base_url=base, timeout=60) as c:
                target = discover(c)
            pids = worker_pids(proc.pid)
            sampler = Sampler(pids)
            warm = Tally()
            run_load(base, key, target, warm, args.clients, args.warmup)
            warmed = time.monotonic()
            tally = Tally()
            run_load(base, key, target, tally, args.clients, args.seconds)
            ended = time.monotonic()
            elapsed = ended - warmed
            sampler.stop()
            assert worker_pids(proc.pid) == pids, "a worker was replaced during the soak"
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    window = min(RSS_WINDOW, args.seconds / 6)
    half = warmed + elapsed / 2
    rss = {
        pid: (
            sampler.median(pid, warmed - window, warmed),
            sampler.median(pid, half - window, half),
            sampler.median(pid, ended - window, ended),
            sampler.peak(pid, warmed, ended),
        )
        for pid in pids
    }
    table, figures = report(args, tally, rss, warm, elapsed)
    warm_errors = sum(warm.errors.values())
    if warm_errors:
        table += f"\n\nerrors during the warm-up: {warm_errors} ({'; '.join(warm.examples[:3])})"
        figures["ok"] = False
    print(table)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
