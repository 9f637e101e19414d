#!/usr/bin/env python3
"""Credence "keeping current" benchmark (issue #5): renewal plans and the reminder pass.

Two targets, each measured on a fresh database seeded by the `credence` binary:

1. "A renewal plan for 10,000 credentials completes in one request within 2x of the
   equivalent set-based SQL": one timed `POST /api/v1/renewal-plans` renewing 10,000
   credentials of a manual-renewal type, against hand-written set-based SQL doing the same
   writes for an identical second type, in one transaction. Both must leave the same rows.
2. "The reminder pass over 1,000,000 credentials selects what is due with indexed queries,
   not a scan per credential, and a second pass on the same day sends nothing": two timed
   `credence reminders` runs on the seeded 100,000 members x 10 credentials, the plans of
   the two selecting queries (crates/store/src/notify/outbox.rs), and the same SELECTs (and a
   set-based INSERT of the same messages, rolled back) run directly for comparison.

The results go to bench/results-keeping-current.md (one section per database; a run of one
database keeps the other's section). Shared helpers come from lifecycle.py next to this
file. Run `cargo build --release -p credence` first; see bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lifecycle as lc  # noqa: E402  (same folder; its main() only runs as a script)

BENCH_DIR = lc.BENCH_DIR
DEFAULT_OUT = BENCH_DIR / "results-keeping-current.md"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"

RATIO_TARGET = 2.0
RENEWAL_SIZE = 10_000

# The renewal planner's defaults (crates/app/src/credentials/renewal_plan.rs, crates/domain/src/renewal.rs):
# candidates expiring within 90 days or expired, "relative" logic, a 90-day period ending at
# the expiration (from today when already expired), due 14 days before its end.
WITHIN_DAYS = 90
PERIOD_DAYS = 90
DUE_DAYS_BEFORE = 14
# Expiration dates of the renewal cohorts, in days from today: expired, due today and
# expiring over the next three months, so the renewed credentials end up in several states.
COHORT_DAYS = [-30, -7, -1, 0, 7, 14, 30, 45, 60, 89]

# Reminders (crates/app/src/notify/reminders.rs): lapse reminders only within 7 days of the date.
LAPSE_GRACE_DAYS = 7
# Ids per statement in the store (JSON_BATCH in crates/store/src/lib.rs: one JSON value).
CHUNK = 20_000


def log(msg: str) -> None:
    lc.log(msg)


def median_time(fn, runs: int = 3) -> tuple[float, object]:
    """Median wall time of `runs` calls of fn(), and the last result."""
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


# --------------------------------------------------------------------------- competing work


class Interference(lc.Interference):
    """lifecycle.Interference, also remembering which competing programs were seen."""

    def __init__(self):
        self.seen: dict[str, set[str]] = {}
        super().__init__()

    def _busy(self) -> bool:
        names = set()
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                comm = (d / "comm").read_text().strip()
            except OSError:
                continue
            if comm in self.NAMES:
                names.add(comm)
        if names:
            self.seen.setdefault(self.phase, set()).update(names)
        return bool(names)


def phase(name: str) -> None:
    lc.phase(name)


# --------------------------------------------------------------------------- SQL dialects


class Dialect:
    """The few expressions that differ between SQLite (dates are 'YYYY-MM-DD' text) and
    PostgreSQL (dates are dates)."""

    def __init__(self, backend: str):
        self.pg = backend == "postgres"
        self.far = "DATE '9999-12-31'" if self.pg else "'9999-12-31'"

    def add_days(self, expr: str, n) -> str:
        if self.pg:
            return f"(CAST({expr} AS date) + CAST(({n}) AS integer))"
        return f"date({expr}, ({n}) || ' days')"

    def greatest(self, *xs: str) -> str:
        return f"{'GREATEST' if self.pg else 'max'}({', '.join(xs)})"

    def least(self, *xs: str) -> str:
        return f"{'LEAST' if self.pg else 'min'}({', '.join(xs)})"

    def days_between(self, a: str, b: str) -> str:
        """a - b in days."""
        if self.pg:
            return f"(CAST({a} AS date) - CAST({b} AS date))"
        return f"CAST(julianday({a}) - julianday({b}) AS INTEGER)"

    def text(self, expr: str) -> str:
        return f"CAST({expr} AS TEXT)"


# The statuses' ranks (crates/domain/src/status.rs).
RANKS = lc.RANKS


# --------------------------------------------------------------------------- one run


class KeepingCurrentRun(lc.Run):
    """lifecycle.Run (fresh database, seed, token, server) plus the two measurements here."""

    def __init__(self, args, db: str, workdir: Path, binary: Path):
        super().__init__(args, db, workdir, binary)
        # Fix "today" for every process of the run, so a run crossing midnight UTC still
        # compares passes of the same day.
        self.env["CREDENCE_TODAY"] = self.today.isoformat()
        self.results.update({"renewal": {}, "reminders": {}, "interference": {}})
        self.dialect = Dialect(db)

    # -- reminders ------------------------------------------------------------------

    def approaching_sql(self, column: str, condition: str) -> str:
        """The SELECT of `approaching` in crates/store/src/notify/outbox.rs, with :names."""
        return f"""SELECT c.id AS credential_id, c.member_id, m.email, m.first_name, m.last_name, t.name AS type_name,
             {column} AS date, c.period_id
         FROM credentials c
         JOIN members m ON m.id = c.member_id
         JOIN credential_types t ON t.id = c.credential_type_id
         WHERE c.agency_id = :a AND {column} >= :from AND {column} <= :to AND {condition} AND m.active = TRUE
         ORDER BY {column}, c.id"""

    def reminder_queries(self) -> dict[str, tuple[str, str, str]]:
        # (column, condition, kind) as expiring_between and periods_due_between pass them.
        return {
            "expiring_between": ("c.expiration_date", "c.revoked = FALSE", "expiration"),
            "periods_due_between": (
                "c.due_date",
                "c.progress < 100 AND (c.expiration_date IS NULL OR c.due_date <> c.expiration_date)",
                "period_due",
            ),
        }

    def offsets(self) -> list[int]:
        """The agency's reminder offsets, parsed as parse_offsets does (0 and junk dropped)."""
        text = self.raw.fetchall("SELECT reminder_offsets FROM agencies WHERE id = :a", {"a": self.agency_id})[0][0]
        out = sorted({int(t) for t in text.split(",") if t.strip().isdigit() and int(t) > 0})
        return out or [90, 60, 30, 7]

    @staticmethod
    def threshold(date: dt.date, today: dt.date, offsets: list[int]) -> str | None:
        """due_threshold of crates/domain/src/reminders.rs, returning the key."""
        left = (date - today).days
        if left < 0:
            return "lapsed" if left >= -LAPSE_GRACE_DAYS else None
        hit = [o for o in offsets if o >= left]
        return f"d{min(hit)}" if hit else None

    def step_reminders(self) -> None:
        """Target 2. The server has not run, so nothing was queued today yet."""
        raw = self.open_raw()
        r = self.results["reminders"]
        a = self.agency_id
        today = self.today
        offsets = self.offsets()
        frm = today - dt.timedelta(days=LAPSE_GRACE_DAYS)
        to = today + dt.timedelta(days=max(offsets))
        p = {"a": a, "from": frm, "to": to}
        r.update(offsets=offsets, window=(frm.isoformat(), to.isoformat()))
        admins = raw.fetchall("SELECT COUNT(*) FROM users WHERE agency_id = :a AND role = 'admin' AND active = TRUE",
                              {"a": a})[0][0]
        r["admins"] = admins

        # 1. The due set, selected directly: the two SELECTs the pass runs, median of three.
        phase(f"{self.db}: reminders raw")
        expected = 0
        r["raw_select"] = {}
        for name, (column, condition, kind) in self.reminder_queries().items():
            sql = self.approaching_sql(column, condition)
            secs, rows = median_time(lambda: raw.fetchall(sql, p))
            due = 0
            for row in rows:
                date = row[6] if isinstance(row[6], dt.date) else dt.date.fromisoformat(row[6])
                if row[2] and self.threshold(date, today, offsets):
                    due += 1
            expected += due
            r["raw_select"][name] = {"rows": len(rows), "due": due, "s": secs}
            log(f"raw {name}: {len(rows)} rows ({due} reminders due) in {secs:.3f} s (median of 3)")
        # One digest per admin when anything was queued.
        r["expected"] = expected + (admins if expected else 0)

        # 2. For scale: the same messages written set-based, one INSERT ... SELECT per kind
        # with ON CONFLICT DO NOTHING as the outbox does; rolled back.
        r["raw_insert_s"], r["raw_insert_rows"] = self.raw_reminder_insert(p, offsets)
        log(f"raw set-based INSERT of the reminders: {r['raw_insert_rows']} rows in {r['raw_insert_s']:.2f} s "
            "(rolled back)")
        if self.db == "postgres":
            # The rolled-back rows are dead tuples in outbox and its unique index; clear them
            # so the pass below does not pay for the benchmark's own garbage.
            raw.execute("VACUUM (ANALYZE) outbox")

        # 3. The plans of the two selecting queries, with these parameters.
        r["plans"] = self.reminder_plans(p)
        r["plans_indexed"] = all(v["indexed"] for v in r["plans"].values())

        # 4. Two passes of `credence reminders` the same day, wall clock (process start and
        # the migration check included) and the binary's own figure.
        before = self.pg_table_stats()
        outbox_before = self.outbox_count()
        for n in (1, 2):
            phase(f"{self.db}: reminders pass {n}")
            out, wall = self.cli("reminders", "--agency", "bench")
            m = re.search(r"queued (\d+) reminders in ([0-9.]+)\s*s", out)
            r[f"pass{n}"] = {"queued": int(m.group(1)) if m else None,
                             "reported_s": float(m.group(2)) if m else None,
                             "wall_s": wall, "output": out}
            log(f"credence reminders, pass {n}: {out} (wall {wall:.2f} s)")
            if n == 1:
                after = self.pg_table_stats()
                if before and after:
                    r["pass1_stats"] = {k: after[k] - before[k] for k in before}
        r["outbox_rows_added"] = self.outbox_count() - outbox_before
        r["outbox_kinds"] = dict(raw.fetchall(
            "SELECT kind, COUNT(*) FROM outbox WHERE agency_id = :a GROUP BY kind ORDER BY kind", {"a": a}))

    def raw_reminder_insert(self, p: dict, offsets: list[int]) -> tuple[float, int]:
        raw, d = self.raw, self.dialect
        today = ":today"
        left = d.days_between("{col}", today)
        key = ["CASE", f"WHEN {left} < 0 THEN 'lapsed'"]
        key += [f"WHEN {left} <= {o} THEN 'd{o}'" for o in offsets]
        key = " ".join(key) + " END"
        kinds = {
            "expiration": ("c.expiration_date", "c.revoked = FALSE", "'exp:' || {id} || ':' || {date}",
                           "t.name || ' has expired'", "t.name || ' expires on ' || {date}",
                           "'Your ' || t.name || ' credential expired on ' || {date} || '.'",
                           "'Your ' || t.name || ' credential expires on ' || {date} || '.'"),
            "period_due": ("c.due_date",
                           "c.progress < 100 AND (c.expiration_date IS NULL OR c.due_date <> c.expiration_date)",
                           "'due:' || COALESCE(c.period_id, 0) || ':' || {date}",
                           "t.name || ' training is overdue'", "t.name || ' training is due on ' || {date}",
                           "'The training for ' || t.name || ' was due on ' || {date} || '.'",
                           "'The training for ' || t.name || ' is due on ' || {date} || '.'"),
        }
        params = dict(p, today=self.today, now=dt.datetime.now(dt.timezone.utc))
        t = time.perf_counter()
        raw.begin()
        total = 0
        for kind, (col, cond, scope, subj_lapsed, subj_before, line_lapsed, line_before) in kinds.items():
            date = d.text(col)
            k = key.format(col=col)
            lapsed = f"{left.format(col=col)} < 0"
            sql = f"""INSERT INTO outbox (agency_id, recipient, subject, body, kind, subject_id, attachment_file_id,
                          dedupe_key, status, attempts, next_attempt_at, created_at)
                SELECT c.agency_id, m.email,
                       CASE WHEN {lapsed} THEN {subj_lapsed} ELSE {subj_before.format(date=date)} END,
                       'Hello ' || m.first_name || ',

' || CASE WHEN {lapsed} THEN {line_lapsed.format(date=date)} ELSE {line_before.format(date=date)} END || '
Please check your credentials in Credence.
',
                       '{kind}', c.id, NULL,
                       {scope.format(id=d.text('c.id'), date=date)} || ':' || ({k}),
                       'queued', 0, :now, :now
                FROM credentials c
                JOIN members m ON m.id = c.member_id
                JOIN credential_types t ON t.id = c.credential_type_id
                WHERE c.agency_id = :a AND {col} >= :from AND {col} <= :to AND {cond} AND m.active = TRUE
                  AND m.email IS NOT NULL AND ({k}) IS NOT NULL
                ON CONFLICT (agency_id, dedupe_key) DO NOTHING"""
            total += raw.execute(sql, params).rowcount
        secs = time.perf_counter() - t
        raw.rollback()
        return secs, total

    def reminder_plans(self, p: dict) -> dict:
        out = {}
        for name, (column, condition, _) in self.reminder_queries().items():
            sql = self.approaching_sql(column, condition)
            if self.db == "sqlite":
                rows = self.raw.fetchall("EXPLAIN QUERY PLAN " + sql, p)
                text = "\n".join(f"{'  ' * self._depth(rows, r)}{r[3]}" for r in rows)
                # A full scan reads "SCAN c" / "SCAN credentials"; an index lookup "SEARCH c USING INDEX".
                scans = re.findall(r"^\s*SCAN (\w+)", text, re.M)
            else:
                rows = self.raw.fetchall("EXPLAIN (ANALYZE, BUFFERS) " + sql, p)
                text = "\n".join(r[0] for r in rows)
                scans = re.findall(r"Seq Scan on (\w+)", text)
            indexed = not any(s in ("c", "credentials") for s in scans)
            out[name] = {"plan": text, "indexed": indexed, "scans": scans, "ms": self._exec_ms(text)}
            log(f"plan of {name} ({'indexed' if indexed else 'FULL SCAN'}):\n{text}")
            if self.db == "postgres" and not indexed:
                # The planner preferred a sequential scan (a large share of the table is in
                # the window). For comparison, the same query with sequential scans disabled
                # for this session, i.e. through the index.
                self.raw.execute("SET enable_seqscan = off")
                try:
                    forced = "\n".join(r[0] for r in self.raw.fetchall("EXPLAIN (ANALYZE, BUFFERS) " + sql, p))
                finally:
                    self.raw.execute("RESET enable_seqscan")
                out[name]["forced"] = forced
                out[name]["forced_ms"] = self._exec_ms(forced)
                log(f"plan of {name} with enable_seqscan = off:\n{forced}")
        return out

    @staticmethod
    def _exec_ms(plan: str) -> float | None:
        m = re.search(r"Execution Time: ([0-9.]+) ms", plan)
        return float(m.group(1)) if m else None

    @staticmethod
    def _depth(rows, row) -> int:
        """Indentation of an EXPLAIN QUERY PLAN row (id, parent, notused, detail)."""
        by_id = {r[0]: r for r in rows}
        depth, parent = 0, row[1]
        while parent in by_id:
            depth += 1
            parent = by_id[parent][1]
        return depth

    def pg_table_stats(self) -> dict | None:
        """Scan counters of the credentials table (PostgreSQL): evidence of what a pass read."""
        if self.db != "postgres":
            return None
        time.sleep(1.5)  # backends flush their counters at exit / within a second
        self.raw.execute("SELECT pg_stat_clear_snapshot()")
        row = self.raw.fetchall(
            "SELECT seq_scan, COALESCE(idx_scan, 0), seq_tup_read, COALESCE(idx_tup_fetch, 0) "
            "FROM pg_stat_user_tables WHERE relname = 'credentials'")[0]
        return dict(zip(("seq_scan", "idx_scan", "seq_tup_read", "idx_tup_fetch"), map(int, row)))

    def outbox_count(self) -> int:
        return self.raw.fetchall("SELECT COUNT(*) FROM outbox WHERE agency_id = :a", {"a": self.agency_id})[0][0]

    # -- renewal plan ---------------------------------------------------------------

    def new_manual_type(self, api: lc.Api, code: str) -> str:
        """A published type that renews by hand, with one check-off: a new period has no
        sign-offs, so its progress is 0 by definition, on both sides."""
        t = api.json("POST", "/api/v1/credential-types", {
            "code": code, "name": f"Bench {code}", "validity_months": 24, "renewal": "manual",
            "renewal_window_days": 90, "requirements": [{"kind": "checklist", "title": "Check-off"}]})
        api.json("POST", f"/api/v1/credential-types/{t['id']}/publish", {})
        return t["id"]

    def hold(self, api: lc.Api, type_id: str, member_ids: list[int]) -> float:
        """Gives the members the type as held credentials, in cohorts expiring on
        COHORT_DAYS, each with the renewal period the type's 90-day window opens."""
        t = time.perf_counter()
        size = len(member_ids)
        for i, days in enumerate(COHORT_DAYS):
            cohort = member_ids[i * size // len(COHORT_DAYS):(i + 1) * size // len(COHORT_DAYS)]
            exp = self.today + dt.timedelta(days=days)
            body = {"credential_type_id": type_id, "mode": "active_with_period",
                    "issue_date": (exp - dt.timedelta(days=730)).isoformat(), "expiration_date": exp.isoformat(),
                    "member_ids": [f"mem_{m}" for m in cohort]}
            out = api.json("POST", "/api/v1/assignments", body)
            if len(out["created"]) != len(cohort):
                raise RuntimeError(f"assignment created {len(out['created'])} of {len(cohort)}")
        return time.perf_counter() - t

    def vacuum(self) -> None:
        if self.db == "postgres":
            # Both sides start from vacuumed, analysed tables (the setup left dead rows).
            self.raw.execute("VACUUM (ANALYZE) credentials, completion_periods, audit_events, renewal_plans")

    def step_renewal(self, api: lc.Api) -> None:
        """Target 1, with the server running."""
        raw = self.open_raw()
        r = self.results["renewal"]
        a = self.agency_id
        size = self.args.renewal_size
        stamp = int(time.time())
        member_ids = [x[0] for x in raw.fetchall(
            "SELECT id FROM members WHERE agency_id = :a AND active = TRUE ORDER BY id LIMIT :n", {"a": a, "n": size})]
        r["size"] = size = len(member_ids)

        # Two identical manual types, held by the same members with the same dates: one is
        # renewed through the API, the other by the raw SQL, and their rows are compared.
        phase(f"{self.db}: renewal setup")
        api_type = self.new_manual_type(api, f"RENEW-API-{stamp}")
        raw_type = self.new_manual_type(api, f"RENEW-RAW-{stamp}")
        r["setup_s"] = self.hold(api, api_type, member_ids) + self.hold(api, raw_type, member_ids)
        r["status_before"] = self.status_mix(int(api_type.split("_")[1]))
        log(f"setup: {size} members hold both types ({r['setup_s']:.1f} s); statuses {r['status_before']}")

        # The planner's candidates with their suggested periods (for scale; not a target).
        phase(f"{self.db}: renewal api")
        t = time.perf_counter()
        cands = api.json("GET", f"/api/v1/credential-types/{api_type}/renewal-candidates?within_days={WITHIN_DAYS}")
        r["candidates_s"] = time.perf_counter() - t
        r["candidates"] = len(cands["items"])
        items = [{"credential_id": c["credential_id"], **c["suggested"]} for c in cands["items"]]
        log(f"GET renewal-candidates: {len(items)} in {r['candidates_s']:.2f} s")
        body = {"credential_type_id": api_type, "items": items}

        self.vacuum()
        t = time.perf_counter()
        dry = api.json("POST", "/api/v1/renewal-plans", dict(body, dry_run=True), expect=(200,))
        r["dry_run_s"] = time.perf_counter() - t
        log(f"POST /renewal-plans dry run: {len(dry['renewed'])} would be renewed in {r['dry_run_s']:.2f} s")

        # Rounds: each renews the same credentials again (they stay candidates: their
        # expiration does not change), closing the previous round's periods. One request
        # per round; the median damps a busy machine.
        r["rounds"] = []
        for n in range(1, self.args.rounds + 1):
            phase(f"{self.db}: renewal api")
            self.vacuum()
            t = time.perf_counter()
            out = api.json("POST", "/api/v1/renewal-plans", dict(body, dry_run=False), expect=(201,))
            api_s = time.perf_counter() - t
            r["api_renewed"], r["api_skipped"] = len(out["renewed"]), len(out["skipped"])
            api_plan = int(out["plan_id"].split("_")[1])
            log(f"round {n}: POST /renewal-plans: {r['api_renewed']} renewed, {r['api_skipped']} skipped "
                f"in {api_s:.3f} s")

            # The same work, set-based, for the other type.
            phase(f"{self.db}: renewal raw")
            self.vacuum()
            raw_plan, raw_s = self.raw_renewal(int(raw_type.split("_")[1]))
            log(f"round {n}: raw set-based renewal: {raw_s:.3f} s")
            r["rounds"].append((api_s, raw_s))
        r["api_s"] = statistics.median(x[0] for x in r["rounds"])
        r["raw_s"] = statistics.median(x[1] for x in r["rounds"])
        r["ratio"] = lc.ratio(r["api_s"], r["raw_s"])

        # Both ways must leave the same rows behind.
        r["check"] = {side: self.renewal_rows(int(tid.split("_")[1]), plan)
                      for side, tid, plan in (("api", api_type, api_plan), ("raw", raw_type, raw_plan))}
        r["same_rows"] = r["check"]["api"] == r["check"]["raw"]
        r["status_after"] = self.status_mix(int(api_type.split("_")[1]))
        r["lookups"] = self.lookup_diagnostics(int(api_type.split("_")[1]))
        log(f"same rows: {r['same_rows']}; counts api {r['check']['api']['counts']} raw {r['check']['raw']['counts']}")
        if not r["same_rows"]:
            self.results["notes"].append(
                f"renewal rows differ: api {json.dumps(r['check']['api'], default=str)} "
                f"raw {json.dumps(r['check']['raw'], default=str)}")

    def lookup_diagnostics(self, type_id: int) -> list[dict]:
        """Diagnostic, not a target: one chunk of each by-id lookup the request runs
        (CHUNK ids, as crates/store chunks them). The request runs each 10,000 / CHUNK
        times, so a slow chunk here explains a slow request. The store's comment on CHUNK
        says why the tenant test's form matters on SQLite: without stats, `agency_id = ?`
        can lead the planner into an index range over the whole agency instead of
        primary-key lookups, which `+agency_id` prevents. Both forms are timed; which one
        the store uses for each lookup is in its source."""
        raw = self.raw
        a = self.agency_id
        rows = raw.fetchall("SELECT id, period_id FROM credentials WHERE agency_id = :a AND credential_type_id = :t "
                            "ORDER BY id LIMIT :n", {"a": a, "t": type_id, "n": CHUNK})
        cases = []
        for name, column, ids, sql in (
            ("credentials_by_ids (crates/store/src/credentials/)", "c.id", [r[0] for r in rows],
             "SELECT c.id, c.status FROM credentials c WHERE {tenant} = :a AND c.id IN ({ids}) ORDER BY c.id"),
            ("periods_by_ids (period_query in crates/store/src/credentials/)", "p.id", [r[1] for r in rows],
             "SELECT p.id, p.credential_id, p.start_date, p.end_date, p.due_date, p.opened_by_issuance_id, "
             "p.renewal_plan_id, p.closed_at, p.closed_by_issuance_id, i.issue_date AS opened_by_issue_date "
             "FROM completion_periods p LEFT JOIN issuances i ON i.id = p.opened_by_issuance_id "
             "WHERE {tenant} = :a AND p.id IN ({ids}) ORDER BY p.id"),
            ("sign_offs_of_periods (crates/store/src/training/records.rs)", "period_id", [r[1] for r in rows],
             "SELECT id, credential_id, requirement_id, period_id, signed_on, evaluator FROM sign_offs "
             "WHERE {tenant} = :a AND period_id IN ({ids})"),
        ):
            params = {"a": a, **{f"i{k}": v for k, v in enumerate(ids)}}
            names = ", ".join(f":i{k}" for k in range(len(ids)))
            alias = column.split(".")[0] + "." if "." in column else ""
            variants = [(f"`{pre}{alias}agency_id = ?`", sql.format(ids=names, tenant=f"{pre}{alias}agency_id"))
                        for pre in ("", "+")]
            for label, q in variants:
                secs, _ = median_time(lambda: raw.fetchall(q, params))
                if self.db == "sqlite":
                    plan = "; ".join(r[3] for r in raw.fetchall("EXPLAIN QUERY PLAN " + q, params))
                else:
                    plan = " ".join(r[0].strip() for r in raw.fetchall("EXPLAIN " + q, params)[:2])
                    plan = re.sub(r"'\{[^}]*\}'", "'{…}'", plan)  # the inlined id list
                cases.append({"name": name, "variant": label, "ids": len(ids), "s": secs, "plan": plan})
                log(f"lookup {name} {label}: {secs * 1000:.1f} ms for {len(ids)} ids; {plan}")
        return cases

    def status_mix(self, type_id: int) -> dict:
        return dict(self.raw.fetchall(
            "SELECT status, COUNT(*) FROM credentials WHERE agency_id = :a AND credential_type_id = :t "
            "GROUP BY status ORDER BY status", {"a": self.agency_id, "t": type_id}))

    def raw_renewal(self, type_id: int) -> tuple[int, float]:
        """What create_renewal_plan writes, as hand-written set-based SQL in one transaction:
        the type's plan, the old periods closed, one new period per credential (dates
        computed in SQL by the planner's relative logic), each credential row updated once
        (pointed at its new period, with its new status), and one audit event each."""
        raw, d = self.raw, self.dialect
        a = self.agency_id
        window = raw.fetchall("SELECT expiring_soon_days FROM agencies WHERE id = :a", {"a": a})[0][0]
        p = {"a": a, "t": type_id, "today": self.today, "until": self.today + dt.timedelta(days=WITHIN_DAYS),
             "now": dt.datetime.now(dt.timezone.utc), "actor": "bench:raw", "w": int(window)}
        # The chosen credentials: every candidate of the type (the API side renews them all).
        chosen = "c.agency_id = :a AND c.credential_type_id = :t AND c.expiration_date <= :until AND c.revoked = FALSE"
        exp = "c.expiration_date"
        start = f"CASE WHEN {exp} < :today THEN :today ELSE {d.greatest(d.add_days(exp, -PERIOD_DAYS), ':today')} END"
        end = f"CASE WHEN {exp} < :today THEN {d.add_days(':today', PERIOD_DAYS)} ELSE {exp} END"
        # In the UPDATE below, `credentials` is the row as it was and `p` its new period.
        valid = ("(credentials.issue_date IS NOT NULL AND credentials.revoked = FALSE "
                 "AND (credentials.expiration_date IS NULL OR credentials.expiration_date >= :today))")
        open_ = "(p.start_date <= :today)"

        def status(v: dict) -> str:
            # The status table for progress 0 (a new period has no sign-offs yet).
            return f"""CASE WHEN credentials.issue_date IS NOT NULL AND credentials.revoked THEN {v['revoked']}
                WHEN {valid} AND {open_} THEN {v['active_renewal_in_progress']}
                WHEN {valid} THEN {v['active']}
                WHEN {open_} AND p.end_date < :today THEN {v['overdue']}
                WHEN {open_} THEN {v['not_started']}
                WHEN credentials.issue_date IS NOT NULL THEN {v['expired']}
                ELSE {v['not_started']} END"""

        def later(expr: str) -> str:
            return f"COALESCE(CASE WHEN {expr} > :today THEN {expr} END, {d.far})"

        # status::next_change: period start, the day after its end, the day after the
        # expiration, and the day the expiration comes within the expiring-soon window.
        next_change = "NULLIF({}, {})".format(d.least(
            later("p.start_date"), later(d.add_days("p.end_date", 1)),
            f"CASE WHEN credentials.revoked THEN {d.far} ELSE {later(d.add_days('credentials.expiration_date', 1))} END",
            f"CASE WHEN credentials.revoked THEN {d.far} ELSE {later(d.add_days('credentials.expiration_date', '-:w'))} END"), d.far)
        names = {k: f"'{k}'" for k in RANKS}
        ranks = {k: str(v) for k, v in RANKS.items()}

        t = time.perf_counter()
        raw.begin()
        raw.execute("""INSERT INTO renewal_plans (agency_id, credential_type_id, created_by, created_at)
                       VALUES (:a, :t, :actor, :now) ON CONFLICT (agency_id, credential_type_id) DO NOTHING""", p)
        plan = raw.fetchall("SELECT id FROM renewal_plans WHERE agency_id = :a AND credential_type_id = :t", p)[0][0]
        p["plan"] = plan
        p["after"] = json.dumps({"renewal_plan_id": f"plan_{plan}"})
        raw.execute(f"""UPDATE completion_periods SET closed_at = :now
                        WHERE agency_id = :a AND closed_at IS NULL
                          AND credential_id IN (SELECT c.id FROM credentials c WHERE {chosen})""", p)
        raw.execute(f"""INSERT INTO completion_periods (agency_id, credential_id, start_date, end_date, due_date,
                            opened_by_issuance_id, renewal_plan_id, created_at)
                        SELECT agency_id, id, s, e, {d.greatest(d.add_days('e', -DUE_DAYS_BEFORE), 's')}, issuance_id, :plan, :now
                        FROM (SELECT c.agency_id, c.id, c.issuance_id, {start} AS s, {end} AS e
                              FROM credentials c WHERE {chosen}) x""", p)
        # One write per credential row: the new period's facts and the status they give
        # (SET expressions read the row as it was, so the status comes from p's dates).
        raw.execute(f"""UPDATE credentials SET period_id = p.id, period_start = p.start_date, period_end = p.end_date,
                           due_date = p.due_date, status = {status(names)}, status_rank = {status(ranks)}, progress = 0,
                           expiring_soon = ({valid} AND credentials.expiration_date IS NOT NULL
                                            AND credentials.expiration_date <= {d.add_days(':today', ':w')}),
                           status_changes_on = {next_change}, version = credentials.version + 1, updated_at = :now
                       FROM completion_periods p
                       WHERE p.agency_id = :a AND p.renewal_plan_id = :plan AND p.closed_at IS NULL
                         AND credentials.id = p.credential_id AND credentials.agency_id = :a""", p)
        raw.execute(f"""INSERT INTO audit_events (agency_id, at, actor, action, subject_type, subject_id, after_json)
                        SELECT c.agency_id, :now, :actor, 'renew', 'credential', c.id, :after
                        FROM credentials c WHERE {chosen}""", p)
        raw.commit()
        return plan, time.perf_counter() - t

    def renewal_rows(self, type_id: int, plan: int) -> dict:
        """What a renewal left for one type: credential rows by their stored facts and
        computed columns, and the number of rows of each kind written."""
        raw = self.raw
        p = {"a": self.agency_id, "t": type_id, "plan": plan}
        creds = raw.fetchall(
            """SELECT status, status_rank, progress, expiring_soon, status_changes_on, issue_date, expiration_date,
                      period_start, period_end, due_date, COUNT(*)
               FROM credentials WHERE agency_id = :a AND credential_type_id = :t
               GROUP BY status, status_rank, progress, expiring_soon, status_changes_on, issue_date, expiration_date,
                        period_start, period_end, due_date
               ORDER BY 1, 5, 6, 7, 8, 9, 10""", p)
        q = lambda sql: raw.fetchall(sql, p)[0][0]  # noqa: E731
        sub = "SELECT id FROM credentials WHERE agency_id = :a AND credential_type_id = :t"
        counts = {
            "new periods in the plan": q("SELECT COUNT(*) FROM completion_periods WHERE agency_id = :a AND renewal_plan_id = :plan"),
            "new periods opened by the current issuance": q(
                f"""SELECT COUNT(*) FROM completion_periods p JOIN credentials c ON c.id = p.credential_id
                    WHERE p.agency_id = :a AND p.renewal_plan_id = :plan AND p.opened_by_issuance_id = c.issuance_id"""),
            "periods closed": q(f"SELECT COUNT(*) FROM completion_periods WHERE agency_id = :a AND closed_at IS NOT NULL AND credential_id IN ({sub})"),
            "open periods": q(f"SELECT COUNT(*) FROM completion_periods WHERE agency_id = :a AND closed_at IS NULL AND credential_id IN ({sub})"),
            "credentials pointing at the new period": q(
                """SELECT COUNT(*) FROM credentials c JOIN completion_periods p ON p.id = c.period_id
                   WHERE c.agency_id = :a AND c.credential_type_id = :t AND p.renewal_plan_id = :plan"""),
            "renew audit events": q(f"SELECT COUNT(*) FROM audit_events WHERE agency_id = :a AND action = 'renew' AND subject_id IN ({sub})"),
            "renewal plans": q("SELECT COUNT(*) FROM renewal_plans WHERE agency_id = :a AND credential_type_id = :t"),
        }
        return {"credentials": [tuple(map(str, row)) for row in creds], "counts": counts}

    # -- the run --------------------------------------------------------------------

    def run(self) -> dict:
        self.fresh_database()
        try:
            phase(f"{self.db}: seed")
            self.step_seed()
            self.step_token()
            # Reminders first: `credence serve` queues today's reminders at start, so the
            # CLI passes must come before the server ever runs on this database.
            log("reminders")
            self.step_reminders()
            phase(f"{self.db}: server start")
            api = self.start_server()
            try:
                log("renewal plan")
                self.step_renewal(api)
            finally:
                api.close()
                self.stop_server()
            self.results["db_size"] = self.db_size()
        finally:
            self.stop_server()
            if self.raw:
                self.raw.close()
                self.raw = None
        return self.results


# --------------------------------------------------------------------------- report


def fmt_s(v) -> str:
    return lc.fmt_s(v)


def render_section(r: dict, args, vers: dict, started: str, interference: Interference) -> str:
    db = r["db"]
    ren, rem = r["renewal"], r["reminders"]
    L = [f"<!-- section:{db} -->", f"## {'SQLite' if db == 'sqlite' else 'PostgreSQL'}", ""]
    L.append(f"- run: {started}; {args.members} members x {args.credentials_per_member} credentials "
             f"({r.get('credentials', '?')} credentials); today = {r.get('today', '?')} (`CREDENCE_TODAY`)")
    L.append(f"- {vers['credence']}, checkout at commit {vers['commit']} when the run started; binary {vers['binary']}; "
             f"{vers['machine']}")
    extra = f"Python sqlite3 {vers['python_sqlite']}" if db == "sqlite" else f"psycopg {vers['psycopg']}"
    L.append(f"- raw SQL through {extra}; database size at the end: {r.get('db_size', '?')}")
    L.append(f"- `credence seed`: {fmt_s(r.get('seed_wall_s'))} wall; credential statuses after it: {r.get('status_mix', {})}")
    if "analyze_s" in r:
        L.append(f"- `VACUUM (ANALYZE)` after the seed: {r['analyze_s']:.2f} s (what autovacuum would do soon anyway)")
    if "startup_daily_jobs_line" in r:
        L.append(f"- the server's start-up daily jobs (after the reminder passes, before the renewal timings): "
                 f"`{r['startup_daily_jobs_line']}`")
    L.append("")

    # Target 1
    L.append("### Target 1: a renewal plan for 10,000 credentials in one request, ≤ 2× set-based SQL")
    L.append("")
    if "api_s" in ren:
        same = "yes" if ren["same_rows"] else "**NO**"
        L.append("| step | Credence | raw SQL | ratio | target | met |")
        L.append("|---|---|---|---|---|---|")
        L.append(f"| `POST /api/v1/renewal-plans` with {ren['candidates']} items: {ren['api_renewed']} renewed, "
                 f"{ren['api_skipped']} skipped; same rows both ways: {same} (median of {len(ren['rounds'])} rounds) | {fmt_s(ren['api_s'])} | "
                 f"{fmt_s(ren['raw_s'])} | {lc.fmt_ratio(ren['ratio'])} | ≤ {RATIO_TARGET:.0f}× raw | "
                 f"{lc.ok(ren['ratio'] <= RATIO_TARGET and ren['same_rows'])} |")
        L.append("| each round, Credence / raw | " + "<br>".join(f"{a:.2f} s / {b:.2f} s" for a, b in ren["rounds"])
                 + " | | " + "<br>".join(lc.fmt_ratio(lc.ratio(a, b)) for a, b in ren["rounds"]) + " | – | – |")
        L.append(f"| (context) the same request with `dry_run: true` | {fmt_s(ren['dry_run_s'])} | – | – | – | – |")
        L.append(f"| (context) `GET …/renewal-candidates?within_days={WITHIN_DAYS}`: {ren['candidates']} candidates "
                 f"with suggested periods | {fmt_s(ren['candidates_s'])} | – | – | – | – |")
        L.append(f"| (setup, not timed as a target) 2 types × {len(COHORT_DAYS)} `POST /assignments` "
                 f"(`active_with_period`) of {ren['size'] // len(COHORT_DAYS)} members | {fmt_s(ren['setup_s'])} | – | – | – | – |")
        L.append("")
        if ren.get("lookups"):
            L.append(f"Diagnostic (not a target): one chunk of each by-id lookup the request runs, with the tenant "
                     f"test in both forms (the store's source says which it uses), median of 3; the request runs each "
                     f"about {ren['size'] // CHUNK + 1} times ({ren['size']} ids / {CHUNK} per chunk).")
            L.append("")
            L.append("| lookup | tenant test | ids | time per chunk | × chunks | plan |")
            L.append("|---|---|---|---|---|---|")
            for c in ren["lookups"]:
                L.append(f"| {c['name']} | {c['variant']} | {c['ids']} | {c['s'] * 1000:.1f} ms | "
                         f"{c['s'] * (ren['size'] // CHUNK + 1):.2f} s | `{c['plan']}` |")
            L.append("")
        L.append(f"Statuses of the {ren['size']} credentials before: {ren['status_before']}; after: {ren['status_after']}.")
        L.append("")
        L.append("| rows written | Credence | raw SQL |")
        L.append("|---|---|---|")
        for k, v in ren["check"]["api"]["counts"].items():
            L.append(f"| {k} | {v} | {ren['check']['raw']['counts'][k]} |")
        L.append(f"| distinct credential rows (status, rank, progress, expiring soon, next change, issue, expiration, "
                 f"period start/end, due) | {len(ren['check']['api']['credentials'])} groups | "
                 f"{len(ren['check']['raw']['credentials'])} groups |")
        L.append("")
    else:
        L.append("(not measured: the run failed before this step)")
        L.append("")

    # Target 2
    L.append("### Target 2: the reminder pass over 1,000,000 credentials")
    L.append("")
    if "pass1" in rem:
        p1, p2 = rem["pass1"], rem["pass2"]
        sel = rem["raw_select"]
        raw_sel_s = sum(v["s"] for v in sel.values())
        raw_sel_rows = sum(v["rows"] for v in sel.values())
        L.append("| step | time | result | target | met |")
        L.append("|---|---|---|---|---|")
        L.append(f"| first `credence reminders` (wall; binary's own figure {fmt_s(p1['reported_s'])}) | "
                 f"{fmt_s(p1['wall_s'])} | queued {p1['queued']}; expected {rem['expected']} from the raw selection | "
                 f"queues what is due | {lc.ok(p1['queued'] == rem['expected'])} |")
        for name, v in rem["plans"].items():
            ms = f"{v['ms']:.0f} ms (EXPLAIN ANALYZE)" if v.get("ms") is not None else "–"
            share = ""
            if r.get("credentials"):
                share = f"; {sel[name]['rows'] / r['credentials']:.0%} of all credentials are in the window"
            what = ("index range scan, no full scan of credentials" if v["indexed"] else
                    "**full scan** of credentials: the planner chose a sequential scan" + share)
            L.append(f"| selection `{name}` (plan below) | {ms} | {what} | indexed query | {lc.ok(v['indexed'])} |")
            if "forced" in v:
                idx = re.findall(r"Index (?:Only )?Scan (?:using|on) (\w+)", v["forced"])
                L.append(f"| (context) `{name}` with `SET enable_seqscan = off` | {v['forced_ms']:.0f} ms | "
                         f"through {', '.join(dict.fromkeys(idx)) or 'no index'} (plan below) | – | – |")
        L.append(f"| second `credence reminders`, same day (binary's own figure {fmt_s(p2['reported_s'])}) | "
                 f"{fmt_s(p2['wall_s'])} | queued {p2['queued']} | sends nothing | {lc.ok(p2['queued'] == 0)} |")
        L.append(f"| raw: the two SELECTs of the due set, median of 3 | {fmt_s(raw_sel_s)} | "
                 f"{raw_sel_rows} rows (" + ", ".join(f"`{k}` {v['rows']} rows, {v['s']:.2f} s" for k, v in sel.items())
                 + ") | – | – |")
        L.append(f"| raw: the same messages set-based, `INSERT … SELECT … ON CONFLICT DO NOTHING` per kind (rolled back) | "
                 f"{fmt_s(rem['raw_insert_s'])} | {rem['raw_insert_rows']} rows | – | – |")
        L.append(f"| first pass / raw set-based INSERT | {lc.fmt_ratio(lc.ratio(p1['wall_s'], rem['raw_insert_s']))} | "
                 "for scale | – | – |")
        L.append("")
        L.append(f"Window selected: {rem['window'][0]} … {rem['window'][1]} (offsets {rem['offsets']}, lapse reminders "
                 f"for {LAPSE_GRACE_DAYS} days); admin logins (one digest each): {rem['admins']}; outbox rows added by the "
                 f"two passes: {rem['outbox_rows_added']} ({rem['outbox_kinds']}).")
        if rem.get("pass1_stats"):
            s = rem["pass1_stats"]
            L.append(f"PostgreSQL's counters for `credentials` during the first pass: {s['seq_scan']} sequential scans "
                     f"({s['seq_tup_read']} rows read by them), {s['idx_scan']} index scans fetching {s['idx_tup_fetch']} rows.")
        L.append("")
        how = ("`EXPLAIN QUERY PLAN` through Python's sqlite3 (the binary bundles a newer SQLite; no `ANALYZE` has run, "
               "as Credence never runs it)" if db == "sqlite" else "`EXPLAIN (ANALYZE, BUFFERS)`")
        L.append(f"Plans of the selecting queries of `crates/store/src/notify/outbox.rs` with these parameters ({how}):")
        L.append("")
        for name, v in rem["plans"].items():
            L.append(f"`{name}` — {'indexed, no full scan of credentials' if v['indexed'] else '**full scan**'}:")
            L.append("")
            L.append("```")
            L.append(v["plan"])
            L.append("```")
            L.append("")
            if "forced" in v:
                L.append(f"`{name}` with `SET enable_seqscan = off` (for comparison only):")
                L.append("")
                L.append("```")
                L.append(v["forced"])
                L.append("```")
                L.append("")
    else:
        L.append("(not measured: the run failed before this step)")
        L.append("")

    notes = list(r["notes"])
    # Explanations the figures call for, derived from them.
    chunks = ren.get("size", 0) // CHUNK + 1
    by_name: dict[str, dict] = {}
    for c in ren.get("lookups", []):
        by_name.setdefault(c["name"], {})[c["variant"]] = c["s"]
    for name, v in by_name.items():
        plain = next((t for label, t in v.items() if not label.startswith("`+")), None)
        plus = next((t for label, t in v.items() if label.startswith("`+")), None)
        api_s = ren.get("api_s")
        # Flag a slow form only when its cost accounts for a good part of the request's time,
        # i.e. when the request probably runs it.
        if plain and plus and api_s and plain > 10 * plus and 0.3 * api_s <= plain * chunks <= 1.5 * api_s:
            notes.append(f"`{name}` with a plain `agency_id = ?` takes {plain * 1000:.0f} ms per chunk of {CHUNK} ids "
                         f"against {plus * 1000:.1f} ms with `+agency_id` (plans in the diagnostic table); {chunks} "
                         f"chunks make ≈ {plain * chunks:.1f} s, most of the request's {api_s:.1f} s, so the request "
                         f"probably runs the plain form")
    for name, v in rem.get("plans", {}).items():
        if not v["indexed"] and "forced" in v:
            sel = rem["raw_select"][name]
            notes.append(
                f"`{name}` on PostgreSQL: the planner chose a parallel sequential scan of credentials because "
                f"{sel['rows'] / max(1, r.get('credentials') or 1):.0%} of the table is in the window (the seed gives a "
                f"quarter of all credentials one expiration date, today + 2 months); through the index the same "
                f"query takes {v['forced_ms']:.0f} ms against {v['ms']:.0f} ms. The pass still runs the query once, not "
                f"once per credential (the table's counters above: one scan of the table in total)")
    busy = {k.split(": ", 1)[1]: v for k, v in interference.summary().items() if k.startswith(db + ":")}
    seen = {k.split(": ", 1)[1]: sorted(v) for k, v in interference.seen.items() if k.startswith(db + ":")}
    if any(v > 0 for v in busy.values()):
        notes.append("other processes were compiling or testing during: " + ", ".join(
            f"{k} ({v:.0f}% of samples: {', '.join(seen.get(k, []))})" for k, v in busy.items() if v > 0)
            + "; on this 2-core machine those figures are pessimistic")
    else:
        notes.append("no compiler or test runner (rustc, cargo, ld, node, …) was seen running during the measurements")
    L.append("#### Notes")
    L.append("")
    for n in notes:
        L.append(f"- {n}")
    L.append("")
    L.append(f"<!-- end:{db} -->")
    return "\n".join(L)


HEADER = """# Credence keeping-current benchmark (issue #5)

Written by `bench/keeping_current.py`; see bench/README.md for what each figure means and how
to rerun it. Targets: (1) a renewal plan for 10,000 credentials completes in one request
within 2× of the equivalent set-based SQL; (2) the reminder pass over 1,000,000 credentials
selects what is due with indexed queries, not a scan per credential, and a second pass on the
same day sends nothing.
"""


def write_results(out: Path, sections: dict[str, str]) -> None:
    """Writes the sections run now, keeping another database's section from an earlier run."""
    old = out.read_text() if out.exists() else ""
    kept = {}
    for db in ("sqlite", "postgres"):
        m = re.search(rf"<!-- section:{db} -->.*?<!-- end:{db} -->", old, re.S)
        if m:
            kept[db] = m.group(0)
    kept.update(sections)
    body = [HEADER]
    for db in ("sqlite", "postgres"):
        if db in kept:
            body.append(kept[db])
            body.append("")
    out.write_text("\n".join(body))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--members", type=int, default=lc.DEFAULT_MEMBERS)
    ap.add_argument("--credentials-per-member", type=int, default=lc.DEFAULT_PER_MEMBER)
    ap.add_argument("--renewal-size", type=int, default=RENEWAL_SIZE, help="credentials in the renewal plan")
    ap.add_argument("--rounds", type=int, default=3, help="renewal rounds (each side once per round); medians reported")
    ap.add_argument("--daily-jobs-timeout", type=float, default=1800.0,
                    help="how long to wait for the server's start-up daily jobs")
    ap.add_argument("--binary", type=Path, default=lc.DEFAULT_BINARY)
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--pg-url", default=f"postgres://postgres@127.0.0.1:5432/{lc.PG_BENCH_DB}")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"results file (default {DEFAULT_OUT.name}; with other sizes, a name with the sizes)")
    ap.add_argument("--lock-file", default=os.path.join(tempfile.gettempdir(), "credence-bench.lock"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory (SQLite file, server log)")
    args = ap.parse_args()
    args.sqlite_analyze = False  # lifecycle.Run reads it; Credence never runs ANALYZE

    if not args.binary.exists():
        print(f"{args.binary} not found: run `cargo build --release -p credence` first", file=sys.stderr)
        return 2
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if "postgres" in dbs:
            print("psycopg is missing: python3 -m pip install -r bench/requirements.txt", file=sys.stderr)
            return 2
    if args.out is None:
        default = (args.members, args.credentials_per_member, args.renewal_size) == (
            lc.DEFAULT_MEMBERS, lc.DEFAULT_PER_MEMBER, RENEWAL_SIZE)
        args.out = DEFAULT_OUT if default else BENCH_DIR / (
            f"results-keeping-current-{args.members}x{args.credentials_per_member}-r{args.renewal_size}.md")

    # One benchmark at a time on this machine (the same lock as lifecycle.py and
    # certificates.py): two would skew each other and drop each other's database.
    lock = open(args.lock_file, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another benchmark holds {args.lock_file}; waiting for it to finish")
        fcntl.flock(lock, fcntl.LOCK_EX)
    interference = Interference()
    lc.INTERFERENCE = interference
    workdir = Path(tempfile.mkdtemp(prefix="credence-keeping-"))
    binary = workdir / "credence"  # a private copy: a rebuild during the run cannot swap it
    shutil.copy2(args.binary, binary)
    vers = lc.versions(binary, args.binary)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    failed = False
    try:
        for db in dbs:
            log(f"=== {db} ===")
            t = time.perf_counter()
            run = KeepingCurrentRun(args, db, workdir / db, binary)
            run.results["today"] = run.today.isoformat()
            try:
                run.run()
            except Exception as e:  # noqa: BLE001 - report what was measured, go on
                failed = True
                log(f"{db} run FAILED: {e!r}")
                run.results["notes"].append(f"the run failed: {e!r}")
            phase("idle")
            text = render_section(run.results, args, vers, started, interference)
            write_results(args.out, {db: text})
            print()
            print(text)
            log(f"{db} done in {time.perf_counter() - t:.0f} s; written to {args.out}")
    finally:
        interference.stop()
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
