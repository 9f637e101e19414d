#!/usr/bin/env python3
"""Mixed load on one Credence server at agency scale (issue #22, "Load"): the knee of the
throughput/latency curve on SQLite and PostgreSQL, then half the knee held for ten minutes.

Per database it seeds a fresh agency with `credence seed` (default 100,000 members x 10
credentials = 1,000,000 credentials), creates an admin login and an admin API token, starts
`credence serve` and waits until its start-up jobs are over (`start()` of qualified.py),
signs in through the /login form for a session cookie, and gathers ids through the API. Then
wrk (bench/load.lua) drives this mix from many keep-alive connections:

    15%  GET /                                    dashboard page (session cookie)
    15%  GET /credentials?q=&status=...&...       Manage Credentials, as its filter form
                                                  submits it: by status, by type, a name
                                                  search, overdue in a group, expiring in 90 d
    10%  GET /members/{id}                        a member's page
    20%  GET /api/v1/credentials?...&limit=50     API list: status, type, name search, group
                                                  + status + sort, one member, expiring
    10%  GET /api/v1/credentials/{id}             API detail
    10%  GET /api/v1/members/{id}                 API detail
    10%  POST /api/v1/training-records            a course completion for a member
     5%  POST /api/v1/credentials/{id}/issue      a Not Started or Overdue credential, each
                                                  once, over the checklist with an admin
                                                  override reason
     5%  POST /api/v1/assignments                 a new published type to a set of
                                                  `--assign-set` members, each pair once

Pages carry the session cookie, API calls the bearer token, writes are JSON. Every answer
must be 2xx (an assignment that skips a member counts apart); the script counts non-2xx per
kind, keeps up to three examples of each, and prints wrk's own socket errors and its >399
count. Issues and assignments draw from pools split between wrk's threads, so no id is used
twice over the whole run; a thread whose pool runs dry sends a training record instead and
the fallback is reported. Around every wrk run the script counts training records,
issuances and credentials in the database, so the report shows that the 2xx writes landed.

Knee search: wrk -t2 (-t1 for one connection) with 1, 2, 4, ... `--max-connections`
connections, `--step-seconds` each, unpaced (each connection sends its next request as soon
as the previous answer is in). Throughput = answers / wall time; p50/p99 are wrk's own
histogram (`latency:percentile()`, which includes wrk's correction for a connection that
was stuck: for a latency above twice the mean cycle it adds the samples the connection
would have sent); the per-kind figures and "raw p99" are the plain per-request latencies
that load.lua records.

    The knee is the step with the highest throughput among those whose p99 is within 2x
    the p99 of the lowest-load step (1 connection). (Until 3 December it was the last step
    before the first one that broke that bound or gained less than 5% throughput; one noisy
    10-second step — a dashboard recount landing in it — then stopped the search at 1
    connection while 4 connections gave 2.4x the throughput within the bound.)

Hold: `--hold-seconds` (default 600) at half the knee's throughput, over max(4, the knee's
connections) connections, paced with wrk's delay() (load.lua: each thread sends one
request every threads/target seconds over its connections, and does not burst to catch
up). Pass = p99 < 100 ms and zero errors (non-2xx, skipped assignments, socket errors).

Output: a markdown table per database and the hold result in bench/results-load.md, and
bench/load.png: throughput (x) against p50 and p99 (y), one pair of lines per database,
the knee and the hold marked. The load generator shares the machine (2 cores) with the
server and its database, which the figures include.

    cargo build --release -p credence
    python3 -m pip install -r bench/requirements.txt   # psycopg, matplotlib
    python3 bench/load.py [--db sqlite|postgres|both] [--members 100000] [--step-seconds 20]
                          [--hold-seconds 600] [--binary target/release/credence]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import json
import math
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
from lifecycle import Api, Interference, versions  # noqa: E402
from qualified import run, start  # noqa: E402

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"
PG_DB = "credence_bench_load"
PASSWORD = "bench password 123"
LUA = BENCH_DIR / "load.lua"
HOLD_P99_MS = 100.0

# The request mix (percent); load.lua knows how to build each kind.
WEIGHTS = {
    "page_dashboard": 15,
    "page_credentials": 15,
    "page_member": 10,
    "api_list": 20,
    "api_credential": 10,
    "api_member": 10,
    "record": 10,
    "issue": 5,
    "assign": 5,
}
WRITES = ("record", "issue", "assign")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))]


def signed_in_cookie(base: str) -> str:
    """Signs in through the login form as pages.py does; the Cookie header a browser sends."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(base + "/login").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    form = {"email": "admin@bench.test", "password": PASSWORD, "csrf": csrf}
    page = opener.open(base + "/login", data=urllib.parse.urlencode(form).encode())
    assert page.status == 200 and page.url.rstrip("/") == base, ("sign-in failed", page.url)
    cookies = [c for c in jar if c.path == "/"]
    assert cookies, "no session cookie after signing in"
    return "; ".join(f"{c.name}={c.value}" for c in cookies)


def pages_of(api: Api, path: str, cap: int) -> list[dict]:
    """Items of a cursor-paged API list, up to `cap`."""
    out, cursor = [], None
    while len(out) < cap:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={min(500, cap - len(out))}"
        if cursor:
            url += "&cursor=" + urllib.parse.quote(cursor)
        page = api.json("GET", url, expect=(200,))
        out.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor or not page["items"]:
            break
    return out


def empty_counts() -> dict:
    return {"sent": 0, "ok": 0, "bad": 0, "skipped": 0, "codes": {}, "samples": [], "lat_us": []}


def add_counts(into: dict, s: dict) -> None:
    """Adds one kind's answers, codes and latencies to another's (samples are the caller's)."""
    for f in ("sent", "ok", "bad", "skipped"):
        into[f] += s[f]
    for code, n in s["codes"].items():
        into["codes"][code] = into["codes"].get(code, 0) + n
    into["lat_us"] += s["lat_us"]



class Counts:
    """Rows that writes add, counted directly in the database."""

    def __init__(self, db: str, env: dict, work: Path):
        self.db = db
        if db == "postgres":
            import psycopg
            self.conn = psycopg.connect(env["CREDENCE_DATABASE_URL"], autocommit=True)
        else:
            self.conn = sqlite3.connect(work / "data" / "credence.sqlite3", timeout=60)

    def __call__(self) -> dict:
        out = {}
        for table in ("training_records", "issuances", "credentials"):
            out[table] = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if self.db == "sqlite":
            self.conn.rollback()  # do not hold a read snapshot between runs
        return out

    def close(self):
        self.conn.close()


class Bench:
    def __init__(self, db: str, args, binary: str, interference: Interference):
        self.db, self.args, self.binary, self.interference = db, args, binary, interference
        self.work = Path(tempfile.mkdtemp(prefix=f"credence-load-{db}-"))
        self.data = self.work / "wrk"
        self.data.mkdir()
        self.today = dt.datetime.now(dt.timezone.utc).date()
        self.result: dict = {"db": db, "steps": [], "notes": []}
        self.server = None
        self.runs = 0

    # setup ----------------------------------------------------------------------------

    def setup(self):
        args = self.args
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREDENCE_")}
        env.update({"CREDENCE_DATA_DIR": str(self.work / "data"), "CREDENCE_LOG": "warn"})
        if self.db == "postgres":
            import psycopg
            with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
                admin.execute(f"CREATE DATABASE {PG_DB}")
            env["CREDENCE_DATABASE_URL"] = args.pg_admin_url.rsplit("/", 1)[0] + "/" + PG_DB
        self.env = env
        self.interference.phase = f"{self.db} seed"
        run(self.binary, env, "agency", "create", "--name", "Bench", "--slug", "bench", "--time-zone", "UTC")
        started = time.perf_counter()
        log(run(self.binary, env, "seed", "--agency", "bench", "--members", str(args.members),
                "--credentials-per-member", str(args.credentials_per_member)))
        self.result["seed_s"] = time.perf_counter() - started
        log(f"seeded in {self.result['seed_s']:.1f} s")
        if self.db == "postgres":
            import psycopg
            with psycopg.connect(env["CREDENCE_DATABASE_URL"], autocommit=True) as pg:
                pg.execute("VACUUM (ANALYZE)")
                # Write out the seed's dirty pages, as a server in steady use would have.
                pg.execute("CHECKPOINT")
        run(self.binary, env, "user", "create", "--agency", "bench", "--email", "admin@bench.test",
            "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
        self.token = run(self.binary, env, "token", "create", "--agency", "bench", "--role", "admin",
                         "--name", "load bench")
        self.interference.phase = f"{self.db} start-up jobs"
        self.start_server()
        self.base = f"http://127.0.0.1:{args.port}"
        self.counts = Counts(self.db, env, self.work)
        self.interference.phase = f"{self.db} gather"
        self.gather()

    def start_server(self):
        """(Re)starts `credence serve`, each time with a log of its own. The first start waits
        until its start-up jobs are over; a restart only until it is ready, as today's daily
        jobs have run already (and are not logged again)."""
        self.starts = getattr(self, "starts", 0) + 1
        self.log_path = self.work / f"server-{self.starts}.log"
        self._log_seen = 0
        self.log_file = open(self.log_path, "w")
        if self.starts == 1:
            self.server = start(self.binary, self.env, self.args.port, self.log_file)
        else:
            env = {**self.env, "CREDENCE_LOG": "warn,credence_app::credentials::sweep=info"}
            self.server = subprocess.Popen([self.binary, "serve", "--bind", f"127.0.0.1:{self.args.port}"],
                                           env=env, stdout=self.log_file, stderr=subprocess.STDOUT)
            deadline = time.time() + 300
            while True:
                try:
                    if urllib.request.urlopen(f"{self.base}/readyz").status == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline or self.server.poll() is not None:
                    raise RuntimeError(f"the restarted server did not become ready; see {self.log_path}")
                time.sleep(0.2)
        self.server_log_problems()  # its start-up warnings are not the load's

    def stop_server(self):
        self.server.terminate()
        self.server.wait()
        self.log_file.close()

    def probe_write(self) -> int:
        """One training record through the API: the status it gets."""
        api = Api(self.args.port, self.token)
        member = (self.data / "members.txt").read_text().split()[0]
        course = re.search(r"^course=(.*)$", (self.data / "config.txt").read_text(), re.M).group(1)
        status, _ = api.request("POST", "/api/v1/training-records",
                                {"member_id": member, "course_id": course, "completed_on": str(self.today)})
        api.close()
        return status

    def gather(self):
        """Ids for the mix, through the API; new types and a course for the writes."""
        args = self.args
        api = Api(self.args.port, self.token)
        cookie = signed_in_cookie(self.base)
        rng = random.Random(22)
        members = [m["id"] for m in pages_of(api, "/api/v1/members", args.sample)]
        types = [t["id"] for t in pages_of(api, "/api/v1/credential-types", 500)]
        groups = [g["id"] for g in pages_of(api, "/api/v1/groups", 500)]
        credentials = []
        for status in ("active", "active_renewal_in_progress", "overdue", "not_started"):
            credentials += [c["id"] for c in pages_of(api, f"/api/v1/credentials?status={status}",
                                                      args.sample // 4)]
        # Issue pool: tracks with an open period and 0% progress.
        issue = []
        for status in ("not_started", "overdue"):
            issue += [c["id"] for c in pages_of(api, f"/api/v1/credentials?status={status}&sort=-progress",
                                                args.issue_pool // 2)]
        rng.shuffle(issue)
        issue_set = set(issue)
        credentials = [c for c in credentials if c not in issue_set] or credentials
        course = api.json("POST", "/api/v1/courses", {"code": "LOAD-101", "name": "Load bench drill",
                                                      "hours": 2, "category": "Drills"})
        # Assign pool: new published types, each given to sets of members no one has given
        # it to yet.
        size = args.assign_set
        per_type = len(members) // size
        count = max(1, min(args.max_assign_types, math.ceil(args.assign_pool / max(1, per_type))))
        assign = []
        stamp = int(time.time()) % 100000
        for k in range(count):
            t = api.json("POST", "/api/v1/credential-types",
                         {"code": f"LOADA-{stamp}-{k}", "name": f"Load assign {k}", "validity_months": 24,
                          "requirements": [{"kind": "checklist", "title": "Check-off"}]})
            api.json("POST", f"/api/v1/credential-types/{t['id']}/publish", {})
            shuffled = members[:]
            rng.shuffle(shuffled)
            assign += [" ".join([t["id"], *shuffled[i * size:(i + 1) * size]]) for i in range(per_type)]
        rng.shuffle(assign)
        api.close()
        self.issue_pool, self.assign_pool = issue, assign
        period_end = self.today + dt.timedelta(days=180)
        weights = ",".join(f"{k}:{v}" for k, v in WEIGHTS.items())
        (self.data / "config.txt").write_text(
            f"cookie={cookie}\ntoken={self.token}\ntoday={self.today}\ncourse={course['id']}\n"
            f"period_end={period_end}\nweights={weights}\n")
        for name, ids in (("members", members), ("credentials", credentials), ("types", types),
                          ("groups", groups)):
            (self.data / f"{name}.txt").write_text("\n".join(ids) + "\n")
        self.result.update(sample_members=len(members), sample_credentials=len(credentials),
                           types=len(types), groups=len(groups), issue_pool=len(issue),
                           assign_pool=len(assign), assign_types=count)
        log(f"{len(members)} members, {len(credentials)} credentials, {len(types)} types, {len(groups)} groups; "
            f"pools: {len(issue)} to issue, {len(assign)} assignments of {size} over {count} new types")

    # one wrk run ----------------------------------------------------------------------

    def wrk(self, connections: int, seconds: int, rate: float = 0.0) -> dict:
        """One wrk run; its figures merged over threads."""
        threads = min(2, connections)
        self.runs += 1
        tag = f"r{self.runs}"
        # Split what is left of the write pools between the threads, one block each.
        blocks = {}
        for name, pool in (("issue", self.issue_pool), ("assign", self.assign_pool)):
            n = len(pool) // threads
            blocks[name] = [pool[t * n:(t + 1) * n] for t in range(threads)]
            for t in range(threads):
                (self.data / f"{name}-{tag}-{t}.txt").write_text("\n".join(blocks[name][t]) + "\n")
        before = self.counts()
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
               "-s", str(LUA), self.base + "/", "--", str(self.data), tag,
               f"{rate / threads:.3f}" if rate else "0"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
        if out.returncode != 0 or "LOADSUMMARY" not in out.stdout:
            raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr[-2000:]} {out.stdout[-2000:]}")
        time.sleep(1.0)  # answers still in flight when wrk stopped
        after = self.counts()
        summary, reports = None, []
        for line in out.stdout.splitlines():
            if line.startswith("LOADSUMMARY "):
                summary = json.loads(line[len("LOADSUMMARY "):])
            elif line.startswith("LOADTHREAD "):
                reports.append(json.loads(line[len("LOADTHREAD "):]))
        # Used pool entries never come back, sent or not.
        for name, pool_attr in (("issue", "issue_pool"), ("assign", "assign_pool")):
            left = []
            for r in reports:
                left += blocks[name][r["tid"]][r[f"{name}_used"]:]
            left += getattr(self, pool_attr)[len(blocks[name][0]) * threads:]
            setattr(self, pool_attr, left)
        kinds: dict = {}
        for r in reports:
            for kind, s in r["kinds"].items():
                add_counts(kinds.setdefault(kind, empty_counts()), s)
                kinds[kind]["samples"] += s["samples"]
        all_lat = [x for k in kinds.values() for x in k["lat_us"]]
        # Reads come per filter variant ("api_list:status_overdue"); the whole kind is
        # added as its own row ("api_list"), after the totals above are taken.
        whole: dict = {}
        for kind, k in kinds.items():
            if ":" not in kind:
                continue
            add_counts(whole.setdefault(kind.split(":")[0], empty_counts()), k)
        totals_kinds = dict(kinds)
        kinds.update(whole)
        secs = summary["duration_us"] / 1e6
        e = summary["errors"]
        socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
        bad = sum(k["bad"] for k in totals_kinds.values())
        skipped = sum(k["skipped"] for k in totals_kinds.values())
        res = {
            "connections": connections, "threads": threads, "seconds": secs, "rate": rate,
            "requests": summary["requests"], "throughput": summary["requests"] / secs,
            "p50": summary["p50_us"] / 1000, "p90": summary["p90_us"] / 1000,
            "p99": summary["p99_us"] / 1000, "max": summary["max_us"] / 1000,
            "raw_p50": pct(all_lat, 50) / 1000, "raw_p99": pct(all_lat, 99) / 1000,
            "wrk_errors": e, "socket_errors": socket_errors, "non2xx": bad, "skipped": skipped,
            "errors": bad + skipped + socket_errors,
            "unanswered": sum(r["unanswered"] for r in reports),
            "fallback_issue": sum(r["fallback_issue"] for r in reports),
            "fallback_assign": sum(r["fallback_assign"] for r in reports),
            "kinds": {kind: {"sent": k["sent"], "ok": k["ok"], "bad": k["bad"], "skipped": k["skipped"],
                             "codes": k["codes"], "samples": k["samples"][:3],
                             "p50": pct(k["lat_us"], 50) / 1000, "p99": pct(k["lat_us"], 99) / 1000,
                             "max": max(k["lat_us"], default=0) / 1000}
                      for kind, k in sorted(kinds.items())},
            "landed": {t: after[t] - before[t] for t in after},
        }
        ok = {kind: res["kinds"].get(kind, {}).get("ok", 0) for kind in WRITES}
        sent = {kind: res["kinds"].get(kind, {}).get("sent", 0) for kind in WRITES}
        res["writes"] = {
            "records_ok": ok["record"], "records_sent": sent["record"], "records_landed": res["landed"]["training_records"],
            "issues_ok": ok["issue"], "issues_sent": sent["issue"], "issuances_landed": res["landed"]["issuances"],
            "assign_ok": ok["assign"], "assign_sent": sent["assign"],
            "credentials_expected": (ok["assign"] - res["kinds"].get("assign", {}).get("skipped", 0)) * self.args.assign_set,
            "credentials_landed": res["landed"]["credentials"],
        }
        w = res["writes"]
        # A write that wrk sent but whose answer it did not wait for may land too.
        res["writes_consistent"] = (w["records_ok"] <= w["records_landed"] <= w["records_sent"]
                                    and w["issues_ok"] <= w["issuances_landed"] <= w["issues_sent"]
                                    and w["credentials_expected"] <= w["credentials_landed"]
                                    <= w["assign_sent"] * self.args.assign_set)
        res["server_log"] = self.server_log_problems()
        if self.server.poll() is not None:
            raise RuntimeError(f"the server exited ({self.server.returncode}); see {self.log_path}")
        # wrk stops by closing its connections, so the requests then in flight are cancelled
        # on the server. A write must still work afterwards; if it does not, the next run
        # would measure a broken server, so it is restarted, and the report says so.
        res["write_after"] = self.probe_write()
        if not 200 <= res["write_after"] < 300:
            log(f"after this run a write answers {res['write_after']}: restarting the server")
            self.stop_server()
            self.start_server()
            res["restarted"] = True
            res["write_after_restart"] = self.probe_write()
        return res

    def server_log_problems(self) -> list[str]:
        """New ERROR/WARN lines in the server log since the last look."""
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.log_path.read_text(errors="replace"))
        seen = self._log_seen
        self._log_seen = len(text)
        return [line for line in text[seen:].splitlines() if " ERROR " in line or " WARN " in line][:5]

    def describe(self, r: dict, label: str) -> None:
        log(f"{label}: {r['throughput']:.0f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms "
            f"(raw p99 {r['raw_p99']:.1f}), max {r['max']:.0f} ms, errors {r['errors']} "
            f"(non-2xx {r['non2xx']}, skipped {r['skipped']}, socket {r['socket_errors']}); "
            f"writes landed as answered: {'yes' if r['writes_consistent'] else 'NO ' + json.dumps(r['writes'])}")
        for kind, k in r["kinds"].items():
            if k["bad"] or k["skipped"]:
                log(f"  {kind}: {k['bad']} non-2xx {k['codes']}, {k['skipped']} skipped; e.g. {k['samples'][:1]}")
        for line in r["server_log"]:
            log(f"  server log: {line[:300]}")
        if r.get("restarted"):
            log(f"  writes failed after wrk stopped ({r['write_after']}); restarted, a write then answers "
                f"{r['write_after_restart']}")

    # the benchmark --------------------------------------------------------------------

    def knee(self):
        args = self.args
        steps = []
        c = 1
        while c <= args.max_connections:
            self.interference.phase = f"{self.db} knee"
            r = self.wrk(c, args.step_seconds)
            self.describe(r, f"{c:>4} connections")
            steps.append(r)
            c *= 2
        base = steps[0]["p99"]
        within = [i for i, r in enumerate(steps) if r["p99"] <= 2 * base]
        knee = max(within, key=lambda i: steps[i]["throughput"])
        beyond = [f"{r['connections']}" for r in steps if r["p99"] > 2 * base]
        reason = (f"the highest throughput with p99 within 2 x {base:.1f} ms"
                  + (f"; beyond it at {', '.join(beyond)} connections" if beyond else ""))
        self.result["steps"] = steps
        self.result["knee"] = knee
        self.result["knee_reason"] = reason
        log(f"knee: {steps[knee]['connections']} connections, {steps[knee]['throughput']:.0f} req/s ({reason})")

    def hold(self):
        args = self.args
        k = self.result["steps"][self.result["knee"]]
        target = k["throughput"] / 2
        connections = max(4, k["connections"])
        self.interference.phase = f"{self.db} hold"
        log(f"hold: {target:.0f} req/s over {connections} connections for {args.hold_seconds} s")
        r = self.wrk(connections, args.hold_seconds, rate=target)
        r["target"] = target
        r["pass"] = r["p99"] < HOLD_P99_MS and r["errors"] == 0
        self.describe(r, "hold")
        log(f"hold {'PASSES' if r['pass'] else 'FAILS'}: achieved {r['throughput']:.0f} of {target:.0f} req/s")
        self.result["hold"] = r

    def run(self) -> dict:
        try:
            self.setup()
            self.knee()
            if self.args.hold_seconds > 0:
                self.hold()
            self.result["pools_left"] = {"issue": len(self.issue_pool), "assign": len(self.assign_pool)}
        finally:
            if self.server is not None:
                self.stop_server()
            if getattr(self, "counts", None):
                self.counts.close()
            if self.args.keep:
                log(f"work directory kept: {self.work}")
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        return self.result


# output -------------------------------------------------------------------------------


def render(results: list[dict], args, vers: dict, started: str, busy: dict) -> str:
    lines = [
        "# Mixed load: the knee and a 10-minute hold",
        "",
        f"`python3 bench/load.py --members {args.members} --step-seconds {args.step_seconds} "
        f"--hold-seconds {args.hold_seconds}`, started {started}. "
        f"{args.members * args.credentials_per_member:,} credentials ({args.members:,} members x "
        f"{args.credentials_per_member}). Machine: {vers.get('machine', '?')}; 2 cores, the load generator "
        "(wrk, 2 threads) on the same machine as the server and its database.",
        "",
        f"Binary: {vers.get('binary', '?')} ({vers.get('credence', '?')}); checkout {vers.get('commit', '?')}.",
        "",
        "Mix: " + ", ".join(f"{v}% {k}" for k, v in WEIGHTS.items()) + " (see the docstring of bench/load.py). "
        "Throughput is answers a second; p50/p99 are wrk's histogram (with its correction for stuck "
        "connections), raw p99 the plain per-request latency. Errors = non-2xx answers + assignments that "
        "skipped a member + socket errors (connect, read, write, timeout at 30 s).",
        "",
        "Knee rule: the step with the highest throughput among those whose p99 is within 2x the "
        "1-connection p99. Hold: half the knee's throughput, paced; "
        f"pass = p99 < {HOLD_P99_MS:.0f} ms and zero errors.",
    ]
    for r in results:
        db = r["db"]
        lines += ["", f"## {db}", ""]
        if r.get("error"):
            lines.append(f"The run failed: {r['error']}")
            continue
        lines.append(f"Seed: {r['seed_s']:.0f} s. Ids gathered through the API: {r['sample_members']:,} members, "
                     f"{r['sample_credentials']:,} credentials, {r['types']} types, {r['groups']} groups; "
                     f"{r['issue_pool']:,} credentials to issue, {r['assign_pool']:,} assignments of "
                     f"{args.assign_set} members over {r['assign_types']} new types.")
        lines += ["", "| connections | throughput req/s | p50 ms | p99 ms | raw p99 ms | max ms | errors | writes landed "
                  "| a write after wrk stopped |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for i, s in enumerate(r["steps"]):
            mark = " **(knee)**" if i == r["knee"] else ""
            after = (f"**{s['write_after']}**, server restarted" if s.get("restarted") else str(s["write_after"]))
            lines.append(f"| {s['connections']}{mark} | {s['throughput']:.0f} | {s['p50']:.1f} | {s['p99']:.1f} | "
                         f"{s['raw_p99']:.1f} | {s['max']:.0f} | {s['errors']} | "
                         f"{'yes' if s['writes_consistent'] else '**no**'} | {after} |")
        if any(s.get("restarted") for s in r["steps"]):
            lines += ["", "After some runs a write no longer succeeded: wrk stops by closing its connections, which "
                      "cancels the requests in flight, and a cancelled write can leave the server unable to write "
                      "(see the server log). The server was restarted before the next run, so each step measures a "
                      "working server."]
        k = r["steps"][r["knee"]]
        lines += ["", f"Knee: {k['connections']} connections, {k['throughput']:.0f} req/s ({r['knee_reason']})."]
        h = r.get("hold")
        if h:
            lines += ["", f"Hold ({args.hold_seconds} s, {h['connections']} connections, target {h['target']:.0f} req/s): "
                      f"achieved {h['throughput']:.0f} req/s ({h['requests']:,} answers), p50 {h['p50']:.1f} ms, "
                      f"p99 {h['p99']:.1f} ms (raw {h['raw_p99']:.1f}), max {h['max']:.0f} ms, errors {h['errors']} "
                      f"(non-2xx {h['non2xx']}, skipped assignments {h['skipped']}, socket {h['socket_errors']}): "
                      f"**{'pass' if h['pass'] else 'FAIL'}**.",
                      "", "| kind | sent | 2xx | non-2xx | p50 ms | p99 ms | max ms |", "|---|---|---|---|---|---|---|"]
            for kind, s in h["kinds"].items():
                codes = ", ".join(f"{c}: {n}" for c, n in s["codes"].items())
                lines.append(f"| {kind} | {s['sent']:,} | {s['ok']:,} | {s['bad']}{f' ({codes})' if codes else ''} | "
                             f"{s['p50']:.1f} | {s['p99']:.1f} | {s['max']:.0f} |")
            w = h["writes"]
            lines += ["", f"Writes in the hold: {w['records_ok']:,} training records answered 2xx, "
                      f"{w['records_landed']:,} in the database; {w['issues_ok']:,} issues, {w['issuances_landed']:,} "
                      f"issuances; {w['assign_ok']:,} assignments, {w['credentials_landed']:,} credentials "
                      f"(expected {w['credentials_expected']:,}). Fallbacks to a training record when a pool ran dry: "
                      f"{h['fallback_issue']} issues, {h['fallback_assign']} assignments."]
        problems = []
        for s in r["steps"] + ([h] if h else []):
            for kind, ks in s["kinds"].items():
                problems += [f"{kind}: {x}" for x in ks["samples"]]
        if problems:
            lines += ["", "Examples of non-2xx answers:", ""] + [f"- `{p[:400]}`" for p in problems[:10]]
    seen = {k: v for k, v in busy.items() if v > 0}
    if seen:
        lines += ["", "Someone else's compilers or test runners (rustc, cargo, ld, node, ...) were running during: " +
                  ", ".join(f"{k} ({v:.0f}% of samples)" for k, v in seen.items()) + "."]
    return "\n".join(lines).rstrip() + "\n"


def plot(results: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.5))
    colours = {"sqlite": "tab:blue", "postgres": "tab:orange"}
    for r in results:
        if not r.get("steps"):
            continue
        c = colours.get(r["db"], "tab:green")
        x = [s["throughput"] for s in r["steps"]]
        ax.plot(x, [s["p50"] for s in r["steps"]], "--o", color=c, ms=4, label=f"{r['db']} p50")
        ax.plot(x, [s["p99"] for s in r["steps"]], "-o", color=c, ms=4, label=f"{r['db']} p99")
        for s in r["steps"]:
            ax.annotate(str(s["connections"]), (s["throughput"], s["p99"]), textcoords="offset points",
                        xytext=(3, 4), fontsize=7, color=c)
        k = r["steps"][r["knee"]]
        ax.plot([k["throughput"]], [k["p99"]], "*", color=c, ms=16, markeredgecolor="black",
                label=f"{r['db']} knee ({k['connections']} conn.)")
        h = r.get("hold")
        if h:
            ax.plot([h["throughput"]], [h["p99"]], "X", color=c, ms=11, markeredgecolor="black",
                    label=f"{r['db']} hold p99 ({'pass' if h['pass'] else 'fail'})")
    ax.axhline(HOLD_P99_MS, color="grey", lw=0.8, ls=":", label=f"hold target p99 {HOLD_P99_MS:.0f} ms")
    ax.set_yscale("log")
    ax.set_xlabel("throughput (answers/s)")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title("Credence mixed load: throughput vs p50/p99 (labels: connections)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--credentials-per-member", type=int, default=10)
    ap.add_argument("--step-seconds", type=int, default=20, help="length of each knee-search step")
    ap.add_argument("--max-connections", type=int, default=128, help="knee steps: 1, 2, 4, ... up to this")
    ap.add_argument("--hold-seconds", type=int, default=600, help="0 skips the hold")
    ap.add_argument("--sample", type=int, default=20_000,
                    help="members (and credentials) whose ids the reads pick from")
    ap.add_argument("--issue-pool", type=int, default=40_000, help="credentials gathered to issue")
    ap.add_argument("--assign-pool", type=int, default=20_000, help="assignments prepared")
    ap.add_argument("--assign-set", type=int, default=5, help="members per assignment")
    ap.add_argument("--max-assign-types", type=int, default=10, help="new types the assignments use, at most")
    ap.add_argument("--binary", default=str(REPO / "target/release/credence"))
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--port", type=int, default=18557)
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "results-load.md")
    ap.add_argument("--plot", type=Path, default=BENCH_DIR / "load.png")
    ap.add_argument("--lock-file", default=os.path.join(tempfile.gettempdir(), "credence-bench.lock"),
                    help="benchmarks on one machine take turns on this lock")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (data, server log, wrk files)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    import fcntl

    lock = open(args.lock_file, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another benchmark holds {args.lock_file}; waiting for it to finish")
        fcntl.flock(lock, fcntl.LOCK_EX)
    binwork = Path(tempfile.mkdtemp(prefix="credence-load-bin-"))
    binary = str(shutil.copy(args.binary, binwork / "credence"))  # a rebuild cannot change it mid-run
    vers = versions(Path(binary), Path(args.binary))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    interference = Interference()
    results = []
    try:
        for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
            log(f"=== {db} ===")
            try:
                results.append(Bench(db, args, binary, interference).run())
            except Exception as e:  # noqa: BLE001 - report it and go on to the next database
                log(f"{db} FAILED: {e}")
                results.append({"db": db, "error": str(e)})
    finally:
        interference.stop()
        shutil.rmtree(binwork, ignore_errors=True)
    text = render(results, args, vers, started, interference.summary())
    args.out.write_text(text)
    plot(results, args.plot)
    print(text)
    log(f"written to {args.out} and {args.plot}")
    return 1 if any(r.get("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
