#!/usr/bin/env python3
"""Credence certificate benchmark: Typst render workers and the certificate API, against
WeasyPrint rendering an equivalent HTML certificate.

One run measures

* Typst raw: `credence render-worker` run directly with the default landscape template
  and --count (1,000) certificates of varied data, (a) one worker process writing that
  many separate PDFs, (b) the same documents merged into one PDF (`merge: true`);
* the service over HTTP on SQLite: --count members with an issued credential each, then
  one timed `POST /api/v1/certificates` for all of them (render in workers across the
  cores, store the files, write the rows) and one timed `POST /api/v1/certificates/merge`;
* WeasyPrint in this process: --weasy-count separate PDFs of an HTML certificate with the
  same layout (landscape US Letter, double border, agency, "Certificate", holder,
  credential, four fields, QR code as inline SVG), same fonts (Libertinus Serif, taken
  from the typst-assets crate in the cargo registry when it is there),

prints a table and writes it to bench/results-certificates.md.

Run `cargo build --release -p credence` and `python3 -m pip install -r bench/requirements.txt`
first; see bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import glob
import html
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

# Shared with the lifecycle benchmark: the keep-alive API client, the port picker, the log
# line format, the sampler of other people's compilers, and the version header.
from lifecycle import Api, Interference, free_port, log, versions  # noqa: E402

DEFAULT_BINARY = REPO / "target" / "release" / "credence"
TEMPLATE = REPO / "crates" / "documents" / "src" / "templates" / "certificate.typ"
DEFAULT_OUT = BENCH_DIR / "results-certificates.md"

# Goals (from the brief).
RATIO_GOAL = 50.0
MERGED_MB_GOAL = 5.0

# The worker's limits in the service (crates/documents/src/worker.rs, `Limits::default`):
# the raw runs get the same address-space cap, so they fail where the service would.
WORKER_MEMORY = 2 << 30
WORKER_BASE_S = 10.0
WORKER_PER_DOC_S = 0.2

ACCENT = "#7f1d1d"
INK = "#1f2937"

FIRST = ["Jordan", "Ava", "Liam", "Noah", "Emma", "Olivia", "Mateo", "Sofia", "Ethan", "Mia",
         "Lucas", "Amelia", "Mason", "Harper", "Elijah", "Evelyn", "Logan", "Abigail", "James",
         "Charlotte", "Benjamin", "Isabella", "Henry", "Scarlett", "Sebastian", "Aaliyah",
         "Jackson", "Chloé", "Aiden", "Zoë", "Siobhan", "Bartholomew", "Xiomara", "Kai"]
LAST = ["Alvarez", "Smith", "Brown", "Lee", "Garcia", "Johnson", "Williams", "Martinez",
        "Nguyen", "O'Connor", "Kowalski", "Okafor", "Schmidt", "Rossi", "Dubois", "Tanaka",
        "Patel", "Haddad", "Andersson", "Fitzgerald-Whitmore", "Ramírez", "Novak", "Chen",
        "Walker", "Young", "Hernández", "Müller", "Kim", "Ibrahim", "MacDonald"]
TYPES = [("EMT-B", "Emergency Medical Technician – Basic", "State EMT-B certification"),
         ("HAZ", "Hazmat Operations", "NFPA 470 operations level"),
         ("FF1", "Firefighter I", "Structural firefighting, level one"),
         ("CPR", "CPR / AED for Healthcare Providers", "Basic life support"),
         ("DO", "Driver Operator – Pumper", "Apparatus driver and pump operator"),
         ("TR", "Technical Rescue Technician", "Rope, confined space and trench rescue")]
OFFICERS = ["Capt. Dana Whitfield", "Lt. Marcus Oyelaran", "Chief R. Delgado",
            "Training Officer Priya Raman", "Batt. Chief Ellen Sørensen"]
AGENCY = "Riverside Fire & EMS"
PUBLIC_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def long_date(d: dt.date) -> str:
    return f"{d.strftime('%B')} {d.day}, {d.year}"


def cert_data(i: int, rng: random.Random) -> dict:
    """Certificate data as the service builds it (`certificate_data` in
    crates/app/src/certificates.rs; fields as in `sample_data()`), varied per certificate."""
    first = FIRST[i % len(FIRST)]
    last = LAST[(i * 7 + i // len(FIRST)) % len(LAST)]
    code, name, description = TYPES[i % len(TYPES)]
    issued = dt.date(2026, 1, 1) + dt.timedelta(days=i % 365)
    expires = issued.replace(year=issued.year + 2) if not (issued.month == 2 and issued.day == 29) \
        else dt.date(issued.year + 2, 3, 1)
    public_id = "".join(rng.choice(PUBLIC_ID_ALPHABET) for _ in range(20))
    return {
        "member": {
            "name": f"{first} {last}",
            "first_name": first,
            "last_name": last,
            "employee_number": f"E-{1000 + i}",
            "email": f"{first.lower()}.{i}@example.org",
        },
        "credential_type": {"name": name, "code": code, "description": description},
        "issuance": {
            "number": f"{code}-{issued.year}-{i:05d}",
            "issue_date": issued.isoformat(),
            "expiration_date": expires.isoformat(),
            "issue_date_text": long_date(issued),
            "expiration_date_text": long_date(expires),
            "officer": OFFICERS[i % len(OFFICERS)],
            "status_reason": "Reinstated after the annual records audit" if i % 100 == 99 else None,
        },
        "agency": {"name": AGENCY},
        "certificate": {"public_id": public_id, "verify_url": f"https://credence.example/verify/{public_id}"},
    }


def pdf_pages(pdf: bytes) -> int | None:
    """The page count of the root page tree, as Typst writes it (as the API tests read it)."""
    m = re.search(rb"/Type\s*/Pages\s*/Count\s+(\d+)", pdf)
    return int(m.group(1)) if m else None


def median_round(rounds: int, fn):
    """Runs `fn` (returning (wall seconds, anything)) `rounds` times; returns the median
    round's value and every round's wall time."""
    done = [fn() for _ in range(max(1, rounds))]
    walls = [w for w, _ in done]
    done.sort(key=lambda x: x[0])
    return done[len(done) // 2][1], walls


def pdf_breakdown(pdf: bytes) -> dict:
    """Where a PDF's bytes go: stream data (page content, fonts) against everything outside
    streams (page and structure-tree objects), and how many tagged-PDF structure elements."""
    in_streams = 0
    for m in re.finditer(rb"/Length (\d+)[^\n]*>>\s*stream\r?\n", pdf):
        in_streams += int(m.group(1))
    return {
        "streams_mb": in_streams / 1e6,
        "outside_mb": (len(pdf) - in_streams) / 1e6,
        "struct_elems": len(re.findall(rb"/Type\s*/StructElem", pdf)),
    }


def qr_runs_svg(url: str) -> str:
    """The QR code of `url` (error correction M, like the worker's) as one SVG path with each
    row's adjacent dark modules merged into one rectangle, instead of one square each."""
    import qrcode

    q = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    q.add_data(url)
    q.make(fit=True)
    matrix = q.get_matrix()
    size = len(matrix)
    path = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                path.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="{size * 4}" '
            f'height="{size * 4}"><path d="{"".join(path)}"/></svg>')


class Quiet:
    """Interference sampling per phase, plus waiting for a quiet machine within one budget
    for the whole run, so a machine that never gets quiet still gets a (flagged) result."""

    def __init__(self, budget_s: float):
        self.sampler = Interference()
        self.budget_s = budget_s
        self.waited: dict[str, float] = {}
        self.repeated: dict[str, int] = {}

    def phase(self, name: str) -> None:
        if self.budget_s > 0 and self.sampler._busy():
            log(f"compilers or test runners are busy; waiting (up to {self.budget_s:.0f} s of the run's "
                f"budget left) before '{name}'")
            t = time.time()
            while time.time() - t < self.budget_s and self.sampler._busy():
                time.sleep(5)
            spent = time.time() - t
            self.budget_s = max(0.0, self.budget_s - spent)
            self.waited[name] = self.waited.get(name, 0.0) + spent
            if self.budget_s == 0:
                log("the wait budget is spent: measuring from now on whatever runs beside")
        self.sampler.phase = name

    def timed(self, name: str, fn, retries: int):
        """Runs a repeatable measurement; while someone else's compiler or test runner was
        seen during it, waits for a quiet machine and measures again, at most `retries` times.
        Only the last attempt's samples stay in the interference summary."""
        for attempt in range(retries + 1):
            self.phase(name)
            self.sampler.samples[name] = []
            result = fn()
            disturbed = any(self.sampler.samples.get(name, [])) or self.sampler._busy()
            if not disturbed or attempt == retries or self.budget_s <= 0:
                if attempt:
                    self.repeated[name] = attempt
                return result
            log(f"'{name}' was disturbed by other processes; measuring it again")
        return None

    def stop(self) -> None:
        self.sampler.phase = "done"
        self.sampler.stop()


# --------------------------------------------------------------------------- Typst raw


def run_worker(binary: Path, job: dict, memory_limit: bool) -> dict:
    """Runs one `credence render-worker` on a job; returns its outputs and what it cost."""
    payload = json.dumps(job).encode()
    limit = WORKER_MEMORY

    def pre():
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    deadline = WORKER_BASE_S + WORKER_PER_DOC_S * len(job["documents"])
    started = time.perf_counter()
    proc = subprocess.Popen([str(binary), "render-worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=pre)
    err_chunks: list[bytes] = []

    def feed():
        try:
            proc.stdin.write(payload)
        except BrokenPipeError:
            pass
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass

    def drain_err():
        err_chunks.append(proc.stderr.read())

    threads = [threading.Thread(target=feed, daemon=True), threading.Thread(target=drain_err, daemon=True)]
    for t in threads:
        t.start()
    out = proc.stdout.read()
    for t in threads:
        t.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    outputs: list[tuple[str, bytes]] = []
    rest = memoryview(out)
    while len(rest):
        if len(rest) < 9:
            raise RuntimeError("the worker's answer is cut short")
        tag = chr(rest[0])
        (n,) = struct.unpack("<Q", rest[1:9])
        outputs.append((tag, bytes(rest[9:9 + n])))
        rest = rest[9 + n:]
    return {
        "returncode": proc.returncode,
        "stderr": b"".join(err_chunks).decode(errors="replace").strip(),
        "outputs": outputs,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_mb": usage.ru_maxrss / 1024.0,
        "deadline_s": deadline,
    }


def check_outputs(res: dict, expected: int, what: str) -> list[bytes]:
    if res["returncode"] != 0:
        raise RuntimeError(f"{what}: render-worker exited {res['returncode']}: {res['stderr'][:2000]}")
    outs = res["outputs"]
    errors = [p.decode(errors="replace") for t, p in outs if t != "P"]
    if errors:
        raise RuntimeError(f"{what}: {len(errors)} template errors, first: {errors[0][:500]}")
    if len(outs) != expected:
        raise RuntimeError(f"{what}: {len(outs)} outputs for {expected} expected")
    pdfs = [p for _, p in outs]
    bad = [i for i, p in enumerate(pdfs) if not p.startswith(b"%PDF-")]
    if bad:
        raise RuntimeError(f"{what}: output {bad[0]} is not a PDF")
    return pdfs


def step_typst(args, binary: Path, template: str, docs: list[dict], workdir: Path, quiet: Quiet, r: dict):
    templates = [{"source": template}]
    documents = [{"template": 0, "data": d} for d in docs]
    n = len(documents)
    limit = not args.no_memory_limit

    def single():
        lat = []
        for k in range(5):
            res = run_worker(binary, {"templates": templates, "documents": documents[k:k + 1], "merge": False}, limit)
            check_outputs(res, 1, "single certificate")
            lat.append(res["wall_s"])
        r["typst_single_ms"] = statistics.median(lat) * 1000
        log(f"typst: one certificate in a fresh worker: median {r['typst_single_ms']:.0f} ms of 5")

    def separate_round():
        res = run_worker(binary, {"templates": templates, "documents": documents, "merge": False}, limit)
        return res["wall_s"], (res, check_outputs(res, n, "separate PDFs"))

    def separate():
        log(f"typst: {n} separate PDFs in one worker, {args.rounds} rounds ...")
        (res, pdfs), walls = median_round(args.rounds, separate_round)
        r["typst_cps_range"] = (n / max(walls), n / min(walls))
        total = sum(len(p) for p in pdfs)
        r.update(
            typst_n=n,
            typst_s=res["wall_s"],
            typst_cps=n / res["wall_s"],
            typst_cpu_s=res["cpu_s"],
            typst_rss_mb=res["maxrss_mb"],
            typst_avg_kb=total / n / 1024,
            typst_min_kb=min(len(p) for p in pdfs) / 1024,
            typst_max_kb=max(len(p) for p in pdfs) / 1024,
            typst_total_mb=total / 1e6,
            typst_not_one_page=sum(1 for p in pdfs if pdf_pages(p) != 1),
        )
        (workdir / "typst-first.pdf").write_bytes(pdfs[0])
        log(f"typst: {n} PDFs in {res['wall_s']:.2f} s = {r['typst_cps']:.1f} certs/s "
            f"(cpu {res['cpu_s']:.1f} s, peak RSS {res['maxrss_mb']:.0f} MB), avg {r['typst_avg_kb']:.1f} KB")

    def merged_round():
        res = run_worker(binary, {"templates": templates, "documents": documents, "merge": True}, limit)
        return res["wall_s"], (res, check_outputs(res, 1, "merged PDF")[0])

    def merged():
        log(f"typst: {n} merged into one PDF, {args.rounds} rounds ...")
        (res, pdf), walls = median_round(args.rounds, merged_round)
        r["merged_s_range"] = (min(walls), max(walls))
        r.update(
            merged_s=res["wall_s"],
            merged_mb=len(pdf) / 1e6,
            merged_pages=pdf_pages(pdf),
            merged_cpu_s=res["cpu_s"],
            merged_rss_mb=res["maxrss_mb"],
            merged_deadline_s=res["deadline_s"],
            merged_breakdown=pdf_breakdown(pdf),
        )
        (workdir / "typst-merged.pdf").write_bytes(pdf)
        log(f"typst: merged {n} in {res['wall_s']:.2f} s, {r['merged_mb']:.2f} MB, {r['merged_pages']} pages "
            f"(cpu {res['cpu_s']:.1f} s, peak RSS {res['maxrss_mb']:.0f} MB)")

    # Diagnostic, not a Credence figure: the same template and data, but the QR code handed in
    # as an SVG whose modules are merged into runs (the worker only adds its own QR code when
    # `certificate.verify_url` is set, so the URL moves to another key and the template's one
    # mention of it follows). Shows what the worker's per-module QR paths cost.
    needle = "text(size: 7pt, data.certificate.verify_url)"
    variant = template.replace(needle, "text(size: 7pt, data.certificate.url)")
    docs_runs = []
    for d in documents:
        data = json.loads(json.dumps(d["data"]))
        cert = data["certificate"]
        cert["url"] = cert.pop("verify_url")
        cert["qr"] = qr_runs_svg(cert["url"])
        docs_runs.append({"template": 0, "data": data})

    def diagnostic():
        res = run_worker(binary, {"templates": [{"source": variant}], "documents": docs_runs, "merge": True}, limit)
        (pdf,) = check_outputs(res, 1, "merged PDF, QR diagnostic")
        r["merged_runs_mb"] = len(pdf) / 1e6
        r["merged_runs_breakdown"] = pdf_breakdown(pdf)
        res = run_worker(binary, {"templates": [{"source": variant}], "documents": docs_runs, "merge": False}, limit)
        pdfs = check_outputs(res, n, "separate PDFs, QR diagnostic")
        r["runs_cps"] = n / res["wall_s"]
        r["runs_avg_kb"] = sum(len(p) for p in pdfs) / n / 1024
        log(f"typst (diagnostic): with run-merged QR paths made beforehand: merged {n} {r['merged_runs_mb']:.2f} MB; "
            f"separate {r['runs_cps']:.1f} certs/s, avg {r['runs_avg_kb']:.1f} KB")

    quiet.timed("typst: one certificate, fresh worker", single, args.retries)
    quiet.timed("typst: separate PDFs", separate, args.retries)
    quiet.timed("typst: merged", merged, args.retries)
    if r.get("typst_not_one_page"):
        r["notes"].append(f"Typst: {r['typst_not_one_page']} of {n} separate PDFs are not one page")
    if r.get("merged_pages") != n:
        r["notes"].append(f"Typst merged PDF has {r.get('merged_pages')} pages for {n} certificates")
    if variant != template:
        quiet.timed("typst: QR diagnostic", diagnostic, args.retries)
    else:
        log("typst: the template no longer shows verify_url as expected; QR diagnostic skipped")


# --------------------------------------------------------------------------- WeasyPrint


def libertinus_dir() -> Path | None:
    """Libertinus Serif as Typst bundles it (typst-assets in the cargo registry), if present."""
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = sorted(glob.glob(str(home / "registry" / "src" / "*" / "typst-assets-*" / "files" / "fonts")))
    for d in reversed(found):
        if (Path(d) / "LibertinusSerif-Regular.otf").exists():
            return Path(d)
    return None


def weasy_css() -> tuple[str, str]:
    """The stylesheet of the HTML certificate, and which font it uses."""
    fonts = libertinus_dir()
    faces = ""
    family = "'Liberation Serif', 'DejaVu Serif', serif"
    font_note = "Liberation Serif (system; Libertinus from typst-assets not found)"
    if fonts:
        for file, weight, style in [("Regular", 400, "normal"), ("Italic", 400, "italic"),
                                    ("Semibold", 600, "normal"), ("Bold", 700, "normal")]:
            faces += (f"@font-face {{ font-family: 'Libertinus Serif'; font-weight: {weight}; font-style: {style};"
                      f" src: url('{(fonts / f'LibertinusSerif-{file}.otf').as_uri()}'); }}\n")
        family = "'Libertinus Serif', serif"
        font_note = f"Libertinus Serif, the same font files Typst bundles ({fonts})"
    # US Letter landscape, 0.45in margins: the page box is 10.1in x 7.6in. The fields take 74%
    # of the inner rectangle's content width (10.1in - 2 x (2.5pt + 5pt + 0.6pt) - 2 x 0.55in), as
    # `box(width: 74%)` does in the template; a CSS percentage would count the padding too.
    css = faces + f"""
@page {{ size: letter landscape; margin: 0.45in; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: {family}; font-size: 12pt; color: {INK}; }}
.outer {{ box-sizing: border-box; height: 7.6in; border: 2.5pt solid {ACCENT}; padding: 5pt; }}
.inner {{ box-sizing: border-box; height: 100%; border: 0.6pt solid {ACCENT}; padding: 0.4in 0.55in;
          position: relative; text-align: center; }}
.agency {{ font-size: 13pt; letter-spacing: 3pt; text-transform: uppercase; margin: -4pt 0 52pt; }}
.title {{ font-size: 44pt; font-weight: 700; color: {ACCENT}; margin: 0; line-height: 1; }}
.sub {{ font-size: 15pt; font-style: italic; margin: 20pt 0 34pt; }}
.lead {{ font-size: 13pt; margin: 0 0 26pt; }}
.holder {{ font-size: 32pt; margin: 0 0 14pt; line-height: 1.2; }}
.rule {{ width: 60%; margin: 0 auto 14pt; border-top: 0.5pt solid {INK}; }}
.credential {{ font-size: 22pt; font-weight: 600; margin: 20pt 0 0; }}
.reason {{ font-size: 11pt; font-style: italic; margin: 2pt 0 0; }}
.fields {{ position: absolute; left: 0.55in; bottom: 0.4in; width: 6.49in; display: grid;
           grid-template-columns: 1fr 1fr 1fr 1.2fr; column-gap: 18pt; text-align: left; align-items: end; }}
.value {{ font-size: 13pt; padding-bottom: 3pt; border-bottom: 0.5pt solid {INK}; }}
.label {{ font-size: 9pt; letter-spacing: 1pt; color: {ACCENT}; text-transform: uppercase; padding-top: 3pt; }}
.qr {{ position: absolute; right: 0.55in; bottom: 0.4in; text-align: center; }}
.qr svg {{ display: block; margin: 0 auto 4pt; }}
.url {{ font-size: 7pt; }}
"""
    return css, font_note


def qr_svg(url: str) -> str:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=0)
    svg = img.to_string(encoding="unicode")
    # WeasyPrint sizes inline SVG by its own width/height attributes (33mm here), not by CSS.
    return re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg width="0.95in" height="0.95in"', svg, count=1)


def weasy_html(d: dict) -> str:
    e = html.escape

    def field(label, value):
        return (f'<div><div class="value">{e(value) if value else "—"}</div>'
                f'<div class="label">{e(label)}</div></div>')

    iss = d["issuance"]
    reason = f'<p class="reason">{e(iss["status_reason"])}</p>' if iss["status_reason"] else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Certificate</title></head><body>
<div class="outer"><div class="inner">
<p class="agency">{e(d["agency"]["name"])}</p>
<p class="title">Certificate</p>
<p class="sub">of qualification</p>
<p class="lead">This certifies that</p>
<p class="holder">{e(d["member"]["name"])}</p>
<div class="rule"></div>
<p class="lead" style="margin-bottom: 0">has met every requirement of</p>
<p class="credential">{e(d["credential_type"]["name"])}</p>
{reason}
<div class="fields">{field("Number", iss["number"])}{field("Issued", iss["issue_date_text"])}{field("Expires", iss["expiration_date_text"])}{field("Issuing officer", iss["officer"])}</div>
<div class="qr">{qr_svg(d["certificate"]["verify_url"])}<div class="url">{e(d["certificate"]["verify_url"])}</div></div>
</div></div>
</body></html>"""


def step_weasy(args, docs: list[dict], workdir: Path, quiet: Quiet, r: dict):
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    css_text, font_note = weasy_css()
    font_config = FontConfiguration()
    css = weasyprint.CSS(string=css_text, font_config=font_config)
    r["weasy_font"] = font_note
    r["weasy_version"] = weasyprint.__version__
    try:
        import importlib.metadata as md

        r["qrcode_version"] = md.version("qrcode")
        r["pydyf_version"] = md.version("pydyf")
        from weasyprint.text.ffi import pango

        v = pango.pango_version()
        r["pango_version"] = f"{v // 10000}.{v // 100 % 100}.{v % 100}"
    except Exception:  # noqa: BLE001 - informational only
        pass

    def one(d: dict) -> tuple[bytes, int]:
        # QR generation is inside the timing, as the Typst worker makes its QR code itself.
        doc = weasyprint.HTML(string=weasy_html(d)).render(stylesheets=[css], font_config=font_config)
        return doc.write_pdf(), len(doc.pages)

    n = args.weasy_count
    warm, _ = one(docs[-1])  # untimed warm-up: font loading, first-use caches
    (workdir / "weasyprint-warmup.pdf").write_bytes(warm)

    def weasy_round():
        sizes, pages, times = [], [], []
        cpu0 = time.process_time()
        started = time.perf_counter()
        for i in range(n):
            t = time.perf_counter()
            pdf, p = one(docs[i])
            times.append(time.perf_counter() - t)
            sizes.append(len(pdf))
            pages.append(p)
            if i == 0:
                (workdir / "weasyprint-first.pdf").write_bytes(pdf)
        wall = time.perf_counter() - started
        return wall, (wall, time.process_time() - cpu0, sizes, pages, times)

    def timed():
        log(f"weasyprint {r['weasy_version']}: {n} separate PDFs in this process, {args.rounds} rounds ...")
        (wall, cpu, sizes, pages, times), walls = median_round(args.rounds, weasy_round)
        r["weasy_cps_range"] = (n / max(walls), n / min(walls))
        r.update(
            weasy_n=n,
            weasy_s=wall,
            weasy_cps=n / wall,
            weasy_median_ms=statistics.median(times) * 1000,
            weasy_avg_kb=sum(sizes) / n / 1024,
            weasy_cpu_s=cpu,
            weasy_not_one_page=sum(1 for p in pages if p != 1),
        )
        log(f"weasyprint: {n} PDFs in {wall:.2f} s = {r['weasy_cps']:.2f} certs/s "
            f"(median {r['weasy_median_ms']:.0f} ms each, cpu {cpu:.2f} s), avg {r['weasy_avg_kb']:.1f} KB")

    # Context only, not in the ratios: the one-liner most code uses, which builds the
    # stylesheet and font configuration anew for every document.
    k = args.weasy_naive_count
    inline = f"<style>{css_text}</style>"

    def naive():
        started = time.perf_counter()
        for i in range(k):
            d = docs[n + i] if n + i < len(docs) else docs[i]
            weasyprint.HTML(string=weasy_html(d).replace("</head>", inline + "</head>", 1)).write_pdf()
        r["weasy_naive_n"] = k
        r["weasy_naive_cps"] = k / (time.perf_counter() - started)
        log(f"weasyprint, stylesheet and fonts anew each time: {r['weasy_naive_cps']:.2f} certs/s over {k}")

    # Context only: the font matters to WeasyPrint (subsetting CFF/OpenType costs more than
    # TrueType), so the same page with the system's Liberation Serif, when the main run used
    # Libertinus.
    def system_font():
        css2_text = css_text.replace("font-family: 'Libertinus Serif', serif",
                                     "font-family: 'Liberation Serif', 'DejaVu Serif', serif")
        fc2 = FontConfiguration()
        css2 = weasyprint.CSS(string=css2_text, font_config=fc2)

        def render_one(d):
            return weasyprint.HTML(string=weasy_html(d)).render(stylesheets=[css2], font_config=fc2).write_pdf()

        render_one(docs[-1])
        started = time.perf_counter()
        sizes = [len(render_one(docs[i])) for i in range(n)]
        r["weasy_sys_cps"] = n / (time.perf_counter() - started)
        r["weasy_sys_avg_kb"] = sum(sizes) / n / 1024
        log(f"weasyprint with Liberation Serif: {r['weasy_sys_cps']:.2f} certs/s, avg {r['weasy_sys_avg_kb']:.1f} KB")

    # The print file: the same certificates as one HTML document of --weasy-count pages
    # (each certificate's page box ends with a page break), as Typst's `merge: true`.
    merged_css = weasyprint.CSS(string=css_text + "\n.outer { break-after: page; }\n.outer:last-child { break-after: auto; }",
                                font_config=font_config)

    def merged_html(ds: list[dict]) -> str:
        bodies = [weasy_html(d).split("<body>", 1)[1].rsplit("</body>", 1)[0] for d in ds]
        return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Certificates</title></head><body>"
                + "".join(bodies) + "</body></html>")

    def merged_round():
        cpu0 = time.process_time()
        started = time.perf_counter()
        doc = weasyprint.HTML(string=merged_html(docs[:n])).render(stylesheets=[merged_css], font_config=font_config)
        pdf = doc.write_pdf()
        wall = time.perf_counter() - started
        return wall, (wall, time.process_time() - cpu0, len(pdf), len(doc.pages))

    def merged():
        log(f"weasyprint: {n} certificates merged into one PDF, {args.rounds} rounds ...")
        (wall, cpu, size, pages), walls = median_round(args.rounds, merged_round)
        r.update(weasy_merged_s=wall, weasy_merged_cps=n / wall, weasy_merged_cpu_s=cpu,
                 weasy_merged_kb_per_cert=size / n / 1024, weasy_merged_pages=pages)
        log(f"weasyprint merged: {n} certificates in {wall:.2f} s = {n / wall:.2f} certs/s, {pages} pages, "
            f"{size / 1e6:.2f} MB")

    quiet.timed("weasyprint", timed, args.retries)
    quiet.timed("weasyprint: merged", merged, args.retries)
    if "'Libertinus Serif', serif" in css_text:
        quiet.timed("weasyprint: system font", system_font, args.retries)
    if r.get("weasy_not_one_page"):
        r["notes"].append(f"WeasyPrint: {r['weasy_not_one_page']} of {n} PDFs are not one page")
    if k > 0:
        quiet.timed("weasyprint: naive", naive, args.retries)


# --------------------------------------------------------------------------- service


class Service:
    def __init__(self, binary: Path, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CREDENCE_")}
        if os.environ.get("CREDENCE_TODAY"):
            env["CREDENCE_TODAY"] = os.environ["CREDENCE_TODAY"]
        env["CREDENCE_LOG"] = "warn"
        env["CREDENCE_DATA_DIR"] = str(self.data_dir)
        self.env = env
        self.server: subprocess.Popen | None = None
        self.log_path = workdir / "serve.log"

    def cli(self, *argv: str) -> str:
        proc = subprocess.run([str(self.binary), *argv], env=self.env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"credence {' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc.stdout.strip()

    def start(self, token: str) -> Api:
        import http.client

        port = free_port()
        env = dict(self.env)
        # The "daily jobs" line tells when the start-up catch-up is over.
        env["CREDENCE_LOG"] = "warn,credence_app::credentials::sweep=info"
        logf = open(self.log_path, "w")
        self.server = subprocess.Popen([str(self.binary), "serve", "--bind", f"127.0.0.1:{port}"],
                                       env=env, stdout=logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while True:
            if self.server.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/readyz")
                resp = c.getresponse()
                resp.read()
                c.close()
                if resp.status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server not ready after 120 s")
            time.sleep(0.1)
        deadline = time.time() + 120
        while time.time() < deadline and "daily jobs" not in self.log_path.read_text(errors="replace"):
            time.sleep(0.2)
        log(f"server ready on 127.0.0.1:{port}")
        return Api(port, token)

    def stop(self) -> None:
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server = None

    def log_problems(self) -> list[str]:
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.log_path.read_text(errors="replace"))
        return [l for l in text.splitlines() if " WARN " in l or " ERROR " in l or "panicked" in l]


def step_service(args, binary: Path, template: str, workdir: Path, quiet: Quiet, r: dict):
    svc = Service(binary, workdir / "service")
    quiet.phase("service: setup")
    svc.cli("agency", "create", "--name", AGENCY, "--slug", "bench")
    token = svc.cli("token", "create", "--agency", "bench", "--role", "admin").splitlines()[-1].strip()
    api = svc.start(token)
    try:
        n = args.count
        ty = api.json("POST", "/api/v1/credential-types", {
            "code": "HAZ", "name": "Hazmat Operations", "validity_months": 24, "renewal": "manual"})["id"]
        api.json("POST", f"/api/v1/credential-types/{ty}/publish", {})
        # No batch endpoint for members: one POST each (not timed as certificates).
        t = time.perf_counter()
        members = []
        for i in range(n):
            first = FIRST[i % len(FIRST)]
            last = LAST[(i * 7 + i // len(FIRST)) % len(LAST)]
            m = api.json("POST", "/api/v1/members", {
                "first_name": first, "last_name": last, "email": f"{first.lower()}.{i}@example.org",
                "employee_number": f"E-{1000 + i}"})
            members.append(m["id"])
        r["svc_members_s"] = time.perf_counter() - t
        log(f"service: {n} members created one by one in {r['svc_members_s']:.1f} s")
        today = dt.date.fromisoformat(os.environ["CREDENCE_TODAY"]) if os.environ.get("CREDENCE_TODAY") \
            else dt.datetime.now(dt.timezone.utc).date()
        t = time.perf_counter()
        assigned = api.json("POST", "/api/v1/assignments", {
            "credential_type_id": ty, "mode": "active_with_period",
            "issue_date": (today - dt.timedelta(days=30)).isoformat(),
            "expiration_date": (today + dt.timedelta(days=700)).isoformat(),
            "member_ids": members})
        creds = assigned["created"]
        r["svc_assign_s"] = time.perf_counter() - t
        if len(creds) != n:
            raise RuntimeError(f"assignment created {len(creds)} credentials for {n} members: {assigned.get('skipped')}")
        templates = api.json("GET", "/api/v1/certificate-templates")
        default = next((tpl for tpl in templates if tpl.get("kind") == "certificate"), None)
        if default is not None and "source" in default and default["source"] != template:
            r["notes"].append("the service's default template differs from crates/documents/src/templates/"
                              "certificate.typ in this checkout (the binary is older or newer than the file)")

        quiet.phase("service: generate")
        log(f"service: POST /api/v1/certificates for {n} credentials ...")
        t = time.perf_counter()
        status, body = api.request("POST", "/api/v1/certificates", {"credential_ids": creds})
        r["svc_generate_s"] = time.perf_counter() - t
        if status != 201:
            raise RuntimeError(f"POST /api/v1/certificates -> {status} after {r['svc_generate_s']:.1f} s: {body[:2000]!r}")
        generated = json.loads(body)
        items = generated["items"]
        not_generated = [c for c in items if c.get("status") != "generated"]
        if len(items) != n or not_generated or generated.get("skipped"):
            r["notes"].append(f"service generate: {len(items)} items, {len(not_generated)} not generated, "
                              f"skipped {generated.get('skipped')}")
        r["svc_generate_cps"] = len(items) / r["svc_generate_s"]
        r["svc_n"] = len(items)
        files = list((svc.data_dir / "files").rglob("*.pdf"))
        r["svc_files_mb"] = sum(f.stat().st_size for f in files) / 1e6
        r["svc_files"] = len(files)
        log(f"service: {len(items)} certificates in {r['svc_generate_s']:.2f} s = {r['svc_generate_cps']:.1f} certs/s; "
            f"{len(files)} files, {r['svc_files_mb']:.1f} MB stored")

        quiet.phase("service: merge")
        ids = [c["id"] for c in items]
        log(f"service: POST /api/v1/certificates/merge for {len(ids)} certificates ...")
        t = time.perf_counter()
        status, pdf = api.request("POST", "/api/v1/certificates/merge", {"certificate_ids": ids})
        r["svc_merge_s"] = time.perf_counter() - t
        if status != 200 or not pdf.startswith(b"%PDF-"):
            raise RuntimeError(f"POST /api/v1/certificates/merge -> {status} after {r['svc_merge_s']:.1f} s: {pdf[:2000]!r}")
        r["svc_merge_mb"] = len(pdf) / 1e6
        r["svc_merge_pages"] = pdf_pages(pdf)
        (workdir / "service-merged.pdf").write_bytes(pdf)
        log(f"service: merged in {r['svc_merge_s']:.2f} s, {r['svc_merge_mb']:.2f} MB, {r['svc_merge_pages']} pages")
        if r["svc_merge_pages"] != len(ids):
            r["notes"].append(f"service merge: {r['svc_merge_pages']} pages for {len(ids)} certificates")
    finally:
        api.close()
        svc.stop()
        problems = svc.log_problems()
        if problems:
            r["notes"].append(f"server log had {len(problems)} warning/error lines, first: `{problems[0][:300]}`")


# --------------------------------------------------------------------------- report


def fmt(v, spec: str, unit: str = "") -> str:
    return "n/a" if v is None else f"{v:{spec}}{unit}"


def render(r: dict, args, vers: dict, started: str, quiet: Quiet) -> str:
    g = r.get
    ratio_raw = g("typst_cps") / g("weasy_cps") if g("typst_cps") and g("weasy_cps") else None
    ratio_svc = g("svc_generate_cps") / g("weasy_cps") if g("svc_generate_cps") and g("weasy_cps") else None
    ratio_cpu = None
    if g("typst_cpu_s") and g("weasy_cpu_s"):
        ratio_cpu = (g("typst_n") / g("typst_cpu_s")) / (g("weasy_n") / g("weasy_cpu_s"))
    r["ratio_raw"], r["ratio_svc"], r["ratio_cpu"] = ratio_raw, ratio_svc, ratio_cpu
    typst_merged_cps = args.count / g("merged_s") if g("merged_s") else None
    ratio_merged = typst_merged_cps / g("weasy_merged_cps") if typst_merged_cps and g("weasy_merged_cps") else None
    r["ratio_merged"] = ratio_merged
    ratio_merged_cpu = None
    if g("merged_cpu_s") and g("weasy_merged_cpu_s"):
        weasy_per_cert = g("weasy_merged_cpu_s") / g("weasy_n", args.weasy_count)
        ratio_merged_cpu = weasy_per_cert / (g("merged_cpu_s") / args.count)

    def meets(flag):
        return "n/a" if flag is None else ("yes" if flag else "**NO**")

    def rng_txt(key: str, spec: str) -> str:
        lo_hi = g(key)
        if not lo_hi or args.rounds < 2:
            return ""
        return f"rounds {lo_hi[0]:{spec}}–{lo_hi[1]:{spec}}; "

    n = args.count
    lines = [
        "# Credence certificate benchmark: Typst vs WeasyPrint",
        "",
        f"- run: {started}; {n} certificates (default landscape template, varied names, numbers, dates, "
        f"QR codes), WeasyPrint {args.weasy_count}; Typst raw and WeasyPrint figures are the median of "
        f"{args.rounds} rounds (their range shown), the service's one request each",
        f"- {vers['credence']}, checkout at commit {vers['commit']} when the run started; binary {vers['binary']}",
        f"- machine: {vers['machine']} (Typst raw is one worker process and WeasyPrint one Python "
        "process, each about one core; the service splits a batch over both cores)",
        f"- WeasyPrint {g('weasy_version', '?')} (pydyf {g('pydyf_version', '?')}, Pango {g('pango_version', '?')}, "
        f"qrcode {g('qrcode_version', '?')}), Python {sys.version.split()[0]}; font: {g('weasy_font', '?')}",
        f"- render workers {'with' if not args.no_memory_limit else 'WITHOUT'} the service's 2 GiB address-space "
        "limit; the service on SQLite in a temporary data directory, files on the local disk",
        "",
        "| figure | result | goal | meets goal |",
        "|---|---|---|---|",
        f"| Typst raw: {g('typst_n', n)} separate PDFs, one `credence render-worker` process | "
        f"**{fmt(g('typst_cps'), '.1f', ' certs/s')}** ({rng_txt('typst_cps_range', '.0f')}{fmt(g('typst_s'), '.2f', ' s')}; CPU {fmt(g('typst_cpu_s'), '.1f', ' s')}, "
        f"peak RSS {fmt(g('typst_rss_mb'), '.0f', ' MB')}) | – | – |",
        f"| Typst raw: size per PDF | avg {fmt(g('typst_avg_kb'), '.1f', ' KB')} (min {fmt(g('typst_min_kb'), '.1f')}, "
        f"max {fmt(g('typst_max_kb'), '.1f')}; {fmt(g('typst_total_mb'), '.1f', ' MB')} in all) | – | – |",
        f"| Typst raw: {n} merged into one PDF (`merge: true`) | {fmt(g('merged_s'), '.2f', ' s')} "
        f"({rng_txt('merged_s_range', '.2f')[:-2]}), "
        f"**{fmt(g('merged_mb'), '.2f', ' MB')}**, {fmt(g('merged_pages'), 'd')} pages (peak RSS "
        f"{fmt(g('merged_rss_mb'), '.0f', ' MB')}; the service would allow {fmt(g('merged_deadline_s'), '.0f', ' s')}) | "
        f"< {MERGED_MB_GOAL:.0f} MB | {meets(g('merged_mb') < MERGED_MB_GOAL if g('merged_mb') is not None else None)} |",
        f"| (diagnostic) the same jobs with the QR codes made by this script before the timing (one SVG "
        f"rectangle per run of dark modules), so the worker makes none: what the worker's own QR codes cost | "
        f"merged {fmt(g('merged_runs_mb'), '.2f', ' MB')}; separate {fmt(g('runs_cps'), '.1f', ' certs/s')}, "
        f"avg {fmt(g('runs_avg_kb'), '.1f', ' KB')} | – | – |",
        f"| Typst raw: one certificate in a fresh worker process (median of 5, start-up included) | "
        f"{fmt(g('typst_single_ms'), '.0f', ' ms')} | – | – |",
        f"| Service: `POST /api/v1/certificates` for {g('svc_n', n)} credentials (render on 2 cores, store "
        f"{fmt(g('svc_files'), 'd')} files / {fmt(g('svc_files_mb'), '.1f', ' MB')}, write rows) | "
        f"**{fmt(g('svc_generate_cps'), '.1f', ' certs/s')}** ({fmt(g('svc_generate_s'), '.2f', ' s')}) | – | – |",
        f"| Service: `POST /api/v1/certificates/merge` for those {g('svc_n', n)} | "
        f"{fmt(g('svc_merge_s'), '.2f', ' s')}, {fmt(g('svc_merge_mb'), '.2f', ' MB')}, {fmt(g('svc_merge_pages'), 'd')} pages | "
        f"< {MERGED_MB_GOAL:.0f} MB | {meets(g('svc_merge_mb') < MERGED_MB_GOAL if g('svc_merge_mb') is not None else None)} |",
        f"| WeasyPrint: {g('weasy_n', args.weasy_count)} separate PDFs in one process (after one "
        f"untimed warm-up) | **{fmt(g('weasy_cps'), '.2f', ' certs/s')}** ({rng_txt('weasy_cps_range', '.1f')}{fmt(g('weasy_s'), '.2f', ' s')}; median "
        f"{fmt(g('weasy_median_ms'), '.0f', ' ms')} each), avg {fmt(g('weasy_avg_kb'), '.1f', ' KB')} per PDF | – | – |",
        f"| (context) WeasyPrint as `HTML(string=…).write_pdf()` with the stylesheet inline, fonts loaded anew each "
        f"time ({fmt(g('weasy_naive_n'), 'd')} PDFs; not used in the ratios) | {fmt(g('weasy_naive_cps'), '.2f', ' certs/s')} | – | – |",
        f"| (context) WeasyPrint, same page with the system's Liberation Serif (TrueType) instead of Libertinus "
        f"(not used in the ratios) | {fmt(g('weasy_sys_cps'), '.2f', ' certs/s')}, avg "
        f"{fmt(g('weasy_sys_avg_kb'), '.1f', ' KB')}; Typst raw / this: "
        f"{fmt(g('typst_cps') / g('weasy_sys_cps') if g('typst_cps') and g('weasy_sys_cps') else None, '.1f', '×')} | – | – |",
        f"| WeasyPrint: {g('weasy_n', args.weasy_count)} certificates merged into one PDF (one HTML document, a "
        f"page break after each) | **{fmt(g('weasy_merged_cps'), '.2f', ' certs/s')}** "
        f"({fmt(g('weasy_merged_s'), '.2f', ' s')}, {fmt(g('weasy_merged_pages'), 'd')} pages, "
        f"{fmt(g('weasy_merged_kb_per_cert'), '.1f', ' KB')} a certificate) | – | – |",
        f"| Ratio Typst / WeasyPrint, the benchmark of the issue: render the certificates and merge them into one "
        f"print file (Typst raw merged {fmt(typst_merged_cps, '.0f', ' certs/s')}; one process each) | "
        f"**{fmt(ratio_merged, '.1f', '×')}** | ≥ {RATIO_GOAL:.0f}× | {meets(ratio_merged >= RATIO_GOAL if ratio_merged else None)} |",
        f"| Ratio Typst raw / WeasyPrint, one PDF file per certificate (certs/s, one process each) | "
        f"**{fmt(ratio_raw, '.1f', '×')}** | ≥ {RATIO_GOAL:.0f}× | {meets(ratio_raw >= RATIO_GOAL if ratio_raw else None)} |",
        f"| Ratio per CPU-second, print file (Typst worker CPU time vs WeasyPrint process CPU time, "
        f"same {args.count} vs {g('weasy_n', args.weasy_count)} certificates scaled per certificate) | "
        f"{fmt(ratio_merged_cpu, '.1f', '×')} | – | – |",
        f"| Ratio per CPU-second, one file per certificate | {fmt(ratio_cpu, '.1f', '×')} | – | – |",
        f"| Ratio service end to end (2 cores) / WeasyPrint (1 core) | {fmt(ratio_svc, '.1f', '×')} | – | – |",
        "",
        f"Setup, not timed as certificates: {fmt(g('svc_members_s'), '.1f', ' s')} to create {n} members one "
        f"`POST /api/v1/members` at a time (there is no batch endpoint), "
        f"{fmt(g('svc_assign_s'), '.2f', ' s')} for the one assignment that issued their credentials.",
    ]
    notes = list(r["notes"])
    b = g("merged_breakdown")
    if b:
        per = 1e6 / (g("merged_pages") or n) / 1024
        notes.append(
            f"where the merged PDF's {g('merged_mb'):.2f} MB go: {b['streams_mb']:.2f} MB in streams (page content, "
            f"about {b['streams_mb'] * per:.1f} KB a page, much of it the QR code's path; fonts once) and "
            f"{b['outside_mb']:.2f} MB outside streams (about {b['outside_mb'] * per:.1f} KB a page: page objects and "
            f"the tagged-PDF structure tree, {b['struct_elems']} `StructElem` objects)")
    rb = g("merged_runs_breakdown")
    if rb:
        notes.append(f"diagnostic merge: {rb['streams_mb']:.2f} MB in streams, {rb['outside_mb']:.2f} MB outside, "
                     f"{rb['struct_elems']} `StructElem` objects")
    if g("typst_cps") and g("typst_cpu_s"):
        notes.append(f"Typst raw CPU per certificate: {1000 * g('typst_cpu_s') / g('typst_n'):.1f} ms "
                     f"(wall {1000 * g('typst_s') / g('typst_n'):.1f} ms): the worker kept "
                     f"{g('typst_cpu_s') / g('typst_s'):.2f} cores busy on average (Typst lays out some work on "
                     "extra threads); the per-CPU-second ratio corrects for that")
    if g("typst_s") and g("merged_s"):
        sep_ms, mer_ms = 1000 * g("typst_s") / g("typst_n"), 1000 * g("merged_s") / n
        notes.append(f"Typst per certificate: {sep_ms:.2f} ms as separate PDFs, {mer_ms:.2f} ms merged into one "
                     f"({n / g('merged_s'):.0f} pages/s); the difference is what a PDF file of its own costs per "
                     "certificate (its own font subsets, document structure and file overhead)")
    if g("weasy_cpu_s"):
        notes.append(f"WeasyPrint CPU per certificate: {1000 * g('weasy_cpu_s') / g('weasy_n'):.1f} ms "
                     f"(wall {1000 * g('weasy_s') / g('weasy_n'):.1f} ms)")
    busy = {k: v for k, v in quiet.sampler.summary().items() if v > 0 and k not in ("setup", "done")}
    if busy:
        notes.append("someone else's compiler or test processes (rustc, cargo, ld, node...) were running during "
                     + ", ".join(f"{k} ({v:.0f}% of samples)" for k, v in busy.items())
                     + "; on this 2-core machine those figures are pessimistic")
    if quiet.repeated:
        notes.append("measured again because other processes disturbed an attempt: "
                     + ", ".join(f"{k} ({v} more time{'s' if v > 1 else ''})" for k, v in quiet.repeated.items()))
    if quiet.waited:
        notes.append("waited for a quiet machine before: "
                     + ", ".join(f"{k} ({v:.0f} s)" for k, v in quiet.waited.items()))
    if notes:
        lines += ["", "## Notes", ""] + [f"- {x}" for x in notes]
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1000, help="certificates for Typst raw and the service")
    ap.add_argument("--weasy-count", type=int, default=30, help="WeasyPrint certificates (timed)")
    ap.add_argument("--weasy-naive-count", type=int, default=10,
                    help="WeasyPrint certificates rendered the naive way, for context (0: skip)")
    ap.add_argument("--parts", default="typst,weasyprint,service",
                    help="comma-separated subset of typst,weasyprint,service")
    ap.add_argument("--binary", type=Path, default=DEFAULT_BINARY)
    ap.add_argument("--no-memory-limit", action="store_true",
                    help="run the raw workers without the service's 2 GiB address-space limit")
    ap.add_argument("--wait-quiet", type=float, default=900.0,
                    help="seconds the whole run may spend waiting for other compilers/test runners to finish "
                         "before a phase (0: never wait, never measure again)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of each Typst raw and WeasyPrint measurement; the median round is reported")
    ap.add_argument("--retries", type=int, default=2,
                    help="measure a Typst or WeasyPrint figure again (after waiting for quiet) when other "
                         "compilers/test runners were seen during it, at most this many times, while the "
                         "--wait-quiet budget lasts")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--lock-file", default=os.path.join(tempfile.gettempdir(), "credence-bench.lock"),
                    help="runs on one machine take turns on this lock (shared with lifecycle.py)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (sample PDFs, server log)")
    args = ap.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    unknown = parts - {"typst", "weasyprint", "service"}
    if unknown:
        ap.error(f"unknown parts: {', '.join(sorted(unknown))}")

    if not args.binary.exists():
        print(f"{args.binary} not found: run `cargo build --release -p credence` first", file=sys.stderr)
        return 2
    if "weasyprint" in parts:
        try:
            import qrcode  # noqa: F401
            import weasyprint  # noqa: F401
        except (ImportError, OSError) as e:
            print(f"WeasyPrint is not usable ({e}): python3 -m pip install -r bench/requirements.txt; "
                  "it needs Pango (apt-get install -y libpango-1.0-0 libpangoft2-1.0-0)", file=sys.stderr)
            return 2

    lock = open(args.lock_file, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another benchmark holds {args.lock_file}; waiting for it to finish")
        fcntl.flock(lock, fcntl.LOCK_EX)

    quiet = Quiet(args.wait_quiet)
    workdir = Path(tempfile.mkdtemp(prefix="credence-certbench-"))
    binary = workdir / "credence"  # a private copy: a rebuild during the run cannot swap it
    shutil.copy2(args.binary, binary)
    vers = versions(binary, args.binary)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    template = TEMPLATE.read_text()
    rng = random.Random(20260314)
    docs = [cert_data(i, rng) for i in range(max(args.count, args.weasy_count + args.weasy_naive_count + 1))]
    r: dict = {"notes": []}
    failed = False
    try:
        steps = [("typst", lambda: step_typst(args, binary, template, docs[:args.count], workdir, quiet, r)),
                 ("weasyprint", lambda: step_weasy(args, docs, workdir, quiet, r)),
                 ("service", lambda: step_service(args, binary, template, workdir, quiet, r))]
        for name, step in steps:
            if name not in parts:
                continue
            log(f"=== {name} ===")
            try:
                step()
            except Exception as e:  # noqa: BLE001 - report it and go on with the other parts
                failed = True
                log(f"{name} FAILED: {e}")
                r["notes"].append(f"{name} FAILED: {str(e)[:1500]}")
        quiet.stop()
        text = render(r, args, vers, started, quiet)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print()
        print(text)
        log(f"written to {args.out}")
    finally:
        if args.keep:
            log(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
