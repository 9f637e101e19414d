#!/usr/bin/env python3
"""Readiness and the scheduler's qualification check at agency scale (issue #20): the check
`GET /api/v1/members/{id}/qualified` (target p95 < 5 ms at 1,000,000 credentials) and
readiness `GET /api/v1/readiness` for a 1,000-member group (target p95 < 50 ms), against the
raw SQL the store runs for them, in the same run.

For each database it seeds a fresh agency with `credence seed` (default 100,000 members x 10
credentials: 1,000,000 credentials), creates through the API a qualification over three of
the seeded types (`all`) and a group of 1,000 members, starts `credence serve` and times over
one keep-alive connection:

- the check for 200 different members (today, and 61 days ago);
- readiness for the 1,000-member group: the whole group as two pages of 500 (the API's
  largest page; the time is the two requests together, one sample), and one page of 200
  (what the /readiness page shows);

next to the same SELECTs run directly on the database through Python's driver
(crates/store/src/reports/readiness.rs and catalog/qualifications.rs; keep them in step).
It prints the query plans and a markdown table, also written to bench/results-readiness.md.

    cargo build --release -p credence
    python3 -m pip install -r bench/requirements.txt   # psycopg, for PostgreSQL
    python3 bench/readiness.py [--db sqlite|postgres|both] [--members 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from qualified import percentiles, run, start  # noqa: E402  (same folder; start waits for the start-up jobs)

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"
PG_DB = "credence_bench_readiness"
CHECK_P95_MS = 5.0
GROUP_P95_MS = 50.0
GROUP_SIZE = 1000


def ids_sql(p: str, db: str) -> str:
    return "(SELECT value AS id FROM json_each(?))" if db == "sqlite" else \
        "(SELECT value::bigint AS id FROM json_array_elements_text(%s::json))"


# The store's SELECTs, in the order the app runs them.
def agency_sql(p):
    return f"SELECT id, slug, name, time_zone, expiring_soon_days, created_at FROM agencies WHERE id = {p}"


def member_sql(p):
    return (f"SELECT id, first_name, last_name, email, employee_number, active, position, supervisor_member_id, "
            f"sort_name, version, created_at, updated_at FROM members WHERE agency_id = {p} AND id = {p}")


def qualification_sql(p):
    return f"SELECT id, name, rule, version, created_at, updated_at FROM qualifications WHERE agency_id = {p} AND id = {p}"


def types_sql(p, db):
    return (f"SELECT qualification_id, credential_type_id FROM qualification_types WHERE agency_id = {p} "
            f"AND qualification_id IN {ids_sql(p, db)} ORDER BY qualification_id, position")


def type_refs_sql(p, db):
    return f"SELECT id, name, state FROM credential_types WHERE +agency_id = {p} AND id IN {ids_sql(p, db)}"


def group_sql(p):
    return f"SELECT id, name FROM agency_groups WHERE agency_id = {p} AND id = {p}"


def group_on_sql(p):
    return f"""SELECT p.member_id, m.first_name, m.last_name, m.sort_name
         FROM group_membership_periods p CROSS JOIN members m
         WHERE p.agency_id = {p} AND p.group_id = {p} AND p.from_date <= {p}
             AND (p.to_date IS NULL OR p.to_date > {p})
             AND m.id = p.member_id AND m.agency_id = p.agency_id
             AND (m.sort_name, m.id) > ({p}, {p})
         ORDER BY m.sort_name, m.id LIMIT {p}"""


def covering_sql(p, db, types=3):
    ids = ids_sql(p, db)
    listed = ", ".join([p] * types)
    return f"""SELECT c.member_id, c.credential_type_id, i.id, i.issue_date, i.expiration_date, i.revoked_at
         FROM credentials c CROSS JOIN issuances i
         WHERE c.agency_id = {p} AND c.member_id IN {ids} AND c.credential_type_id IN ({listed})
             AND i.agency_id = c.agency_id AND i.credential_id = c.id AND i.issue_date <= {p}
             AND (i.expiration_date IS NULL OR i.expiration_date >= {p})"""


class Api:
    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method, path, body=None, expect=200):
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        assert response.status == expect, (path, response.status, data[:300])
        return json.loads(data) if data else None

    def close(self):
        self.conn.close()


def timed(fn, n, warm=3):
    samples, result = [], None
    for k in range(n + warm):
        started = time.perf_counter()
        result = fn(k)
        took = (time.perf_counter() - started) * 1000
        if k >= warm:
            samples.append(took)
    return (*percentiles(samples), result)


def bench(db, args, binary, lines):
    work = Path(tempfile.mkdtemp(prefix=f"credence-readiness-{db}-"))
    env = {**os.environ, "CREDENCE_DATA_DIR": str(work / "data"), "CREDENCE_LOG": "warn"}
    env.pop("CREDENCE_TODAY", None)
    pg = None
    if db == "postgres":
        import psycopg
        with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {PG_DB}")
        env["CREDENCE_DATABASE_URL"] = args.pg_admin_url.rsplit("/", 1)[0] + "/" + PG_DB
    else:
        env.pop("CREDENCE_DATABASE_URL", None)
    run(binary, env, "agency", "create", "--name", "Bench", "--slug", "bench", "--time-zone", "UTC")
    started = time.perf_counter()
    print(run(binary, env, "seed", "--agency", "bench", "--members", str(args.members),
              "--credentials-per-member", str(args.credentials_per_member)), flush=True)
    print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
    if db == "postgres":
        import psycopg
        pg = psycopg.connect(env["CREDENCE_DATABASE_URL"], autocommit=True)
        pg.execute("VACUUM (ANALYZE)")
        # A bulk load leaves shared buffers full of dirty pages, and a timed read that must
        # evict one writes it first: write them out now, as a server in steady use would have.
        pg.execute("CHECKPOINT")
        pg.execute("SET TIME ZONE 'UTC'")

        def execute(sql, params):
            return pg.execute(sql, params).fetchall()
        p = "%s"
    else:
        lite = sqlite3.connect(work / "data" / "credence.sqlite3")

        def execute(sql, params):
            return lite.execute(sql, [x.isoformat() if isinstance(x, dt.date) else x for x in params]).fetchall()
        p = "?"
    agency = execute(f"SELECT id FROM agencies WHERE slug = {p}", ["bench"])[0][0]
    types = [r[0] for r in execute(f"SELECT id FROM credential_types WHERE agency_id = {p} ORDER BY id LIMIT 3", [agency])]
    members = [r[0] for r in execute(f"SELECT id FROM members WHERE agency_id = {p} ORDER BY id", [agency])]
    rng = random.Random(20)
    crew = sorted(rng.sample(members, GROUP_SIZE))
    checked = rng.sample(members, args.requests)
    admin_token = run(binary, env, "token", "create", "--agency", "bench", "--role", "admin")
    port = args.port
    with open(work / "server.log", "w") as log:
        server = start(binary, env, port, log)
    api = Api(port, admin_token)
    try:
        q = api.call("POST", "/api/v1/qualifications", {
            "name": "Engine driver", "credential_type_ids": [f"ctp_{t}" for t in types], "rule": "all"}, expect=201)
        g = api.call("POST", "/api/v1/groups", {"name": "Bench crew", "kind": "station"}, expect=201)
        api.call("PUT", f"/api/v1/groups/{g['id']}/members", {"member_ids": [f"mem_{m}" for m in crew]})
        qid, gid = int(q["id"].split("_")[1]), int(g["id"].split("_")[1])
        # The crew formed long ago, so a past day has a crew to list.
        formed = dt.date.today() - dt.timedelta(days=400)
        if db == "postgres":
            pg.execute("UPDATE group_membership_periods SET from_date = %s WHERE group_id = %s", [formed, gid])
        else:
            lite.execute("UPDATE group_membership_periods SET from_date = ? WHERE group_id = ?", [formed.isoformat(), gid])
            lite.commit()
        today = dt.date.today()
        past = today - dt.timedelta(days=61)
        type_json = json.dumps(types)

        print(f"\n### {db}: plans\n", flush=True)
        explain = "EXPLAIN QUERY PLAN " if db == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
        for name, sql, params in [
            ("one member's covering issuances (the check)", covering_sql(p, db),
             [agency, json.dumps([checked[0]]), *types, today, today]),
            ("a page of 500 of the group", group_on_sql(p), [agency, gid, today, today, "", 0, 501]),
            ("covering issuances of a page of 500", covering_sql(p, db),
             [agency, json.dumps(crew[:500]), *types, today, today]),
        ]:
            plan = execute(explain + sql, params)
            text = "\n".join(str(r[-1]) for r in plan)
            print(f"{name}:\n```\n{text}\n```", flush=True)
            lines.append(f"\n{db}, {name}, plan:\n\n```\n{text}\n```\n")

        reader = run(binary, env, "token", "create", "--agency", "bench", "--role", "officer")
        api.close()
        api = Api(port, reader)
        settings = ""
        if pg is not None:
            settings = f", PostgreSQL shared_buffers {pg.execute('SHOW shared_buffers').fetchone()[0]}"
        lines.append(f"\n#### {db}: {args.members * args.credentials_per_member:,} credentials, "
                     f"{args.requests} requests each ({args.group_requests} per readiness case){settings}\n")
        lines.append("| request | rows | API p50 ms | API p95 ms | raw SQL p50 ms | raw SQL p95 ms | target | met |")
        lines.append("|---|---|---|---|---|---|---|---|")

        def row(label, api_t, raw_t, rows, target):
            a50, a95, _ = api_t
            r50, r95, _ = raw_t
            line = (f"| {label} | {rows} | {a50:.2f} | {a95:.2f} | {r50:.2f} | {r95:.2f} | "
                    f"p95 < {target:g} ms | {'yes' if a95 < target else '**NO**'} |")
            print(line, flush=True)
            lines.append(line)

        for label, on in [("today", today), ("61 days ago", past)]:
            def check(k, on=on):
                m = checked[k % len(checked)]
                return api.call("GET", f"/api/v1/members/mem_{m}/qualified?qualification_id={q['id']}&on={on}")

            def check_raw(k, on=on):
                m = checked[k % len(checked)]
                execute(agency_sql(p), [agency])
                execute(member_sql(p), [agency, m])
                execute(qualification_sql(p), [agency, qid])
                execute(types_sql(p, db), [agency, json.dumps([qid])])
                return execute(covering_sql(p, db), [agency, json.dumps([m]), *types, on, on])
            api_t = timed(check, args.requests)
            raw_t = timed(check_raw, args.requests)
            row(f"`/members/{{id}}/qualified`, {label} (200 members)", api_t, raw_t,
                f"{len(raw_t[2])} issuances", CHECK_P95_MS)

        def readiness_pages(limit, pages, on):
            def go(_k):
                cursor, got = None, 0
                for _ in range(pages):
                    path = f"/api/v1/readiness?qualification_id={q['id']}&group_id={g['id']}&on={on}&limit={limit}"
                    if cursor:
                        path += f"&cursor={cursor}"
                    page = api.call("GET", path)
                    got += len(page["items"])
                    cursor = page["next_cursor"]
                    if not cursor:
                        break
                return got
            return go

        def readiness_raw(limit, pages, on):
            def go(_k):
                after, got = ("", 0), 0
                for _ in range(pages):
                    execute(agency_sql(p), [agency])
                    execute(qualification_sql(p), [agency, qid])
                    execute(types_sql(p, db), [agency, json.dumps([qid])])
                    execute(group_sql(p), [agency, gid])
                    execute(type_refs_sql(p, db), [agency, type_json])
                    people = execute(group_on_sql(p), [agency, gid, on, on, after[0], after[1], limit + 1])
                    page = people[:limit]
                    execute(covering_sql(p, db), [agency, json.dumps([r[0] for r in page]), *types, on, on])
                    got += len(page)
                    if len(people) <= limit:
                        break
                    after = (page[-1][3], page[-1][0])
                return got
            return go

        for label, on in [("today", today), ("61 days ago", past)]:
            for limit, pages, what in [(500, 2, "whole group, 2 pages of 500"), (200, 1, "first page of 200 (the page's size)")]:
                api_t = timed(readiness_pages(limit, pages, on), args.group_requests)
                raw_t = timed(readiness_raw(limit, pages, on), args.group_requests)
                row(f"`/readiness`, {GROUP_SIZE:,}-member group, {what}, {label}", api_t, raw_t,
                    f"{api_t[2]} members", GROUP_P95_MS)
        # A bare round trip, for scale.
        conn = http.client.HTTPConnection("127.0.0.1", port)
        samples = []
        for _ in range(args.requests):
            started = time.perf_counter()
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            samples.append((time.perf_counter() - started) * 1000)
        conn.close()
        h50, h95 = percentiles(samples)
        line = f"\n`/healthz` round trip on the same machine: p50 {h50:.2f} ms, p95 {h95:.2f} ms."
        print(line, flush=True)
        lines.append(line)
    finally:
        api.close()
        server.terminate()
        server.wait()
        if pg is not None:
            pg.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--credentials-per-member", type=int, default=10)
    ap.add_argument("--requests", type=int, default=200, help="checks timed per case")
    ap.add_argument("--group-requests", type=int, default=50, help="readiness samples per case")
    ap.add_argument("--binary", default=str(REPO / "target/release/credence"))
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--port", type=int, default=18557)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="credence-readiness-bin-"))
    binary = str(shutil.copy(args.binary, work / "credence"))  # a rebuild cannot change it mid-run
    build = "debug" if "debug" in args.binary else "release"
    lines = ["# Readiness: benchmark results", "",
             f"`python3 bench/readiness.py --members {args.members} --requests {args.requests}`, "
             f"{build} binary, {os.cpu_count()} cores, {dt.date.today()}. API = the request over HTTP on one "
             "keep-alive connection; raw SQL = the store's SELECTs for it through Python's driver, rows fetched."]
    try:
        for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            bench(db, args, binary, lines)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (BENCH_DIR / "results-readiness.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
