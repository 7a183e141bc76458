"""Open `ptune-exp-compare --report`'s HTML page in a headless Chromium and screenshot it: the check
that the page renders (the table and the figures show) in a real browser. Not part of the test run.

    python scripts/report_screenshot.py RUNS OUT_DIR          # records of your runs
    python scripts/report_screenshot.py --fixture OUT_DIR     # the tests' hand-made records

Needs `chromium` (Debian: `apt-get install -y chromium`). Writes OUT_DIR/report.html (and the rest of
the report) and OUT_DIR/screenshot.png; prints the screenshot's path and size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def screenshot(page: Path, png: Path, size: str = "1400,2400") -> tuple[int, int]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        sys.exit("no chromium on PATH: apt-get install -y chromium")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={size}"]
    subprocess.run([browser, *flags, f"--screenshot={png}", page.resolve().as_uri()], check=True, timeout=120)
    return struct.unpack(">II", png.read_bytes()[16:24])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="?", help="run dirs or metrics.json files")
    ap.add_argument("out", help="the report's folder")
    ap.add_argument("--fixture", action="store_true", help="use the tests' hand-made records (tests/report_fixtures)")
    args = ap.parse_args()
    runs = args.runs
    if args.fixture:
        sys.path.insert(0, str(ROOT / "tests"))
        from report_fixtures import write_runs

        runs = str(write_runs(Path(tempfile.mkdtemp(prefix="report-runs-"))))
    if not runs:
        ap.error("give RUNS or --fixture")
    compare = [sys.executable, "-m", "ptune_exp.compare", runs, "--report", args.out]
    subprocess.run(compare, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    png = Path(args.out) / "screenshot.png"
    width, height = screenshot(Path(args.out) / "report.html", png)
    print(f"{png} {width}x{height}")


if __name__ == "__main__":
    main()
