#!/usr/bin/env python3
"""The first build a new user runs (`cargo run --release -- demo`), measured from a clean
target directory (issue #22: under 12 minutes on 2 cores).

It builds `cargo build --release -p credence --timings` into a fresh target directory (crates
already downloaded: `cargo fetch` first, so the network is not measured), and reports the
wall clock, the CPU time (user + system, from getrusage of the cargo process tree), the
number of compilation units, the binary's size, and the units that took longest with their
frontend/codegen split from cargo's timings report. Appends the figures as a markdown section
to bench/results-build.md.

    python3 bench/build_time.py [--target-dir /tmp/credence-build-bench] [--label "after"]

Run it on a quiet machine: anything else compiling at the same time slows it down.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def units(timings_html: Path) -> list[dict]:
    html = timings_html.read_text()
    return json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S).group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target-dir", default="/tmp/credence-build-bench")
    ap.add_argument("--label", default="")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--out", default=str(REPO / "bench" / "results-build.md"))
    args = ap.parse_args()

    target = Path(args.target_dir)
    shutil.rmtree(target, ignore_errors=True)
    env = {**os.environ, "CARGO_TARGET_DIR": str(target)}
    subprocess.run(["cargo", "fetch"], cwd=REPO, env=env, check=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(["cargo", "build", "--release", "-p", "credence", "--timings"], cwd=REPO,
                   env=env, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    binary = target / "release" / "credence"
    report = target / "cargo-timings" / "cargo-timing.html"
    data = units(report)
    data.sort(key=lambda u: -u["duration"])
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip()
    lines = [
        f"## {args.label or 'release build'} — {dt.date.today()} (commit {commit}, {rustc}, {os.cpu_count()} cores)",
        "",
        "| wall clock | CPU time | units compiled | binary |",
        "|---|---|---|---|",
        f"| {wall / 60:.1f} min ({wall:.0f} s) | {cpu / 60:.1f} min | {len(data)} | "
        f"{binary.stat().st_size / 1e6:.0f} MB |",
        "",
        "Longest units (seconds; frontend + codegen where cargo reports them):",
        "",
        "| unit | s | frontend | codegen |",
        "|---|---|---|---|",
    ]
    for u in data[: args.top]:
        sections = dict(u.get("sections") or [])
        part = lambda k: f"{sections[k]['end'] - sections[k]['start']:.0f}" if k in sections else "–"
        lines.append(f"| {u['name']} {u['version']} {u.get('target', '').strip()} | {u['duration']:.0f} | "
                     f"{part('frontend')} | {part('codegen')} |")
    text = "\n".join(lines) + "\n\n"
    print(text)
    out = Path(args.out)
    if not out.exists():
        out.write_text("# Release build from clean (`bench/build_time.py`)\n\n")
    with out.open("a") as f:
        f.write(text)


if __name__ == "__main__":
    main()
