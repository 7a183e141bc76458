"""`ptune-exp-export RUN_DIR [OUT_DIR] [--push-to-hub OWNER/NAME [--private]]`: a run's export (default OUT_DIR:
RUN_DIR/export), optionally uploaded to the Hugging Face Hub."""

from __future__ import annotations

import argparse
import os
import sys

from ptune_exp.artifacts.export import export_run
from ptune_exp.artifacts.export_reader import EXPORT_JSON, EXPORT_WEIGHTS
from ptune_exp.artifacts.modelcard import CARD
from ptune_exp.errors import PtuneError, command


@command("ptune-exp-export")
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ptune-exp-export", description="Export a run's trained prompt + head.")
    ap.add_argument("run_dir", help="output directory of a completed ptune-exp run")
    ap.add_argument("out_dir", nargs="?", help="where to write the export (default: RUN_DIR/export)")
    ap.add_argument("--push-to-hub", metavar="REPO_ID", help="then upload the export folder to this Hub model repo")
    ap.add_argument("--private", action="store_true", help="with --push-to-hub: create the repository private")
    args = ap.parse_args(argv)
    if args.private and not args.push_to_hub:
        raise PtuneError("--private only applies with --push-to-hub REPO_ID")
    out = export_run(args.run_dir, args.out_dir, args.push_to_hub)
    size = sum(os.path.getsize(os.path.join(out, f)) for f in (EXPORT_JSON, EXPORT_WEIGHTS, CARD))
    print(f"exported {args.run_dir} -> {out} ({size / 1e6:.2f} MB)")
    if args.push_to_hub:
        from ptune_exp.artifacts.hub import push_to_hub

        print(f"pushed {out} -> {push_to_hub(out, args.push_to_hub, args.private)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
