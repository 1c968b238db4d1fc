"""Sightings API speed with 100,000 observations: items query (bbox + datetime + limit 100) and writes.

Usage: .venv/bin/python bench/overlays.py [--n 100000] [--queries 300] [--writes 200]
Fills a fresh data dir through the store (one transaction), starts `tumen serve` on a free port and
times real HTTP requests from one client. Targets (issue 4): query p95 < 20 ms, write p95 < 30 ms.
"""

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from overlays.models import ObservationIn  # noqa: E402
from tumen.db import open_store  # noqa: E402
from tumen.settings import Settings  # noqa: E402

BOX = (130.600, 42.412, 130.651, 42.432)  # bridge + khasan + tumangang
START = datetime(2022, 1, 1, tzinfo=UTC)


def feature(rng: random.Random) -> dict:
    lon, lat = rng.uniform(BOX[0], BOX[2]), rng.uniform(BOX[1], BOX[3])
    site = "tumangang" if lon < 130.62 else ("khasan" if lat > 42.423 else "bridge")
    when = START + timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60))
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "site": site,
            "observed_at": when.isoformat(),
            "kind": rng.choice(["wagon", "train", "cargo"]),
            "count": rng.randrange(0, 80),
            "method": "automated",
            "description": "generated",
        },
    }


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--writes", type=int, default=200)
    args = ap.parse_args()
    rng = random.Random(1)
    data = Path(tempfile.mkdtemp(prefix="tumen-bench-overlays-"))
    settings = Settings(data_dir=data)
    t0 = time.perf_counter()
    store = open_store(settings)
    store.create_many(
        [(None, ObservationIn.model_validate(feature(rng))) for _ in range(args.n)], actor="bench"
    )
    load_s = time.perf_counter() - t0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "TUMEN_DATA_DIR": str(data),
        "TUMEN_API_KEY": "bench",
        "TUMEN_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/tumen"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/api/collections/observations/items"
    try:
        with httpx.Client(timeout=30) as client:
            for _ in range(100):
                try:
                    client.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            q_ms, returned = [], []
            for _ in range(args.queries):
                w, s_ = rng.uniform(BOX[0], BOX[2] - 0.01), rng.uniform(BOX[1], BOX[3] - 0.005)
                day = START + timedelta(days=rng.randrange(0, 700))
                params = {
                    "bbox": f"{w},{s_},{w + 0.01},{s_ + 0.005}",
                    "limit": 100,
                    "datetime": f"{day.date()}/{(day + timedelta(days=30)).date()}",
                }
                t = time.perf_counter()
                r = client.get(base, params=params)
                q_ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
                returned.append(r.json()["numberReturned"])
            w_ms = []
            for _ in range(args.writes):
                t = time.perf_counter()
                r = client.post(base, json=feature(rng), headers={"X-API-Key": "bench"})
                w_ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 201
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(
        f"{args.n} observations loaded in {load_s:.1f} s; queries returned {statistics.mean(returned):.0f} features on average"
    )
    print("| request | n | p50 ms | p95 ms | target p95 |\n|---|---|---|---|---|")
    print(
        f"| items: bbox + datetime + limit 100 | {args.queries} | {pct(q_ms, 50):.1f} | {pct(q_ms, 95):.1f} | < 20 ms ({'ok' if pct(q_ms, 95) < 20 else 'over'}) |"
    )
    print(
        f"| POST one sighting | {args.writes} | {pct(w_ms, 50):.1f} | {pct(w_ms, 95):.1f} | < 30 ms ({'ok' if pct(w_ms, 95) < 30 else 'over'}) |"
    )


if __name__ == "__main__":
    main()
