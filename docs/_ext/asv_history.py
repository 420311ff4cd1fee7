"""A Markdown table of the committed asv results, readable without asv's web report.

``asv publish`` makes an interactive report whose scripts come from CDNs; this page shows the
same numbers as plain tables (one per benchmark and machine, one column per commit), written
into the source tree (``docs/generated/``) before Sphinx reads it.  Result files are asv's
own JSON (format version 2): ``results[name]`` is a row whose ``result`` column lists one value
per parameter combination, in the order of ``itertools.product`` over the ``params`` column.
"""
import itertools
import json
from datetime import datetime, timezone
from pathlib import Path


def _columns(data, name):
    """``{column name: value}`` of one benchmark's row in a result file."""
    row = data["results"][name]
    return dict(zip(data["result_columns"], row))


def _format(name, value):
    """A time in ms or s, or a peak memory in MB."""
    if value is None or value != value:  # skipped combination, or NaN: failed
        return ""
    if ".peakmem_" in name or ".mem_" in name:
        return f"{value / 1e6:.0f} MB"
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"


def _commits(machine_dir):
    """Result files of one machine, oldest commit first: ``[(label, data), ...]``."""
    runs = []
    for path in machine_dir.glob("*.json"):
        if path.name == "machine.json":
            continue
        data = json.loads(path.read_text())
        when = datetime.fromtimestamp(data["date"] / 1000, tz=timezone.utc)
        runs.append((data["date"], f"`{data['commit_hash'][:8]}` {when:%Y-%m-%d}", data))
    return [(label, data) for _, label, data in sorted(runs, key=lambda run: run[0])]


def _table(name, runs, param_names):
    """Markdown lines of one benchmark: a row per parameter combination, a column per commit."""
    params = _columns(runs[-1][1], name).get("params") or []
    combos = list(itertools.product(*params)) if params else [()]
    values = []
    for _, data in runs:
        result = _columns(data, name).get("result") if name in data["results"] else None
        values.append(result if result is not None else [None] * len(combos))
    lines = ["| " + (", ".join(param_names) if params else "benchmark")
             + " | " + " | ".join(label for label, _ in runs) + " |",
             "|---" + "|---:" * len(runs) + "|"]
    for i, combo in enumerate(combos):
        cells = [_format(name, column[i] if i < len(column) else None) for column in values]
        if any(cells):
            label = ", ".join(str(v).strip("'") for v in combo) or name.rsplit(".", 1)[-1]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def write_history(results_dir, out_path):
    """Write the Markdown tables of every machine's results under ``results_dir``."""
    results_dir, out_path = Path(results_dir), Path(out_path)
    catalogue = results_dir / "benchmarks.json"
    catalogue = json.loads(catalogue.read_text()) if catalogue.is_file() else {}
    lines = []
    for machine_dir in sorted(p for p in results_dir.glob("*") if (p / "machine.json").is_file()):
        runs = _commits(machine_dir)
        if not runs:
            continue
        machine = json.loads((machine_dir / "machine.json").read_text())
        described = ", ".join(str(machine[key]) for key in ("cpu", "num_cpu", "arch", "os", "ram")
                              if machine.get(key))
        lines += [f"#### Machine `{machine_dir.name}`", "", f"{described}.", ""]
        names = sorted({name for _, data in runs for name in data["results"]})
        for name in names:
            param_names = catalogue.get(name, {}).get("param_names", [])
            lines += [f"`{name}`", "", *_table(name, runs, param_names), ""]
    if not lines:
        lines = ["No benchmark results are committed yet.", ""]
    text = "\n".join(lines)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if not out_path.exists() or out_path.read_text() != text:
        out_path.write_text(text)
    return out_path
