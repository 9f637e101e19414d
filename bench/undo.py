#!/usr/bin/env python3
"""Credence undo benchmark (issue #18, item 9): "undo of a 10,000-credential operation within
2x of raw SQL, on both databases".

For each database it seeds a fresh database with the `credence` binary, starts the server,
and for each kind of operation (a bulk revoke; a renewal plan):

* two identical sets of 10,000 credentials (A and B) go through the same bulk action
  through the API, each as its own operation;
* A's operation is undone with one timed `POST /api/v1/operations/{id}/undo`;
* B's is undone by hand-written set-based SQL doing the same writes in one transaction,
  timed with its commit (issuances or periods put back, the credential rows given back
  their facts and computed status, one chained audit event per credential, the operation
  marked undone);
* both sets must then be exactly as they were before the action.

Each kind runs --rounds times (new operations each round, the side that goes first
alternating) and the medians are compared. A last, separate round runs the server with
sqlx's statement log on and breaks one API undo down by statement, so a slow figure can be
traced to what dominates it.

Results: bench/results-undo.md (one section per database; a run of one database keeps the
other's section). Shared helpers come from lifecycle.py next to this file. Build first:
`cargo build --release -p credence`; see bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import fcntl
import hashlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lifecycle as lc  # noqa: E402  (same folder; its main() only runs as a script)

BENCH_DIR = lc.BENCH_DIR
DEFAULT_OUT = BENCH_DIR / "results-undo.md"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
RATIO_TARGET = 2.0
SIZE = 10_000
DEFAULT_MEMBERS = 20_000

# Advisory-lock key base of the audit chain (CHAIN_LOCK in crates/store/src/ops/audit.rs).
CHAIN_LOCK = 0x4155_0000_0000
RAW_ACTOR = "bench:raw"

# The credential row as the comparisons read it: everything but version and updated_at.
STATE_COLS = ("id", "status", "status_rank", "progress", "expiring_soon", "status_changes_on", "issuance_id",
              "issue_date", "expiration_date", "revoked", "period_id", "period_start", "period_end", "due_date")


def log(msg: str) -> None:
    lc.log(msg)


def phase(name: str) -> None:
    lc.phase(name)


def num(public_id: str) -> int:
    return int(public_id.rsplit("_", 1)[1])


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


class UndoTimeout(Exception):
    def __init__(self, secs: float, statements: list[dict], running: str | None, by: str):
        super().__init__(f"undo still running after {secs:.0f} s")
        self.secs, self.statements, self.running, self.by = secs, statements, running, by


class Sql:
    """The two things the raw SQL writes differently per database: a set of ids and a set
    of rows, passed as one parameter each (SQLite: JSON through json_each, as the store does;
    PostgreSQL: arrays through unnest, as one would write it by hand)."""

    def __init__(self, backend: str):
        self.pg = backend == "postgres"

    def ids(self, name: str, ids: list[int]) -> tuple[str, dict]:
        if self.pg:
            return f"(SELECT unnest(CAST(:{name} AS bigint[])))", {name: list(ids)}
        return f"(SELECT value FROM json_each(:{name}))", {name: json.dumps(list(ids))}

    def rows(self, name: str, cols: list[tuple[str, str]], rows: list[tuple]) -> tuple[str, dict]:
        """A derived table `v` with the columns (name, PostgreSQL type) holding rows."""
        if self.pg:
            params = {f"{name}_{c}": [r[i] for r in rows] for i, (c, _) in enumerate(cols)}
            arrays = ", ".join(f"CAST(:{name}_{c} AS {t}[])" for c, t in cols)
            return f"unnest({arrays}) AS v({', '.join(c for c, _ in cols)})", params

        def cell(x):
            if isinstance(x, (dt.date, dt.datetime)):
                return x.isoformat()
            return x

        sel = ", ".join(f"value ->> {i} AS {c}" for i, (c, _) in enumerate(cols))
        data = json.dumps([[cell(x) for x in r] for r in rows])
        return f"(SELECT {sel} FROM json_each(:{name})) AS v", {name: data}


def norm(v) -> str:
    """One spelling for both drivers (SQLite gives 0/1 and text dates)."""
    if isinstance(v, bool):
        return "1" if v else "0"
    return "" if v is None else str(v)


class UndoRun(lc.Run):
    """lifecycle.Run (fresh database, seed, token, server) plus the undo measurements."""

    def __init__(self, args, db: str, workdir: Path, binary: Path):
        super().__init__(args, db, workdir, binary)
        # One "today" for every process of the run (statuses depend on it).
        self.env["CREDENCE_TODAY"] = self.today.isoformat()
        self.sql = Sql(db)
        self.results.update({"kinds": {}, "today": self.today.isoformat()})

    # -- helpers ----------------------------------------------------------------------

    def vacuum(self) -> None:
        if self.db == "postgres":
            # Both sides start from vacuumed, analysed tables (each action leaves dead rows).
            self.raw.execute("VACUUM (ANALYZE) credentials, issuances, completion_periods, audit_events, operations")

    def cred_state(self, ids: list[int]) -> dict[int, tuple]:
        src, p = self.sql.ids("ids", ids)
        rows = self.raw.fetchall(f"SELECT {', '.join(STATE_COLS)} FROM credentials WHERE agency_id = :a AND id IN {src}",
                                 dict(p, a=self.agency_id))
        return {r[0]: tuple(norm(x) for x in r) for r in rows}

    def cred_rows(self, ids: list[int]) -> list[tuple]:
        """The raw rows (native types) of the credentials, by id."""
        src, p = self.sql.ids("ids", ids)
        return self.raw.fetchall(f"SELECT {', '.join(STATE_COLS)} FROM credentials WHERE agency_id = :a AND id IN {src} "
                                 "ORDER BY id", dict(p, a=self.agency_id))

    def periods(self, ids: list[int]) -> dict[int, tuple]:
        src, p = self.sql.ids("ids", ids)
        rows = self.raw.fetchall(
            f"SELECT id, credential_id, start_date, end_date, due_date, closed_at IS NOT NULL, closed_by_issuance_id "
            f"FROM completion_periods WHERE agency_id = :a AND credential_id IN {src}", dict(p, a=self.agency_id))
        return {r[0]: tuple(norm(x) for x in r) for r in rows}

    def issuances(self, ids: list[int]) -> dict[int, tuple]:
        src, p = self.sql.ids("ids", ids)
        rows = self.raw.fetchall(
            f"SELECT id, credential_id, revoked_at IS NOT NULL, revoke_reason FROM issuances "
            f"WHERE agency_id = :a AND credential_id IN {src}", dict(p, a=self.agency_id))
        return {r[0]: tuple(norm(x) for x in r) for r in rows}

    def history(self, ids: list[int]) -> dict:
        """What an undo must put back, to compare before and after."""
        return {"credentials": self.cred_state(ids), "periods": self.periods(ids), "issuances": self.issuances(ids)}

    def status_mix(self, ids: list[int]) -> dict:
        return dict(collections.Counter(v[1] for v in self.cred_state(ids).values()).most_common())

    def load_types(self) -> list[int]:
        return [r[0] for r in self.raw.fetchall(
            "SELECT id FROM credential_types WHERE agency_id = :a AND code LIKE :pat ORDER BY id",
            {"a": self.agency_id, "pat": "LOAD-%"})]

    # -- the raw side -----------------------------------------------------------------

    def raw_audit(self, subject_ids: list[int], op_public: str, kind: str, now: dt.datetime) -> None:
        """One 'undo' event per credential, chained as crates/store/src/ops/audit.rs does:
        the chain's lock (PostgreSQL), new ids, the newest hash, SHA-256 per event in id order
        (here in Python), one INSERT ... SELECT of all the rows."""
        raw, a = self.raw, self.agency_id
        n = len(subject_ids)
        if self.db == "postgres":
            raw.execute("SELECT pg_advisory_xact_lock(:k)", {"k": CHAIN_LOCK + a})
            ids = sorted(r[0] for r in raw.fetchall(
                "SELECT nextval(pg_get_serial_sequence('audit_events', 'id')) FROM generate_series(1, :n)", {"n": n}))
        else:
            last = raw.fetchall("SELECT COALESCE(MAX(id), 0) FROM audit_events")[0][0]
            ids = list(range(last + 1, last + n + 1))
        head = raw.fetchall("SELECT hash FROM audit_events WHERE agency_id = :a AND hash IS NOT NULL "
                            "ORDER BY id DESC LIMIT 1", {"a": a})
        if not head:
            raise RuntimeError("no chained audit event to follow (the seed should have written some)")
        head = head[0][0]
        after = json.dumps({"kind": kind, "operation_id": op_public}, sort_keys=True, separators=(",", ":"))
        at = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"
        fixed = f'"{at}",{json.dumps(RAW_ACTOR, ensure_ascii=False)},"undo","credential",'
        rows = []
        for eid, sid in zip(ids, subject_ids):
            h = hashlib.sha256(f'{head}[{eid},{a},{fixed}{sid},null,{after}]'.encode()).hexdigest()
            rows.append((eid, sid, head, h))
            head = h
        src, p = self.sql.rows("ev", [("id", "bigint"), ("subject_id", "bigint"), ("prev_hash", "text"),
                                      ("hash", "text")], rows)
        raw.execute(
            f"""INSERT INTO audit_events (id, agency_id, at, actor, action, subject_type, subject_id, before_json,
                    after_json, prev_hash, hash)
                SELECT v.id, :a, :at, :actor, 'undo', 'credential', v.subject_id, NULL, :after, v.prev_hash, v.hash
                FROM {src}""", dict(p, a=a, at=now, actor=RAW_ACTOR, after=after))

    def raw_mark_undone(self, op: int, now: dt.datetime) -> None:
        n = self.raw.execute("UPDATE operations SET undone_at = :now, undone_by = :by "
                             "WHERE agency_id = :a AND id = :op AND undone_at IS NULL",
                             {"now": now, "by": RAW_ACTOR, "a": self.agency_id, "op": op}).rowcount
        if n != 1:
            raise RuntimeError(f"operation {op} was not marked undone")

    COMPUTED = [("id", "bigint"), ("status", "text"), ("status_rank", "bigint"), ("progress", "bigint"),
                ("expiring_soon", "boolean"), ("status_changes_on", "date")]
    COMPUTED_SET = """status = v.status, status_rank = v.status_rank, progress = v.progress,
                      expiring_soon = v.expiring_soon, status_changes_on = v.status_changes_on,
                      version = credentials.version + 1, updated_at = :now"""

    def raw_undo_revoke(self, op: int, before: list[tuple]) -> float:
        """Undo of a bulk revoke by hand: the revoked issuances valid again, each credential
        row given back `revoked = FALSE` and its status, rank, expiring-soon flag and next
        change as they were before the revoke (read before the action: the same values the
        status rule gives, as the facts are the same again), the audit events, the operation
        marked undone; one transaction, timed with its commit."""
        raw, a = self.raw, self.agency_id
        ids = [r[0] for r in before]
        iss = [r[STATE_COLS.index("issuance_id")] for r in before]
        comp = [tuple(r[STATE_COLS.index(c)] for c, _ in self.COMPUTED) for r in before]
        t = time.perf_counter()
        now = dt.datetime.now(dt.timezone.utc)
        raw.begin()
        src, p = self.sql.ids("iss", iss)
        raw.execute(f"UPDATE issuances SET revoked_at = NULL, revoke_reason = NULL WHERE agency_id = :a AND id IN {src}",
                    dict(p, a=a))
        src, p = self.sql.rows("c", self.COMPUTED, comp)
        raw.execute(f"""UPDATE credentials SET revoked = FALSE, {self.COMPUTED_SET}
                        FROM {src} WHERE credentials.id = v.id AND {self.plus}credentials.agency_id = :a""",
                    dict(p, a=a, now=now))
        self.raw_audit(ids, f"op_{op}", "bulk_revoke", now)
        self.raw_mark_undone(op, now)
        raw.commit()
        return time.perf_counter() - t

    def raw_undo_renewal(self, op: int, before: list[tuple], added: list[int], reopened: list[int]) -> float:
        """Undo of a renewal plan by hand: the periods it opened deleted, the ones it closed
        reopened, each credential row pointed back at its old period with that period's
        dates and its status as before, the audit events, the operation marked undone."""
        raw, a = self.raw, self.agency_id
        ids = [r[0] for r in before]
        cols = self.COMPUTED + [("period_id", "bigint"), ("period_start", "date"), ("period_end", "date"),
                                ("due_date", "date")]
        rows = [tuple(r[STATE_COLS.index(c)] for c, _ in cols) for r in before]
        t = time.perf_counter()
        now = dt.datetime.now(dt.timezone.utc)
        raw.begin()
        src, p = self.sql.ids("added", added)
        raw.execute(f"DELETE FROM completion_periods WHERE agency_id = :a AND id IN {src}", dict(p, a=a))
        src, p = self.sql.ids("reopen", reopened)
        raw.execute(f"UPDATE completion_periods SET closed_at = NULL, closed_by_issuance_id = NULL "
                    f"WHERE agency_id = :a AND id IN {src}", dict(p, a=a))
        src, p = self.sql.rows("c", cols, rows)
        raw.execute(f"""UPDATE credentials SET period_id = v.period_id, period_start = v.period_start,
                            period_end = v.period_end, due_date = v.due_date, {self.COMPUTED_SET}
                        FROM {src} WHERE credentials.id = v.id AND {self.plus}credentials.agency_id = :a""",
                    dict(p, a=a, now=now))
        self.raw_audit(ids, f"op_{op}", "renewal_plan", now)
        self.raw_mark_undone(op, now)
        raw.commit()
        return time.perf_counter() - t

    @property
    def plus(self) -> str:
        # SQLite, with no statistics (Credence never runs ANALYZE), may otherwise drive an
        # UPDATE ... FROM json_each through the agency's index (every row of the agency);
        # the unary + keeps it on primary-key lookups, as the store writes it.
        return "+" if self.db == "sqlite" else ""

    def raw_history_reads(self, ids: list[int]) -> float:
        """Context: the six SELECTs of history_state (crates/store/src/credentials/operations.rs)
        that an undo runs to check nothing changed since the operation, run directly."""
        raw, a = self.raw, self.agency_id
        src, p = self.sql.ids("ids", ids)
        p["a"] = a
        stmts = [
            f"SELECT id FROM credentials WHERE agency_id = :a AND id IN {src} ORDER BY id",
            f"SELECT id, closed_at IS NOT NULL AS closed FROM completion_periods WHERE agency_id = :a "
            f"AND credential_id IN {src} ORDER BY id",
            f"SELECT id, issue_date, expiration_date, credential_number, issuing_officer, status_reason, "
            f"revoked_at IS NOT NULL AS revoked FROM issuances WHERE agency_id = :a AND credential_id IN {src} ORDER BY id",
            f"SELECT id, status FROM certificates WHERE agency_id = :a AND credential_id IN {src} ORDER BY id",
            f"SELECT id FROM sign_offs WHERE agency_id = :a AND credential_id IN {src} ORDER BY id",
            f"SELECT f.id FROM files f JOIN issuances i ON i.id = f.owner_id WHERE f.agency_id = :a "
            f"AND f.owner_kind = 'issuance' AND i.credential_id IN {src} ORDER BY f.id",
        ]
        times = []
        for _ in range(3):
            t = time.perf_counter()
            for s in stmts:
                raw.fetchall(s, p)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    # -- the actions ------------------------------------------------------------------

    def pick_revoke_sets(self, types: list[int], size: int) -> tuple[list[int], list[int]]:
        """2 x size credentials that hold a valid issuance, of the load types the renewal
        plan does not use, alternating between A and B so both get the same mix."""
        src, p = self.sql.ids("types", types)
        ids = [r[0] for r in self.raw.fetchall(
            f"""SELECT id FROM credentials WHERE agency_id = :a AND credential_type_id IN {src}
                AND issuance_id IS NOT NULL AND revoked = FALSE ORDER BY id LIMIT :n""",
            dict(p, a=self.agency_id, n=2 * size))]
        if len(ids) < 2 * size:
            raise RuntimeError(f"only {len(ids)} revocable credentials; seed more members")
        return ids[0::2], ids[1::2]

    def pick_renewal_sets(self, types: list[int], size: int) -> tuple[list[int], list[int], int, int]:
        """The same size members' credentials of two load types (the seed rotates its four
        cohorts per type, so both sets have the same mix of states)."""
        a = self.agency_id
        members = [r[0] for r in self.raw.fetchall(
            "SELECT id FROM members WHERE agency_id = :a ORDER BY id LIMIT :n", {"a": a, "n": size})]
        out = []
        for t in types[:2]:
            src, p = self.sql.ids("m", members)
            out.append([r[0] for r in self.raw.fetchall(
                f"SELECT id FROM credentials WHERE agency_id = :a AND credential_type_id = :t AND member_id IN {src} "
                "ORDER BY id", dict(p, a=a, t=t))])
        if min(len(out[0]), len(out[1])) < size:
            raise RuntimeError("not enough credentials of the first two load types; seed more members")
        return out[0], out[1], types[0], types[1]

    def revoke(self, api: lc.Api, ids: list[int], n: int) -> tuple[int, float]:
        t = time.perf_counter()
        out = api.json("POST", "/api/v1/credentials/bulk-revoke",
                       {"credential_ids": [f"crd_{i}" for i in ids], "reason": f"Bench undo round {n}"})
        secs = time.perf_counter() - t
        if len(out["revoked"]) != len(ids) or not out.get("operation_id"):
            raise RuntimeError(f"bulk revoke revoked {len(out['revoked'])} of {len(ids)}")
        return num(out["operation_id"]), secs

    def renew(self, api: lc.Api, type_id: int, ids: list[int]) -> tuple[int, float]:
        start, end = self.today, self.today + dt.timedelta(days=90)
        items = [{"credential_id": f"crd_{i}", "period_start": start.isoformat(), "period_end": end.isoformat()}
                 for i in ids]
        t = time.perf_counter()
        out = api.json("POST", "/api/v1/renewal-plans", {"credential_type_id": f"ctp_{type_id}", "items": items},
                       expect=(201,))
        secs = time.perf_counter() - t
        if len(out["renewed"]) != len(ids) or not out.get("operation_id"):
            raise RuntimeError(f"renewal plan renewed {len(out['renewed'])} of {len(ids)}; skipped {out['skipped'][:3]}")
        return num(out["operation_id"]), secs

    def api_undo(self, api: lc.Api, op: int, size: int) -> tuple[float, list[dict]]:
        """One timed undo request (on its own connection, with --undo-timeout); also the
        statements the server logged during it. Raises UndoTimeout after stopping the server
        when the request takes longer than that."""
        offset = self.server_log.stat().st_size if self.server_log else 0
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=self.args.undo_timeout)
        t = time.perf_counter()
        try:
            conn.request("POST", f"/api/v1/operations/op_{op}/undo", headers={"Authorization": f"Bearer {api.token}"})
            resp = conn.getresponse()
            payload = resp.read()
        except TimeoutError:
            secs = time.perf_counter() - t
            running = self.kill_server()
            raise UndoTimeout(secs, self.statements_since(offset), running, "client")
        finally:
            conn.close()
        secs = time.perf_counter() - t
        if resp.status == 503:
            # The server's own request timeout (TimeoutLayer in crates/web/src/lib.rs) gave up
            # on it: the transaction is dropped, but the statement may still be running in
            # the database, so the server is restarted all the same.
            running = self.kill_server()
            raise UndoTimeout(secs, self.statements_since(offset), running, "server")
        if resp.status != 200:
            raise RuntimeError(f"undo op_{op} -> {resp.status}: {payload[:2000]!r}")
        out = json.loads(payload)
        if len(out["restored"]) != size:
            raise RuntimeError(f"undo restored {len(out['restored'])} of {size}")
        return secs, self.statements_since(offset)

    def kill_server(self) -> str | None:
        """Stops the server at once (its undo transaction is never committed) and, on
        PostgreSQL, ends its backends; answers the statement PostgreSQL was running for it."""
        running = None
        if self.db == "postgres":
            rows = self.raw.fetchall("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid() AND state = 'active'")
            running = rows[0][0] if rows else None
        if self.server and self.server.poll() is None:
            self.server.kill()
            self.server.wait()
        self.server = None
        if self.db == "postgres":
            self.raw.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                             "AND pid <> pg_backend_pid()")
        return running

    def statements_since(self, offset: int) -> list[dict]:
        """The sqlx statements in the server log after offset, grouped by text, slowest first."""
        if not self.args.statement_log:
            return []
        time.sleep(0.2)  # the log line of the COMMIT is written as the response goes out
        with open(self.server_log, "rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
        groups: dict[str, list[float]] = {}
        for line in lines:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("target") != "sqlx::query":
                continue
            fields = e.get("fields", {})
            text = fields.get("db.statement") or fields.get("summary") or "?"
            key = re.sub(r"\s+", " ", text).strip()
            groups.setdefault(key, []).append(float(fields.get("elapsed_secs", 0.0)))
        return sorted(({"sql": k, "n": len(v), "s": sum(v)} for k, v in groups.items()), key=lambda x: -x["s"])

    def step_kind(self, kind: str, set_a: list[int], set_b: list[int], type_a=None, type_b=None) -> None:
        """Rounds of: the action on A and on B through the API, then A undone through the API
        and B by raw SQL (alternating which goes first), then both checked against their
        state before the action."""
        r = self.results["kinds"][kind] = {"size": len(set_a), "rounds": [], "checks": []}
        hist_a, hist_b = self.history(set_a), self.history(set_b)
        r["mix_a"], r["mix_b"] = self.status_mix(set_a), self.status_mix(set_b)
        r["periods_before"] = (len(hist_a["periods"]), len(hist_b["periods"]))
        r["issuances_before"] = (len(hist_a["issuances"]), len(hist_b["issuances"]))
        before_b = self.cred_rows(set_b)
        log(f"{kind}: A {len(set_a)} credentials {r['mix_a']}; B {len(set_b)} {r['mix_b']}")
        for n in range(1, self.args.rounds + 1):
            phase(f"{self.db}: {kind} action")
            self.vacuum()
            if kind == "bulk_revoke":
                op_a, act_a = self.revoke(self.api, set_a, n)
                op_b, act_b = self.revoke(self.api, set_b, n)
                added = reopened = None
            else:
                op_a, act_a = self.renew(self.api, type_a, set_a)
                op_b, act_b = self.renew(self.api, type_b, set_b)
                now_b = self.periods(set_b)
                added = sorted(set(now_b) - set(hist_b["periods"]))
                reopened = sorted(pid for pid, v in hist_b["periods"].items()
                                  if v[5] == "0" and now_b.get(pid, v)[5] != "0")
            log(f"round {n}: {kind} through the API: A {act_a:.2f} s (op_{op_a}), B {act_b:.2f} s (op_{op_b})")

            def undo_api():
                phase(f"{self.db}: {kind} undo api")
                self.vacuum()
                try:
                    return self.api_undo(self.api, op_a, len(set_a))
                except UndoTimeout as e:
                    why = ("the server gave up on it (503, its request timeout)" if e.by == "server" else
                           "it was still running (--undo-timeout)")
                    log(f"round {n}: after {e.secs:.0f} s {why}: server stopped"
                        f"{'; PostgreSQL was running: ' + e.running[:200] if e.running else ''}; starting it again")
                    r["timeout"] = {"round": n, "secs": e.secs, "running": e.running, "by": e.by}
                    self.api.close()
                    self.api = self.start_server(catch_up=False)
                    return None, e.statements

            def undo_raw():
                phase(f"{self.db}: {kind} undo raw")
                self.vacuum()
                if kind == "bulk_revoke":
                    return self.raw_undo_revoke(op_b, before_b)
                return self.raw_undo_renewal(op_b, before_b, added, reopened)

            if n % 2:
                api_s, stmts = undo_api()
                raw_s = undo_raw()
            else:
                raw_s = undo_raw()
                api_s, stmts = undo_api()
            # A stopped undo leaves A as the action left it: nothing to check there.
            check = {"A (Credence)": self.history(set_a) == hist_a if api_s is not None else None,
                     "B (raw)": self.history(set_b) == hist_b}
            r["checks"].append(check)
            r["rounds"].append({"api": api_s, "raw": raw_s, "action_a": act_a, "action_b": act_b,
                                "first": "Credence" if n % 2 else "raw", "statements": stmts})
            shown = f"{api_s:.3f} s | raw {raw_s:.3f} s | ratio {api_s / raw_s:.2f}x" if api_s is not None else \
                f"> {r['timeout']['secs']:.0f} s (stopped) | raw {raw_s:.3f} s"
            log(f"round {n}: undo Credence {shown} | back as before: {check}")
            for st in stmts[:3]:
                log(f"    {st['s']:.3f} s x{st['n']}  {st['sql'][:140]}")
            if (api_s is None or api_s > self.args.max_undo_seconds) and n < self.args.rounds:
                r["cut_short"] = n
                log(f"the undo {'was stopped' if api_s is None else f'took over {self.args.max_undo_seconds:.0f} s'}: "
                    f"no more rounds of {kind} here")
                break
        # A stopped undo counts as infinitely slow; its set A stays revoked/renewed.
        r["api_s"] = statistics.median(x["api"] if x["api"] is not None else float("inf") for x in r["rounds"])
        r["raw_s"] = statistics.median(x["raw"] for x in r["rounds"])
        r["action_s"] = statistics.median(x["action_a"] for x in r["rounds"])
        r["ratio"] = lc.ratio(r["api_s"], r["raw_s"])
        r["same"] = all(v is not False for c in r["checks"] for v in c.values())
        r["history_reads_s"] = self.raw_history_reads(set_a)
        src, p = self.sql.ids("ids", set_a + set_b)
        r["undo_events"] = dict(self.raw.fetchall(
            f"SELECT actor, COUNT(*) FROM audit_events WHERE agency_id = :a AND action = 'undo' AND subject_id IN {src} "
            "GROUP BY actor ORDER BY actor", dict(p, a=self.agency_id)))
        log(f"{kind}: median undo Credence {r['api_s']:.3f} s, raw {r['raw_s']:.3f} s, ratio {r['ratio']:.2f}x; "
            f"same rows: {r['same']}; undo events {r['undo_events']}; history reads raw {r['history_reads_s']:.3f} s")
        if kind == "bulk_revoke":
            r["restore_issuances"] = self.restore_issuances_diag(set_a)
            if r.get("timeout") and self.args.probe_sizes:
                r["probe"] = self.probe(set_a + set_b)

    def probe(self, exclude: list[int]) -> list[dict]:
        """When the 10,000-credential undo could not finish: smaller bulk revokes undone
        through the API on the same database (other credentials than A and B), to show how
        the undo's time grows with its size and where it goes."""
        phase(f"{self.db}: bulk_revoke probe")
        sizes = self.args.probe_sizes
        src, p = self.sql.ids("types", self.types[2:])
        ex, p2 = self.sql.ids("ex", exclude)
        ids = [x[0] for x in self.raw.fetchall(
            f"""SELECT id FROM credentials WHERE agency_id = :a AND credential_type_id IN {src}
                AND issuance_id IS NOT NULL AND revoked = FALSE AND id NOT IN {ex} ORDER BY id DESC LIMIT :n""",
            dict(p, **p2, a=self.agency_id, n=sum(sizes)))]
        out, at = [], 0
        for size in sizes:
            chunk = ids[at:at + size]
            at += size
            if len(chunk) < size:
                break
            op, _ = self.revoke(self.api, chunk, 0)
            try:
                secs, stmts = self.api_undo(self.api, op, size)
            except UndoTimeout as e:
                log(f"probe: the undo of {size} was stopped after {e.secs:.0f} s")
                self.api.close()
                self.api = self.start_server(catch_up=False)
                out.append({"size": size, "s": None, "stopped": e.secs})
                break
            top = stmts[0] if stmts else {"sql": "?", "s": 0.0}
            out.append({"size": size, "s": secs, "top_sql": top["sql"], "top_s": top["s"],
                        "sql_s": sum(x["s"] for x in stmts)})
            log(f"probe: undo of {size} revoked credentials {secs:.3f} s; slowest statement {top['s']:.3f} s: "
                f"{top['sql'][:100]}")
        return out

    def restore_issuances_diag(self, ids: list[int]) -> list[dict]:
        """Diagnostic: the statement restore_issuances (crates/store/src/credentials/operations.rs)
        runs (json_rows source), run directly over set A's issuances and rolled back, with the
        tenant test written `issuances.agency_id = $1` (as the store had it before commit
        64edd02) and, on SQLite, `+issuances.agency_id` (since), which keeps SQLite on
        primary-key lookups. The plain form, quadratic on SQLite, is timed there on at most
        --diag-rows rows."""
        raw, a = self.raw, self.agency_id
        src, p = self.sql.ids("ids", ids)
        rows = raw.fetchall(f"""SELECT id, issue_date, expiration_date, credential_number, issuing_officer, status_reason,
                                   revoked_at IS NOT NULL FROM issuances WHERE agency_id = :a AND credential_id IN {src}
                                ORDER BY id""", dict(p, a=a))
        cols = [("id", "bigint"), ("issue_date", "date"), ("expiration_date", "date"), ("credential_number", "text"),
                ("issuing_officer", "text"), ("status_reason", "text"), ("revoked", "boolean")]
        if self.db == "postgres":
            sel = ", ".join(f"(e ->> {i})::{t} AS {c}" for i, (c, t) in enumerate(cols))
            source = f"(SELECT {sel}, ord FROM json_array_elements(CAST(:rows AS json)) WITH ORDINALITY AS t(e, ord))"
        else:
            sel = ", ".join(f"value ->> {i} AS {c}" for i, (c, _) in enumerate(cols))
            source = f"(SELECT {sel}, key AS ord FROM json_each(:rows))"

        def cell(x):
            if isinstance(x, (dt.date, dt.datetime)):
                return x.isoformat()
            return bool(x) if isinstance(x, bool) else x

        out = []
        forms = [("with a plain `issuances.agency_id = ?` (the store's form before commit 64edd02)", "issuances.agency_id")]
        if self.db == "sqlite":
            forms.append(("with `+issuances.agency_id` (the store's form since 64edd02)", "+issuances.agency_id"))
        for label, tenant in forms:
            sql = f"""UPDATE issuances SET issue_date = v.issue_date, expiration_date = v.expiration_date,
                         credential_number = v.credential_number, issuing_officer = v.issuing_officer,
                         status_reason = v.status_reason,
                         revoked_at = CASE WHEN v.revoked THEN revoked_at END,
                         revoke_reason = CASE WHEN v.revoked THEN revoke_reason END
                      FROM {source} AS v WHERE issuances.id = v.id AND {tenant} = :a"""
            if self.db == "sqlite":
                plan = "; ".join(x[3] for x in raw.fetchall("EXPLAIN QUERY PLAN " + sql, {"rows": "[]", "a": a}))
            else:
                plan = " → ".join(x[0].strip() for x in raw.fetchall("EXPLAIN " + sql, {"rows": "[]", "a": a})[:6])
            slow = self.db == "sqlite" and not tenant.startswith("+")
            n = min(len(rows), self.args.diag_rows) if slow else len(rows)
            data = json.dumps([[cell(x) for x in r] for r in rows[:n]])
            raw.begin()
            t = time.perf_counter()
            count = raw.execute(sql, {"rows": data, "a": a}).rowcount
            secs = time.perf_counter() - t
            raw.rollback()
            out.append({"form": label, "rows": n, "updated": count, "s": secs, "plan": plan})
            log(f"restore_issuances {label}: {count} rows in {secs:.3f} s; plan {plan}")
        self.vacuum()
        return out

    # -- the server -----------------------------------------------------------------

    def start_server(self, catch_up: bool = True) -> lc.Api:
        """lifecycle.Run.start_server, but (unless --no-statement-log) with sqlx's statement
        log on, as JSON lines: every statement of every request with its time, so each timed
        undo can be broken down by statement. That is a few dozen log lines per request."""
        if not self.args.statement_log and catch_up:
            return super().start_server()
        port = lc.free_port()
        self.server_log = self.workdir / f"serve-{self.db}.log"
        env = dict(self.env, CREDENCE_LOG="warn,credence_app::credentials::sweep=info,sqlx::query=debug",
                   CREDENCE_LOG_FORMAT="json")
        if not self.args.statement_log:
            env = dict(self.env, CREDENCE_LOG="warn")
        logf = open(self.server_log, "a")
        started = time.perf_counter()
        self.server = subprocess.Popen([str(self.binary), "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                                       stdout=logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while True:
            if self.server.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.server_log.read_text()[-3000:]}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/readyz")
                ready = c.getresponse().status == 200
                c.close()
                if ready:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server not ready after 120 s")
            time.sleep(0.1)
        if not catch_up:
            # A restart the same day: the day's jobs are done already, and log nothing.
            time.sleep(2.0)
            return lc.Api(port, self.token)
        # The timings start after the start-up catch-up (sweep and reminders) has logged
        # its "daily jobs" line, as in lifecycle.py.
        deadline = time.time() + self.args.daily_jobs_timeout
        while time.time() < deadline:
            m = re.search(r'\{[^\n]*daily jobs[^\n]*', self.server_log.read_text(errors="replace"))
            if m:
                try:
                    f = json.loads(m.group(0))["fields"]
                    line = " ".join(f"{k}={v}" for k, v in f.items())
                except (ValueError, KeyError):
                    line = m.group(0)
                self.results["startup_daily_jobs_s"] = time.perf_counter() - started
                self.results["startup_daily_jobs_line"] = line
                log(f"start-up daily jobs done after {self.results['startup_daily_jobs_s']:.1f} s: {line}")
                break
            if self.server.poll() is not None:
                raise RuntimeError("server exited during its start-up jobs")
            time.sleep(0.5)
        else:
            self.results["notes"].append("the start-up daily jobs were not seen to finish before the timings")
        return lc.Api(port, self.token)

    # -- the run ----------------------------------------------------------------------

    def run(self) -> dict:
        self.fresh_database()
        try:
            self.step_seed()
            self.step_token()
            self.open_raw()
            types = self.types = self.load_types()
            size = self.args.size
            sets = {}
            if "revoke" in self.args.kinds:
                sets["bulk_revoke"] = self.pick_revoke_sets(types[2:], size)
            if "renewal" in self.args.kinds:
                sets["renewal_plan"] = self.pick_renewal_sets(types, size)
            phase(f"{self.db}: server start")
            self.api = self.start_server()
            try:
                for kind, s in sets.items():
                    log(f"--- {kind} ---")
                    self.step_kind(kind, *s)
            finally:
                self.api.close()
                self.stop_server()
            phase(f"{self.db}: verify")
            out, secs = self.cli("audit", "verify", "--agency", "bench")
            self.results["audit_verify"] = out.splitlines()[-1] if out else "?"
            log(f"credence audit verify: {self.results['audit_verify']} ({secs:.1f} s)")
            self.results["db_size"] = self.db_size()
        finally:
            self.stop_server()
            if self.raw:
                self.raw.close()
                self.raw = None
        return self.results


# --------------------------------------------------------------------------- report


KIND_TITLE = {"bulk_revoke": "bulk revoke (`POST /credentials/bulk-revoke`)",
              "renewal_plan": "renewal plan (`POST /renewal-plans`)"}
RAW_WHAT = {
    "bulk_revoke": "`UPDATE issuances SET revoked_at = NULL, revoke_reason = NULL` for the revoked issuances; "
                   "`UPDATE credentials … FROM` the rows' earlier status, rank, progress, expiring-soon and next "
                   "change with `revoked = FALSE`; the audit events; the operation marked undone",
    "renewal_plan": "`DELETE` the opened periods; `UPDATE completion_periods SET closed_at = NULL` for the closed "
                    "ones; `UPDATE credentials … FROM` the old period id and dates and the earlier status values; "
                    "the audit events; the operation marked undone",
}


def api_text(k: dict) -> str:
    if k["api_s"] == float("inf"):
        return f"> {k['timeout']['secs']:.0f} s (stopped)"
    return f"{k['api_s']:.3f} s"


def ratio_text(k: dict) -> str:
    if k["api_s"] == float("inf"):
        return f"> {k['timeout']['secs'] / k['raw_s']:.0f}x"
    return lc.fmt_ratio(k["ratio"])


def render_section(r: dict, args, vers: dict, started: str, interference: Interference) -> str:
    db = r["db"]
    L = [f"<!-- section:{db} -->", f"## {'SQLite' if db == 'sqlite' else 'PostgreSQL'}", ""]
    L.append(f"- run: {started}; {args.members} members × {args.credentials_per_member} credentials "
             f"({r.get('credentials', '?')} credentials); today = {r.get('today', '?')} (`CREDENCE_TODAY`); "
             f"{args.rounds} rounds of {args.size:,} credentials per kind")
    L.append(f"- {vers['credence']}, checkout at commit {vers['commit']} when the run started; binary {vers['binary']}; "
             f"{vers['machine']}")
    extra = f"Python sqlite3 {vers['python_sqlite']}" if db == "sqlite" else f"psycopg {vers['psycopg']}"
    L.append(f"- raw SQL through {extra}; database size at the end: {r.get('db_size', '?')}")
    L.append(f"- `credence seed`: {lc.fmt_s(r.get('seed_wall_s'))} wall; statuses after it: {r.get('status_mix', {})}")
    if "analyze_s" in r:
        L.append(f"- `VACUUM (ANALYZE)` after the seed ({r['analyze_s']:.2f} s), and of the five tables written "
                 "before each timed undo, on both sides")
    if "startup_daily_jobs_line" in r:
        L.append(f"- the server's start-up catch-up finished before the timings: `{r['startup_daily_jobs_line']}`")
    L.append("- server log: " + ("`CREDENCE_LOG=warn,credence_app::credentials::sweep=info,sqlx::query=debug`, JSON "
                                 "lines (every statement with its time, a few dozen lines per request)"
                                 if args.statement_log else "`CREDENCE_LOG=warn` (`--no-statement-log`)"))
    if "audit_verify" in r:
        L.append(f"- `credence audit verify --agency bench` at the end (covers the raw side's chained events too): "
                 f"`{r['audit_verify']}`")
    L.append("")
    kinds = r.get("kinds", {})
    if kinds:
        L.append(f"| undo of {args.size:,} credentials | Credence `POST /operations/{{id}}/undo` (median) | raw SQL "
                 f"(median) | ratio | ≤ {RATIO_TARGET:.0f}× raw | both sets back exactly as before |")
        L.append("|---|---|---|---|---|---|")
        for kind, k in kinds.items():
            if "ratio" not in k:
                L.append(f"| {KIND_TITLE[kind]} | (failed) | | | | |")
                continue
            L.append(f"| {KIND_TITLE[kind]} | {api_text(k)} | {k['raw_s']:.3f} s | {ratio_text(k)} | "
                     f"{lc.ok(k['ratio'] <= RATIO_TARGET)} | {lc.ok(k['same'])} |")
        L.append("")
        for kind, k in kinds.items():
            if "ratio" not in k:
                continue
            L.append(f"### Undo of a {KIND_TITLE[kind]}")
            L.append("")
            L.append(f"Sets: A (Credence) {k['mix_a']}; B (raw) {k['mix_b']}; periods before A/B "
                     f"{k['periods_before'][0]}/{k['periods_before'][1]}, issuances "
                     f"{k['issuances_before'][0]}/{k['issuances_before'][1]}.")
            L.append(f"Raw side, in one transaction: {RAW_WHAT[kind]}.")
            L.append("")
            L.append("| round | first | action through the API, A / B (context) | undo, Credence | undo, raw | ratio |"
                     " A back as before | B back as before |")
            L.append("|---|---|---|---|---|---|---|---|")
            for i, (x, c) in enumerate(zip(k["rounds"], k["checks"]), 1):
                if x["api"] is None:
                    api_s, rt = f"> {k['timeout']['secs']:.0f} s (stopped)", f"> {k['timeout']['secs'] / x['raw']:.0f}x"
                else:
                    api_s, rt = f"{x['api']:.3f} s", lc.fmt_ratio(lc.ratio(x['api'], x['raw']))
                L.append(f"| {i} | {x['first']} | {x['action_a']:.2f} s / {x['action_b']:.2f} s | {api_s} | "
                         f"{x['raw']:.3f} s | {rt} | {lc.ok(c['A (Credence)'])} | {lc.ok(c['B (raw)'])} |")
            L.append("")
            L.append(f"- (context) the six SELECTs of `history_state` over set A (the undo's check that nothing changed "
                     f"since; the raw side skips it), run directly: {k['history_reads_s'] * 1000:.0f} ms (median of 3)")
            L.append(f"- `undo` audit events on the two sets by actor: {k['undo_events']}")
            if k.get("timeout"):
                to = k["timeout"]
                what = ("the server answered 503 (its own 120 s request timeout, `TimeoutLayer` in "
                        "crates/web/src/lib.rs, gave up on the request)" if to.get("by") == "server" else
                        "the Credence undo was still running (`--undo-timeout`)")
                L.append(f"- round {to['round']}: after {to['secs']:.0f} s {what}; the server was then killed (the undo's "
                         f"transaction never committed, set A stays as the action left it) and started again. "
                         + (f"PostgreSQL was running: `{' '.join(to['running'].split())[:300]}`"
                            if to.get("running") else
                            "SQLite does not show the running statement; the statements below are those that had "
                            "finished, and the diagnostic shows the next one in the undo's order"))
            if k.get("cut_short"):
                why = ("was stopped" if k.get("timeout") else
                       f"took over {args.max_undo_seconds:.0f} s (`--max-undo-seconds`)")
                L.append(f"- only {k['cut_short']} round(s): the Credence undo {why}, so the run went on without the "
                         "remaining rounds")
            stmts = None
            if k["rounds"] and k["rounds"][0].get("statements"):
                # The statements of the round whose Credence time is the median (or the slower of two).
                order = sorted(range(len(k["rounds"])),
                               key=lambda i: k["rounds"][i]["api"] if k["rounds"][i]["api"] is not None else 1e18)
                med = k["rounds"][order[len(order) // 2]]
                stmts = med["statements"]
                sql_s = sum(x["s"] for x in stmts)
                if med["api"] is None:
                    L.append(f"- statements of the stopped undo that had finished when it was stopped (sqlx's statement "
                             f"log): {sum(x['n'] for x in stmts)} statements, {sql_s:.3f} s in all:")
                else:
                    L.append(f"- where the Credence undo's time goes (the round of {med['api']:.3f} s; sqlx's statement "
                             f"log, elapsed per statement as the server measured it): {sum(x['n'] for x in stmts)} "
                             f"statements taking {sql_s:.3f} s ({lc.ratio(sql_s, med['api']):.0%} of the request); the "
                             "rest is the application's own work (JSON of the operation's snapshot, the comparison, "
                             "the status rule, the audit hashes, HTTP). Slowest statements:")
                L.append("")
                L.append("  | time | × | statement |")
                L.append("  |---|---|---|")
                for x in stmts[:6]:
                    sql = x["sql"] if len(x["sql"]) <= 240 else x["sql"][:240] + " …"
                    L.append(f"  | {x['s'] * 1000:.0f} ms | {x['n']} | `{sql.replace('|', '¦')}` |")
                L.append("")
            if k.get("probe"):
                L.append("- smaller bulk revokes undone through the API on the same database (other credentials), "
                         "because the 10,000 one could not finish:")
                L.append("")
                L.append("  | credentials | undo, Credence | slowest statement | its time | all statements |")
                L.append("  |---|---|---|---|---|")
                for x in k["probe"]:
                    if x["s"] is None:
                        L.append(f"  | {x['size']:,} | > {x['stopped']:.0f} s (stopped) | | | |")
                        continue
                    sql = x["top_sql"] if len(x["top_sql"]) <= 110 else x["top_sql"][:110] + " …"
                    L.append(f"  | {x['size']:,} | {x['s']:.3f} s | `{sql}` | {x['top_s']:.3f} s | {x['sql_s']:.3f} s |")
                done = [x for x in k["probe"] if x["s"]]
                if done:
                    big = done[-1]
                    L.append("")
                    L.append(f"  At {big['size']:,} credentials the slowest statement took {big['top_s'] * 1000 / big['size']:.1f} ms "
                             f"per credential; it visits every issuance of the agency once per row restored, so at "
                             f"{args.size:,} it would take about {big['top_s'] / big['size'] * args.size:.0f} s "
                             "(linear extrapolation in the number of rows, at this agency's size).")
                L.append("")
            for d in k.get("restore_issuances", []):
                L.append(f"- diagnostic: `restore_issuances`' UPDATE run directly {d['form']}, over {d['rows']:,} of set "
                         f"A's issuances (rolled back): {d['s'] * 1000:.0f} ms for {d['updated']:,} rows; plan "
                         f"`{d['plan']}`")
            L.append("")
    else:
        L.append("(not measured: the run failed before the undo step)")
        L.append("")
    notes = list(r["notes"])
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


HEADER = """# Credence undo benchmark (issue #18, item 9)

Written by `bench/undo.py`; see bench/README.md for how to rerun it. Target: the undo of a
10,000-credential operation takes at most 2× the hand-written set-based SQL doing the same
writes, on SQLite and on PostgreSQL. Two identical sets of 10,000 credentials go through the
same bulk action through the API; one is undone with `POST /api/v1/operations/{id}/undo`
(one request, timed end to end over HTTP), the other by the raw SQL in one transaction
(timed with its commit). The figures are medians over the rounds; each round uses new
operations, and the side that goes first alternates.
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
    ap.add_argument("--members", type=int, default=DEFAULT_MEMBERS)
    ap.add_argument("--credentials-per-member", type=int, default=10)
    ap.add_argument("--size", type=int, default=SIZE, help="credentials per operation (at most 10,000: the bulk revoke's limit)")
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per kind; medians reported")
    ap.add_argument("--kinds", default="revoke,renewal", help="revoke, renewal or both (comma-separated)")
    ap.add_argument("--no-statement-log", dest="statement_log", action="store_false",
                    help="run the server with CREDENCE_LOG=warn only (no per-statement breakdown of the undo)")
    ap.add_argument("--max-undo-seconds", type=float, default=120.0,
                    help="after an undo slower than this, no more rounds of that kind on that database")
    ap.add_argument("--undo-timeout", type=float, default=240.0,
                    help="stop a Credence undo request after this many seconds (the server is killed and restarted)")
    ap.add_argument("--probe-sizes", default="100,200,400",
                    help="when a 10,000 bulk-revoke undo cannot finish: the sizes of smaller ones to time "
                         "(comma-separated; empty for none)")
    ap.add_argument("--diag-rows", type=int, default=200,
                    help="rows for a diagnostic statement form that is quadratic (SQLite restore_issuances as written)")
    ap.add_argument("--daily-jobs-timeout", type=float, default=600.0)
    ap.add_argument("--binary", type=Path, default=lc.DEFAULT_BINARY)
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--pg-url", default=f"postgres://postgres@127.0.0.1:5432/{lc.PG_BENCH_DB}")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--lock-file", default=os.path.join(tempfile.gettempdir(), "credence-bench.lock"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory (SQLite file, server logs)")
    args = ap.parse_args()
    args.sqlite_analyze = False  # lifecycle.Run reads it; Credence never runs ANALYZE
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    args.probe_sizes = [int(x) for x in args.probe_sizes.split(",") if x.strip()]
    if not set(args.kinds) <= {"revoke", "renewal"} or not args.kinds:
        print("--kinds takes revoke and/or renewal", file=sys.stderr)
        return 2
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

    lock = open(args.lock_file, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another benchmark holds {args.lock_file}; waiting for it to finish")
        fcntl.flock(lock, fcntl.LOCK_EX)
    interference = Interference()
    lc.INTERFERENCE = interference
    workdir = Path(tempfile.mkdtemp(prefix="credence-undo-"))
    binary = workdir / "credence"  # a private copy: a rebuild during the run cannot swap it
    shutil.copy2(args.binary, binary)
    vers = lc.versions(binary, args.binary)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    failed = False
    try:
        for db in dbs:
            log(f"=== {db} ===")
            t = time.perf_counter()
            run = UndoRun(args, db, workdir / db, binary)
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
