"""``python -m bench {engine,gui,contours,maps,render,...,all} [--quick]`` (see BENCHES)."""

from __future__ import annotations

import argparse
import sys
import time

BENCHES = ("engine", "gui", "contours", "maps", "maps-cluster", "formula", "video", "render", "all")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Gradient Arena benchmarks: medians of repeated runs and ratios against "
        "baselines measured in the same run.",
    )
    p.add_argument(
        "what",
        choices=BENCHES,
        help="which benchmark to run",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="short run (smoke test, well under 30 s with warm numba caches)",
    )
    p.add_argument(
        "--no-startup",
        action="store_true",
        help="skip the start-up measurements (child processes: warm start, cold compile, "
        "import and launch times)",
    )
    p.add_argument(
        "--optimizers",
        metavar="NAMES",
        default="",
        help="engine: time only these optimizers (comma-separated, e.g. sgd,adam; the "
        "baselines always run)",
    )
    p.add_argument(
        "--startup-only",
        action="store_true",
        help="engine: only the start-up measurements (warm start, cold compile, imports)",
    )
    p.add_argument(
        "--3d",
        dest="three_d",
        action="store_true",
        help="gui: the window with its 3-D view closed and open, under an Xvfb of its own "
        "(needs Xvfb and Mesa)",
    )
    p.add_argument(
        "--build-only",
        action="store_true",
        help="engine: only the RACE BUILD table (building a race against running it)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    code = 0
    if args.what in ("engine", "all"):
        from bench.engine_bench import bench_engine

        only = [n for n in args.optimizers.split(",") if n]
        code |= bench_engine(
            quick=args.quick,
            startup=not args.no_startup,
            optimizers=only or None,
            steps=not args.startup_only,
            build_only=args.build_only,
        )
    if args.what == "gui" and args.three_d:  # a process of its own: Qt on xcb
        from bench.surface3d_bench import bench_gui_3d

        code |= bench_gui_3d(quick=args.quick)
    elif args.what in ("gui", "all"):
        from bench.gui_bench import bench_gui

        code |= bench_gui(quick=args.quick, startup=not args.no_startup)
    if args.what in ("contours", "all"):
        from bench.contour_bench import bench_contours

        code |= bench_contours(quick=args.quick)
    if args.what in ("formula", "all"):
        from bench.formula_bench import bench_formula

        code |= bench_formula(quick=args.quick)
    if args.what in ("maps", "all"):
        from bench.maps_bench import bench_maps

        code |= bench_maps(quick=args.quick, startup=not args.no_startup)
    if args.what in ("video", "all"):
        from bench.video_bench import bench_video

        code |= bench_video(quick=args.quick)
    if args.what in ("render", "all"):
        from bench.render import bench_render

        code |= bench_render(quick=args.quick)
    if args.what == "maps-cluster":  # not in "all": it starts worker processes
        from bench.maps_cluster_bench import bench_maps_cluster

        code |= bench_maps_cluster(quick=args.quick)
    mode = "quick" if args.quick else "full"
    print(f"bench {args.what} ({mode}) finished in {time.perf_counter() - t0:.1f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
