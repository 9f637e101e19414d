#!/usr/bin/env python3
"""Credence class-completion benchmark (issue #17): "completing a class of 500 members is one
transaction of set-based statements", measured against the same writes in raw SQL.

For each database it seeds a fresh database with the `credence` binary, starts the server,
and per round:

* a new graded course and a credential type asking for it (auto-issue off), two groups of
  --size members each (A and B), the type assigned to both, and one class per group with
  its roster filled from the group (`POST /classes/{id}/roster/add {group_ids}`) — all
  through the API, untimed;
* class A is completed with one timed `POST /api/v1/classes/{id}/complete` carrying every
  member's result (every tenth absent, scores 50-99);
* class B gets the same results by hand-written set-based SQL in one transaction, timed
  with its commit: the roster's results (one `UPDATE … FROM` the rows), one `INSERT …
  SELECT` of the attendees' training records, the class marked completed, the chained audit
  events (one per record and one for the class), and one `UPDATE credentials` giving each
  member's credential of the type its progress and status (100 / Ready to Be Issued when
  the record passes the course's grade, else 0 / Not Started);
* both sets must end with the same records and the same credential statuses and progress.

The side that goes first alternates between rounds; medians are reported. Results:
bench/results-classes.md (one section per database). Shared helpers come from
lifecycle.py and undo.py next to this file. Build first: `cargo build --release -p credence`;
see bench/README.md. Quick check with a debug build:
`python3 bench/classes.py --binary target/debug/credence --rounds 1 --members 1200`.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lifecycle as lc  # noqa: E402
import undo as ud  # noqa: E402

DEFAULT_OUT = lc.BENCH_DIR / "results-classes.md"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
RATIO_TARGET = 2.0
RAW_ACTOR = "bench:raw"
PASSING = 80.0
HOURS = 4.0


def log(msg: str) -> None:
    lc.log(msg)


def num(public_id: str) -> int:
    return int(public_id.rsplit("_", 1)[1])


def result_for(i: int) -> tuple[bool, float | None]:
    """The i-th roster member's result: every tenth absent, scores spread over 50-99."""
    if i % 10 == 9:
        return False, None
    return True, float(50 + (i * 37) % 50)


class ClassRun(lc.Run):
    def __init__(self, args, db: str, workdir: Path, binary: Path):
        super().__init__(args, db, workdir, binary)
        self.env["CREDENCE_TODAY"] = self.today.isoformat()
        self.sql = ud.Sql(db)
        self.results.update({"rounds": [], "today": self.today.isoformat()})

    # -- the raw side -------------------------------------------------------------------

    def raw_audit(self, action: str, subject_type: str, subject_ids: list[int], after: dict,
                  now: dt.datetime) -> None:
        """Chained events as crates/store/src/ops/audit.rs writes them (see undo.py)."""
        raw, a = self.raw, self.agency_id
        n = len(subject_ids)
        if n == 0:
            return
        if self.db == "postgres":
            raw.execute("SELECT pg_advisory_xact_lock(:k)", {"k": ud.CHAIN_LOCK + a})
            ids = sorted(r[0] for r in raw.fetchall(
                "SELECT nextval(pg_get_serial_sequence('audit_events', 'id')) FROM generate_series(1, :n)", {"n": n}))
        else:
            last = raw.fetchall("SELECT COALESCE(MAX(id), 0) FROM audit_events")[0][0]
            ids = list(range(last + 1, last + n + 1))
        head = raw.fetchall("SELECT hash FROM audit_events WHERE agency_id = :a AND hash IS NOT NULL "
                            "ORDER BY id DESC LIMIT 1", {"a": a})[0][0]
        body = json.dumps(after, sort_keys=True, separators=(",", ":"))
        at = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"
        fixed = f'"{at}",{json.dumps(RAW_ACTOR)},{json.dumps(action)},{json.dumps(subject_type)},'
        rows = []
        for eid, sid in zip(ids, subject_ids):
            h = hashlib.sha256(f"{head}[{eid},{a},{fixed}{sid},null,{body}]".encode()).hexdigest()
            rows.append((eid, sid, head, h))
            head = h
        src, p = self.sql.rows("ev", [("id", "bigint"), ("subject_id", "bigint"), ("prev_hash", "text"),
                                      ("hash", "text")], rows)
        raw.execute(
            f"""INSERT INTO audit_events (id, agency_id, at, actor, action, subject_type, subject_id, before_json,
                    after_json, prev_hash, hash)
                SELECT v.id, :a, :at, :actor, :action, :st, v.subject_id, NULL, :after, v.prev_hash, v.hash
                FROM {src}""", dict(p, a=a, at=now, actor=RAW_ACTOR, action=action, st=subject_type, after=body))

    def raw_complete(self, class_id: int, type_id: int, results: list[tuple[int, bool, float | None]]) -> float:
        raw, a = self.raw, self.agency_id
        now = dt.datetime.now(dt.timezone.utc)
        started = time.perf_counter()
        steps: dict[str, float] = {}
        mark = [started]

        def step(name: str) -> None:
            now_ = time.perf_counter()
            steps[name] = steps.get(name, 0.0) + now_ - mark[0]
            mark[0] = now_

        raw.begin()
        try:
            raw.execute("UPDATE class_roster SET attended = FALSE, score = NULL, hours = NULL "
                        "WHERE agency_id = :a AND class_id = :k", {"a": a, "k": class_id})
            src, p = self.sql.rows("res", [("member_id", "bigint"), ("attended", "boolean"), ("score", "double precision")],
                                   results)
            # Sorted rows: SQLite then loops over them and finds each roster row by its key
            # (as a join it would re-read the JSON for every roster row).
            raw.execute(f"""UPDATE class_roster SET attended = v.attended, score = v.score, hours = NULL
                            FROM (SELECT * FROM {src} ORDER BY v.member_id) AS v
                            WHERE class_roster.agency_id = :a AND class_roster.class_id = :k
                            AND class_roster.member_id = v.member_id""", dict(p, a=a, k=class_id))
            step("results")
            made = raw.fetchall(
                """INSERT INTO training_records (agency_id, member_id, course_id, completed_on, score, hours, category,
                       source, class_id, created_by, created_at)
                   SELECT r.agency_id, r.member_id, k.course_id, k.held_on, r.score, c.hours, c.category, 'class', k.id,
                       :by, :now
                   FROM class_roster r JOIN classes k ON k.agency_id = r.agency_id AND k.id = r.class_id
                   JOIN courses c ON c.agency_id = k.agency_id AND c.id = k.course_id
                   WHERE r.agency_id = :a AND r.class_id = :k AND r.attended = TRUE
                   RETURNING id""", {"a": a, "k": class_id, "by": RAW_ACTOR, "now": now})
            step("records")
            n = raw.execute("UPDATE classes SET status = 'completed', completed_at = :now, completed_by = :by, "
                            "version = version + 1 WHERE agency_id = :a AND id = :k AND status = 'scheduled'",
                            {"now": now, "by": RAW_ACTOR, "a": a, "k": class_id}).rowcount
            if n != 1:
                raise RuntimeError("class B was not scheduled")
            step("class")
            # Each roster member's credential of the type: done when a passing record exists.
            raw.execute(
                """UPDATE credentials SET
                       progress = CASE WHEN EXISTS (SELECT 1 FROM training_records t JOIN classes k
                           ON k.agency_id = t.agency_id AND k.id = t.class_id JOIN courses c
                           ON c.agency_id = k.agency_id AND c.id = k.course_id
                           WHERE t.agency_id = credentials.agency_id AND t.member_id = credentials.member_id
                           AND t.class_id = :k AND t.score >= c.passing_grade) THEN 100 ELSE 0 END,
                       version = version + 1, updated_at = :now
                   WHERE agency_id = :a AND credential_type_id = :ty
                   AND member_id IN (SELECT member_id FROM class_roster WHERE agency_id = :a AND class_id = :k)""",
                {"a": a, "k": class_id, "ty": type_id, "now": now})
            raw.execute(
                """UPDATE credentials SET
                       status = CASE WHEN progress = 100 THEN 'ready_to_be_issued' ELSE 'not_started' END,
                       status_rank = CASE WHEN progress = 100 THEN 3 ELSE 4 END
                   WHERE agency_id = :a AND credential_type_id = :ty
                   AND member_id IN (SELECT member_id FROM class_roster WHERE agency_id = :a AND class_id = :k)""",
                {"a": a, "k": class_id, "ty": type_id})
            step("credentials")
            self.raw_audit("create", "training_record", sorted(r[0] for r in made),
                           {"class_id": f"cls_{class_id}", "source": "class"}, now)
            self.raw_audit("complete", "class", [class_id], {"status": "completed", "records": len(made)}, now)
            step("audit")
            raw.commit()
            step("commit")
        except Exception:
            raw.rollback()
            raise
        self.last_steps = {k: round(v * 1000, 1) for k, v in steps.items()}
        return time.perf_counter() - started

    # -- state to compare ---------------------------------------------------------------

    def outcome(self, class_id: int, type_id: int, order: list[int]) -> list[tuple]:
        """Per roster member in roster order: attended, score, record's score and hours, the
        credential's status and progress."""
        rows = self.raw.fetchall(
            """SELECT r.member_id, r.attended, r.score, t.score, t.hours, c.status, c.progress
               FROM class_roster r
               LEFT JOIN training_records t ON t.agency_id = r.agency_id AND t.class_id = r.class_id
                   AND t.member_id = r.member_id
               JOIN credentials c ON c.agency_id = r.agency_id AND c.member_id = r.member_id
                   AND c.credential_type_id = :ty
               WHERE r.agency_id = :a AND r.class_id = :k""", {"a": self.agency_id, "k": class_id, "ty": type_id})
        by_member = {r[0]: tuple(ud.norm(x) for x in r[1:]) for r in rows}
        return [by_member.get(m) for m in order]

    # -- one round ----------------------------------------------------------------------

    def setup_round(self, api: lc.Api, n: int, members: list[int]) -> dict:
        size = self.args.size
        course = api.json("POST", "/api/v1/courses", {"code": f"DRILL-{n}", "name": f"Drill {n}", "hours": HOURS,
                                                      "category": "Drill", "passing_grade": PASSING})
        ty = api.json("POST", "/api/v1/credential-types", {
            "code": f"DRILL-Q{n}", "name": f"Drill qualification {n}", "validity_months": 24, "renewal": "auto",
            "requirements": [{"kind": "course", "course_id": course["id"]}]})
        api.json("POST", f"/api/v1/credential-types/{ty['id']}/publish", {})
        sides = {}
        for side, chunk in (("A", members[:size]), ("B", members[size:2 * size])):
            g = api.json("POST", "/api/v1/groups", {"name": f"Drill {n} {side}", "kind": "cohort"})
            api.json("PUT", f"/api/v1/groups/{g['id']}/members", {"member_ids": [f"mem_{m}" for m in chunk]})
            api.json("POST", "/api/v1/assignments", {"credential_type_id": ty["id"], "mode": "completion_period",
                                                     "period_start": (self.today - dt.timedelta(days=30)).isoformat(),
                                                     "period_end": (self.today + dt.timedelta(days=180)).isoformat(),
                                                     "group_ids": [g["id"]]})
            k = api.json("POST", "/api/v1/classes", {"course_id": course["id"], "held_on": self.today.isoformat(),
                                                     "instructor": "Bench", "location": "Drill ground"})
            k = api.json("POST", f"/api/v1/classes/{k['id']}/roster/add", {"group_ids": [g["id"]]})
            if k["roster_count"] != len(chunk):
                raise RuntimeError(f"roster of {side} has {k['roster_count']} members, not {len(chunk)}")
            # Results in name order: the same pattern on both sides.
            order = [num(r["member_id"]) for r in k["roster"]]
            sides[side] = {"class": num(k["id"]), "order": order}
        return {"type": num(ty["id"]), **sides}

    def round(self, api: lc.Api, n: int, members: list[int]) -> dict:
        s = self.setup_round(api, n, members)
        if self.db == "postgres":
            self.raw.execute("VACUUM (ANALYZE) class_roster, training_records, credentials, audit_events")
        results = {side: [(m, *result_for(i)) for i, m in enumerate(s[side]["order"])] for side in ("A", "B")}

        def api_side() -> float:
            body = {"results": [{"member_id": f"mem_{m}", "attended": att, "score": sc} if att
                                else {"member_id": f"mem_{m}", "attended": False} for m, att, sc in results["A"]]}
            t = time.perf_counter()
            done = api.json("POST", f"/api/v1/classes/cls_{s['A']['class']}/complete", body, expect=(200,))
            elapsed = time.perf_counter() - t
            if done["status"] != "completed":
                raise RuntimeError("class A was not completed")
            return elapsed

        def raw_side() -> float:
            return self.raw_complete(s["B"]["class"], s["type"], results["B"])

        first = "Credence" if n % 2 == 1 else "raw"
        if first == "Credence":
            t_api, t_raw = api_side(), raw_side()
        else:
            t_raw, t_api = raw_side(), api_side()
        a = self.outcome(s["A"]["class"], s["type"], s["A"]["order"])
        b = self.outcome(s["B"]["class"], s["type"], s["B"]["order"])
        same = a == b
        mix = dict(collections.Counter(x[4] for x in a if x).most_common())
        records = sum(1 for x in a if x and x[2] != "")
        log(f"raw side by step (ms): {self.last_steps}")
        log(f"round {n}: Credence {t_api:.3f} s, raw {t_raw:.3f} s, ratio {t_api / t_raw:.2f}x, "
            f"same outcome {same}, {records} records, statuses {mix}")
        if not same:
            diff = next((i, x, y) for i, (x, y) in enumerate(zip(a, b)) if x != y)
            log(f"first difference at roster position {diff[0]}: A {diff[1]} / B {diff[2]}")
        return {"round": n, "first": first, "api_s": t_api, "raw_s": t_raw, "same": same, "records": records,
                "statuses": mix, "raw_steps_ms": self.last_steps}

    def run(self) -> dict:
        self.fresh_database()
        self.step_seed()
        self.step_token()
        api = self.start_server()
        try:
            members = [r[0] for r in self.raw.fetchall(
                "SELECT id FROM members WHERE agency_id = :a AND active = TRUE ORDER BY id", {"a": self.agency_id})]
            need = 2 * self.args.size * self.args.rounds
            if len(members) < need:
                raise RuntimeError(f"{len(members)} members; {need} are needed (--members)")
            for n in range(1, self.args.rounds + 1):
                lc.phase(f"{self.db}: round {n}")
                chunk = members[(n - 1) * 2 * self.args.size: n * 2 * self.args.size]
                self.results["rounds"].append(self.round(api, n, chunk))
        finally:
            self.stop_server()
        out, _ = self.cli("audit", "verify", "--agency", "bench")
        self.results["audit_verify"] = out
        return self.results


HEADER = """# Credence class-completion benchmark (issue #17)

Written by `bench/classes.py`; see its docstring and bench/README.md for how to rerun it.
Completing a class of 500 members (`POST /api/v1/classes/{id}/complete`: results stored,
one training record per attendee, progress recomputed, audited, one transaction) against
the same writes as hand-written set-based SQL in one transaction, on the same database in
the same run. Medians over the rounds; the side that goes first alternates.
"""


def write_results(out: Path, sections: dict[str, str]) -> None:
    """Writes the sections run now, keeping another database's section from an earlier run."""
    import re

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


def render_section(r: dict, args, vers: dict, started: str) -> str:
    title = "SQLite" if r["db"] == "sqlite" else "PostgreSQL"
    lines = [f"<!-- section:{r['db']} -->", f"## {title}", ""]
    lines.append(f"- run: {started}; {args.members} members seeded; today = {r.get('today')} (`CREDENCE_TODAY`); "
                 f"{args.rounds} round(s) of a class of {args.size}")
    lines.append(f"- binary: {vers.get('binary', '')}")
    if r.get("audit_verify"):
        lines.append(f"- `credence audit verify --agency bench` at the end (covers the raw side's chained events): "
                     f"`{r['audit_verify']}`")
    for note in r.get("notes", []):
        lines.append(f"- note: {note}")
    rounds = r.get("rounds", [])
    if rounds:
        api = statistics.median(x["api_s"] for x in rounds)
        raw = statistics.median(x["raw_s"] for x in rounds)
        ratio = api / raw
        lines += ["", f"| complete a class of {args.size} | Credence `POST /classes/{{id}}/complete` (median) | "
                      "raw SQL (median) | ratio | ≤ 2× raw | same records and statuses |",
                  "|---|---|---|---|---|---|",
                  f"| {rounds[0]['records']} records, progress recomputed | {api:.3f} s | {raw:.3f} s | {ratio:.2f}x | "
                  f"{'yes' if ratio <= RATIO_TARGET else 'no'} | {'yes' if all(x['same'] for x in rounds) else 'no'} |",
                  "", "| round | first | Credence | raw | ratio | same | statuses after |", "|---|---|---|---|---|---|---|"]
        for x in rounds:
            lines.append(f"| {x['round']} | {x['first']} | {x['api_s']:.3f} s | {x['raw_s']:.3f} s | "
                         f"{x['api_s'] / x['raw_s']:.2f}x | {'yes' if x['same'] else 'no'} | {x['statuses']} |")
        lines += ["", "Raw side by step (ms, last round): " + ", ".join(
            f"{k} {v}" for k, v in rounds[-1].get("raw_steps_ms", {}).items())]
    lines.append(f"<!-- end:{r['db']} -->")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--credentials-per-member", type=int, default=2)
    ap.add_argument("--size", type=int, default=500, help="members in each class")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--daily-jobs-timeout", type=float, default=600.0)
    ap.add_argument("--binary", type=Path, default=lc.DEFAULT_BINARY)
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--pg-url", default=f"postgres://postgres@127.0.0.1:5432/{lc.PG_BENCH_DB}")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--lock-file", default=os.path.join(tempfile.gettempdir(), "credence-bench.lock"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    args.sqlite_analyze = False
    if not args.binary.exists():
        print(f"{args.binary} not found: run `cargo build --release -p credence` first", file=sys.stderr)
        return 2
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    lock = open(args.lock_file, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another benchmark holds {args.lock_file}; waiting for it to finish")
        fcntl.flock(lock, fcntl.LOCK_EX)
    interference = ud.Interference()
    lc.INTERFERENCE = interference
    workdir = Path(tempfile.mkdtemp(prefix="credence-classes-"))
    binary = workdir / "credence"
    shutil.copy2(args.binary, binary)
    vers = lc.versions(binary, args.binary)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    failed = False
    sections = {}
    try:
        for db in dbs:
            log(f"=== {db} ===")
            run = ClassRun(args, db, workdir / db, binary)
            try:
                run.run()
            except Exception as e:  # noqa: BLE001 - report what was measured
                failed = True
                log(f"{db} run FAILED: {e!r}")
                run.results["notes"].append(f"the run failed: {e!r}")
            lc.phase("idle")
            sections[db] = render_section(run.results, args, vers, started)
            write_results(args.out, {db: sections[db]})
            print(sections[db])
    finally:
        interference.stop()
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
