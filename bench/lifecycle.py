#!/usr/bin/env python3
"""Credence lifecycle benchmark: seed, list, assign and sweep, each against hand-written SQL.

For each database (SQLite, PostgreSQL) it builds a fresh database, seeds it with the
`credence` binary, then times

* `credence seed` (members and credentials),
* `GET /api/v1/credentials` for realistic filter + sort combinations, against the same
  SELECT run directly on the database (the one `credentials_page` / `push_filter` in
  crates/store/src/credentials/ builds),
* one `POST /api/v1/assignments` to a 10,000-member group, against the equivalent
  set-based SQL in one transaction,
* `credence sweep` 400 days ahead, against one set-based UPDATE (rolled back),

and prints a markdown table that it also writes to bench/results-<db>.md.

Run `cargo build --release -p credence` first; see bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_BINARY = REPO / "target" / "release" / "credence"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "credence_bench"
DEFAULT_MEMBERS = 100_000
DEFAULT_PER_MEMBER = 10

# Targets (from the brief).
SEED_TARGET_S = 60.0
LIST_P95_TARGET_MS = 20.0
RAW_RATIO_TARGET = 2.0

# Same columns, in the same order, as COLUMNS and LIST_COLUMNS in crates/store/src/credentials/.
COLUMNS = """c.id, c.member_id, c.credential_type_id, c.status, c.progress, c.expiring_soon, c.status_changes_on,
    c.issuance_id, c.issue_date, c.expiration_date, c.revoked, c.period_id, c.period_start, c.period_end, c.due_date,
    c.version, c.member_sort_name, c.created_at, c.updated_at"""
LIST_COLUMNS = "i.credential_number, i.issuing_officer, i.status_reason, c.status_rank"

SORT_COLUMNS = {
    "member": "c.member_sort_name",
    "status": "c.status_rank",
    "expiration_date": "c.expiration_date",
    "progress": "c.progress",
}

# Status names and ranks of crates/domain/src/status.rs.
RANKS = {
    "overdue": 0,
    "expired": 1,
    "revoked": 2,
    "ready_to_be_issued": 3,
    "not_started": 4,
    "in_progress": 5,
    "active_ready_to_renew": 6,
    "active_renewal_in_progress": 7,
    "active": 8,
}


# A credential's computed status on the day `:today`, read off its stored columns, as one
# SQL expression (the raw side of the sweep): `values` maps each status to what to answer.
OPEN_ON_DAY = "(period_start IS NOT NULL AND period_start <= :today)"
VALID_ON_DAY = "(issue_date IS NOT NULL AND NOT revoked AND (expiration_date IS NULL OR expiration_date >= :today))"


def status_case(v: dict) -> str:
    valid, open_ = VALID_ON_DAY, OPEN_ON_DAY
    return f"""CASE
        WHEN issue_date IS NOT NULL AND revoked THEN {v['revoked']}
        WHEN {valid} AND {open_} AND progress >= 100 THEN {v['active_ready_to_renew']}
        WHEN {valid} AND {open_} THEN {v['active_renewal_in_progress']}
        WHEN {valid} THEN {v['active']}
        WHEN {open_} AND progress >= 100 THEN {v['ready_to_be_issued']}
        WHEN {open_} AND period_end < :today THEN {v['overdue']}
        WHEN {open_} AND progress > 0 THEN {v['in_progress']}
        WHEN {open_} THEN {v['not_started']}
        WHEN issue_date IS NOT NULL THEN {v['expired']}
        ELSE {v['not_started']} END"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def fmt_ms(v: float) -> str:
    return "n/a" if v != v else f"{v:.2f}"


def fmt_s(v: float | None) -> str:
    return "n/a" if v is None or v != v else f"{v:.2f} s"


def ratio(a: float, b: float) -> float:
    return a / b if b and b > 0 else float("nan")


def http_floor(results: dict) -> float | None:
    """The bare HTTP round trip (`GET /healthz` p50, ms) the run measured, if it did."""
    return next((p50 for name, p50, _ in results.get("floor", []) if name == "GET /healthz"), None)


def fmt_ratio(r: float) -> str:
    return "n/a" if r != r else f"{r:.2f}x"


def ok(flag: bool | None) -> str:
    return "n/a" if flag is None else ("yes" if flag else "**NO**")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_today() -> dt.date:
    fixed = os.environ.get("CREDENCE_TODAY")
    if fixed:
        return dt.date.fromisoformat(fixed)
    # Agencies here are created in UTC, so "today" is the UTC date.
    return dt.datetime.now(dt.timezone.utc).date()


class Interference:
    """Samples, every two seconds, whether compilers or test runners started by someone else
    are busy on the machine (it has two cores; a concurrent `cargo build` skews figures)."""

    NAMES = ("rustc", "cargo", "cc1", "ld", "ld.lld", "clippy-driver", "node", "chromium")

    def __init__(self):
        import threading

        self.phase = "setup"
        self.samples: dict[str, list[bool]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _busy(self) -> bool:
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                if (d / "comm").read_text().strip() in self.NAMES:
                    return True
            except OSError:
                continue
        return False

    def _run(self):
        while not self._stop.wait(2.0):
            self.samples.setdefault(self.phase, []).append(self._busy())

    def summary(self) -> dict[str, float]:
        return {k: 100.0 * sum(v) / len(v) for k, v in self.samples.items() if v}

    def stop(self):
        self._stop.set()


INTERFERENCE: Interference | None = None


def phase(name: str) -> None:
    if INTERFERENCE:
        INTERFERENCE.phase = name


# --------------------------------------------------------------------------- raw database


class RawDb:
    """Direct access to the benchmark database: SQL is written with :name parameters."""

    backend: str

    def execute(self, sql: str, params: dict | None = None):
        raise NotImplementedError

    def fetchall(self, sql: str, params: dict | None = None) -> list[tuple]:
        raise NotImplementedError

    def begin(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteRaw(RawDb):
    backend = "sqlite"

    def __init__(self, path: Path):
        # Autocommit mode; transactions are explicit. Same pragmas as the store's pools.
        self.conn = sqlite3.connect(str(path), isolation_level=None, timeout=60)
        for pragma in (
            "PRAGMA foreign_keys = ON",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA cache_size = -65536",
            "PRAGMA mmap_size = 2147418112",
            "PRAGMA busy_timeout = 30000",
        ):
            self.conn.execute(pragma)

    @staticmethod
    def _params(params: dict | None) -> dict:
        out = {}
        for k, v in (params or {}).items():
            if isinstance(v, dt.datetime):
                out[k] = v.isoformat(timespec="microseconds")
            elif isinstance(v, dt.date):
                out[k] = v.isoformat()
            else:
                out[k] = v
        return out

    def execute(self, sql, params=None):
        return self.conn.execute(sql, self._params(params))

    def fetchall(self, sql, params=None):
        return self.conn.execute(sql, self._params(params)).fetchall()

    def begin(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self):
        self.conn.execute("COMMIT")

    def rollback(self):
        self.conn.execute("ROLLBACK")

    def close(self):
        self.conn.close()


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class PostgresRaw(RawDb):
    backend = "postgres"

    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self._cache: dict[str, str] = {}

    def _sql(self, sql: str) -> str:
        conv = self._cache.get(sql)
        if conv is None:
            conv = _NAMED.sub(r"%(\1)s", sql)
            self._cache[sql] = conv
        return conv

    def execute(self, sql, params=None):
        return self.conn.execute(self._sql(sql), params or {})

    def fetchall(self, sql, params=None):
        return self.conn.execute(self._sql(sql), params or {}).fetchall()

    def begin(self):
        self.conn.execute("BEGIN")

    def commit(self):
        self.conn.execute("COMMIT")

    def rollback(self):
        self.conn.execute("ROLLBACK")

    def close(self):
        self.conn.close()


# --------------------------------------------------------------------------- HTTP


class Api:
    def __init__(self, port: int, token: str):
        self.port = port
        self.token = token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)

    def request(self, method: str, path: str, body=None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            payload = resp.read()
        except (http.client.HTTPException, ConnectionError):
            # Reconnect once (e.g. the server closed an idle connection).
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900)
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            payload = resp.read()
        return resp.status, payload

    def json(self, method: str, path: str, body=None, expect=(200, 201)):
        status, payload = self.request(method, path, body)
        if status not in expect:
            raise RuntimeError(f"{method} {path} -> {status}: {payload[:2000]!r}")
        return json.loads(payload) if payload else None

    def close(self):
        self.conn.close()


# --------------------------------------------------------------------------- the run


class Run:
    def __init__(self, args, db: str, workdir: Path, binary: Path):
        self.args = args
        self.db = db
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = binary
        self.today = base_today()
        self.server: subprocess.Popen | None = None
        self.server_log: Path | None = None
        self.results: dict = {"db": db, "list": [], "notes": []}
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREDENCE_")}
        if os.environ.get("CREDENCE_TODAY"):
            env["CREDENCE_TODAY"] = os.environ["CREDENCE_TODAY"]
        env["CREDENCE_LOG"] = "warn"
        if db == "sqlite":
            self.data_dir = workdir / "data"
            self.data_dir.mkdir(parents=True, exist_ok=True)
            env["CREDENCE_DATA_DIR"] = str(self.data_dir)
            self.sqlite_path = self.data_dir / "credence.sqlite3"
        else:
            env["CREDENCE_DATA_DIR"] = str(workdir / "data")
            env["CREDENCE_DATABASE_URL"] = args.pg_url
        self.env = env
        self.raw: RawDb | None = None

    # -- helpers

    def cli(self, *argv: str, env_extra: dict | None = None, timeout: float = 7200) -> tuple[str, float]:
        env = dict(self.env)
        env.update(env_extra or {})
        started = time.perf_counter()
        proc = subprocess.run(
            [str(self.binary), *argv], env=env, capture_output=True, text=True, timeout=timeout
        )
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(
                f"credence {' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc.stdout.strip(), elapsed

    def fresh_database(self) -> None:
        if self.db == "postgres":
            import psycopg

            with psycopg.connect(self.args.pg_admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
            log(f"postgres: recreated database {PG_BENCH_DB}")
        else:
            log(f"sqlite: data directory {self.data_dir}")

    def open_raw(self) -> RawDb:
        if self.raw is None:
            self.raw = SqliteRaw(self.sqlite_path) if self.db == "sqlite" else PostgresRaw(self.args.pg_url)
        return self.raw

    def start_server(self) -> Api:
        port = free_port()
        self.server_log = self.workdir / f"serve-{self.db}.log"
        env = dict(self.env)
        # One info target on top of warn: the "daily jobs" line tells when the start-up
        # catch-up (sweep + reminders) is over, so it does not run during the timings.
        env["CREDENCE_LOG"] = "warn,credence_app::credentials::sweep=info"
        logf = open(self.server_log, "w")
        started = time.perf_counter()
        self.server = subprocess.Popen(
            [str(self.binary), "serve", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=logf,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 120
        while True:
            if self.server.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.server_log.read_text()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/readyz")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server not ready after 120 s")
            time.sleep(0.1)
        ready = time.perf_counter() - started
        log(f"server ready on port {port} after {ready:.2f} s; waiting for the start-up daily jobs")
        deadline = time.time() + self.args.daily_jobs_timeout
        line = None
        while time.time() < deadline:
            text = self.server_log.read_text(errors="replace")
            m = re.search(r"daily jobs.*", text)
            if m:
                line = m.group(0)
                break
            if self.server.poll() is not None:
                raise RuntimeError(f"server exited:\n{text}")
            time.sleep(0.5)
        jobs = time.perf_counter() - started
        if line:
            plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
            log(f"start-up daily jobs done after {jobs:.1f} s: {plain}")
            self.results["startup_daily_jobs_s"] = jobs
            self.results["startup_daily_jobs_line"] = plain
        else:
            log("WARNING: no 'daily jobs' line seen; timings may overlap the start-up jobs")
            self.results["notes"].append("the start-up daily jobs were not seen to finish before the timings")
        return Api(port, self.token)

    def stop_server(self) -> None:
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server = None

    # -- steps

    def step_seed(self) -> None:
        out, _ = self.cli("agency", "create", "--name", "Bench", "--slug", "bench")
        log(f"agency created: {out}")
        a = self.args
        log(f"seeding {a.members} members x {a.credentials_per_member} credentials ...")
        phase(f"{self.db}: seed")
        out, elapsed = self.cli(
            "seed", "--agency", "bench", "--members", str(a.members),
            "--credentials-per-member", str(a.credentials_per_member),
        )
        log(f"{out} (wall {elapsed:.2f} s)")
        m = re.search(r"in ([0-9.]+)s", out)
        self.results["seed_wall_s"] = elapsed
        self.results["seed_reported_s"] = float(m.group(1)) if m else None
        self.results["seed_output"] = out
        raw = self.open_raw()
        self.agency_id = raw.fetchall("SELECT id FROM agencies WHERE slug = 'bench'")[0][0]
        counts = raw.fetchall(
            "SELECT COUNT(*) FROM credentials WHERE agency_id = :a", {"a": self.agency_id}
        )[0][0]
        self.results["credentials"] = counts
        self.results["status_mix"] = dict(
            raw.fetchall(
                "SELECT status, COUNT(*) FROM credentials WHERE agency_id = :a GROUP BY status ORDER BY status",
                {"a": self.agency_id},
            )
        )
        if self.db == "postgres":
            # Autovacuum would vacuum and analyse the freshly loaded tables within a minute
            # or so (PostgreSQL 13+ also vacuums insert-only tables); doing it now keeps it
            # from running in the middle of the timings and from changing plans there.
            t = time.perf_counter()
            raw.execute("VACUUM (ANALYZE)")
            self.results["analyze_s"] = time.perf_counter() - t
            log(f"VACUUM (ANALYZE) took {self.results['analyze_s']:.2f} s")
        elif self.args.sqlite_analyze:
            # Diagnostic only: Credence itself never runs ANALYZE on SQLite.
            t = time.perf_counter()
            raw.execute("ANALYZE")
            self.results["sqlite_analyze_s"] = time.perf_counter() - t
            log(f"ANALYZE (--sqlite-analyze) took {self.results['sqlite_analyze_s']:.2f} s")
            self.results["notes"].append(
                f"--sqlite-analyze: `ANALYZE` ran after the seed ({self.results['sqlite_analyze_s']:.2f} s), "
                "which Credence does not do by itself; figures after the seed are not the default behaviour")

    def step_token(self) -> None:
        out, _ = self.cli("token", "create", "--agency", "bench", "--role", "admin")
        self.token = out.splitlines()[-1].strip()

    # list ---------------------------------------------------------------------------

    def list_sql(self, params: dict, after) -> list[tuple[str, dict]]:
        """The SELECTs credentials_page builds for these API parameters, in order.

        Sorting by expiration date is two keyset queries there: dated rows first, then, only
        when the page is not full yet (and no expiry window is filtered on), undated rows by
        id. Run them with `run_list`.
        """
        a = self.agency_id
        binds: dict = {"agency_id": a}
        sql = f"SELECT {COLUMNS}, {LIST_COLUMNS} FROM credentials c LEFT JOIN issuances i ON i.id = c.issuance_id WHERE c.agency_id = :agency_id"
        statuses = [s for s in str(params.get("status", "")).split(",") if s]
        if statuses:
            names = []
            for n, s in enumerate(statuses):
                binds[f"s{n}"] = s
                names.append(f":s{n}")
            sql += f" AND c.status IN ({', '.join(names)})"
        if params.get("credential_type_id"):
            binds["type_id"] = int(params["credential_type_id"].split("_")[1])
            sql += " AND c.credential_type_id = :type_id"
        if params.get("member_id"):
            binds["member_id"] = int(params["member_id"].split("_")[1])
            sql += " AND c.member_id = :member_id"
        if params.get("group_id"):
            binds["group_id"] = int(params["group_id"].split("_")[1])
            sql += (" AND EXISTS (SELECT 1 FROM group_memberships gm WHERE gm.agency_id = c.agency_id"
                    " AND gm.member_id = c.member_id AND gm.group_id = :group_id)")
        window = params.get("expiring_within_days") is not None
        if window:
            days = int(params["expiring_within_days"])
            binds["revoked"] = False
            binds["exp_from"] = self.today
            binds["exp_to"] = self.today + dt.timedelta(days=days)
            sql += " AND c.revoked = :revoked AND c.expiration_date >= :exp_from AND c.expiration_date <= :exp_to"
        text = (params.get("q") or "").strip()
        lookup = []
        if text:
            # An exact employee number finds that member (one lookup first, as the app
            # does); anything else is a prefix range on the byte-ordered sort key.
            emp_sql = "SELECT id FROM members WHERE agency_id = :agency_id AND employee_number = :emp"
            emp_binds = {"agency_id": a, "emp": text, "lim": 0}
            lookup = [(emp_sql, emp_binds)]
            found = self.open_raw().fetchall(emp_sql, emp_binds)
            if found:
                binds["emp_member_id"] = found[0][0]
                sql += " AND c.member_id = :emp_member_id"
            else:
                prefix = text.lower()
                binds["prefix_lo"] = prefix
                binds["prefix_hi"] = prefix + "\U0010FFFF"
                sql += " AND c.member_sort_name >= :prefix_lo AND c.member_sort_name < :prefix_hi"
        sort = params.get("sort", "member")
        desc = sort.startswith("-")
        key = sort.lstrip("-")
        col = SORT_COLUMNS[key]
        cmp, direction = ("<", "DESC") if desc else (">", "ASC")
        # The store fetches one row more than the page to know whether another page exists.
        limit = int(params.get("limit", 50)) + 1
        kind, v, last_id = None, None, None
        if after is not None:
            (kind, (v, last_id)), = after.items()
            if kind == "Date" and v is not None:
                v = dt.date.fromisoformat(v)
        keyset = f" AND ({col} {cmp} :after_v OR ({col} = :after_v AND c.id {cmp} :after_id))"
        if key != "expiration_date":
            b = dict(binds, lim=limit)
            q = sql
            if kind in ("Text", "Int"):
                b.update(after_v=v, after_id=last_id)
                q += keyset
            return lookup + [(q + f" ORDER BY {col} {direction}, c.id {direction} LIMIT :lim", b)]
        steps = []
        if not (kind == "Date" and v is None):
            b = dict(binds, lim=limit)
            q = sql + f" AND {col} IS NOT NULL"
            if kind == "Date":
                b.update(after_v=v, after_id=last_id)
                q += keyset
            steps.append((q + f" ORDER BY {col} {direction}, c.id {direction} LIMIT :lim", b))
        if not window:
            b = dict(binds, lim=limit)  # run_list lowers it to the rows still missing
            q = sql + f" AND {col} IS NULL"
            if kind == "Date" and v is None:
                b["after_id"] = last_id
                q += f" AND c.id {cmp} :after_id"
            steps.append((q + f" ORDER BY c.id {direction} LIMIT :lim", b))
        return lookup + steps

    @staticmethod
    def run_list(raw: RawDb, steps: list[tuple[str, dict]]) -> list[tuple]:
        """Runs list_sql's steps: lookups (lim 0) are run and dropped; a page step after the
        first only fetches the rows still missing."""
        rows: list[tuple] = []
        page_steps = 0
        first_lim = 0
        for sql, binds in steps:
            if binds["lim"] == 0:
                raw.fetchall(sql, {k: v for k, v in binds.items() if k != "lim"})
                continue
            want = binds["lim"]
            if page_steps == 0:
                first_lim = want
            else:
                want = first_lim - len(rows)
                if want <= 0:
                    break
            page_steps += 1
            rows.extend(raw.fetchall(sql, dict(binds, lim=want)))
        return rows

    def list_cases(self, api: Api) -> list[dict]:
        raw = self.open_raw()
        a = self.agency_id
        type_id = raw.fetchall(
            "SELECT id FROM credential_types WHERE agency_id = :a AND code LIKE :pat ORDER BY id LIMIT 1",
            {"a": a, "pat": "LOAD-%"},
        )[0][0]
        station = raw.fetchall(
            "SELECT id FROM agency_groups WHERE agency_id = :a AND name = 'Station 1'", {"a": a}
        )[0][0]
        ctp = f"ctp_{type_id}"
        grp = f"grp_{station}"
        base = [
            ("overdue, by member", {"status": "overdue", "sort": "member", "limit": 50}),
            ("overdue, by member, page 2", "cursor:overdue, by member"),
            ("one type, by expiration desc", {"credential_type_id": ctp, "sort": "-expiration_date", "limit": 50}),
            ("one type, by expiration desc, page 2", "cursor:one type, by expiration desc"),
            ("all, by status", {"sort": "status", "limit": 50}),
            ("expiring within 90 days, by expiration", {"expiring_within_days": 90, "sort": "expiration_date", "limit": 50}),
            ("expiring within 90 days, page 2", "cursor:expiring within 90 days, by expiration"),
            ("Station 1 overdue, by member", {"group_id": grp, "status": "overdue", "sort": "member", "limit": 50}),
            ("one type overdue, by member", {"credential_type_id": ctp, "status": "overdue", "sort": "member", "limit": 50}),
            ("search 'garcia', by member", {"q": "garcia", "sort": "member", "limit": 50}),
            ("search an employee number", "employee"),
            ("one member's credentials, by member", "member"),
        ]
        cases: list[dict] = []
        for name, spec in base:
            if spec == "employee":
                emp = raw.fetchall("SELECT employee_number FROM members WHERE agency_id = :a AND employee_number IS NOT NULL "
                                   "ORDER BY id LIMIT 1 OFFSET :n", {"a": a, "n": self.args.members // 2})
                if not emp:
                    continue
                params = {"q": emp[0][0], "sort": "member", "limit": 50}
                after = None
            elif spec == "member":
                m = raw.fetchall("SELECT id FROM members WHERE agency_id = :a ORDER BY id LIMIT 1 OFFSET :n",
                                 {"a": a, "n": self.args.members // 2})
                if not m:
                    continue
                params = {"member_id": f"mem_{m[0][0]}", "sort": "member", "limit": 50}
                after = None
            elif isinstance(spec, str):
                src = next((c for c in cases if c["name"] == spec.split(":", 1)[1]), None)
                if src is None:
                    continue
                page1 = api.json("GET", src["path"])
                cur = page1.get("next_cursor")
                if not cur:
                    log(f"  (skip {name}: no second page)")
                    continue
                params = dict(src["params"], cursor=cur)
                padded = cur + "=" * (-len(cur) % 4)
                after = json.loads(base64.urlsafe_b64decode(padded))
            else:
                params = spec
                after = None
            path = "/api/v1/credentials?" + urllib.parse.urlencode(params)
            cases.append({"name": name, "params": params, "path": path, "steps": self.list_sql(params, after)})
        return cases

    def step_list(self, api: Api) -> None:
        raw = self.open_raw()
        n = self.args.requests
        warm = max(1, min(10, n))
        budget = self.args.max_seconds_per_case
        # The floor every API call pays (HTTP, routing, JSON; then plus token lookup and a
        # read transaction), to read the ratios of the fast cases against.
        for name, path in (("GET /healthz", "/healthz"), ("GET /api/v1/groups?limit=1", "/api/v1/groups?limit=1")):
            for _ in range(warm):
                api.request("GET", path)
            ts = []
            for _ in range(n):
                t = time.perf_counter()
                api.request("GET", path)
                ts.append((time.perf_counter() - t) * 1000)
            self.results.setdefault("floor", []).append((name, pct(ts, 50), pct(ts, 95)))
            log(f"  floor {name}: p50 {pct(ts, 50):.2f} ms, p95 {pct(ts, 95):.2f} ms")
        for case in self.list_cases(api):
            # Correctness: the raw SELECT returns the same page as the API.
            body = api.json("GET", case["path"])
            api_ids = [int(it["id"].split("_")[1]) for it in body["items"]]
            raw_rows = self.run_list(raw, case["steps"])
            raw_ids = [r[0] for r in raw_rows][: len(api_ids)]
            same = api_ids == raw_ids and len(raw_rows) == len(api_ids) + (1 if body.get("next_cursor") else 0)
            for _ in range(warm):
                api.request("GET", case["path"])
                self.run_list(raw, case["steps"])
            api_t: list[float] = []
            t_end = time.perf_counter() + budget
            for _ in range(n):
                t = time.perf_counter()
                status, _payload = api.request("GET", case["path"])
                api_t.append((time.perf_counter() - t) * 1000)
                if status != 200:
                    raise RuntimeError(f"{case['path']} -> {status}")
                if time.perf_counter() > t_end:
                    break
            raw_t: list[float] = []
            t_end = time.perf_counter() + budget
            for _ in range(n):
                t = time.perf_counter()
                self.run_list(raw, case["steps"])
                raw_t.append((time.perf_counter() - t) * 1000)
                if time.perf_counter() > t_end:
                    break
            res = {
                "name": case["name"],
                "query": urllib.parse.unquote(case["path"].split("?", 1)[1]),
                "rows": len(api_ids),
                "same": same,
                "api_n": len(api_t),
                "raw_n": len(raw_t),
                "api_p50": pct(api_t, 50),
                "api_p95": pct(api_t, 95),
                "raw_p50": pct(raw_t, 50),
                "raw_p95": pct(raw_t, 95),
            }
            res["ratio_p50"] = ratio(res["api_p50"], res["raw_p50"])
            res["ratio_p95"] = ratio(res["api_p95"], res["raw_p95"])
            self.results["list"].append(res)
            log(
                f"  {case['name']:<42} api p50 {res['api_p50']:8.2f} p95 {res['api_p95']:8.2f} ms (n={res['api_n']})"
                f" | raw p50 {res['raw_p50']:8.2f} p95 {res['raw_p95']:8.2f} ms (n={res['raw_n']})"
                f" | {res['rows']} rows, same page: {same}"
            )

    # assign -------------------------------------------------------------------------

    def new_type(self, api: Api, code: str) -> str:
        t = api.json(
            "POST",
            "/api/v1/credential-types",
            {"code": code, "name": f"Bench {code}", "validity_months": 24,
             "requirements": [{"kind": "checklist", "title": "Check-off"}]},
        )
        api.json("POST", f"/api/v1/credential-types/{t['id']}/publish", {})
        return t["id"]

    def step_assign(self, api: Api) -> None:
        """Assignment through the API and set-based SQL, twice each in the order API, raw,
        raw, API: whichever side runs first reads the group's members and their index
        pages from disk for both, so a single pair would flatter the second."""
        raw = self.open_raw()
        a = self.agency_id
        size = self.args.assign_members
        stamp = int(time.time())
        member_ids = [r[0] for r in raw.fetchall(
            "SELECT id FROM members WHERE agency_id = :a ORDER BY id LIMIT :n", {"a": a, "n": size})]
        size = len(member_ids)
        self.results["assign_members"] = size
        group = api.json("POST", "/api/v1/groups", {"name": f"Bench cohort {stamp}", "kind": "cohort"})
        t = time.perf_counter()
        api.json("PUT", f"/api/v1/groups/{group['id']}/members",
                 {"member_ids": [f"mem_{m}" for m in member_ids]}, expect=(200,))
        self.results["group_members_s"] = time.perf_counter() - t
        log(f"group {group['id']} has {size} members (PUT took {self.results['group_members_s']:.2f} s)")

        api_runs, raw_runs = [], []
        for n, side in enumerate(["api", "raw", "raw", "api"]):
            type_id = self.new_type(api, f"BENCH-{side.upper()}-{stamp}-{n}")
            if side == "api":
                api_runs.append((type_id, self.assign_api(api, group["id"], type_id, size)))
            else:
                raw_runs.append((type_id, self.assign_raw(raw, group["id"], type_id)))
        api_s = [s for _, s in api_runs]
        raw_s = [s for _, s in raw_runs]
        self.results["assign_api_runs"] = api_s
        self.results["assign_raw_runs"] = raw_s
        self.results["assign_api_s"] = statistics.mean(api_s)
        self.results["assign_raw_s"] = statistics.mean(raw_s)
        # Both ways must leave the same rows behind.
        q = """SELECT c.status, c.status_rank, c.progress, c.expiring_soon, c.status_changes_on, c.period_start,
                      c.period_end, c.due_date, COUNT(*)
               FROM credentials c WHERE c.agency_id = :a AND c.credential_type_id = :t
               GROUP BY c.status, c.status_rank, c.progress, c.expiring_soon, c.status_changes_on,
                        c.period_start, c.period_end, c.due_date"""
        rows = [raw.fetchall(q, {"a": a, "t": int(t.split("_")[1])}) for t, _ in api_runs + raw_runs]
        text = [[tuple(map(str, r)) for r in rs] for rs in rows]
        self.results["assign_same"] = all(t == text[0] for t in text)
        self.results["assign_raw_created"] = sum(r[-1] for r in rows[-1])
        log(f"assignment: API {', '.join(f'{s:.3f}' for s in api_s)} s; raw {', '.join(f'{s:.3f}' for s in raw_s)} s; "
            f"same rows: {self.results['assign_same']}")
        if not self.results["assign_same"]:
            self.results["notes"].append(f"assignment rows differ: {rows}")

    def assign_api(self, api: Api, group_id: str, type_id: str, size: int) -> float:
        """One timed `POST /assignments` of a completion period to the group."""
        start = self.today
        end = self.today + dt.timedelta(days=180)
        body = {"credential_type_id": type_id, "mode": "completion_period",
                "period_start": start.isoformat(), "period_end": end.isoformat(),
                "group_ids": [group_id]}
        t = time.perf_counter()
        out = api.json("POST", "/api/v1/assignments", body)
        api_s = time.perf_counter() - t
        created = len(out["created"])
        self.results["assign_api_created"] = created
        log(f"POST /assignments: {created} created, {len(out['skipped'])} skipped in {api_s:.3f} s")
        if created != size:
            self.results["notes"].append(f"assignment created {created} credentials, expected {size}")
        return api_s

    def assign_raw(self, raw, group_public_id: str, raw_type: str) -> float:
        """The same work as [`assign_api`], set-based, in one transaction timed with its commit."""
        a = self.agency_id
        start = self.today
        end = self.today + dt.timedelta(days=180)
        type_id = int(raw_type.split("_")[1])
        group_id = int(group_public_id.split("_")[1])
        now = dt.datetime.now(dt.timezone.utc)
        after_json = json.dumps({"mode": "completion_period", "credential_type_id": raw_type,
                                 "period_start": start.isoformat(), "period_end": end.isoformat(),
                                 "due_date": end.isoformat()})
        p = {"a": a, "t": type_id, "g": group_id, "start": start, "end": end,
             "changes": end + dt.timedelta(days=1), "now": now, "active": True,
             "soon": False, "actor": "bench:raw", "after": after_json}
        t = time.perf_counter()
        raw.begin()
        raw.execute(
            """INSERT INTO credentials (agency_id, member_id, credential_type_id, status, status_rank, progress,
                   expiring_soon, status_changes_on, member_sort_name, created_at, updated_at)
               SELECT m.agency_id, m.id, :t, 'not_started', 4, 0, :soon, :changes, m.sort_name, :now, :now
               FROM members m JOIN group_memberships gm ON gm.agency_id = m.agency_id AND gm.member_id = m.id
               WHERE m.agency_id = :a AND gm.group_id = :g AND m.active = :active
                 AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.agency_id = m.agency_id
                                 AND c.member_id = m.id AND c.credential_type_id = :t)""", p)
        raw.execute(
            """INSERT INTO completion_periods (agency_id, credential_id, start_date, end_date, due_date, created_at)
               SELECT agency_id, id, :start, :end, :end, :now FROM credentials
               WHERE agency_id = :a AND credential_type_id = :t""", p)
        raw.execute(
            """UPDATE credentials SET
                   period_id = (SELECT p.id FROM completion_periods p
                                WHERE p.agency_id = credentials.agency_id AND p.credential_id = credentials.id),
                   period_start = :start, period_end = :end, due_date = :end
               WHERE agency_id = :a AND credential_type_id = :t""", p)
        raw.execute(
            """INSERT INTO audit_events (agency_id, at, actor, action, subject_type, subject_id, after_json)
               SELECT agency_id, :now, :actor, 'assign', 'credential', id, :after FROM credentials
               WHERE agency_id = :a AND credential_type_id = :t""", p)
        raw.commit()
        raw_s = time.perf_counter() - t
        log(f"raw set-based assignment in {raw_s:.3f} s")
        return raw_s

    # sweep --------------------------------------------------------------------------

    def step_sweep(self) -> None:
        raw = self.open_raw()
        a = self.agency_id
        day = self.today + dt.timedelta(days=400)
        self.results["sweep_day"] = day.isoformat()
        window = raw.fetchall("SELECT expiring_soon_days FROM agencies WHERE id = :a", {"a": a})[0][0]
        p = {"a": a, "today": day, "soon": day + dt.timedelta(days=int(window)),
             "now": dt.datetime.now(dt.timezone.utc)}
        names = {k: f"'{k}'" for k in RANKS}
        ranks = {k: str(r) for k, r in RANKS.items()}
        sql = f"""UPDATE credentials SET
                status = {status_case(names)},
                status_rank = {status_case(ranks)},
                expiring_soon = ({VALID_ON_DAY} AND expiration_date IS NOT NULL AND expiration_date <= :soon),
                status_changes_on = NULL,
                version = version + 1,
                updated_at = :now
            WHERE agency_id = :a AND status_changes_on <= :today"""
        due = raw.fetchall(
            "SELECT COUNT(*) FROM credentials WHERE agency_id = :a AND status_changes_on <= :today", p)[0][0]
        self.results["sweep_due"] = due
        mix_q = "SELECT status, COUNT(*) FROM credentials WHERE agency_id = :a GROUP BY status ORDER BY status"
        if self.db == "postgres":
            # Both sides start from a vacuumed table (the assignment above left dead rows).
            raw.execute("VACUUM (ANALYZE) credentials")
        t = time.perf_counter()
        raw.begin()
        cur = raw.execute(sql, p)
        raw_s = time.perf_counter() - t
        self.results["sweep_raw_rows"] = cur.rowcount
        raw_mix = dict(raw.fetchall(mix_q, {"a": a}))
        raw.rollback()
        self.results["sweep_raw_s"] = raw_s
        log(f"raw set-based sweep UPDATE: {cur.rowcount} rows in {raw_s:.2f} s (rolled back)")
        if self.db == "postgres":
            # The rolled-back UPDATE left a dead version of every row it touched; clear
            # them so the sweep below does not pay for the benchmark's own garbage.
            t = time.perf_counter()
            raw.execute("VACUUM (ANALYZE) credentials")
            log(f"VACUUM (ANALYZE) credentials after the rollback: {time.perf_counter() - t:.2f} s")

        env = {"CREDENCE_TODAY": day.isoformat()}
        out, wall = self.cli("sweep", "--agency", "bench", env_extra=env)
        m = re.search(r"swept (\d+) credentials \((\d+) issued automatically\) in ([0-9.]+)s", out)
        self.results["sweep_wall_s"] = wall
        self.results["sweep_examined"] = int(m.group(1)) if m else None
        self.results["sweep_reported_s"] = float(m.group(3)) if m else None
        log(f"credence sweep at {day}: {out} (wall {wall:.2f} s)")
        app_mix = dict(raw.fetchall(mix_q, {"a": a}))
        self.results["sweep_same_statuses"] = app_mix == raw_mix
        self.results["sweep_status_mix"] = app_mix
        if app_mix != raw_mix:
            self.results["notes"].append(f"sweep status mix differs: credence {app_mix} raw {raw_mix}")

        out, wall = self.cli("sweep", "--agency", "bench", env_extra=env)
        m = re.search(r"swept (\d+) credentials", out)
        self.results["sweep2_examined"] = int(m.group(1)) if m else None
        self.results["sweep2_wall_s"] = wall
        log(f"second sweep: {out} (wall {wall:.2f} s)")

    def db_size(self) -> str:
        try:
            if self.db == "sqlite":
                size = sum(f.stat().st_size for f in self.data_dir.glob("credence.sqlite3*"))
            else:
                raw = self.open_raw()
                size = raw.fetchall("SELECT pg_database_size(current_database())")[0][0]
                buffers = raw.fetchall("SHOW shared_buffers")[0][0]
                return f"{size / 1e9:.2f} GB (PostgreSQL shared_buffers {buffers})"
            return f"{size / 1e9:.2f} GB"
        except Exception as e:  # noqa: BLE001 - informational only
            return f"unknown ({e})"

    def run(self) -> dict:
        self.fresh_database()
        try:
            self.step_seed()
            self.step_token()
            api = self.start_server()
            try:
                log("list: timing API and raw SQL")
                phase(f"{self.db}: list")
                self.step_list(api)
                log("assign")
                phase(f"{self.db}: assign")
                self.step_assign(api)
            finally:
                api.close()
                self.stop_server()
            log("sweep")
            phase(f"{self.db}: sweep")
            self.step_sweep()
            self.results["db_size"] = self.db_size()
        finally:
            self.stop_server()
            if self.raw:
                self.raw.close()
                self.raw = None
        return self.results


# --------------------------------------------------------------------------- report


def versions(binary: Path, source: Path) -> dict:
    out = {}
    try:
        import hashlib

        digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:12]
        built = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(source.stat().st_mtime))
        out["binary"] = f"{source} built {built}, sha256 {digest}"
    except OSError:
        out["binary"] = "?"
    try:
        out["credence"] = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        out["credence"] = "?"
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "--no-optional-locks", "status", "--porcelain",
                                "--untracked-files=no", "--", "crates", "Cargo.toml", "Cargo.lock"],
                               capture_output=True, text=True).stdout.strip()
        out["commit"] = head + (" (with uncommitted changes under crates/)" if dirty else "")
    except OSError:
        out["commit"] = "?"
    out["python_sqlite"] = sqlite3.sqlite_version
    try:
        import psycopg

        out["psycopg"] = psycopg.__version__
    except ImportError:
        out["psycopg"] = "not installed"
    out["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
    return out


def render(r: dict, args, vers: dict, started: str) -> str:
    db = r["db"]
    lines = []
    lines.append(f"# Credence lifecycle benchmark: {db}")
    lines.append("")
    lines.append(f"- run: {started}; {args.members} members x {args.credentials_per_member} credentials "
                 f"({r.get('credentials', '?')} credentials), {args.requests} requests per list case, "
                 f"assignment to {r.get('assign_members', '?')} members")
    lines.append(f"- {vers['credence']}, checkout at commit {vers['commit']} when the run started; "
                 f"binary {vers['binary']}; {vers['machine']}")
    extra = f"Python sqlite3 {vers['python_sqlite']}" if db == "sqlite" else f"psycopg {vers['psycopg']}"
    lines.append(f"- raw SQL through {extra}; database size at the end: {r.get('db_size', '?')}")
    if "startup_daily_jobs_s" in r:
        lines.append(f"- server start-up catch-up (sweep + reminders) finished {r['startup_daily_jobs_s']:.1f} s "
                     f"after start, before any timing: `{r['startup_daily_jobs_line']}`")
    if "analyze_s" in r:
        lines.append(f"- `VACUUM (ANALYZE)` after the seed (what autovacuum would do soon anyway): "
                     f"{r['analyze_s']:.2f} s, not counted in the seed time")
    lines.append(f"- credential statuses after the seed: {r.get('status_mix', {})}")
    for name, p50, p95 in r.get("floor", []):
        lines.append(f"- API floor, `{name}`: p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    lines.append("")
    lines.append("## Lifecycle")
    lines.append("")
    lines.append("| step | Credence | raw SQL | ratio | target | meets target |")
    lines.append("|---|---|---|---|---|---|")
    seed = r.get("seed_wall_s")
    # 60 s for 1M credentials (100k members), 10 minutes for 10M (issue #22).
    seed_target = SEED_TARGET_S * max(1.0, args.members * args.credentials_per_member / 1_000_000)
    lines.append(f"| `credence seed` {args.members} members, {r.get('credentials', '?')} credentials "
                 f"(binary's own figure: {fmt_s(r.get('seed_reported_s'))}) | {fmt_s(seed)} | – | – | "
                 f"< {seed_target:.0f} s | {ok(seed < seed_target) if seed is not None else 'n/a'} |")
    if "assign_api_s" in r:
        ar = ratio(r["assign_api_s"], r["assign_raw_s"])
        runs = lambda k: " + ".join(fmt_s(x) for x in r.get(k, []))
        lines.append(f"| `POST /assignments` to a {r['assign_members']}-member group, mean of two runs each "
                     f"(API {runs('assign_api_runs')}, raw {runs('assign_raw_runs')}, in the order API, raw, raw, API; "
                     f"{r['assign_api_created']} created; raw {r['assign_raw_created']}, same rows: "
                     f"{'yes' if r['assign_same'] else 'NO'}) | {fmt_s(r['assign_api_s'])} | {fmt_s(r['assign_raw_s'])} | "
                     f"{fmt_ratio(ar)} | ≤ {RAW_RATIO_TARGET:.0f}x raw | {ok(ar <= RAW_RATIO_TARGET)} |")
    if "group_members_s" in r:
        lines.append(f"| (setup, not a target) `PUT /groups/{{id}}/members` with {r['assign_members']} members | "
                     f"{fmt_s(r['group_members_s'])} | – | – | – | – |")
    if "sweep_wall_s" in r:
        sr = ratio(r["sweep_wall_s"], r["sweep_raw_s"])
        lines.append(f"| `credence sweep` at {r['sweep_day']} (+400 days): examined {r['sweep_examined']} of "
                     f"{r['sweep_due']} due; raw UPDATE {r['sweep_raw_rows']} rows (binary's own figure: "
                     f"{fmt_s(r.get('sweep_reported_s'))}; same statuses: {'yes' if r['sweep_same_statuses'] else 'NO'}) | "
                     f"{fmt_s(r['sweep_wall_s'])} | {fmt_s(r['sweep_raw_s'])} | {fmt_ratio(sr)} | ≤ {RAW_RATIO_TARGET:.0f}x raw | "
                     f"{ok(sr <= RAW_RATIO_TARGET)} |")
        lines.append(f"| second `credence sweep`, same day: examined {r['sweep2_examined']} | "
                     f"{fmt_s(r['sweep2_wall_s'])} | – | – | examines 0 | {ok(r['sweep2_examined'] == 0)} |")
    lines.append("")
    lines.append("## `GET /api/v1/credentials` (limit 50) vs the same SELECT run directly, milliseconds")
    lines.append("")
    http = http_floor(r)
    lines.append("| case | API p50 | API p95 | raw p50 | raw p95 | API/raw p50 | API/raw p95 | "
                 "HTTP bound/raw p50 | rows | same page | "
                 f"p95 < {LIST_P95_TARGET_MS:.0f} ms | ≤ {RAW_RATIO_TARGET:.0f}x raw (p95) |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    within = unreachable = 0
    for c in r["list"]:
        n = "" if c["api_n"] == args.requests and c["raw_n"] == args.requests else f" (n={c['api_n']}/{c['raw_n']})"
        bound = ratio(http + c["raw_p50"], c["raw_p50"]) if http is not None else None
        within += c["ratio_p95"] <= RAW_RATIO_TARGET
        unreachable += bound is not None and bound > RAW_RATIO_TARGET
        lines.append(
            f"| {c['name']}{n}<br>`{c['query']}` | {fmt_ms(c['api_p50'])} | {fmt_ms(c['api_p95'])} | "
            f"{fmt_ms(c['raw_p50'])} | {fmt_ms(c['raw_p95'])} | {fmt_ratio(c['ratio_p50'])} | {fmt_ratio(c['ratio_p95'])} | "
            f"{fmt_ratio(bound) if bound is not None else '–'} | "
            f"{c['rows']} | {'yes' if c['same'] else 'NO'} | {ok(c['api_p95'] < LIST_P95_TARGET_MS)} | "
            f"{ok(c['ratio_p95'] <= RAW_RATIO_TARGET)} |")
    if http is not None and r["list"]:
        lines.append("")
        lines.append(
            f"HTTP bound/raw: the ratio an HTTP API would have if answering cost nothing beyond the bare round "
            f"trip (`GET /healthz` p50, {http:.2f} ms) plus the raw query: (round trip + raw) / raw. Above "
            f"{RAW_RATIO_TARGET:.0f}x, no HTTP server on this machine and client can be within "
            f"{RAW_RATIO_TARGET:.0f}x of that raw query. Within {RAW_RATIO_TARGET:.0f}x (p95): "
            f"{within} of {len(r['list'])} cases; out of any HTTP server's reach: {unreachable} of {len(r['list'])}.")
    busy = {k: v for k, v in (INTERFERENCE.summary() if INTERFERENCE else {}).items() if k.startswith(db)}
    if any(v > 0 for v in busy.values()):
        r["notes"].append("someone else's compiler or test processes (rustc, cargo, ld, node...) were running during "
                          + ", ".join(f"{k.split(': ')[1]} ({v:.0f}% of samples)" for k, v in busy.items() if v > 0)
                          + "; on this 2-core machine those figures are pessimistic")
    if r["notes"]:
        lines.append("")
        lines.append("## Notes")
        lines.append("")
        for n in r["notes"]:
            lines.append(f"- {n}")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--members", type=int, default=DEFAULT_MEMBERS)
    ap.add_argument("--credentials-per-member", type=int, default=DEFAULT_PER_MEMBER)
    ap.add_argument("--requests", type=int, default=200, help="timed requests (and raw queries) per list case")
    ap.add_argument("--assign-members", type=int, default=10_000, help="members in the assignment group")
    ap.add_argument("--max-seconds-per-case", type=float, default=60.0,
                    help="stop timing a list case (each side) after this long, reporting fewer samples")
    ap.add_argument("--daily-jobs-timeout", type=float, default=1800.0,
                    help="how long to wait for the server's start-up daily jobs before timing anyway")
    ap.add_argument("--sqlite-analyze", action="store_true",
                    help="diagnostic: run ANALYZE on SQLite after the seed (Credence never does)")
    ap.add_argument("--binary", type=Path, default=DEFAULT_BINARY)
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--pg-url", default=f"postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}")
    ap.add_argument("--out-dir", type=Path, default=BENCH_DIR)
    ap.add_argument("--lock-file", default=os.path.join(tempfile.gettempdir(), "credence-bench.lock"),
                    help="runs on one machine take turns on this lock")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (SQLite file, server logs)")
    args = ap.parse_args()

    if not args.binary.exists():
        print(f"{args.binary} not found: run `cargo build --release -p credence` first", file=sys.stderr)
        return 2
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in dbs:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            print("psycopg is missing: python3 -m pip install -r bench/requirements.txt", file=sys.stderr)
            return 2
    # One benchmark at a time on this machine: two runs skew each other's figures, and both
    # would drop and recreate the same PostgreSQL database under each other's server.
    import fcntl

    lock = open(args.lock_file, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another benchmark holds {args.lock_file}; waiting for it to finish")
        fcntl.flock(lock, fcntl.LOCK_EX)
    global INTERFERENCE
    INTERFERENCE = Interference()
    workdir = Path(tempfile.mkdtemp(prefix="credence-bench-"))
    # A private copy of the binary, so a rebuild during the run cannot swap it underneath.
    binary = workdir / "credence"
    shutil.copy2(args.binary, binary)
    vers = versions(binary, args.binary)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    default_size = args.members == DEFAULT_MEMBERS and args.credentials_per_member == DEFAULT_PER_MEMBER
    failed = False
    try:
        for db in dbs:
            log(f"=== {db} ===")
            t = time.perf_counter()
            results = None
            try:
                results = Run(args, db, workdir / db, binary).run()
            except Exception as e:  # noqa: BLE001 - report and go on to the next database
                failed = True
                log(f"{db} run FAILED: {e}")
                continue
            text = render(results, args, vers, started)
            suffix = "" if default_size else f"-{args.members}x{args.credentials_per_member}"
            args.out_dir.mkdir(parents=True, exist_ok=True)
            out = args.out_dir / f"results-{db}{suffix}.md"
            out.write_text(text)
            print()
            print(text)
            log(f"{db} done in {time.perf_counter() - t:.0f} s; written to {out}")
    finally:
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
