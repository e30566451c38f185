"""`python -m bench.report`: write docs/BENCHMARKS.md and docs/img/*.png from bench/results."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import RESULTS
from bench.report import DOC, render


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS, help="folder of result JSONs")
    p.add_argument("--out", type=Path, default=DOC, help="the Markdown file to write")
    p.add_argument("--img", type=Path, help="folder for the PNGs (default: beside --out, img/)")
    args = p.parse_args()
    img = args.img or args.out.parent / "img"
    args.out.write_text(render(args.results, img))
    print(f"wrote {args.out} and {sorted(x.name for x in img.glob('*.png'))}")


if __name__ == "__main__":
    main()
