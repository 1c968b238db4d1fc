"""Several instances behind nginx: consistent writes, fresh catalogs, failover, tiles never stale.

Each test prints its figures (run with -s to see them); the README's "More than one machine" and
bench/README.md quote them.
"""

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_cog
from tests.multi.conftest import AUTH, ITEMS, Cluster
from tests.overlays.conftest import sighting

# Module-scoped fixtures read --backend themselves: run again in the backend pass.
pytestmark = pytest.mark.backend

TILE = "WebMercatorQuad/16/56550/24226.png"  # inside every scene of these tests (bridge)
OTHER_TILES = [
    f"WebMercatorQuad/16/{56548 + dx}/{24225 + dy}.png" for dx in range(4) for dy in range(3)
]
FRESH_BOUND_S = 2.0  # the stated bound: a catalog change on one instance is seen by all within it
# deploy/nginx-multi.conf: `proxy_cache_valid 200 1s` of the resolve subrequest; nginx counts whole
# seconds, so an answer is reused for up to 2 s.
PROBE_TTL_S = 2.0


def as_stored(doc: dict[str, Any]) -> dict[str, Any]:
    """A feature without what reads add (links, scene_removed), to compare with what a write returned."""
    doc = {k: v for k, v in doc.items() if k != "links"}
    doc["properties"] = {k: v for k, v in doc["properties"].items() if k != "scene_removed"}
    return doc


# --- writes ------------------------------------------------------------------------------------


def test_a_write_on_one_instance_is_read_on_every_other_every_time(cluster: Cluster) -> None:
    a_b_c = cluster.instances
    clients = [httpx.Client(base_url=i.url, headers=AUTH, timeout=30) for i in a_b_c]
    front = httpx.Client(base_url=cluster.url, headers=AUTH, timeout=30)
    rounds = 50
    try:
        for n in range(rounds):
            writer, patcher = clients[n % 3], clients[(n + 1) % 3]
            created = writer.post(ITEMS, json=sighting(count=n + 1, description=f"round {n}"))
            assert created.status_code == 201, created.text
            fid = created.json()["id"]
            for reader in clients:
                got = reader.get(f"{ITEMS}/{fid}")
                assert got.status_code == 200, (n, reader.base_url, got.text)
                assert as_stored(got.json()) == as_stored(created.json())
            patched = patcher.patch(
                f"{ITEMS}/{fid}",
                json={"properties": {"count": 1000 + n}},
                headers={"If-Match": created.headers["etag"]},
            )
            assert patched.status_code == 200, patched.text
            for reader in [*clients, front]:
                got = reader.get(f"{ITEMS}/{fid}")
                assert got.headers["etag"] == patched.headers["etag"] == '"2"', reader.base_url
                assert got.json()["properties"]["count"] == 1000 + n
            # The same through nginx, which never caches the API: a write, then a read.
            ahead = front.patch(f"{ITEMS}/{fid}", json={"properties": {"count": 2000 + n}})
            assert ahead.status_code == 200
            listed = front.get(ITEMS, params={"limit": 10000}).json()["features"]
            assert [f["properties"]["count"] for f in listed if f["id"] == fid] == [2000 + n]
    finally:
        for c in [*clients, front]:
            c.close()
    print(
        f"\nwrite on one instance, read on the others and through nginx: {rounds} rounds, all fresh"
    )


def test_racing_patches_with_one_if_match_through_nginx_let_exactly_one_through(
    cluster: Cluster,
) -> None:
    racers = 20
    with httpx.Client(base_url=cluster.url, headers=AUTH, timeout=30) as c:
        created = c.post(ITEMS, json=sighting(description="raced"))
        assert created.status_code == 201
        fid, etag = created.json()["id"], created.headers["etag"]
    before = cluster.served_by()
    start = threading.Barrier(racers)
    answers: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    def race(n: int) -> None:
        with httpx.Client(base_url=cluster.url, headers=AUTH, timeout=30) as mine:
            body = {"properties": {"description": f"racer {n}", "count": n}}
            start.wait()
            r = mine.patch(f"{ITEMS}/{fid}", json=body, headers={"If-Match": etag})
            with lock:
                answers.append(
                    (
                        r.status_code,
                        f"racer {n}",
                        r.json()["detail"] if r.status_code == 412 else r.text,
                    )
                )

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = Counter(status for status, _, _ in answers)
    per_instance = cluster.served_by() - before
    print(
        f"\n{racers} racing PATCHes with If-Match {etag}: {dict(statuses)}, by instance {dict(per_instance)}"
    )
    assert statuses == {200: 1, 412: racers - 1}
    assert len(+per_instance) >= 2  # the race did span instances
    winner = next(who for status, who, _ in answers if status == 200)
    assert all('"2"' in text for status, _, text in answers if status == 412)  # names the new ETag
    with httpx.Client(base_url=cluster.instances[2].url, timeout=30) as c:
        now = c.get(f"{ITEMS}/{fid}").json()
        changes = c.get(f"{ITEMS}/{fid}/history").json()["changes"]
    assert now["properties"]["description"] == winner and now["properties"]["version"] == 2
    assert [(ch["version"], ch["action"]) for ch in changes] == [(1, "create"), (2, "patch")]
    assert changes[1]["before"] == changes[0]["after"] and changes[1]["after"] == as_stored(now)


# --- the catalog and tiles -----------------------------------------------------------------


def first(url: str, answer: str, stop: threading.Event, seen: dict[str, float], name: str) -> None:
    """Poll ``url`` every 10 ms; note when it first answers 200 with X-Tumen-Scene ``answer``."""
    with httpx.Client(timeout=10) as c:
        while not stop.is_set():
            r = c.get(url)
            if r.status_code == 200 and r.headers.get("x-tumen-scene") == answer:
                seen[name] = time.monotonic()
                return
            time.sleep(0.01)


def test_a_scene_ingested_on_a_is_served_by_b_and_c_within_the_bound(
    cluster: Cluster, tmp_path: Path
) -> None:
    a, b, c = cluster.instances
    latest = f"{cluster.url}/sites/bridge/tiles/{TILE}"
    old_latest = httpx.get(latest).headers["x-tumen-scene"]
    assert httpx.get(latest).headers["x-cache-status"] == "HIT"  # cached under that scene
    cog = make_cog(tmp_path / "new.tif", seed=11)
    seen: dict[str, float] = {}
    stop = threading.Event()
    watched = [(i.name, f"{i.url}/scenes/fresh-1/tiles/{TILE}") for i in (a, b, c)]
    watched.append(("nginx", latest))  # the site's latest tile, through nginx's cache
    pollers = [
        threading.Thread(target=first, args=(url, "fresh-1", stop, seen, name))
        for name, url in watched
    ]
    for p in pollers:
        p.start()
    try:
        done = cluster.ingest(cog, "fresh-1", "2023-01-05T11:00:00+09:00")
        for p in pollers:
            p.join(timeout=FRESH_BOUND_S + PROBE_TTL_S + 5)
    finally:
        stop.set()
    assert set(seen) == {"a", "b", "c", "nginx"}, seen
    lag = max(seen["b"], seen["c"]) - seen["a"]
    via_nginx = seen["nginx"] - seen["a"]
    print(
        f"\ningest on A → the new scene's tiles on B and C {lag * 1000:+.0f} ms from A; nginx's "
        f"latest site tile switched from {old_latest} to it {via_nginx * 1000:+.0f} ms from A "
        f"(A served it {(seen['a'] - done) * 1000:+.0f} ms from the exit of `tumen ingest`)"
    )
    assert lag < FRESH_BOUND_S
    assert via_nginx < FRESH_BOUND_S + PROBE_TTL_S
    assert seen["a"] < done  # the catalog is written before the command returns
    again = httpx.get(latest)
    assert again.headers["x-tumen-scene"] == "fresh-1"
    assert httpx.get(latest).headers["x-cache-status"] == "HIT"


class Watch:
    """Requests through nginx, one after the other in a thread: (when, ETag, scene) of every answer."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.seen: dict[str, list[tuple[float, str, str]]] = {u: [] for u in urls}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self) -> None:
        with httpx.Client(timeout=30) as c:
            while not self.stop.is_set():
                for u in self.urls:
                    r = c.get(u)
                    assert r.status_code == 200, r.text
                    self.seen[u].append(
                        (time.monotonic(), r.headers["etag"], r.headers["x-tumen-scene"])
                    )
                time.sleep(0.01)

    def switched(self, url: str, etag: str) -> float:
        """When ``url`` first answered ``etag``; asserts it never answered another one after."""
        answers = self.seen[url]
        first = next(i for i, (_, e, _) in enumerate(answers) if e == etag)
        assert all(e == etag for _, e, _ in answers[first:]), f"{url} went back to an old tile"
        return answers[first][0]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def test_cached_tiles_are_never_stale_after_a_re_ingest(cluster: Cluster, tmp_path: Path) -> None:
    a = cluster.instances[0]
    scene_path = f"/scenes/border-a/tiles/{TILE}"
    dated_path = f"/sites/bridge/tiles/{TILE}?datetime=2022-11-04T11:00:00%2B09:00"
    scene_tile, dated = cluster.url + scene_path, cluster.url + dated_path
    with httpx.Client(timeout=30) as front:
        old = {u: front.get(u) for u in (scene_tile, dated)}
        for u in (scene_tile, dated):
            assert front.get(u).headers["x-cache-status"] == "HIT"
    assert old[dated].headers["x-tumen-scene"] == "border-a"

    # border-a drawn anew (same id and time, other pixels), then a scene between border-a and the
    # dated tile's time: each cached tile now stands for something else. Instance A is watched
    # directly too: when it serves the new tile, the catalog has changed.
    watch = Watch([scene_tile, dated, a.url + scene_path, a.url + dated_path])
    try:
        a2 = make_cog(tmp_path / "a2.tif", seed=21)
        redone = cluster.ingest(a2, "border-a", "2022-11-04T10:24:00+09:00")
        mid = make_cog(tmp_path / "mid.tif", seed=22)
        inserted = cluster.ingest(mid, "border-mid", "2022-11-04T10:40:00+09:00")
        time.sleep(FRESH_BOUND_S + PROBE_TTL_S + 0.5)  # long enough to see any flip back
    finally:
        watch.close()
    with httpx.Client(timeout=30) as front:
        new = {u: front.get(u) for u in (scene_tile, dated)}
    assert new[scene_tile].headers["etag"] != old[scene_tile].headers["etag"]
    assert new[scene_tile].content != old[scene_tile].content
    assert new[dated].headers["x-tumen-scene"] == "border-mid"
    assert all(r.headers["x-cache-status"] == "HIT" for r in new.values())
    lag, after_exit = {}, {}
    for name, path, ingested in (
        ("re-ingest", scene_path, redone),
        ("between", dated_path, inserted),
    ):
        etag = new[cluster.url + path].headers["etag"]
        on_a = watch.switched(a.url + path, etag)
        through_nginx = watch.switched(cluster.url + path, etag)
        lag[name], after_exit[name] = through_nginx - on_a, through_nginx - ingested
    print(
        f"\nre-ingest of border-a: nginx served the new tile {lag['re-ingest'] * 1000:+.0f} ms from "
        f"instance A ({after_exit['re-ingest'] * 1000:+.0f} ms from the exit of `tumen ingest`); a "
        f"dated site tile switched to a scene ingested before its time {lag['between'] * 1000:+.0f} "
        f"ms from A ({after_exit['between'] * 1000:+.0f} ms from the exit); never an old tile "
        f"after that ({len(watch.seen[dated])} requests each)"
    )
    assert max(lag.values()) < PROBE_TTL_S + 0.5
    assert max(after_exit.values()) < FRESH_BOUND_S + PROBE_TTL_S


def test_404s_and_errors_are_not_cached_and_a_cached_tile_costs_one_resolve_a_second(
    cluster: Cluster, tmp_path: Path
) -> None:
    missing = f"{cluster.url}/scenes/later/tiles/{TILE}"
    with httpx.Client(timeout=30) as front:
        for _ in range(2):
            r = front.get(missing)
            assert r.status_code == 404 and r.headers["x-cache-status"] == "MISS"
        bad = front.get(f"{cluster.url}/sites/bridge/tiles/{TILE}?datetime=yesterday")
        assert bad.status_code == 400 and "datetime" in bad.text
        done = cluster.ingest(
            make_cog(tmp_path / "later.tif", seed=31), "later", "2022-11-05T10:00:00+09:00"
        )
        while front.get(missing).status_code == 404:
            assert time.monotonic() - done < FRESH_BOUND_S + PROBE_TTL_S, "the 404 stayed"
            time.sleep(0.02)

        path = f"/scenes/border-b/tiles/{OTHER_TILES[0]}"
        front.get(cluster.url + path)
        before = sum(1 for i in cluster.instances for _, p, _ in i.requests() if p == path)
        started, n = time.monotonic(), 0
        while time.monotonic() - started < 3.0:
            assert front.get(cluster.url + path).headers["x-cache-status"] == "HIT"
            n += 1
        took = time.monotonic() - started
    upstream = sum(1 for i in cluster.instances for _, p, _ in i.requests() if p == path) - before
    print(
        f"\na cached tile asked {n} times in {took:.1f} s through nginx: {upstream} resolve requests upstream"
    )
    assert upstream <= took + 2  # one a second at most


# --- failover -------------------------------------------------------------------------------


class Load:
    """Readers (tiles, items) and writers (POST, then PATCH with If-Match) through nginx."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: list[tuple[str, int, dict[str, Any]]] = []
        self.errors: list[tuple[float, str, str]] = []  # (when, GET|write, what)
        self.counts: Counter[str] = Counter()

    def fail(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors.append((time.monotonic(), kind, what))

    def reader(self, n: int) -> None:
        paths = [f"/scenes/border-b/tiles/{t}" for t in OTHER_TILES]
        paths += [f"{ITEMS}?limit=5&offset={k}" for k in range(5)]
        with httpx.Client(base_url=self.url, timeout=30) as c:
            k = n
            while not self.stop.is_set():
                k += 1
                path = paths[k % len(paths)]
                try:
                    r = c.get(path)
                    ok = r.status_code == 200
                    what = f"{r.status_code} {path}"
                except httpx.TransportError as err:
                    ok, what = False, f"{type(err).__name__} {path}"
                with self.lock:
                    self.counts["GET"] += 1
                if not ok:
                    self.fail("GET", what)

    def writer(self, n: int) -> None:
        with httpx.Client(base_url=self.url, headers=AUTH, timeout=30) as c:
            k = 0
            while not self.stop.is_set():
                k += 1
                try:
                    r = c.post(ITEMS, json=sighting(description=f"load {n}.{k}"))
                    with self.lock:
                        self.counts["write"] += 1
                    if r.status_code != 201:
                        self.fail("write", f"POST {r.status_code} {r.text[:100]}")
                        continue
                    self.ack(r)
                    r = c.patch(
                        r.headers["location"],
                        json={"properties": {"count": k}},
                        headers={"If-Match": r.headers["etag"]},
                    )
                    with self.lock:
                        self.counts["write"] += 1
                    if r.status_code != 200:
                        self.fail("write", f"PATCH {r.status_code} {r.text[:100]}")
                        continue
                    self.ack(r)
                except httpx.TransportError as err:
                    self.fail("write", type(err).__name__)

    def ack(self, r: httpx.Response) -> None:
        doc = r.json()
        with self.lock:
            self.acked.append((doc["id"], doc["properties"]["version"], doc))


def test_kill_9_of_one_instance_under_load_fails_over_and_loses_no_acknowledged_write(
    cluster: Cluster,
) -> None:
    a, b, c = cluster.instances
    load = Load(cluster.url)
    threads = [threading.Thread(target=load.reader, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=load.writer, args=(n,)) for n in range(3)]
    before = cluster.served_by()
    for t in threads:
        t.start()
    try:
        time.sleep(2.0)
        killed_at = time.monotonic()
        b.kill9()
        time.sleep(4.0)
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=60)
        b.start()
    served = cluster.served_by() - before
    gets = [e for e in load.errors if e[1] == "GET"]
    writes = [e for e in load.errors if e[1] == "write"]
    late = [e for e in load.errors if e[0] > killed_at + 1.0]
    print(
        f"\nkill -9 of B under load through nginx: {load.counts['GET']} reads, "
        f"{load.counts['write']} writes ({len(load.acked)} acknowledged); errors: {len(gets)} "
        f"reads, {len(writes)} writes {[w[2] for w in writes]}; served {dict(served)}"
    )
    assert not gets  # nginx resends a read to the next instance
    assert len(writes) <= 3  # at most the writes in flight on B when it died
    assert not late
    assert served["a"] and served["c"] and load.counts["GET"] > 100

    b.wait_ready()
    lost = []
    with httpx.Client(base_url=c.url, timeout=30) as check:
        ids = {fid for fid, _, _ in load.acked}
        current = {fid: as_stored(check.get(f"{ITEMS}/{fid}").json()) for fid in ids}
        history = {fid: check.get(f"{ITEMS}/{fid}/history").json()["changes"] for fid in ids}
        for fid, version, doc in load.acked:
            kept = [ch["after"] for ch in history[fid] if ch["version"] == version]
            if kept != [as_stored(doc)] or current[fid]["properties"]["version"] < version:
                lost.append((fid, version))
    assert not lost
    # B, back, sees what A and C were given while it was dead.
    with httpx.Client(base_url=b.url, timeout=30) as back:
        fid, version, _ = load.acked[-1]
        assert (
            back.get(f"{ITEMS}/{fid}").headers["etag"]
            == f'"{current[fid]["properties"]["version"]}"'
        )


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_nginx_never_caches_a_write(cluster: Cluster, method: str) -> None:
    with httpx.Client(base_url=cluster.url, headers=AUTH, timeout=30) as c:
        fid = c.post(ITEMS, json=sighting()).json()["id"]
        for n in range(3):
            if method == "POST":
                r = c.post(ITEMS, json=sighting(count=n + 1))
                assert r.status_code == 201 and r.json()["id"] != fid
                fid = r.json()["id"]
            else:
                r = c.patch(f"{ITEMS}/{fid}", json={"properties": {"count": n + 10}})
                assert r.json()["properties"]["count"] == n + 10
            assert "x-cache-status" not in r.headers
