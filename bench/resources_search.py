"""Resource search latency at 100,000 resources: SQLite (FTS5 trigram, LIKE for short queries)
and PostgreSQL (GIN over characters and character pairs), p50 / p95 per query length.

    .venv/bin/python bench/resources_search.py [--n 100000] [--rounds 20] [--postgres URL|auto|none]

The catalogue is synthetic and seeded (names, kana, areas, tags and descriptions built from
Japanese place and trade words), loaded in bulk, then each query of the fixed list (1, 2 and
3+ characters, common, rare and absent) is timed through collector.resources.search — the code
behind GET /api/v1/resources — for one page of 50, and again with the facets the page shows.
`--postgres auto` starts a throwaway cluster with the test harness.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.resources import model, search
from collector.resources.textnorm import index_grams, normalise, spaced
from collector.store import connect, migrate

PLACES = ["花沢", "石津", "大井川", "浜当目", "中港", "本町", "小川", "田尻", "高草", "藤守", "関方",
          "策牛", "八楠", "東小川", "西焼津", "岡当目", "鰯ケ島", "越後島", "保福島", "三右衛門新田"]
THINGS = ["神社", "寺", "の棚田", "茶畑", "商店", "の滝", "公民館", "空き家", "空き店舗", "工房",
          "漁港", "の松並木", "古民家", "酒蔵", "鰹節工場", "竹林", "の湧水", "広場", "灯台", "資料館"]
WORDS = ["祭り", "伝統", "景観", "体験", "鰹節", "干物", "お茶", "みかん", "桜", "散策", "歴史",
         "職人", "手仕事", "子ども", "高齢者", "交流", "朝市", "海", "山", "川"]
KANA = ["はな", "いし", "おお", "なか", "もと", "たか", "ふじ", "せき", "やま", "かわ"]
QUERIES = {  # length class -> queries (common, rare, absent)
    "1": ["山", "茶", "鰹", "鶴"],
    "2": ["神社", "はな", "花沢", "鯨肉"],
    "3+": ["空き家", "鰹節工場", "ハナザワ", "存在しない言葉"],
}


def catalogue(n: int, seed: int = 1) -> list[model.Resource]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        place, thing = rnd.choice(PLACES), rnd.choice(THINGS)
        words = rnd.sample(WORDS, 3)
        desc = f"{place}の{thing.lstrip('の')}。" + "、".join(words) + f"に関わる地域の資源です（{i}）。"
        out.append(model.Resource(
            category=rnd.choice(model.CATEGORIES), name=f"{place}{thing}{i % 97}",
            name_kana=rnd.choice(KANA) + rnd.choice(KANA), description=desc, area=place,
            lat=34.8 + rnd.random() * 0.1, lon=138.25 + rnd.random() * 0.1,
            tags=tuple(words[:2]), status=rnd.choice(model.STATUSES),
            visibility="public" if rnd.random() < 0.9 else "members"))
    return out


def load(db, items: list[model.Resource]) -> float:
    t0 = time.perf_counter()
    db.begin()
    cols = ", ".join(model.COLUMNS)
    marks = ", ".join("?" * (len(model.COLUMNS) + 3))
    rows, docs = [], []
    for i, r in enumerate(items, 1):
        rows.append((i, *model._values(r, 0.0), 0.0, 0.0))
        docs.append((i, model.search_doc(r)))
    for k in range(0, len(rows), 5000):
        db.executemany(f"INSERT INTO resources (id, {cols}, created_at, updated_at) "
                       f"VALUES ({marks})", rows[k:k + 5000])
        if db.dialect == "sqlite":
            db.executemany("INSERT INTO resources_fts (rowid, doc) VALUES (?, ?)",
                           docs[k:k + 5000])
            db.executemany("INSERT INTO resources_fts1 (rowid, doc) VALUES (?, ?)",
                           [(i, spaced(d)) for i, d in docs[k:k + 5000]])
        else:
            db.executemany("UPDATE resources SET doc = ?, grams = ? WHERE id = ?",
                           [(d, index_grams(d), i) for i, d in docs[k:k + 5000]])
        print(f"  loaded {min(k + 5000, len(rows))}/{len(rows)}", file=sys.stderr, end="\r")
    db.commit()
    if db.dialect == "postgresql":
        db.execute("VACUUM ANALYZE")  # what autovacuum does after a bulk load
    print(file=sys.stderr)
    return time.perf_counter() - t0


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def measure(db, rounds: int, with_facets: bool) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in QUERIES}
    for _ in range(rounds):
        for cls, qs in QUERIES.items():
            for q in qs:
                query = search.parse_query({"q": q, "limit": "50"})
                t0 = time.perf_counter()
                search.search(db, query)
                if with_facets:
                    search.facets(db, query)
                times[cls].append((time.perf_counter() - t0) * 1000)
    return times


def measure_like(db, rounds: int) -> list[float]:
    """The peer: the same page by a plain scan of the normalised text (SQLite, instr)."""
    out = []
    for _ in range(rounds):
        for qs in QUERIES.values():
            for q in qs:
                text = normalise(q)
                t0 = time.perf_counter()
                db.execute("SELECT r.id, r.name FROM resources_fts f JOIN resources r ON "
                           "r.id = f.rowid WHERE instr(f.doc, ?) > 0 AND r.review = 'approved' AND "
                           "r.visibility = 'public' ORDER BY f.rowid LIMIT 51",
                           (text,)).fetchall()
                out.append((time.perf_counter() - t0) * 1000)
    return out


def run(name: str, url: str, items: list[model.Resource], rounds: int) -> None:
    db = connect(url)
    migrate(db)
    secs = load(db, items)
    print(f"{name}: loaded {len(items)} resources in {secs:.1f} s")
    measure(db, 1, False)  # warm the caches
    for facets in (False, True):
        times = measure(db, rounds, facets)
        label = "page + facets" if facets else "page of 50"
        allt = [t for ts in times.values() for t in ts]
        parts = "  ".join(f"{cls}-char p50 {pct(ts, 50):.1f} p95 {pct(ts, 95):.1f}"
                          for cls, ts in times.items())
        print(f"  {label:14s} all p50 {pct(allt, 50):.1f} ms p95 {pct(allt, 95):.1f} ms "
              f"(max {max(allt):.1f}) | {parts}")
    if db.dialect == "sqlite":
        like = measure_like(db, rounds)
        print(f"  peer: plain scan p50 {pct(like, 50):.1f} ms p95 {pct(like, 95):.1f} ms "
              f"(max {max(like):.1f})")
    for qs in QUERIES.values():
        for q in qs:
            _, _nxt = search.search(db, search.parse_query({"q": q, "limit": "50"}))
            hits = search.facets(db, search.parse_query({"q": q}))["total"]
            print(f"    {q!r}: {hits}{'+' if hits >= search.FACET_ROWS else ''} matches",
                  file=sys.stderr)
    db.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--postgres", default="auto", help="URL, auto (throwaway cluster) or none")
    a = ap.parse_args()
    items = catalogue(a.n)
    print(f"{len(items)} resources, queries: {QUERIES}")
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", str(Path(tmp) / "bench.sqlite"), items, a.rounds)
        if a.postgres == "none":
            return 0
        server = None
        url = a.postgres
        if url == "auto":
            from tests.harness import Postgres

            server = Postgres().start()
            url = server.new_database()
        try:
            run("PostgreSQL", url, items, a.rounds)
        finally:
            if server is not None:
                server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
