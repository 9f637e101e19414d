#!/usr/bin/env python3
"""Exports at agency scale (issue #16: "every CSV also as XLSX … streamed; 1M-row peak RSS").

For each database it seeds a fresh agency with `credence seed` (default 100,000 members x 10
credentials: 1,000,000 credentials), starts `credence serve` and downloads every credential
once as CSV and once as XLSX (`GET /api/v1/credentials?format=csv|xlsx`: every page, names,
employee numbers, groups, issuing officers). For each it records the seconds, the bytes, the
rows, and the server's peak resident memory during the download (`VmHWM` after resetting it
through `/proc/PID/clear_refs`) against its resident memory before. In the same run the raw
side reads the same rows (credentials joined to members, current issuance, open period, group
names) with one SELECT in the same order and writes them as CSV with Python's csv module, so
the figure says what the export costs beyond reading the data.

    cargo build --release -p credence
    python3 -m pip install -r bench/requirements.txt   # psycopg, for PostgreSQL
    python3 bench/exports.py [--db sqlite|postgres|both] [--members 100000]

Results: bench/results-exports.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import http.client
import io
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import qualified as q  # noqa: E402  (same folder: run, start, PG_ADMIN_URL)

BENCH_DIR = q.BENCH_DIR
REPO = q.REPO
PG_DB = "credence_bench_exports"

# The rows an export names, read the plain way: one statement, in the list's order.
RAW_SQL = """SELECT m.last_name || ', ' || m.first_name, m.employee_number,
       (SELECT string_agg_or_group_concat), t.name, c.status, c.progress,
       c.issue_date, c.expiration_date, i.credential_number, i.issuing_officer, i.status_reason,
       c.period_start, c.period_end, c.due_date, c.member_id, c.id
FROM credentials c
JOIN members m ON m.id = c.member_id
JOIN credential_types t ON t.id = c.credential_type_id
LEFT JOIN issuances i ON i.id = c.issuance_id
WHERE c.agency_id = {p} AND c.withdrawn = FALSE
ORDER BY c.member_sort_name, c.id"""


def group_names(db: str) -> str:
    agg = "string_agg(g.name, '; ' ORDER BY g.name)" if db == "postgres" else "group_concat(g.name, '; ')"
    return (f"{agg} FROM group_memberships gm JOIN agency_groups g ON g.id = gm.group_id "
            "WHERE gm.agency_id = c.agency_id AND gm.member_id = c.member_id")


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} for {pid}")


def download(port: int, token: str, path: str, pid: int):
    """One whole download: seconds, bytes, peak RSS during it, RSS before, and the peak of
    its anonymous part (KiB). RSS counts the SQLite file's pages the server reads through
    its memory map (the operating system's page cache, shared and reclaimable); the
    anonymous part is the server's own memory, which a streamed export must keep flat. The
    kernel keeps no peak of that part, so a thread samples it every 50 ms."""
    before = rss_kib(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    anon_before = rss_kib(pid, "RssAnon")
    peak_anon = [anon_before]
    done = threading.Event()

    def sample():
        while not done.wait(0.05):
            peak_anon[0] = max(peak_anon[0], rss_kib(pid, "RssAnon"))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    body = response.read()
    took = time.perf_counter() - started
    done.set()
    sampler.join()
    assert response.status == 200, (path, response.status, body[:300])
    conn.close()
    return took, body, rss_kib(pid, "VmHWM"), before, anon_before, peak_anon[0]


def xlsx_rows(body: bytes) -> int:
    """Rows in the first sheet, counted from its XML without loading it whole."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        with z.open("xl/worksheets/sheet1.xml") as sheet:
            count, tail = 0, b""
            while chunk := sheet.read(1 << 20):
                data = tail + chunk
                count += data.count(b"<row ")
                tail = data[-5:]
    return count - 1


def raw_export(execute, sql: str, agency: int):
    started = time.perf_counter()
    out = io.StringIO()
    w = csv.writer(out)
    rows = 0
    for row in execute(sql, [agency]):
        w.writerow(row)
        rows += 1
    return time.perf_counter() - started, rows


def bench(db: str, args, binary: str, lines: list[str]) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"credence-exports-{db}-"))
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
    q.run(binary, env, "agency", "create", "--name", "Bench", "--slug", "bench", "--time-zone", "UTC")
    started = time.perf_counter()
    print(q.run(binary, env, "seed", "--agency", "bench", "--members", str(args.members),
                "--credentials-per-member", str(args.credentials_per_member)), flush=True)
    print(f"seeded in {time.perf_counter() - started:.1f} s", flush=True)
    if db == "postgres":
        import psycopg
        pg = psycopg.connect(env["CREDENCE_DATABASE_URL"], autocommit=True)
        pg.execute("VACUUM (ANALYZE)")

        def execute(sql, params):
            return pg.execute(sql, params)
        p = "%s"
    else:
        lite = sqlite3.connect(work / "data" / "credence.sqlite3")

        def execute(sql, params):
            return lite.execute(sql, params)
        p = "?"
    agency = execute(f"SELECT id FROM agencies WHERE slug = {p}", ["bench"]).fetchone()[0]
    sql = RAW_SQL.format(p=p).replace("string_agg_or_group_concat", group_names(db))
    token = q.run(binary, env, "token", "create", "--agency", "bench", "--role", "auditor")
    serve_env = dict(env)
    if db == "sqlite" and args.sqlite_cache_mib:
        # Each SQLite connection's page cache (default 64 MiB, 8 readers + 1 writer).
        serve_env["CREDENCE_DATABASE_URL"] = (
            f"sqlite://{work / 'data' / 'credence.sqlite3'}?cache_mib={args.sqlite_cache_mib}")
    # q.start waits for the start-up catch-up (sweep, reminders for every seeded credential):
    # a download started beside it would measure that pass's memory too.
    with open(work / "server.log", "w") as log:
        server = q.start(binary, serve_env, args.port, log)
    try:
        total = args.members * args.credentials_per_member
        lines.append(f"\n### {db}: {total:,} credentials\n")
        lines.append("| export | rows | MB | seconds | server RSS before MB | server peak RSS during MB | anonymous (own) memory before MB | peak anonymous (own) memory during MB |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for fmt in ["csv", "xlsx"]:
            took, body, peak, before, anon_before, anon = download(args.port, token, f"/api/v1/credentials?format={fmt}", server.pid)
            rows = body.count(b"\n") - 1 if fmt == "csv" else xlsx_rows(body)
            line = (f"| API `format={fmt}` | {rows:,} | {len(body) / 1e6:.1f} | {took:.1f} | "
                    f"{before / 1024:.0f} | {peak / 1024:.0f} | {anon_before / 1024:.0f} | {anon / 1024:.0f} |")
            print(line, flush=True)
            lines.append(line)
        took, rows = raw_export(execute, sql, agency)
        line = f"| raw SQL, one SELECT written as CSV by Python | {rows:,} | | {took:.1f} | | | | |"
        print(line, flush=True)
        lines.append(line)
    finally:
        server.terminate()
        server.wait()
        if pg is not None:
            pg.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--credentials-per-member", type=int, default=10)
    ap.add_argument("--binary", default=str(REPO / "target/release/credence"))
    ap.add_argument("--pg-admin-url", default=q.PG_ADMIN_URL)
    ap.add_argument("--port", type=int, default=18557)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--sqlite-cache-mib", type=int, default=0,
                    help="the server's SQLite page cache per connection (default: Credence's 64)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "results-exports.md")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="credence-exports-bin-"))
    binary = str(shutil.copy(args.binary, work / "credence"))  # a rebuild cannot change it mid-run
    lines = ["# Exports: benchmark results", "",
             f"`python3 bench/exports.py --members {args.members}"
             f"{f' --sqlite-cache-mib {args.sqlite_cache_mib}' if args.sqlite_cache_mib else ''}"
             f"{' MALLOC_ARENA_MAX=' + os.environ['MALLOC_ARENA_MAX'] if 'MALLOC_ARENA_MAX' in os.environ else ''}`, "
             f"{os.cpu_count()} cores, {dt.date.today()}. "
             "API = every credential of the agency downloaded once per format over HTTP; peak RSS is the "
             "server's `VmHWM` during that download (reset before it). Raw = the same rows in one SELECT, "
             "written as CSV in Python."]
    try:
        for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            bench(db, args, binary, lines)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
