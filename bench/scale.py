"""Scale-out: the same tile and items loads through nginx at 1, 2 and 3 tumen instances, per backend.

Usage: .venv/bin/python bench/scale.py [--backends sqlite+local,postgres+s3] [--instances 1,2,3]
       [--duration 8] [--concurrency 16] [--scene border-20221104T1310] [--json FILE]

For each backend it starts the engines it needs from this machine's packages (PostgreSQL 15 with
PostGIS and SeaweedFS, as the tests do: tests/engines/), builds the demo data set into them
(`tumen demo`, synthetic), bakes one scene (`tumen bake SCENE`) and posts a few hundred sightings,
then for each instance count starts that many `tumen serve` (1 worker each, no baker) behind nginx
running deploy/nginx-multi.conf and runs two wrk loads of --duration seconds through nginx:

- tiles: the baked scene's interior tiles at z15–z18 (600 distinct, as bench/tiles.py), with nginx's
  tile cache turned off (every request reaches an instance; nginx still asks an instance which
  version a tile is, from its 1 s cache): what the instances serve, not what nginx's cache does;
- items: sightings queries (a site's bbox, a 60-day window around a scene, 10 or 100 items).

With one instance the loads also run straight at it ("direct"): the difference is nginx's cost.

It prints requests/s, p50/p99, errors (non-2xx and socket errors), S3 GETs per tile request
(SeaweedFS's own request counter), and the most PostgreSQL connections open during the load
(pg_stat_activity, sampled every 0.1 s). Backends: sqlite+local (the SQLite file and the data dir,
shared by instances on one machine), postgres+local, sqlite+s3, postgres+s3.
"""

import argparse
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.engines.nginx import Nginx  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_tiles", Path(__file__).with_name("tiles.py"))
assert _spec is not None and _spec.loader is not None
bench_tiles = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_tiles)  # wrk, tile_paths, Proc, wait_ready, free_port

TUMEN = str(ROOT / ".venv" / "bin" / "tumen")
ITEMS = "/api/collections/observations/items"
KEY = "scale-bench-key"


@dataclass
class Row:
    backend: str
    load: str
    instances: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    s3_gets_per_request: float | None
    pg_connections_peak: int | None


@dataclass
class Backend:
    """What the instances and the CLI are pointed at, and how to read the engines' counters."""

    name: str
    env: dict[str, str]
    s3_gets: Callable[[], int] | None = None
    pg_connections: Callable[[], int] | None = None


@contextmanager
def backend(name: str, work: Path) -> Iterator[Backend]:
    """Start the engines ``name`` needs (postgres, s3), yield the settings that use them."""
    database, storage = name.split("+")
    env = {"TUMEN_DATA_DIR": str(work / f"data-{name}")}
    stops: list[Callable[[], None]] = []
    result = Backend(name, env)
    try:
        if database == "postgres":
            import psycopg

            from tests.engines import postgres

            server = postgres.start(work)
            stops.append(server.stop)
            url = postgres.create_database(server, "tumen")
            env["TUMEN_DATABASE_URL"] = url

            def connections() -> int:
                with psycopg.connect(server.url(), autocommit=True) as conn:
                    row = conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'tumen'"
                    ).fetchone()
                    return int(row[0]) if row else 0

            result.pg_connections = connections
        if storage == "s3":
            from tests.engines import seaweed

            s3 = seaweed.start(work)
            stops.append(s3.stop)
            env.update(s3.env())
            env["TUMEN_STORAGE_URL"] = s3.storage_url("bench")
            result.s3_gets = s3.gets
        yield result
    finally:
        for stop in reversed(stops):
            stop()


def tumen(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    """Run a `tumen` command with these settings; its output (raises on failure)."""
    done = subprocess.run(
        [TUMEN, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tumen {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def instance_env(b: Backend) -> dict[str, str]:
    return {
        **b.env,
        "TUMEN_API_KEY": KEY,
        "TUMEN_LOG_LEVEL": "warning",
        "TUMEN_BAKE_ON_SERVE": "false",
        "TUMEN_WORKERS": "1",
        "TUMEN_WRITE_RATE": "0",
    }


def start_instances(b: Backend, n: int) -> list[tuple[Any, str]]:
    """``n`` `tumen serve` processes; (process, host:port) each, all answering /healthz."""
    started = []
    for _ in range(n):
        port = bench_tiles.free_port()
        proc = bench_tiles.Proc([TUMEN, "serve", "--no-bake", "--port", str(port)], instance_env(b))
        started.append((proc, f"127.0.0.1:{port}"))
    for _, address in started:
        bench_tiles.wait_ready(f"http://{address}/healthz", timeout=120)
    return started


def without_tile_cache(config: str) -> str:
    """deploy/nginx-multi.conf with its tile cache off: every tile request reaches an instance."""
    assert "proxy_cache tumen_tiles;" in config
    return config.replace("proxy_cache tumen_tiles;", "proxy_cache off;")


def prepare(b: Backend, scene_id: str, sightings: int) -> tuple[list[str], list[str]]:
    """Demo data, one scene baked, sightings posted: the tile paths and items paths of the loads."""
    t0 = time.monotonic()
    if "TUMEN_DATABASE_URL" in b.env:
        tumen(b.env, "db", "upgrade")
    tumen(b.env, "demo")
    tumen(b.env, "bake", scene_id)
    print(f"  [{b.name}] demo built and {scene_id} baked in {time.monotonic() - t0:.0f} s")
    ((proc, address),) = start_instances(b, 1)
    try:
        base = f"http://{address}"
        with httpx.Client(base_url=base, timeout=60, headers={"X-API-Key": KEY}) as c:
            item = c.get(f"/scenes/{scene_id}").json()
            tilejson = c.get(f"/scenes/{scene_id}/WebMercatorQuad/tilejson.json").json()
            fmt = tilejson["tiles"][0].rsplit(".", 1)[-1]
            sites = c.get("/sites").json()["sites"]
            times = [f["properties"]["datetime"] for f in c.get("/scenes").json()["features"]]
            rng = random.Random(15)
            for n in range(sightings):
                site = rng.choice(sites)
                w, s, e, nn = site["bbox"]
                feature = {
                    "type": "Feature",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [rng.uniform(w, e), rng.uniform(s, nn)],
                    },
                    "properties": {
                        "site": site["id"],
                        "observed_at": rng.choice(times),
                        "kind": rng.choice(["wagon", "train", "container", "ship"]),
                        "count": rng.randrange(1, 80),
                        "method": "manual",
                        "description": f"scale bench sighting {n}",
                    },
                }
                r = c.post(ITEMS, json=feature)
                if r.status_code != 201:
                    raise RuntimeError(f"posting a sighting: {r.status_code} {r.text}")
    finally:
        proc.stop()

    scene = SimpleNamespace(geographic_bounds=tuple(item["bbox"]))
    tiles = bench_tiles.tile_paths(
        scene, range(15, 19), 600, fmt, f"/scenes/{scene_id}/tiles/WebMercatorQuad"
    )
    rng = random.Random(7)
    items = []
    for _ in range(40):
        site = rng.choice(sites)
        t = datetime.fromisoformat(rng.choice(times))
        span = f"{(t - timedelta(days=30)).isoformat()}/{(t + timedelta(days=30)).isoformat()}"
        query = httpx.QueryParams(
            {
                "bbox": ",".join(map(str, site["bbox"])),
                "datetime": span,
                "limit": rng.choice(["10", "100"]),
            }
        )
        items.append(f"{ITEMS}?{query}")
    return tiles, items


class Peak:
    """The largest value ``read`` gave, sampled every 0.1 s in a thread while the block runs."""

    def __init__(self, read: Callable[[], int] | None) -> None:
        self.read, self.value = read, None if read is None else 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        assert self.read is not None
        while not self.stop.is_set():
            self.value = max(self.value or 0, self.read())
            time.sleep(0.1)

    def __enter__(self) -> "Peak":
        if self.read is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.read is not None:
            self.thread.join(timeout=10)


def measure(
    b: Backend, n: int, loads: dict[str, list[str]], args: argparse.Namespace, work: Path
) -> list[Row]:
    """The loads through nginx in front of ``n`` instances (and, for one, without nginx too)."""
    rows = []
    instances = start_instances(b, n)
    nginx = Nginx([address for _, address in instances], edit=without_tile_cache)
    targets = [(nginx.url, "")]
    if (
        n == 1
    ):  # what nginx (and its resolve request) costs: the same loads straight to the instance
        targets.append((f"http://{instances[0][1]}", " direct"))
    try:
        for base, how in targets:
            for name, paths in loads.items():
                for p in paths[:20]:  # warm: each instance opens its datasets and archives once
                    httpx.get(base + p, timeout=60)
                gets_before = b.s3_gets() if b.s3_gets else 0
                with Peak(b.pg_connections) as peak:
                    rps, p50, p99, errors = bench_tiles.wrk(
                        base, paths, args.duration, args.concurrency, work
                    )
                per_request = None
                if b.s3_gets:
                    per_request = (b.s3_gets() - gets_before) / max(rps * args.duration, 1)
                row = Row(b.name, name + how, n, rps, p50, p99, errors, per_request, peak.value)
                rows.append(row)
                print_row(row)
    finally:
        nginx.stop()
        for proc, _ in instances:
            proc.stop()
    return rows


def print_header() -> None:
    print(
        f"| {'backend':<14} | {'load':<12} | n | {'rps':>8} | {'p50 ms':>7} | {'p99 ms':>8} "
        f"| errors | S3 GET/req | PG conns |"
    )
    print(
        f"|{'-' * 16}|{'-' * 14}|---|{'-' * 10}|{'-' * 9}|{'-' * 10}|--------|------------|----------|"
    )


def print_row(r: Row) -> None:
    s3 = f"{r.s3_gets_per_request:.2f}" if r.s3_gets_per_request is not None else "–"
    pg = str(r.pg_connections_peak) if r.pg_connections_peak is not None else "–"
    print(
        f"| {r.backend:<14} | {r.load:<12} | {r.instances} | {r.rps:>8.1f} | {r.p50_ms:>7.2f} "
        f"| {r.p99_ms:>8.2f} | {r.errors:>6} | {s3:>10} | {pg:>8} |",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="sqlite+local,postgres+s3")
    ap.add_argument("--instances", default="1,2,3")
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument(
        "--scene", default="border-20221104T1310", help="The demo scene baked and loaded."
    )
    ap.add_argument("--sightings", type=int, default=300, help="Sightings posted before the loads.")
    ap.add_argument("--json", type=Path, help="Write the rows here too.")
    args = ap.parse_args()
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            sys.exit(
                f"{tool} is missing: run 'make bench' (it installs Debian's wrk and nginx-light)"
            )
    counts = [int(n) for n in args.instances.split(",")]
    work = Path(tempfile.mkdtemp(prefix="tumen-scale-"))
    work.chmod(0o755)
    rows: list[Row] = []
    try:
        for name in args.backends.split(","):
            with backend(name, work) as b:
                tiles, items = prepare(b, args.scene, args.sightings)
                print_header()
                for n in counts:
                    rows += measure(b, n, {"tiles": tiles, "items": items}, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print_header()
    for r in rows:
        print_row(r)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    print(f"\nerrors in all runs: {sum(r.errors for r in rows)}")


if __name__ == "__main__":
    main()
