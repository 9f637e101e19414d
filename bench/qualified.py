#!/usr/bin/env python3
""""Who was qualified on D" at agency scale (issue #18, item 4: p95 < 200 ms at 1,000,000
credentials), against the raw SQL the store runs for it.

For each database it seeds a fresh agency with `credence seed` (default 100,000 members x 10
credentials: 1,000,000 credentials, half of them issued), starts `credence serve` and times
`GET /api/v1/reports/qualified` for one credential type — the whole agency (every member
assigned it: 100,000 listed), one shift (~33,000) and one station (~25,000), today and two
months ago, a page of 500 members (the API's largest) from the start and from the middle of
the alphabet — over one keep-alive connection, next to the same SELECTs run directly on the
database (`group_on` or `tracks_of`, then `issuances_covering`, in
crates/store/src/reports/qualified.rs; keep them in step). It prints the query plans and a markdown table, also written to
bench/results-qualified.md.

    cargo build --release -p credence
    python3 -m pip install -r bench/requirements.txt   # psycopg, for PostgreSQL
    python3 bench/qualified.py [--db sqlite|postgres|both] [--members 100000] [--requests 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"
PG_DB = "credence_bench_qualified"
TARGET_P95_MS = 200.0

# The store's SELECTs (crates/store/src/reports/qualified.rs): one page of the people a
# report names, in name order after a keyset, then the covering issuances of that page's
# tracks; the app joins them by credential.
def group_sql(p: str) -> str:
    return f"""SELECT g.member_id, g.first_name, g.last_name, g.sort_name, g.from_date, g.to_date,
             c.id AS credential_id, c.created_at AS assigned_at
         FROM (SELECT p.member_id, m.first_name, m.last_name, m.sort_name, p.from_date, p.to_date
               FROM group_membership_periods p CROSS JOIN members m
               WHERE p.agency_id = {p} AND p.group_id = {p} AND p.from_date <= {p}
                   AND (p.to_date IS NULL OR p.to_date > {p})
                   AND m.id = p.member_id AND m.agency_id = p.agency_id
                   AND (m.sort_name, m.id) > ({p}, {p})
               ORDER BY m.sort_name, m.id LIMIT {p}) g
         LEFT JOIN credentials c ON c.agency_id = {p} AND c.member_id = g.member_id AND c.credential_type_id = {p}"""


def tracks_sql(p: str) -> str:
    return f"""SELECT c.member_id, m.first_name, m.last_name, c.member_sort_name AS sort_name,
             NULL AS from_date, NULL AS to_date, c.id AS credential_id, c.created_at AS assigned_at
         FROM credentials c CROSS JOIN members m
         WHERE c.agency_id = {p} AND c.credential_type_id = {p}
             AND (c.member_sort_name, c.member_id) > ({p}, {p})
             AND m.id = c.member_id AND m.agency_id = c.agency_id
         ORDER BY c.member_sort_name, c.member_id LIMIT {p}"""


def issuances_sql(p: str, db: str) -> str:
    ids = "(SELECT value AS id FROM json_each(?))" if db == "sqlite" else \
        "(SELECT value::bigint AS id FROM json_array_elements_text(%s::json))"
    return f"""SELECT credential_id, id, issue_date, expiration_date, credential_number, revoked_at
         FROM issuances WHERE agency_id = {p} AND issue_date <= {p}
             AND (expiration_date IS NULL OR expiration_date >= {p}) AND credential_id IN {ids}"""


def group_args(agency, group, on, ty, after, limit):
    sort_name, member = after
    return [agency, group, on, on, sort_name, member, limit, agency, ty]


def tracks_args(agency, on, ty, after, limit):
    sort_name, member = after
    return [agency, ty, sort_name, member, limit]


def cursor(after) -> str:
    """The API's cursor for a page starting after `after` (base64url of its JSON key)."""
    import base64
    raw = json.dumps(list(after), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def run(binary, env, *args, stdin=None):
    return subprocess.run([binary, *args], env=env, input=stdin, text=True, check=True,
                          capture_output=True).stdout.strip()


def start(binary, env, port, log):
    """Starts `credence serve` logging to the open file `log` and answers once it is ready
    and its start-up catch-up (the day's sweep and reminder pass over every seeded
    credential) is over: timings taken beside that pass would measure it too. The "daily
    jobs" line, logged at info by the sweep module, says when it is."""
    env = {**env, "CREDENCE_LOG": "warn,credence_app::credentials::sweep=info"}
    server = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 1800
    ready = False
    while time.time() < deadline and server.poll() is None:
        if not ready:
            try:
                ready = urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz").status == 200
            except OSError:
                pass
        if ready and "daily jobs" in Path(log.name).read_text(errors="replace"):
            return server
        time.sleep(0.2)
    server.kill()
    raise SystemExit(f"the server did not become ready and finish its start-up jobs; see {log.name}")


def percentiles(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2], samples[max(0, int(len(samples) * 0.95) - 1)]


def time_api(port, token, path, n):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"}
    samples, rows = [], 0
    for k in range(n + 3):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        took = (time.perf_counter() - started) * 1000
        assert response.status == 200, (path, response.status, body[:300])
        if k >= 3:  # warm-ups
            samples.append(took)
        rows = len(json.loads(body)["items"])
    conn.close()
    return (*percentiles(samples), rows)


def time_raw(execute, people_query, issuances_query, agency, on, n):
    """One page the way the store reads it: the people, then their tracks' issuances."""
    samples, rows = [], 0
    for k in range(n + 3):
        started = time.perf_counter()
        people = execute(*people_query)
        tracks = json.dumps([r[6] for r in people if r[6] is not None])
        covering = execute(issuances_query, [agency, on, on, tracks])
        took = (time.perf_counter() - started) * 1000
        rows = len(people) + len(covering)
        if k >= 3:
            samples.append(took)
    return (*percentiles(samples), rows)


def time_csv(port, token, path):
    """The whole report as CSV, once: seconds and data lines."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    took = time.perf_counter() - started
    assert response.status == 200, (path, response.status, body[:300])
    conn.close()
    return took, body.count(b"\n") - 1


def bench(db, args, binary, lines):
    work = Path(tempfile.mkdtemp(prefix=f"credence-qualified-{db}-"))
    env = {**os.environ, "CREDENCE_DATA_DIR": str(work / "data"), "CREDENCE_LOG": "warn"}
    env.pop("CREDENCE_TODAY", None)
    pg = None
    if db == "postgres":
        import psycopg
        with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {PG_DB}")
        url = args.pg_admin_url.rsplit("/", 1)[0] + "/" + PG_DB
        env["CREDENCE_DATABASE_URL"] = url
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
        pg.execute("SET TIME ZONE 'UTC'")

        def execute(sql, params):
            return pg.execute(sql, params).fetchall()
        placeholder = "%s"
    else:
        lite = sqlite3.connect(work / "data" / "credence.sqlite3")

        def execute(sql, params):
            return lite.execute(sql, [p.isoformat() if isinstance(p, dt.date) else p for p in params]).fetchall()
        placeholder = "?"
    # The seed makes every membership today; as if the crews had formed long ago, their
    # periods start 400 days back, so the report for a past day has a crew to list.
    formed = dt.date.today() - dt.timedelta(days=400)
    if db == "postgres":
        pg.execute("UPDATE group_membership_periods SET from_date = %s", [formed])
    else:
        lite.execute("UPDATE group_membership_periods SET from_date = ?", [formed.isoformat()])
        lite.commit()
    agency = execute("SELECT id FROM agencies WHERE slug = " + placeholder, ["bench"])[0][0]
    ty = execute("SELECT id FROM credential_types WHERE agency_id = " + placeholder + " ORDER BY id LIMIT 1", [agency])[0][0]
    groups = dict(execute("SELECT name, id FROM agency_groups WHERE agency_id = " + placeholder, [agency]))
    token = run(binary, env, "token", "create", "--agency", "bench", "--role", "auditor")
    port = args.port
    with open(work / "server.log", "w") as log:
        server = start(binary, env, port, log)
    try:
        today = dt.date.today()
        past = today - dt.timedelta(days=61)
        limit = args.limit
        # A page from the middle of the alphabet as well as the first.
        middle = tuple(execute("SELECT sort_name, id FROM members WHERE agency_id = " + placeholder +
                               " ORDER BY sort_name, id LIMIT 1 OFFSET " + str(args.members // 2), [agency])[0])
        first = ("", 0)
        covering = issuances_sql(placeholder, db)
        print(f"\n### {db}: plans\n", flush=True)
        sample_tracks = json.dumps([r[0] for r in execute(
            "SELECT id FROM credentials WHERE agency_id = " + placeholder + " AND credential_type_id = " + placeholder +
            " ORDER BY id LIMIT " + str(limit), [agency, ty])])
        for name, sql, params in [
            ("one shift, a page from the middle", group_sql(placeholder), group_args(agency, groups["B Shift"], past, ty, middle, limit + 1)),
            ("whole agency, a page from the middle", tracks_sql(placeholder), tracks_args(agency, past, ty, middle, limit + 1)),
            ("issuances covering the day of one page's tracks", covering, [agency, past, past, sample_tracks]),
        ]:
            explain = "EXPLAIN QUERY PLAN " if db == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
            plan = execute(explain + sql, params)
            text = "\n".join(str(r[-1]) for r in plan)
            print(f"{name}:\n```\n{text}\n```", flush=True)
            lines.append(f"\n{db}, {name}, plan:\n\n```\n{text}\n```\n")
        lines.append(f"\n#### {db}: {args.members * args.credentials_per_member:,} credentials, "
                     f"pages of {limit}, {args.requests} requests each\n")
        lines.append("| report | page | rows (SQL rows) | API p50 ms | API p95 ms | raw SQL p50 ms | raw SQL p95 ms | p95 < 200 ms |")
        lines.append("|---|---|---|---|---|---|---|---|")
        ty_id = f"ctp_{ty}"
        cases = []
        for label, on in [("today", today), ("61 days ago", past)]:
            for page, after in [("first", first), ("middle", middle)]:
                cases.append((f"whole agency, {label}", page, f"credential_type_id={ty_id}&on={on}", on,
                              (tracks_sql(placeholder), tracks_args(agency, on, ty, after, limit + 1)), after))
                for g in ["B Shift", "Station 2"]:
                    cases.append((f"{g}, {label}", page, f"credential_type_id={ty_id}&group_id=grp_{groups[g]}&on={on}", on,
                                  (group_sql(placeholder), group_args(agency, groups[g], on, ty, after, limit + 1)), after))
        for label, page, query, on, people_query, after in cases:
            path = f"/api/v1/reports/qualified?{query}&limit={limit}"
            if after != first:
                path += f"&cursor={cursor(after)}"
            a50, a95, api_rows = time_api(port, token, path, args.requests)
            r50, r95, raw_rows = time_raw(execute, people_query, covering, agency, on, args.requests)
            line = (f"| {label} | {page} | {api_rows:,} ({raw_rows:,}) | {a50:.1f} | {a95:.1f} | "
                    f"{r50:.1f} | {r95:.1f} | {'yes' if a95 < TARGET_P95_MS else '**NO**'} |")
            print(line, flush=True)
            lines.append(line)
        lines.append(f"\n#### {db}: the whole report as CSV (`format=csv`, every page, streamed), once each\n")
        lines.append("| report | data lines | seconds |")
        lines.append("|---|---|---|")
        for label, query in [("whole agency, today", f"credential_type_id={ty_id}"),
                             ("B Shift, today", f"credential_type_id={ty_id}&group_id=grp_{groups['B Shift']}")]:
            took, count = time_csv(port, token, f"/api/v1/reports/qualified?{query}&format=csv")
            line = f"| {label} | {count:,} | {took:.2f} |"
            print(line, flush=True)
            lines.append(line)
    finally:
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
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--limit", type=int, default=500, help="rows per page (the API's maximum)")
    ap.add_argument("--binary", default=str(REPO / "target/release/credence"))
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--port", type=int, default=18556)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="credence-qualified-bin-"))
    binary = str(shutil.copy(args.binary, work / "credence"))  # a rebuild cannot change it mid-run
    lines = ["# Qualified on a date: benchmark results", "",
             f"`python3 bench/qualified.py --members {args.members} --requests {args.requests}`, "
             f"{os.cpu_count()} cores, {dt.date.today()}. API = `GET /api/v1/reports/qualified` over HTTP "
             "(JSON, one page of `--limit` members by name, the first or one from the middle of the alphabet); "
             "raw SQL = the store's two SELECTs for that page through Python's driver, rows fetched."]
    try:
        for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            bench(db, args, binary, lines)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (BENCH_DIR / "results-qualified.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
