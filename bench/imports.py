#!/usr/bin/env python3
"""Credence imports benchmark (issue #16, imports): "10,000 members from XLSX and 100,000
training records from CSV, preview + commit, within 3x of raw set-based SQL doing the same
inserts, on both databases".

For each database it creates a fresh database and agency with the `credence` binary, starts
the server and, per case:

* members: an XLSX workbook of 10,000 new members (first_name, last_name, email,
  employee_number) is uploaded (`POST /api/v1/imports`, the preview, timed) and committed
  (`POST /api/v1/imports/{id}/commit`, timed). The raw side inserts another 10,000 members
  with one `INSERT ... SELECT` from one JSON (SQLite) or array (PostgreSQL) parameter and
  writes one chained audit event per member, as the commit does, in one transaction timed
  with its commit.
* training records: a CSV of 100,000 records (10 for each of the 10,000 imported members,
  hours and a category, no course) is previewed and committed the same way; the raw side
  inserts the same 100,000 records for the same members and one audit event each.

The API side goes first in each case (the raw side's audit events follow the chain the
server started). Each case runs --rounds times and the medians are compared; the API figure
is preview + commit (the upload itself included), the raw figure the one transaction.

Results: bench/results-imports.md (one section per database; a run of one database keeps the
other's section). Shared helpers come from lifecycle.py next to this file. Build first:
`cargo build --release -p credence-cli`; see bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import hashlib
import http.client
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lifecycle as lc  # noqa: E402  (same folder; its main() only runs as a script)
import undo  # noqa: E402  (its Sql helper: one parameter per set of rows)

BENCH_DIR = lc.BENCH_DIR
DEFAULT_OUT = BENCH_DIR / "results-imports.md"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
RATIO_TARGET = 3.0
CHAIN_LOCK = undo.CHAIN_LOCK
RAW_ACTOR = "bench:raw"


def log(msg: str) -> None:
    lc.log(msg)


# --------------------------------------------------------------------------- files


def xlsx(rows: list[list[str]]) -> bytes:
    """A minimal XLSX workbook (one sheet, inline strings), written with the standard
    library so the benchmark needs nothing beyond psycopg."""

    def col(i: int) -> str:
        s = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        return s

    out = io.StringIO()
    out.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    for r, cells in enumerate(rows, start=1):
        out.write(f'<row r="{r}">')
        for c, v in enumerate(cells):
            out.write(f'<c r="{col(c)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
        out.write("</row>")
    out.write("</sheetData></worksheet>")
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '</Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Members" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>'),
        "xl/worksheets/sheet1.xml": out.getvalue(),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return buf.getvalue()


def member_rows(prefix: str, n: int) -> list[tuple[str, str, str, str]]:
    """(first_name, last_name, email, employee_number), as the import stores them."""
    return [(f"First{i}", f"Last{prefix}{i:06d}", f"{prefix.lower()}{i:06d}@bench.example", f"{prefix}{i:06d}")
            for i in range(1, n + 1)]


def record_rows(numbers: list[str], per_member: int, start: dt.date) -> list[tuple[str, str, float, str]]:
    """(employee number, completed_on, hours, category)."""
    out = []
    for k in range(per_member):
        day = (start - dt.timedelta(days=k * 7)).isoformat()
        for n in numbers:
            out.append((n, day, 1.5, "CE"))
    return out


def multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "credence-bench-" + uuid.uuid4().hex
    body = io.BytesIO()
    for k, v in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
               'Content-Type: application/octet-stream\r\n\r\n'.encode())
    body.write(content)
    body.write(f"\r\n--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


# --------------------------------------------------------------------------- the run


class ImportRun(lc.Run):
    def __init__(self, args, db: str, workdir: Path, binary: Path):
        super().__init__(args, db, workdir, binary)
        self.env["CREDENCE_TODAY"] = self.today.isoformat()
        self.sql = undo.Sql(db)
        self.results.update({"cases": {}, "today": self.today.isoformat()})
        self.plus = "+" if db == "sqlite" else ""

    def upload(self, api: lc.Api, kind: str, file_name: str, content: bytes) -> dict:
        body, ctype = multipart({"kind": kind}, file_name, content)
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=3600)
        conn.request("POST", "/api/v1/imports", body=body,
                     headers={"Authorization": f"Bearer {api.token}", "Content-Type": ctype})
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        if resp.status != 201:
            raise RuntimeError(f"preview -> {resp.status}: {payload[:2000]!r}")
        return json.loads(payload)

    def api_import(self, api: lc.Api, kind: str, file_name: str, content: bytes, rows: int) -> dict:
        t = time.perf_counter()
        preview = self.upload(api, kind, file_name, content)
        t_preview = time.perf_counter() - t
        if preview["errors"]:
            raise RuntimeError(f"{kind} preview has errors: {preview['errors'][:5]}")
        if preview["created"] != rows:
            raise RuntimeError(f"{kind} preview creates {preview['created']}, expected {rows}")
        t = time.perf_counter()
        done = api.json("POST", f"/api/v1/imports/{preview['id']}/commit", {})
        t_commit = time.perf_counter() - t
        if done["status"] != "committed" or done["created"] != rows:
            raise RuntimeError(f"{kind} commit: {done}")
        return {"preview_s": t_preview, "commit_s": t_commit, "total_s": t_preview + t_commit}

    def raw_audit(self, subject_type: str, subject_ids: list[int], action: str, after: str | None,
                  now: dt.datetime) -> None:
        """One event per subject, chained as crates/store/src/ops/audit.rs does (see
        undo.py's raw_audit, of which this is the same with the action and subject as
        parameters)."""
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
                            "ORDER BY id DESC LIMIT 1", {"a": a})[0][0]
        at = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"
        fixed = f'"{at}",{json.dumps(RAW_ACTOR, ensure_ascii=False)},"{action}","{subject_type}",'
        tail = "null" if after is None else after
        rows = []
        for eid, sid in zip(ids, subject_ids):
            h = hashlib.sha256(f'{head}[{eid},{a},{fixed}{sid},null,{tail}]'.encode()).hexdigest()
            rows.append((eid, sid, head, h))
            head = h
        src, p = self.sql.rows("ev", [("id", "bigint"), ("subject_id", "bigint"), ("prev_hash", "text"),
                                      ("hash", "text")], rows)
        raw.execute(
            f"""INSERT INTO audit_events (id, agency_id, at, actor, action, subject_type, subject_id, before_json,
                    after_json, prev_hash, hash)
                SELECT v.id, :a, :at, :actor, :action, :subject_type, v.subject_id, NULL, :after, v.prev_hash, v.hash
                FROM {src}""",
            dict(p, a=a, at=now, actor=RAW_ACTOR, action=action, subject_type=subject_type, after=after))

    def raw_members(self, rows: list[tuple[str, str, str, str]]) -> float:
        raw, a = self.raw, self.agency_id
        data = [(f, l, e, n, f"{l}, {f}".lower()) for f, l, e, n in rows]
        t = time.perf_counter()
        now = dt.datetime.now(dt.timezone.utc)
        raw.begin()
        src, p = self.sql.rows("m", [("first_name", "text"), ("last_name", "text"), ("email", "text"),
                                     ("employee_number", "text"), ("sort_name", "text")], data)
        raw.execute(f"""INSERT INTO members (agency_id, first_name, last_name, email, employee_number, active,
                            sort_name, created_at, updated_at)
                        SELECT :a, v.first_name, v.last_name, v.email, v.employee_number, TRUE, v.sort_name, :now, :now
                        FROM {src}""", dict(p, a=a, now=now))
        src, p = self.sql.rows("n", [("employee_number", "text")], [(r[3],) for r in rows])
        ids = [r[0] for r in raw.fetchall(
            f"SELECT id FROM members WHERE agency_id = :a AND employee_number IN (SELECT v.employee_number FROM {src}) "
            "ORDER BY id", dict(p, a=a))]
        self.raw_audit("member", ids, "create", json.dumps({"import_id": "raw"}), now)
        raw.commit()
        return time.perf_counter() - t

    def raw_records(self, member_ids: dict[str, int], rows: list[tuple[str, str, float, str]]) -> float:
        raw, a = self.raw, self.agency_id
        data = [(member_ids[n], d, h, c) for n, d, h, c in rows]
        t = time.perf_counter()
        now = dt.datetime.now(dt.timezone.utc)
        raw.begin()
        src, p = self.sql.rows("r", [("member_id", "bigint"), ("completed_on", "date"), ("hours", "double precision"),
                                     ("category", "text")], data)
        if self.db == "postgres":
            inserted = raw.fetchall(
                f"""INSERT INTO training_records (agency_id, member_id, completed_on, hours, category, source,
                        created_by, created_at)
                    SELECT :a, v.member_id, v.completed_on, v.hours, v.category, 'import', :actor, :now FROM {src}
                    RETURNING id""", dict(p, a=a, actor=RAW_ACTOR, now=now))
            ids = sorted(r[0] for r in inserted)
        else:
            before = raw.fetchall("SELECT COALESCE(MAX(id), 0) FROM training_records")[0][0]
            raw.execute(
                f"""INSERT INTO training_records (agency_id, member_id, completed_on, hours, category, source,
                        created_by, created_at)
                    SELECT :a, v.member_id, v.completed_on, v.hours, v.category, 'import', :actor, :now FROM {src}""",
                dict(p, a=a, actor=RAW_ACTOR, now=now))
            ids = list(range(before + 1, before + len(data) + 1))
        self.raw_audit("training_record", ids, "create", None, now)
        raw.commit()
        return time.perf_counter() - t

    def member_ids(self, prefix: str) -> dict[str, int]:
        return {n: i for i, n in self.raw.fetchall(
            "SELECT id, employee_number FROM members WHERE agency_id = :a AND employee_number LIKE :p",
            {"a": self.agency_id, "p": f"{prefix}%"})}

    def count(self, table: str) -> int:
        return self.raw.fetchall(f"SELECT COUNT(*) FROM {table} WHERE agency_id = :a", {"a": self.agency_id})[0][0]

    def run(self) -> dict:
        args = self.args
        self.fresh_database()
        try:
            out, _ = self.cli("agency", "create", "--name", "Bench", "--slug", "bench")
            log(f"agency created: {out}")
            self.step_token()
            raw = self.open_raw()
            self.agency_id = raw.fetchall("SELECT id FROM agencies WHERE slug = 'bench'")[0][0]
            api = self.start_server()
            members_api, members_raw, records_api, records_raw = [], [], [], []
            try:
                for rnd in range(args.rounds):
                    lc.phase(f"{self.db}: members round {rnd + 1}")
                    api_rows = member_rows(f"A{rnd}X", args.members)
                    raw_rows = member_rows(f"R{rnd}X", args.members)
                    book = xlsx([["first_name", "last_name", "email", "employee_number"]] + [list(r) for r in api_rows])
                    log(f"members round {rnd + 1}: XLSX of {args.members} rows, {len(book) / 1e6:.2f} MB")
                    before = self.count("members")
                    r = self.api_import(api, "members", "members.xlsx", book, args.members)
                    if self.count("members") != before + args.members:
                        raise RuntimeError("the members import did not create every member")
                    members_api.append(r)
                    members_raw.append(self.raw_members(raw_rows))
                    log(f"  API preview {r['preview_s']:.2f} s + commit {r['commit_s']:.2f} s; raw {members_raw[-1]:.2f} s")

                    lc.phase(f"{self.db}: training records round {rnd + 1}")
                    numbers = [r[3] for r in api_rows]
                    per = max(1, args.records // len(numbers))
                    recs = record_rows(numbers, per, self.today)
                    csv = "member,completed_on,hours,category\n" + "".join(f"{n},{d},{h},{c}\n" for n, d, h, c in recs)
                    log(f"training records round {rnd + 1}: CSV of {len(recs)} rows, {len(csv) / 1e6:.2f} MB")
                    before = self.count("training_records")
                    r = self.api_import(api, "training_records", "records.csv", csv.encode(), len(recs))
                    if self.count("training_records") != before + len(recs):
                        raise RuntimeError("the training records import did not create every record")
                    records_api.append(r)
                    ids = self.member_ids(f"A{rnd}X")
                    records_raw.append(self.raw_records(ids, recs))
                    log(f"  API preview {r['preview_s']:.2f} s + commit {r['commit_s']:.2f} s; raw {records_raw[-1]:.2f} s")
            finally:
                api.close()
                self.stop_server()
            for name, a, r, n in (("members (XLSX)", members_api, members_raw, args.members),
                                  ("training records (CSV)", records_api, records_raw,
                                   max(1, args.records // args.members) * args.members)):
                self.results["cases"][name] = {
                    "rows": n,
                    "preview_s": statistics.median(x["preview_s"] for x in a),
                    "commit_s": statistics.median(x["commit_s"] for x in a),
                    "api_s": statistics.median(x["total_s"] for x in a),
                    "raw_s": statistics.median(r),
                    "rounds": len(a),
                }
        finally:
            self.stop_server()
            if self.raw:
                self.raw.close()
                self.raw = None
        return self.results


def render(r: dict, vers: dict, started: str, interference: dict) -> str:
    lines = [f"## {r['db']}", "",
             f"- run: {started}; today {r['today']}; binary: {vers.get('binary')}; commit {vers.get('commit')}",
             f"- machine: {vers.get('machine')}", ""]
    lines.append("| case | rows | API preview | API commit | API total | raw SQL | API/raw | target ≤ 3× |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, c in r["cases"].items():
        ratio = c["api_s"] / c["raw_s"] if c["raw_s"] else float("inf")
        lines.append(f"| {name} | {c['rows']:,} | {c['preview_s']:.2f} s | {c['commit_s']:.2f} s | {c['api_s']:.2f} s "
                     f"| {c['raw_s']:.2f} s | {ratio:.2f}× | {'met' if ratio <= RATIO_TARGET else 'NOT met'} |")
    lines.append("")
    lines.append(f"Medians of {next(iter(r['cases'].values()))['rounds']} round(s). The API figure includes the "
                 "upload, parsing, every check against the agency and storing the preview (preview), then "
                 "re-checking and writing in one transaction (commit); raw SQL is one transaction of the same "
                 "inserts and their chained audit events.")
    busy = {k: v for k, v in interference.items() if r["db"] in k}
    if busy:
        lines.append("")
        lines.append("Other work on the machine during the run (share of 2-second samples with a compiler or "
                     "test runner running): " + ", ".join(f"{k} {v:.0f}%" for k, v in busy.items()) + ".")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--binary", type=Path, default=lc.DEFAULT_BINARY)
    ap.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    ap.add_argument("--pg-url", default=f"postgres://postgres@127.0.0.1:5432/{lc.PG_BENCH_DB}")
    ap.add_argument("--daily-jobs-timeout", type=float, default=300.0)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--lock-file", default=os.path.join(tempfile.gettempdir(), "credence-bench.lock"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not args.binary.exists():
        print(f"{args.binary} not found: run `cargo build --release -p credence-cli` first", file=sys.stderr)
        return 2
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    lock = open(args.lock_file, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another benchmark holds {args.lock_file}; waiting for it to finish")
        fcntl.flock(lock, fcntl.LOCK_EX)
    lc.INTERFERENCE = lc.Interference()
    workdir = Path(tempfile.mkdtemp(prefix="credence-bench-imports-"))
    binary = workdir / "credence"
    shutil.copy2(args.binary, binary)
    vers = lc.versions(binary, args.binary)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sections: dict[str, str] = {}
    if args.out.exists():
        text = args.out.read_text()
        for db in ("sqlite", "postgres"):
            marker = f"## {db}\n"
            if marker in text:
                part = text.split(marker, 1)[1]
                sections[db] = marker + part.split("\n## ", 1)[0].rstrip() + "\n"
    failed = False
    try:
        for db in dbs:
            log(f"=== {db} ===")
            try:
                results = ImportRun(args, db, workdir / db, binary).run()
            except Exception as e:  # noqa: BLE001 - report and go on to the next database
                failed = True
                log(f"{db} run FAILED: {e}")
                continue
            sections[db] = render(results, vers, started, lc.INTERFERENCE.summary())
            print(sections[db])
    finally:
        lc.INTERFERENCE.stop()
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    head = ("# Credence imports benchmark\n\n"
            "`bench/imports.py`: 10,000 members from XLSX and 100,000 training records from CSV, preview + "
            "commit through the API, against raw set-based SQL doing the same inserts (target: within 3×).\n\n")
    args.out.write_text(head + "\n".join(sections[d] for d in ("sqlite", "postgres") if d in sections))
    log(f"written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
