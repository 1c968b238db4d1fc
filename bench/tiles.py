"""Tile serving speed: vanilla TiTiler vs tumen (dynamic, cached, baked) vs nginx, in one run.

Usage: .venv/bin/python bench/tiles.py [--scene ID] [--duration 8] [--concurrency 8]

Needs Debian's wrk and nginx (`make bench` installs them) and builds a side venv (.venv-bench) with
the same titiler version as tumen's, for the vanilla `titiler.application` reference. Everything runs
on 127.0.0.1; every load run is bounded by --duration.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from io import BytesIO
from pathlib import Path

import httpx
import morecantile
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".venv-bench"
WRK_SCRIPT = Path(__file__).with_name("wrk_paths.lua")
sys.path.insert(0, str(ROOT))

from tiles.aligned import prepare_aligned  # noqa: E402
from tiles.bake import archive_path, bake_scene  # noqa: E402
from tiles.catalog import Catalog, Scene  # noqa: E402
from tiles.export import export_tiles  # noqa: E402
from tumen.settings import Settings  # noqa: E402


@dataclass
class Result:
    name: str
    workers: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    mean_diff: float | None = None  # B: mean |B − A| over the sampled tiles' pixels (grey levels)
    max_diff: int | None = None  # B: the largest |B − A| of any pixel


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_bench_venv() -> Path:
    """A venv with titiler.application at the titiler.core version tumen uses."""
    py = BENCH_VENV / "bin" / "python"
    want = version("titiler.core")
    stamp = BENCH_VENV / f".titiler-{want}"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run(
            [
                str(py),
                "-m",
                "pip",
                "install",
                "-q",
                f"titiler.application=={want}",
                "uvicorn[standard]",
            ],
            check=True,
        )
        stamp.touch()
    return py


def wait_ready(url: str, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


class Proc:
    """A server process started in its own session, stopped with its children."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None):
        self.p = subprocess.Popen(
            cmd,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        try:
            os.killpg(self.p.pid, signal.SIGTERM)
            self.p.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.p.pid, signal.SIGKILL)


def wrk(
    base: str, paths: list[str], duration: int, concurrency: int, work: Path
) -> tuple[float, float, float, int]:
    listing = work / f"paths-{random.random():.8f}.txt"
    listing.write_text("\n".join(paths) + "\n")
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{concurrency}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(WRK_SCRIPT),
            base,
        ],
        env={**os.environ, "PATHS_FILE": str(listing)},
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT"))
    n, sock_err, status_err, dur_us, p50, p99 = (float(v) for v in line.split()[1:])
    return n / (dur_us / 1e6), p50 / 1000, p99 / 1000, int(sock_err + status_err)


def tile_paths(
    scene: Scene, zooms: range, limit: int, fmt: str, prefix: str, query: str = ""
) -> list[str]:
    tms = morecantile.tms.get("WebMercatorQuad")
    w, s, e, n = scene.geographic_bounds
    # Interior tiles only: on edge tiles rio-tiler's own bounds check and ours may disagree.
    tiles = [
        t
        for t in tms.tiles(w, s, e, n, zooms=list(zooms))
        if (b := tms.bounds(t)).left >= w and b.right <= e and b.bottom >= s and b.top <= n
    ]
    random.Random(42).shuffle(tiles)
    return [f"{prefix}/{t.z}/{t.x}/{t.y}.{fmt}{query}" for t in tiles[:limit]]


def tumen_server(data_dir: Path, port: int, workers: int, cache_mb: int) -> Proc:
    env = {
        "TUMEN_DATA_DIR": str(data_dir),
        "TUMEN_TILE_CACHE_MB": str(cache_mb),
        "TUMEN_LOG_LEVEL": "warning",
        # No baking or analysis behind the server: B's scene stays unbaked, no run shares the CPU.
        "TUMEN_BAKE_ON_SERVE": "false",
    }
    cmd = [str(ROOT / ".venv/bin/tumen"), "serve", "--port", str(port), "--workers", str(workers)]
    proc = Proc(cmd, env)
    wait_ready(f"http://127.0.0.1:{port}/healthz")
    return proc


def titiler_server(bench_py: Path, port: int, workers: int) -> Proc:
    cmd = [str(bench_py), "-m", "uvicorn", "titiler.application.main:app", "--port", str(port)]
    proc = Proc([*cmd, "--workers", str(workers), "--log-level", "warning"])
    wait_ready(f"http://127.0.0.1:{port}/healthz")
    return proc


def pixel_difference(
    a_base: str, a_paths: list[str], b_base: str, b_paths: list[str], sample: int = 60
) -> tuple[float, int]:
    """Mean and max |B − A| of the decoded pixels of the first ``sample`` tiles (same requests)."""
    diffs = []
    with httpx.Client(timeout=30) as client:
        for a, b in list(zip(a_paths, b_paths, strict=True))[:sample]:
            ra, rb = client.get(a_base + a), client.get(b_base + b)
            ra.raise_for_status()
            rb.raise_for_status()
            pa = np.asarray(Image.open(BytesIO(ra.content))).astype(int)
            pb = np.asarray(Image.open(BytesIO(rb.content))).astype(int)
            diffs.append(np.abs(pa - pb))
    return float(np.mean([d.mean() for d in diffs])), int(max(d.max() for d in diffs))


def nginx(conf: str, prefix: Path) -> Proc:
    (prefix / "conf").mkdir(parents=True, exist_ok=True)
    path = prefix / "conf" / "nginx.conf"
    path.write_text(conf)
    return Proc(["nginx", "-p", str(prefix), "-c", str(path), "-g", "daemon off;"])


STATIC_CONF = """
worker_processes {workers};
pid nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    types {{ image/jpeg jpg; image/png png; image/webp webp; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /tiles/ {{ alias {root}/; }}
    }}
}}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", help="Scene id of the demo data set (default: the largest).")
    ap.add_argument("--data-dir", type=Path, default=ROOT / "data")
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--tiles", type=int, default=600, help="Distinct tiles per run.")
    ap.add_argument("--only", default="ABCDEF", help="Letters of the runs to make, e.g. DEF.")
    args = ap.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(
                f"{tool} is missing: run 'make bench' (it installs Debian's wrk and nginx-light)"
            )

    demo = Settings(data_dir=args.data_dir)
    catalog = Catalog(demo.database, demo.data_dir)
    scenes = catalog.list()
    if not scenes:
        sys.exit(f"no scenes in {args.data_dir}: run 'tumen demo' first")
    scene = catalog.get(args.scene) if args.scene else max(scenes, key=lambda s: s.width * s.height)
    cog = catalog.local_path(scene)
    print(
        f"scene {scene.id}: {scene.width}×{scene.height} px, {cog.stat().st_size / 1e6:.1f} MB COG"
    )

    bench_py = ensure_bench_venv()
    work = Path(tempfile.mkdtemp(prefix="tumen-bench-"))
    work.chmod(0o755)  # nginx workers run as www-data: they must reach the files and the cache
    results: list[Result] = []
    try:
        # Two data dirs over the very same COG: one never baked (B, C), one baked (D, F).
        dirs = {}
        for name in ("dynamic", "baked"):
            d = work / name
            c = Catalog(d / "tumen.sqlite", d)
            dirs[name] = (
                d,
                c.add(
                    scene.model_copy(
                        update={
                            "path": str(cog.resolve()),
                            "tile_format": None,
                            "baked_version": None,
                        }
                    )
                ),
            )
        # B reads what ingest makes of the file: also its WebMercatorQuad grid (tiles/aligned.py).
        started = time.time()
        dynamic = Catalog(dirs["dynamic"][0] / "tumen.sqlite", dirs["dynamic"][0])
        if "B" in args.only and prepare_aligned(dynamic, dirs["dynamic"][1]):
            print(f"aligned grid for B written in {time.time() - started:.1f} s (done at ingest)")
        baked_scene = bake_scene(
            Catalog(dirs["baked"][0] / "tumen.sqlite", dirs["baked"][0]), dirs["baked"][1]
        )
        assert baked_scene is not None  # nothing else changes this private catalog
        fmt = baked_scene.tile_format or "jpg"
        static_root = work / "static"
        export_tiles(archive_path(dirs["baked"][0], scene.id), static_root, fmt)

        zooms = range(15, 19)
        sid = scene.id
        paths = {
            "png": tile_paths(
                scene, zooms, args.tiles, "png", f"/scenes/{sid}/tiles/WebMercatorQuad"
            ),
            "jpg": tile_paths(
                scene, zooms, args.tiles, "jpg", f"/scenes/{sid}/tiles/WebMercatorQuad"
            ),
        }
        baked_paths = tile_paths(
            scene, zooms, args.tiles, fmt, f"/scenes/{sid}/tiles/WebMercatorQuad"
        )
        static_paths = tile_paths(scene, zooms, args.tiles, fmt, "/tiles")

        def run(name: str, workers: str, base: str, plist: list[str]) -> None:
            rps, p50, p99, errors = wrk(base, plist, args.duration, args.concurrency, work)
            results.append(Result(name, workers, rps, p50, p99, errors))
            print(
                f"  {name:<38} w={workers:<2} {rps:>9.1f} rps  p50 {p50:>7.2f} ms  p99 {p99:>8.2f} ms  errors {errors}"
            )

        def a_paths(fmt: str) -> list[str]:
            return [
                p.replace(f"/scenes/{sid}/tiles", "/cog/tiles") + f"?url={cog.resolve()}"
                for p in paths[fmt]
            ]

        # A and B side by side, alternating per format: load from elsewhere on the machine drifts.
        for workers in (1, 2) if {"A", "B"} & set(args.only) else ():
            servers: dict[str, tuple[Proc, str]] = {}
            try:
                if "A" in args.only:
                    port = free_port()
                    servers["A"] = (
                        titiler_server(bench_py, port, workers),
                        f"http://127.0.0.1:{port}",
                    )
                if "B" in args.only:
                    port = free_port()
                    proc = tumen_server(dirs["dynamic"][0], port, workers, cache_mb=0)
                    servers["B"] = (proc, f"http://127.0.0.1:{port}")
                for f in ("png", "jpg"):
                    if "A" in servers:
                        run(f"A vanilla titiler {f}", str(workers), servers["A"][1], a_paths(f))
                    if "B" in servers:
                        run(
                            f"B tumen dynamic, no cache {f}",
                            str(workers),
                            servers["B"][1],
                            paths[f],
                        )
                    if len(servers) == 2:
                        mean, worst = pixel_difference(
                            servers["A"][1], a_paths(f), servers["B"][1], paths[f]
                        )
                        results[-1].mean_diff, results[-1].max_diff = mean, worst
                        print(f"  B vs A {f}: mean |Δ| {mean:.3f}, max |Δ| {worst} grey levels")
            finally:
                for proc, _ in servers.values():
                    proc.stop()

        for workers in (1, 2) if "C" in args.only else ():
            port = free_port()
            proc = tumen_server(dirs["dynamic"][0], port, workers, cache_mb=256)
            try:
                one = [paths["png"][0]]
                for _ in range(4):
                    httpx.get(f"http://127.0.0.1:{port}{one[0]}")
                run(
                    "C tumen same tile, cache on png", str(workers), f"http://127.0.0.1:{port}", one
                )
            finally:
                proc.stop()

        for workers in (1, 2) if "D" in args.only else ():
            port = free_port()
            proc = tumen_server(dirs["baked"][0], port, workers, cache_mb=256)
            try:
                run(f"D tumen baked {fmt}", str(workers), f"http://127.0.0.1:{port}", baked_paths)
            finally:
                proc.stop()

        for workers in (1, 2) if "E" in args.only else ():
            port = free_port()
            ng = nginx(
                STATIC_CONF.format(workers=workers, port=port, root=static_root),
                work / f"nginx-static-{workers}",
            )
            try:
                wait_ready(f"http://127.0.0.1:{port}{static_paths[0]}")
                run(
                    f"E nginx static files {fmt}",
                    str(workers),
                    f"http://127.0.0.1:{port}",
                    static_paths,
                )
            finally:
                ng.stop()

        if "F" not in args.only:
            return print_table(results)
        upstream = free_port()
        proc = tumen_server(dirs["baked"][0], upstream, 1, cache_mb=256)
        port = free_port()
        conf = (ROOT / "deploy" / "nginx.conf").read_text()
        conf = conf.replace("127.0.0.1:8000", f"127.0.0.1:{upstream}").replace(
            "127.0.0.1:8080", f"127.0.0.1:{port}"
        )
        ng = nginx(conf, work / "nginx-proxy")
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz")
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as warm:
                for p in baked_paths:
                    warm.get(p)
                assert warm.get(baked_paths[0]).headers.get("x-cache-status") == "HIT"
            run(f"F nginx proxy_cache → tumen {fmt}", "1", f"http://127.0.0.1:{port}", baked_paths)
        finally:
            ng.stop()
            proc.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print_table(results)


def print_table(results: list[Result]) -> None:
    print()
    print(
        f"| {'run':<38} | w | {'rps':>9} | {'p50 ms':>7} | {'p99 ms':>8} | errors "
        "| mean Δ vs A | max Δ vs A |"
    )
    print(f"|{'-' * 40}|---|{'-' * 11}|{'-' * 9}|{'-' * 10}|--------|-------------|------------|")
    for r in results:
        mean = f"{r.mean_diff:.3f}" if r.mean_diff is not None else ""
        worst = str(r.max_diff) if r.max_diff is not None else ""
        print(
            f"| {r.name:<38} | {r.workers} | {r.rps:>9.1f} | {r.p50_ms:>7.2f} | {r.p99_ms:>8.2f} "
            f"| {r.errors:>6} | {mean:>11} | {worst:>10} |"
        )

    def best(prefix: str, fmt: str = "") -> float:
        xs = [r.rps for r in results if r.name.startswith(prefix) and r.name.endswith(fmt)]
        return max(xs) if xs else float("nan")

    def at(prefix: str, fmt: str = "", workers: str = "1") -> float:
        xs = [
            r.rps
            for r in results
            if r.name.startswith(prefix) and r.name.endswith(fmt) and r.workers == workers
        ]
        return xs[0] if xs else float("nan")

    def at1(prefix: str, fmt: str = "") -> float:
        return at(prefix, fmt)

    print()
    ratios = [
        ("B/A png (1 worker)", at1("B", "png") / at1("A", "png"), 2),
        ("B/A jpg (1 worker)", at1("B", "jpg") / at1("A", "jpg"), 2),
        ("B/A png (2 workers)", at("B", "png", "2") / at("A", "png", "2"), 2),
        ("B/A jpg (2 workers)", at("B", "jpg", "2") / at("A", "jpg", "2"), 2),
        ("C/A png (1 worker)", at1("C") / at1("A", "png"), 50),
        ("D/A jpg (1 worker)", at1("D") / at1("A", "jpg"), 100),
        ("D/E (best of each)", best("D") / best("E"), 0.1),
        ("F/E (best of each)", best("F") / best("E"), 0.5),
    ]
    print("| ratio | value | target |")
    print("|---|---|---|")
    for name, value, target in ratios:
        mark = "ok" if value >= target else "BELOW"
        print(f"| {name} | {value:.2f} | ≥ {target} ({mark}) |")
    print(f"\nerrors in all runs: {sum(r.errors for r in results)}")


if __name__ == "__main__":
    main()
