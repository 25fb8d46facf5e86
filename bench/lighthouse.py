"""`make lighthouse`: Lighthouse's figures for Today and the timeline, on a phone (issue 15).

    .venv/bin/python bench/lighthouse.py

Serves the app as bench/run.py does (gunicorn, 2 sync workers, bench/web.py) on a SQLite
file in a temporary folder, enrols the bench's patient on their busiest day (bench/seed.py:
three hours after their first session, every restriction running, the check-in card showing)
and runs Lighthouse (bench/lighthouse/node_modules, `npm ci --prefix bench/lighthouse`) with
mobile emulation and its default simulated throttling on /today and /timeline, then prints
one table, and under it every scored audit a page did not pass in full. The folder and the
server are gone afterwards (Lighthouse removes its own Chromium profile). Never part of
`make test`: the scores move with the machine's load.

bench/lighthouse/package.json pins third-party-web (overrides) to the version Lighthouse asks
for: a dependency of Lighthouse asks for its "latest", which `npm ci` would otherwise check
against the registry's newest and refuse the lock file for.

The phone is signed in as the invite landing's button leaves it: a device token made on the
server side, sent by Lighthouse as the device cookie on every request (--extra-headers).

Settings (environment): CHROME_PATH (the Chromium Lighthouse drives; /usr/bin/chromium),
LIGHTHOUSE_PAGES (the paths measured, comma-separated; /today,/timeline), LIGHTHOUSE_REPORTS
(a folder to keep each page's JSON report in, e.g. today.json, for Lighthouse's viewer).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import seed  # noqa: E402 - the bench's own modules, found through the lines above
import web  # noqa: E402

from meso import create_app  # noqa: E402
from meso.extensions import db  # noqa: E402

LIGHTHOUSE = BENCH / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
REPORTS = os.environ.get("LIGHTHOUSE_REPORTS", "")
PAGES = [p.strip() for p in os.environ.get("LIGHTHOUSE_PAGES", "/today,/timeline").split(",")
         if p.strip()]
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
# (column, Lighthouse audit id, how its numericValue is shown)
METRICS = (
    ("FCP", "first-contentful-paint", lambda v: f"{v / 1000:.2f} s"),
    ("LCP", "largest-contentful-paint", lambda v: f"{v / 1000:.2f} s"),
    ("TBT", "total-blocking-time", lambda v: f"{v:.0f} ms"),
    ("CLS", "cumulative-layout-shift", lambda v: f"{v:.3f}"),
    ("bytes", "total-byte-weight", lambda v: f"{v / 1024:.1f} KB"),
)


def seed_patient(folder: str) -> tuple[str, str]:
    """Make the bench's database in ``folder``; return its URL and the device cookie."""
    url = f"sqlite:///{folder}/lighthouse.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "MESO_BASE_URL": "http://localhost"}, instance_path=folder)
    with app.app_context():
        db.create_all()
        _, token = seed.busiest_patient(seed.clinic())
        db.engine.dispose()
    return url, f"{app.config['DEVICE_COOKIE']}={token}"


def lighthouse(url: str, cookie: str, report: Path) -> dict:
    """Run Lighthouse once on ``url`` as a phone and return its JSON report."""
    command = [
        str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report}",
        "--form-factor=mobile", f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox",
        "--extra-headers", json.dumps({"Cookie": cookie}),
    ]
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROME})
    result = json.loads(report.read_text())
    final = result.get("finalDisplayedUrl") or result.get("finalUrl", "")
    if not final.endswith(url.rsplit("/", 1)[1]):
        raise RuntimeError(f"{url} ended on {final}: the device cookie was not taken")
    return result


def row(path: str, result: dict) -> list[str]:
    scores = []
    for name in CATEGORIES:
        score = result["categories"][name]["score"]
        scores.append("-" if score is None else f"{round(score * 100)}")
    audits = result["audits"]
    figures = []
    for _, audit, shown in METRICS:
        value = audits[audit].get("numericValue")
        figures.append("-" if value is None else shown(value))
    return [path, *scores, *figures]


def missed(result: dict) -> list[str]:
    """The audits that count towards a category score and did not score full marks."""
    audits = result["audits"]
    found = []
    for name in CATEGORIES:
        for ref in result["categories"][name]["auditRefs"]:
            audit = audits[ref["id"]]
            if ref["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
                found.append(f"{name}: {ref['id']} ({audit['score']:.2f}) {audit['title']}")
    return found


def print_table(rows: list[list[str]]) -> None:
    header = ["page", "perf", "a11y", "best-pr.", "seo", *(name for name, _, _ in METRICS)]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def main() -> int:
    if not LIGHTHOUSE.exists():
        print("Lighthouse is not installed: npm ci --prefix bench/lighthouse", file=sys.stderr)
        return 1
    rows, misses = [], []
    with tempfile.TemporaryDirectory(prefix="meso-lighthouse-") as folder:
        url, cookie = seed_patient(folder)
        env = {"DATABASE_URL": url, "SECRET_KEY": "bench"}
        # The app factory rather than app.py's app: its instance folder (the built static
        # files) is the temporary one too, so nothing is left in the worktree.
        with web.Gunicorn(f"meso:create_app(instance_path={folder!r})", env) as server:
            for path in PAGES:
                print(f"Lighthouse {path} ...", flush=True)
                report = Path(folder) / "report.json"
                result = lighthouse(server.base + path, cookie, report)
                if REPORTS:
                    kept = Path(REPORTS) / f"{path.strip('/').replace('/', '-') or 'root'}.json"
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(report, kept)
                rows.append(row(path, result))
                misses += [f"{path} {miss}" for miss in missed(result)]
    print()
    # Lighthouse's own yardstick of the machine's speed at the time (higher is faster): the
    # scores are only comparable between runs on machines of like index.
    print(f"Lighthouse {result['lighthouseVersion']}, mobile, simulated throttling; "
          f"benchmark index {result['environment']['benchmarkIndex']:.0f}")
    print_table(rows)
    if misses:
        print()
        print("Not passed in full:")
        for miss in misses:
            print(f"  {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
