#!/usr/bin/env python3
"""The daily pass that emits `credential.expired` for 100,000 expirations (issue #20:
"stays within 2x raw SQL").

For each database: a fresh agency seeded by `credence seed` (default 100,000 members x 10
credentials), one webhook subscribed to `credential.expired` (through the API), then the day
is chosen on which `--expirations` valid issuances have run out since today. Both sides do
the same work on that day, each in one transaction:

* raw: one set-based INSERT of a webhook message per expiring credential into the outbox (a
  JSON event body per row, built in SQL), then the sweep's set-based UPDATE of every due
  credential's status (the same CASE as bench/lifecycle.py), rolled back;
* Credence: `credence sweep --agency bench` with that day as today (the daily pass: batches of
  due credentials, statuses computed by the domain rules, events queued in the outbox in
  the same transaction as each batch).

It checks that both leave the same number of `credential.expired` messages and the same
status mix, and writes bench/results-expired-events.md.

    cargo build --release -p credence
    python3 -m pip install -r bench/requirements.txt   # psycopg, for PostgreSQL
    python3 bench/expired_events.py [--db sqlite|postgres|both] [--members 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lifecycle as lc  # noqa: E402  (same folder: seeding, raw access, the sweep's CASE)

OUT = lc.BENCH_DIR / "results-expired-events.md"
TARGET_RATIO = 2.0
HOLDING = ("active", "active_ready_to_renew", "active_renewal_in_progress")


def event_sql(backend: str) -> str:
    """One outbox row per credential that held a valid issuance and has none on `:today`
    (what `is_expiry` calls an expiry), with the event's JSON body built in SQL."""
    names = {k: f"'{k}'" for k in lc.RANKS}
    new_status = lc.status_case(names)
    holding = ", ".join(f"'{s}'" for s in HOLDING)
    if backend == "sqlite":
        event_id = "'evt_' || lower(hex(randomblob(16)))"
        body = ("json_object('id', x.ev, 'type', 'credential.expired', 'created_at', CAST(:now_text AS TEXT), "
                "'agency_id', CAST(:a AS BIGINT), 'data', json_object('credential_id', x.id, 'member_id', x.member_id, "
                "'credential_type_id', x.credential_type_id, 'expiration_date', x.expiration_date))")
    else:
        event_id = "'evt_' || md5(random()::text || c.id::text)"
        body = ("json_build_object('id', x.ev, 'type', 'credential.expired', 'created_at', CAST(:now_text AS TEXT), "
                "'agency_id', CAST(:a AS BIGINT), 'data', json_build_object('credential_id', x.id, 'member_id', x.member_id, "
                "'credential_type_id', x.credential_type_id, 'expiration_date', x.expiration_date))::text")
    return f"""INSERT INTO outbox (agency_id, recipient, subject, body, kind, subject_id, dedupe_key,
            status, attempts, next_attempt_at, created_at)
        SELECT :a, CAST(:url AS TEXT), 'credential.expired', {body}, 'webhook', CAST(:hook AS BIGINT),
            'webhook:' || CAST(:hook AS TEXT) || ':' || x.ev, 'queued', 0, :now, :now
        FROM (SELECT c.id, c.member_id, c.credential_type_id, c.expiration_date, {event_id} AS ev
              FROM credentials c
              WHERE c.agency_id = :a AND c.status_changes_on <= :today
                AND c.status IN ({holding}) AND c.expiration_date < :today
                AND ({new_status}) NOT IN ({holding}, 'revoked')) x
        ORDER BY x.id"""


class ExpiredRun(lc.Run):
    def subscribe(self) -> None:
        api = self.start_server()
        try:
            hook = api.json("POST", "/api/v1/webhooks", {
                "url": "https://hooks.example.test/credence",
                "events": ["credential.expired"],
                "secret": "bench-webhook-secret-0123456789",
            })
            lc.log(f"webhook {hook['id']} subscribed to credential.expired")
        finally:
            api.close()
            self.stop_server()

    def choose_day(self, raw, expirations: int) -> dt.date:
        """The day after the `expirations`-th valid issuance from today runs out."""
        holding = ", ".join(f"'{s}'" for s in HOLDING)
        row = raw.fetchall(
            f"""SELECT expiration_date FROM credentials
                WHERE agency_id = :a AND status IN ({holding}) AND expiration_date >= :today
                ORDER BY expiration_date LIMIT 1 OFFSET :n""",
            {"a": self.agency_id, "today": self.today, "n": expirations - 1})
        if not row:
            raise SystemExit(f"fewer than {expirations} valid issuances: seed more members")
        last = row[0][0]
        last = dt.date.fromisoformat(last) if isinstance(last, str) else last
        return last + dt.timedelta(days=1)

    def expired_messages(self, raw) -> int:
        return raw.fetchall(
            "SELECT COUNT(*) FROM outbox WHERE agency_id = :a AND kind = 'webhook' AND subject = 'credential.expired'",
            {"a": self.agency_id})[0][0]

    def measure(self, expirations: int) -> dict:
        raw = self.open_raw()
        a = self.agency_id
        day = self.choose_day(raw, expirations)
        hook = raw.fetchall("SELECT id FROM webhooks WHERE agency_id = :a", {"a": a})[0][0]
        window = raw.fetchall("SELECT expiring_soon_days FROM agencies WHERE id = :a", {"a": a})[0][0]
        now = dt.datetime.now(dt.timezone.utc)
        p = {"a": a, "today": day, "soon": day + dt.timedelta(days=int(window)), "now": now,
             "now_text": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "hook": hook,
             "url": "https://hooks.example.test/credence"}
        names = {k: f"'{k}'" for k in lc.RANKS}
        ranks = {k: str(r) for k, r in lc.RANKS.items()}
        update = f"""UPDATE credentials SET
                status = {lc.status_case(names)},
                status_rank = {lc.status_case(ranks)},
                expiring_soon = ({lc.VALID_ON_DAY} AND expiration_date IS NOT NULL AND expiration_date <= :soon),
                status_changes_on = NULL,
                version = version + 1,
                updated_at = :now
            WHERE agency_id = :a AND status_changes_on <= :today"""
        mix_q = "SELECT status, COUNT(*) FROM credentials WHERE agency_id = :a GROUP BY status ORDER BY status"
        due = raw.fetchall(
            "SELECT COUNT(*) FROM credentials WHERE agency_id = :a AND status_changes_on <= :today", p)[0][0]
        if self.db == "postgres":
            raw.execute("VACUUM (ANALYZE)")
        lc.phase(f"{self.db}: raw")
        t = time.perf_counter()
        raw.begin()
        inserted = raw.execute(event_sql(self.db), p).rowcount
        updated = raw.execute(update, p).rowcount
        raw_s = time.perf_counter() - t
        raw_mix = dict(raw.fetchall(mix_q, {"a": a}))
        raw.rollback()
        lc.log(f"raw: {inserted} messages, {updated} statuses in {raw_s:.2f} s (rolled back)")
        if self.db == "postgres":
            # The rollback left a dead version of every row touched; both sides start clean.
            raw.execute("VACUUM (ANALYZE)")
        lc.phase(f"{self.db}: credence")
        out, wall = self.cli("sweep", "--agency", "bench", env_extra={"CREDENCE_TODAY": day.isoformat()})
        lc.log(f"credence sweep at {day}: {out} (wall {wall:.2f} s)")
        m = re.search(r"swept (\d+) credentials .* in ([0-9.]+)s", out)
        app_mix = dict(raw.fetchall(mix_q, {"a": a}))
        messages = self.expired_messages(raw)
        return {
            "db": self.db, "day": day.isoformat(), "due": due, "raw_messages": inserted,
            "raw_updated": updated, "raw_s": raw_s, "app_messages": messages,
            "app_examined": int(m.group(1)) if m else None,
            "app_reported_s": float(m.group(2)) if m else None, "app_wall_s": wall,
            "same_mix": raw_mix == app_mix, "raw_mix": raw_mix, "app_mix": app_mix,
            "credentials": self.results.get("credentials"),
        }

    def go(self, expirations: int) -> dict:
        self.fresh_database()
        try:
            self.step_seed()
            self.step_token()
            self.subscribe()
            return self.measure(expirations)
        finally:
            self.stop_server()
            if self.raw:
                self.raw.close()
                self.raw = None


def render(results: list[dict], args, started: str) -> str:
    lines = [
        "# The daily pass emitting `credential.expired`: benchmark results",
        "",
        f"`python3 bench/expired_events.py --members {args.members} --expirations {args.expirations}`, "
        f"{'release' if 'release' in str(args.binary) else 'DEBUG'} build, 2 cores, started {started}. One webhook subscribed to `credential.expired`. "
        "Raw = one set-based INSERT of the outbox messages (JSON bodies built in SQL) and the sweep's "
        "set-based UPDATE, one transaction, rolled back. Credence = `credence sweep` on the same day "
        "(the daily pass: domain rules per credential, events queued in each batch's transaction); its "
        "own reported time (the CLI's start-up excluded) and the wall clock of the whole command.",
        "",
        "| database | credentials | due that day | `credential.expired` messages (raw / Credence) | raw s | Credence s (wall) | ratio | same statuses | ≤ 2× |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        app = r["app_reported_s"] if r["app_reported_s"] is not None else r["app_wall_s"]
        ratio = app / r["raw_s"] if r["raw_s"] else float("nan")
        lines.append(
            f"| {r['db']} | {r['credentials']:,} | {r['due']:,} | {r['raw_messages']:,} / {r['app_messages']:,} | "
            f"{r['raw_s']:.2f} | {app:.2f} ({r['app_wall_s']:.2f}) | {ratio:.2f}× | "
            f"{'yes' if r['same_mix'] else 'NO'} | {'yes' if ratio <= TARGET_RATIO else 'no'} |")
    busy = lc.INTERFERENCE.summary() if lc.INTERFERENCE else {}
    noisy = {k: v for k, v in busy.items() if v > 0}
    if noisy:
        lines += ["", "Other compilers or test runners were busy during: "
                  + ", ".join(f"{k} ({v:.0f}% of samples)" for k, v in noisy.items()) + "."]
    for r in results:
        if not r["same_mix"]:
            lines += ["", f"{r['db']}: status mix differs: raw {r['raw_mix']} Credence {r['app_mix']}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--credentials-per-member", type=int, default=10)
    ap.add_argument("--expirations", type=int, default=100_000)
    ap.add_argument("--binary", type=Path, default=lc.REPO / "target/release/credence")
    ap.add_argument("--pg-admin-url", default=lc.PG_ADMIN_URL)
    ap.add_argument("--pg-url", default=f"postgres://postgres@127.0.0.1:5432/{lc.PG_BENCH_DB}")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    args.sqlite_analyze = False
    args.daily_jobs_timeout = 1800.0
    if not args.binary.exists():
        print(f"{args.binary} not found: run `cargo build --release -p credence` first", file=sys.stderr)
        return 2
    lock = open(os.path.join(tempfile.gettempdir(), "credence-bench.lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    lc.INTERFERENCE = lc.Interference()
    workdir = Path(tempfile.mkdtemp(prefix="credence-bench-expired-"))
    binary = workdir / "credence"
    shutil.copy2(args.binary, binary)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results = []
    try:
        for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            lc.log(f"=== {db} ===")
            results.append(ExpiredRun(args, db, workdir / db, binary).go(args.expirations))
    finally:
        lc.INTERFERENCE.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.write_text(render(results, args, started))
    lc.log(f"wrote {args.out}")
    return 0 if all(r["same_mix"] and r["raw_messages"] == r["app_messages"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
