#!/usr/bin/env python3
"""Server time of every main web page with a large agency loaded (issue #6: < 50 ms).

Seeds a fresh SQLite data directory with `credence seed` (default 100,000 members x 10
credentials = 1,000,000 credentials), creates an admin login, starts `credence serve`, signs
in through the login form like a browser and requests each page N times, printing p50/p95
in milliseconds as a markdown table.

    cargo build --release -p credence
    python3 bench/pages.py [--members 100000] [--requests 20] [--binary target/release/credence]
"""
import argparse
import http.cookiejar
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 123"


def run(binary, env, *args, stdin=None):
    return subprocess.run([binary, *args], env=env, input=stdin, text=True, check=True,
                          capture_output=True).stdout.strip()


def start(binary, env, port):
    server = subprocess.Popen([binary, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):  # the start-up catch-up (sweep, reminders) runs before ready
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz").status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not become ready")


def signed_in(base):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    html = opener.open(base + "/login").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    form = {"email": "admin@bench.test", "password": PASSWORD, "csrf": csrf}
    opener.open(base + "/login", data=urllib.parse.urlencode(form).encode())
    return opener


def timings(opener, url, n):
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = opener.open(url)
        response.read()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, (url, response.status)
    samples.sort()
    return samples[len(samples) // 2], samples[max(0, int(len(samples) * 0.95) - 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--credentials-per-member", type=int, default=10)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--binary", default=str(ROOT / "target/release/credence"))
    ap.add_argument("--port", type=int, default=18555)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="credence-pages-"))
    binary = shutil.copy(args.binary, work / "credence")  # a rebuild cannot change it mid-run
    env = {**os.environ, "CREDENCE_DATA_DIR": str(work / "data"), "CREDENCE_LOG": "warn"}
    env.pop("CREDENCE_DATABASE_URL", None)
    run(binary, env, "agency", "create", "--name", "Bench", "--slug", "bench", "--time-zone", "UTC")
    print(run(binary, env, "seed", "--agency", "bench", "--members", str(args.members),
              "--credentials-per-member", str(args.credentials_per_member)))
    run(binary, env, "user", "create", "--agency", "bench", "--email", "admin@bench.test", "--role", "admin",
        "--password-stdin", stdin=PASSWORD + "\n")
    server = start(binary, env, args.port)
    try:
        base = f"http://127.0.0.1:{args.port}"
        opener = signed_in(base)
        listing = opener.open(base + "/credentials?status=overdue").read().decode()
        member = re.search(r'href="/members/(mem_\d+)"', listing).group(1)
        credential = re.search(r'href="/credentials/(crd_\d+)"', listing).group(1)
        ty = re.findall(r'value="(ctp_\d+)"', listing)[0]
        pages = ["/", "/credentials", "/credentials?status=overdue&sort=member",
                 f"/credentials?credential_type_id={ty}&sort=-expiration_date", "/credentials?q=garcia",
                 "/credentials?expiring_within_days=90&sort=expiration_date", f"/members/{member}",
                 f"/credentials/{credential}", "/credential-types", f"/renewals?credential_type_id={ty}&within_days=30",
                 "/certificates", "/certificate-templates", "/approvals"]
        print(f"\n{args.members * args.credentials_per_member} credentials, {args.requests} requests per page\n")
        print("| page | p50 ms | p95 ms | < 50 ms |\n|---|---|---|---|")
        for page in pages:
            p50, p95 = timings(opener, base + page, args.requests)
            print(f"| `{page}` | {p50:.1f} | {p95:.1f} | {'yes' if p95 < 50 else '**NO**'} |")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
