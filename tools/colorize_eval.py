"""Run the colorizer's evaluation protocol (fastnn.colorize.protocol) and print its tables.

Usage::

    python tools/colorize_eval.py same-scene --seeds 0 --json same_scene.jsonl
    python tools/colorize_eval.py leave-one-out --seeds 0 1 2 --json loo.jsonl
    python tools/colorize_eval.py tables same_scene.jsonl      # the tables again, from saved results
    python tools/colorize_eval.py same-scene --untuned --set mode=bins --json bins.jsonl  # a variant
    python tools/colorize_eval.py same-scene --photos confirmation --json fresh.jsonl  # unseen photos

``--grid revision-1|revision-2|revision-3`` tunes on another grid than the part's own (revisions 2
and 3 changed the same-scene grid only); ``--tiles N`` sets the refinement's safe choice (N x N
inner tiles, revision 3's rule; 0: the lowest inner error, revisions 1 and 2), and ``--fallback
off`` switches the refinement off where no setting is safe on the inner tiles.  ``--untuned`` skips the inner tuning (the Colorizer's defaults for
``lmbda`` and the refinement);
``--tune name=[v1,v2]`` adds a Colorizer parameter to the inner tuning's grid;
``--set name=value`` changes a base parameter of every case (a variant to measure, e.g.
``mode=bins`` or ``validation_fraction=0.1``).

Each case's result is appended to ``--json`` as one JSON line as soon as it is done (a run that
is stopped keeps what it finished; ``--resume`` skips the cases already in the file).  The tables
are Markdown: per case (seeds averaged) the tuned settings, the mean a*b* error of fastnn
(refined), of its unrefined chroma and of the two constant baselines, and the blotchiness before
and after the refinement; then per case the refinement's effect (error and blotchiness, unrefined ->
refined, and in how many runs it was less blotchy and not worse); then the summary the issue asks for.
"""
import argparse
import json
import os
import sys
import time
from collections import defaultdict

import numpy as np

from fastnn.bench import cpu_model
from fastnn.colorize import bundled_photos
from fastnn.colorize import protocol


GRIDS = {"revision-1": protocol.GRID_REVISION_1, "revision-2": protocol.GRID_REVISION_2,
         "revision-3": protocol.GRID}
"""``--grid`` names: the first run's grid, and revisions 2's and 3's (same-scene) grids."""


def parse_setting(text):
    """``name=value`` -> (name, value), the value read as JSON if it parses (numbers), else a string."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected name=value, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def parse_values(text):
    """``name=[v1, v2]`` -> (name, (v1, v2)): a parameter's values to tune, as a JSON list."""
    name, value = parse_setting(text)
    if not isinstance(value, list) or not value:
        raise argparse.ArgumentTypeError(f"expected name=[value, ...], got {text!r}")
    return name, tuple(tuple(v) if isinstance(v, list) else v for v in value)


PHOTOS = {"bundled": bundled_photos, "confirmation": protocol.confirmation_photos}


def run(part, seeds, path, resume, tuned, settings=(), grid=None, tiles=None, extra_grid=(),
        fallback="least-harm", photo_set="bundled"):
    photos = PHOTOS[photo_set]()
    if part == "same-scene":
        cases, base, part_grid = protocol.same_scene_cases(photos), protocol.SAME_SCENE_BASE, protocol.GRID
        part_tiles = protocol.SAME_SCENE_TILES
    else:
        cases, base = protocol.leave_one_out_cases(photos), protocol.LEAVE_ONE_OUT_BASE
        part_grid, part_tiles = protocol.LEAVE_ONE_OUT_GRID, 0
    grid = dict(grid or part_grid, **dict(extra_grid))
    tiles = part_tiles if tiles is None else tiles
    base = dict(base, **dict(settings))
    done = set()
    if resume and path and os.path.exists(path):
        done = {(r["case"], r["seed"]) for r in read(path)}
    results = []
    for seed in seeds:
        for name, train, split, test in cases:
            if (name, seed) in done:
                continue
            start = time.process_time()
            result = protocol.run_case(base, train, split, test, seed, name, tuned=tuned, grid=grid,
                                       tiles=tiles or None, fallback=fallback)
            result.update(part=part, cpu_seconds=time.process_time() - start, tuned=tuned, base=base, grid=grid,
                          tiles=tiles, fallback=fallback, photos=photo_set)
            results.append(result)
            print(f"{name} seed {seed}: fastnn {result['fastnn']['ab_error']:.2f}, grayscale "
                  f"{result['grayscale']['ab_error']:.2f}, mean chroma {result['mean chroma']['ab_error']:.2f} "
                  f"{result['settings']} ({result['cpu_seconds']:.0f} s CPU)", flush=True)
            if path:
                with open(path, "a") as f:
                    f.write(json.dumps(result) + "\n")
    return read(path) if path else results


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def by_case(results):
    """Case -> list of its results (one per seed), in first-seen order."""
    grouped = defaultdict(list)
    for r in results:
        grouped[r["case"]].append(r)
    return grouped


def mean(values):
    return float(np.mean(values))


def settings_text(runs):
    seen = defaultdict(int)
    for r in runs:
        s = r["settings"]
        extra = "".join(f"/{name}={value}" for name, value in s.items()
                        if name not in ("lmbda", "refine_radius", "refine_eps", "refine"))
        refine = "off" if "refine" in s else f"{s.get('refine_radius')}/{s.get('refine_eps', 0):g}"
        seen[f"{s['lmbda']:g}/{refine}{extra}" if s else "defaults"] += 1
    return ", ".join(f"{k}" + (f" x{v}" if v > 1 else "") for k, v in seen.items())


def case_table(results):
    lines = ["| case | tuned lmbda/radius/eps | fastnn | unrefined | grayscale | mean chroma | "
             "below both | blotchiness unrefined -> refined |",
             "|---|---|---:|---:|---:|---:|:---:|---:|"]
    for name, runs in by_case(results).items():
        err = {m: mean([r[m]["ab_error"] for r in runs]) for m in ("fastnn", "fastnn unrefined", "grayscale",
                                                                   "mean chroma")}
        blot = [mean([r[m]["blotchiness"] for r in runs]) for m in ("fastnn unrefined", "fastnn")]
        below = "yes" if err["fastnn"] < min(err["grayscale"], err["mean chroma"]) else "**no**"
        lines.append(f"| {name} | {settings_text(runs)} | {err['fastnn']:.2f} | {err['fastnn unrefined']:.2f} | "
                     f"{err['grayscale']:.2f} | {err['mean chroma']:.2f} | {below} | {blot[0]:.2f} -> {blot[1]:.2f} |")
    return "\n".join(lines)


def refine_table(results):
    """Per case: the refinement's effect on the error and the blotchiness, and in how many runs it helped."""
    lines = ["| case | error unrefined -> refined | blotchiness unrefined -> refined | runs less blotchy | "
             "runs error no worse |",
             "|---|---:|---:|---:|---:|"]
    for name, runs in by_case(results).items():
        err = [mean([r[m]["ab_error"] for r in runs]) for m in ("fastnn unrefined", "fastnn")]
        blot = [mean([r[m]["blotchiness"] for r in runs]) for m in ("fastnn unrefined", "fastnn")]
        smoother = sum(r["fastnn"]["blotchiness"] < r["fastnn unrefined"]["blotchiness"] for r in runs)
        no_worse = sum(r["fastnn"]["ab_error"] <= r["fastnn unrefined"]["ab_error"] for r in runs)
        lines.append(f"| {name} | {err[0]:.2f} -> {err[1]:.2f} | {blot[0]:.2f} -> {blot[1]:.2f} | "
                     f"{smoother} of {len(runs)} | {no_worse} of {len(runs)} |")
    return "\n".join(lines)


def summary(results):
    cases = by_case(results)
    err = {m: np.array([mean([r[m]["ab_error"] for r in runs]) for runs in cases.values()])
           for m in ("fastnn", "fastnn unrefined", "grayscale", "mean chroma")}
    colour = {m: mean([r[m]["colourfulness"] for r in results]) for m in ("fastnn", "fastnn unrefined", "mean chroma")}
    better = np.minimum(err["grayscale"], err["mean chroma"])
    n = len(cases)
    lines = [f"cases: {n} ({len(results)} runs, seeds {sorted({r['seed'] for r in results})})",
             f"mean a*b* error: fastnn {err['fastnn'].mean():.2f}, unrefined {err['fastnn unrefined'].mean():.2f}, "
             f"grayscale {err['grayscale'].mean():.2f}, mean chroma {err['mean chroma'].mean():.2f}",
             f"fastnn below both baselines: {int(np.sum(err['fastnn'] < better))} of {n} cases",
             f"fastnn vs the better baseline of each case: {100 * (1 - err['fastnn'].mean() / better.mean()):.1f}% "
             f"below on average (ratio of means; mean of per-case ratios "
             f"{100 * np.mean(1 - err['fastnn'] / better):.1f}%)"]
    for baseline in protocol.BASELINES:
        wins = int(np.sum(err["fastnn"] < err[baseline]))
        ties = int(np.sum(err["fastnn"] == err[baseline]))
        lines.append(f"wins vs {baseline}: {wins} of {n} (sign test, two-sided p = "
                     f"{protocol.sign_test(wins, n - ties):.3g})")
    refined_better = sum(r["fastnn"]["blotchiness"] < r["fastnn unrefined"]["blotchiness"] for r in results)
    not_worse = sum(r["fastnn"]["ab_error"] <= r["fastnn unrefined"]["ab_error"] for r in results)
    both = sum(r["fastnn"]["blotchiness"] < r["fastnn unrefined"]["blotchiness"]
               and r["fastnn"]["ab_error"] <= r["fastnn unrefined"]["ab_error"] for r in results)
    lines.append(f"refinement: less blotchy in {refined_better} of {len(results)} runs, error no worse in "
                 f"{not_worse}, both in {both}")
    lines.append(f"colourfulness (mean |a*b*|): fastnn {colour['fastnn']:.1f}, unrefined "
                 f"{colour['fastnn unrefined']:.1f}, mean chroma {colour['mean chroma']:.1f}, originals "
                 f"{mean([r['true_colourfulness'] for r in results]):.1f}")
    lines.append(f"CPU time: {sum(r['cpu_seconds'] for r in results):.0f} s (time.process_time) on {cpu_model()}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["same-scene", "leave-one-out", "tables"])
    parser.add_argument("results", nargs="?", help="for 'tables': a JSON-lines file of results")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--json", help="append each case's result to this JSON-lines file")
    parser.add_argument("--resume", action="store_true", help="skip the cases already in --json")
    parser.add_argument("--untuned", action="store_true",
                        help="the Colorizer's defaults for lmbda and the refinement (no inner tuning)")
    parser.add_argument("--set", type=parse_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="change a base Colorizer parameter of every case")
    parser.add_argument("--grid", choices=sorted(GRIDS), default=None,
                        help="the tuning grid (default: the part's own, protocol.GRID for same-scene, "
                             "protocol.LEAVE_ONE_OUT_GRID for leave-one-out)")
    parser.add_argument("--tune", type=parse_values, action="append", default=[], metavar="NAME=[V1,V2]",
                        help="also tune this Colorizer parameter on the inner data (its values as a JSON list)")
    parser.add_argument("--tiles", type=int, default=None,
                        help="the refinement's safe choice on inner tiles per side (0: off, the lowest inner "
                             "error; default: the part's own, protocol.SAME_SCENE_TILES for same-scene, "
                             "0 for leave-one-out)")
    parser.add_argument("--fallback", choices=protocol.FALLBACKS, default="least-harm",
                        help="with --tiles, the choice when no refinement setting is safe on the inner tiles: "
                             "the least harmful one (revision 3) or the refinement off")
    parser.add_argument("--photos", choices=sorted(PHOTOS), default="bundled",
                        help="same-scene only: the bundled photos, or protocol.confirmation_photos (photos "
                             "no revision was measured on)")
    args = parser.parse_args(argv)
    if args.photos != "bundled" and args.part != "same-scene":
        parser.error(f"--photos {args.photos} is for same-scene: its photos have no scene in common")
    if args.tiles is not None and args.tiles < 0:
        parser.error(f"--tiles must be >= 0, got {args.tiles}")
    if args.part == "tables":
        if not args.results:
            parser.error("tables needs a results file")
        results = read(args.results)
    else:
        results = run(args.part, args.seeds, args.json, args.resume, not args.untuned, args.set,
                      GRIDS.get(args.grid), args.tiles, args.tune, args.fallback, args.photos)
    print(case_table(results))
    print()
    print(refine_table(results))
    print()
    print(summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
