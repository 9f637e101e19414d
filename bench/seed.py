#!/usr/bin/env python3
"""Credence seed benchmark: `credence seed` on PostgreSQL, variants side by side.

Each variant is a binary and, optionally, a `max_wal_size` for the server during its run
(set with ALTER SYSTEM and a reload, put back afterwards). Every run gets a fresh database
and seeds the same members x credentials; the variants alternate over `--rounds`, so a
machine that slows down or speeds up during the script touches each of them alike.
Besides the wall time it records what the server did: WAL written, checkpoints, and the
server's settings that bound a bulk load.

    python3 bench/seed.py --members 300000 --per-member 10 \
        --variant before=/path/to/old/credence --variant after=target/release/credence \
        --variant after-8GB=target/release/credence:8GB --out bench/results-seed.md

Writes a Markdown table to --out (and prints it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_DB = "credence_bench_seed"
SETTINGS = ("shared_buffers", "max_wal_size", "checkpoint_timeout", "maintenance_work_mem",
            "max_parallel_maintenance_workers", "synchronous_commit")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Server:
    """An admin connection to the PostgreSQL server the runs use."""

    def __init__(self, admin_url: str):
        import psycopg

        self.conn = psycopg.connect(admin_url, autocommit=True)

    def one(self, sql: str):
        return self.conn.execute(sql).fetchone()[0]

    def setting(self, name: str) -> str:
        return self.one(f"SELECT current_setting('{name}')")

    def set_max_wal_size(self, value: str | None) -> None:
        if value is None:
            self.conn.execute("ALTER SYSTEM RESET max_wal_size")
        else:
            self.conn.execute(f"ALTER SYSTEM SET max_wal_size = '{value}'")
        self.conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)

    def fresh_database(self) -> None:
        self.conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        self.conn.execute(f'CREATE DATABASE "{PG_DB}"')

    def wal_lsn(self) -> int:
        return int(self.one("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))

    def checkpoints(self) -> int:
        return int(self.one("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"))


def run_seed(binary: str, db_url: str, members: int, per_member: int) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDENCE_")}
    env["CREDENCE_DATABASE_URL"] = db_url
    env["CREDENCE_LOG"] = "warn"
    with tempfile.TemporaryDirectory() as data:
        env["CREDENCE_DATA_DIR"] = data

        def cli(*argv: str) -> str:
            proc = subprocess.run([binary, *argv], env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"credence {' '.join(argv)} failed:\n{proc.stdout}\n{proc.stderr}")
            return proc.stdout.strip()

        cli("agency", "create", "--name", "Bench", "--slug", "bench")
        started = time.perf_counter()
        out = cli("seed", "--agency", "bench", "--members", str(members),
                  "--credentials-per-member", str(per_member))
        return time.perf_counter() - started, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=300_000)
    p.add_argument("--per-member", type=int, default=10)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--variant", action="append", required=True,
                   help="label=binary[:max_wal_size], e.g. after=target/release/credence:8GB")
    p.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--pg-host-url", default="postgres://postgres@127.0.0.1:5432")
    p.add_argument("--out", type=Path, default=Path("bench/results-seed.md"))
    args = p.parse_args()

    variants = []
    for v in args.variant:
        label, rest = v.split("=", 1)
        binary, _, wal = rest.partition(":")
        variants.append((label, str(Path(binary).resolve()), wal or None))

    server = Server(args.pg_admin_url)
    defaults = {name: server.setting(name) for name in SETTINGS}
    db_url = f"{args.pg_host_url}/{PG_DB}"
    rows = []
    try:
        for r in range(args.rounds):
            order = variants if r % 2 == 0 else list(reversed(variants))
            for label, binary, wal in order:
                server.set_max_wal_size(wal)
                server.fresh_database()
                server.conn.execute("CHECKPOINT")
                lsn, checkpoints = server.wal_lsn(), server.checkpoints()
                log(f"{label}: seeding {args.members} x {args.per_member} (max_wal_size {server.setting('max_wal_size')})")
                wall, out = run_seed(binary, db_url, args.members, args.per_member)
                wal_gb = (server.wal_lsn() - lsn) / 1e9
                rows.append({
                    "label": label, "round": r + 1, "wall": wall, "out": out,
                    "wal_gb": wal_gb, "checkpoints": server.checkpoints() - checkpoints,
                    "max_wal_size": server.setting("max_wal_size"),
                })
                log(f"{label}: {wall:.1f} s, {wal_gb:.1f} GB of WAL, {rows[-1]['checkpoints']} checkpoints — {out}")
    finally:
        server.set_max_wal_size(None)
        server.conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')

    credentials = args.members * args.per_member
    lines = [
        f"# `credence seed` on PostgreSQL: {args.members:,} members x {args.per_member} = {credentials:,} credentials",
        "",
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} cores, kernel {platform.release()}) by `bench/seed.py`; every run on a fresh "
        "database, variants alternating by round. Server settings (defaults of this server): "
        + ", ".join(f"{k} = {v}" for k, v in defaults.items()) + ".",
        "",
        "| variant | round | max_wal_size | wall (s) | credentials per s | WAL written (GB) | checkpoints |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['label']} | {row['round']} | {row['max_wal_size']} | {row['wall']:.1f} | "
            f"{credentials / row['wall']:,.0f} | {row['wal_gb']:.1f} | {row['checkpoints']} |"
        )
    lines += ["", "Binaries:", ""]
    lines += [f"- {label}: `{binary}`" for label, binary, _ in variants]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
