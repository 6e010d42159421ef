"""``dtaosim sweep``: run a sweep spec into one Parquet dataset partitioned by point."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from dtaosim.errors import ConfigError
from dtaosim.experiments.backends import make_backend
from dtaosim.experiments.compare import Difference, paired_differences
from dtaosim.experiments.metrics import open_sweep
from dtaosim.experiments.sensitivity import sobol_indices
from dtaosim.experiments.sweep import (
    PointDone,
    SweepPlan,
    SweepSummary,
    load_plan,
    plan_from_dir,
    run_sweep,
)
from dtaosim.experiments.tipping import contour, success_by_point
from dtaosim.io.sweep_store import SPEC_FILE, write_result_csv

__all__ = ["SweepProgress", "analyse", "register", "run_plan", "sweep"]


def _hms(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "-:--:--"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class SweepProgress:
    """Progress over points and runs with an ETA: a Rich bar on a terminal, plain lines (at
    most one every ``every_s`` seconds, and every failure) otherwise."""

    def __init__(self, console: Console, every_s: float = 2.0) -> None:
        self.console = console
        self.live = console.is_terminal
        self.every_s = every_s
        self.points = self.runs = 0
        self.done_points = self.done_runs = self.failed = 0
        self._start_runs = 0
        self._t0 = time.perf_counter()
        self._last = -math.inf
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start(self, points: int, runs: int, done_points: int, done_runs: int) -> None:
        """The sweep's size and what a resume found done."""
        self.points, self.runs = points, runs
        self.done_points, self.done_runs, self._start_runs = done_points, done_runs, done_runs
        self._t0 = time.perf_counter()
        if done_points:
            self.console.print(f"resuming: {done_points} of {points} points already done",
                               highlight=False)
        if self.live:
            self._bar = Progress(
                TextColumn("[bold]sweep[/]"), BarColumn(), MofNCompleteColumn(),
                TextColumn("runs, {task.fields[pts]}"), TimeElapsedColumn(), TextColumn("eta"),
                TimeRemainingColumn(), console=self.console, transient=False)
            self._bar.start()
            self._task = self._bar.add_task("sweep", total=runs, completed=done_runs,
                                            pts=self._points_text())
        else:
            self.console.print(f"sweep: {points} points, {runs} runs", highlight=False)

    def _points_text(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        return f"points {self.done_points}/{self.points}{failed}"

    def point(self, done: PointDone) -> None:
        """A point finished."""
        self.done_points += 1
        self.done_runs += done.runs
        if done.status != "ok":
            self.failed += 1
            self.console.print(f"point {done.point} failed: {done.error}", highlight=False,
                               markup=False)
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done_runs, pts=self._points_text())
            return
        now = time.perf_counter()
        if now - self._last >= self.every_s or self.done_points == self.points:
            self._last = now
            elapsed = now - self._t0
            rate = (self.done_runs - self._start_runs) / elapsed if elapsed > 0 else 0.0
            eta = (self.runs - self.done_runs) / rate if rate > 0 else math.inf
            self.console.print(f"{self._points_text()}, runs {self.done_runs}/{self.runs}, "
                               f"elapsed {_hms(elapsed)}, eta {_hms(eta)}", highlight=False)

    def partial(self, point: int, runs: int, fraction: float) -> None:
        """Within a point (in-process backend): the fraction of its blocks done."""
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done_runs + runs * fraction)


# ---------------------------------------------------------------------------------- analysis
def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _compare_table(diffs: list[Difference], confidence: float) -> Table:
    t = Table(title=f"paired differences (arm - baseline), {confidence:.0%} CI over runs",
              header_style="bold")
    for c in ("metric", "arm", "baseline", "runs", "baseline mean", "arm mean", "difference",
              "CI", "CRN gain"):
        t.add_column(c, justify="left" if c in ("metric", "arm", "baseline") else "right")
    for d in diffs:
        arm = d.arm + (f" [{d.stratum}]" if d.stratum else "")
        t.add_row(d.metric, arm, d.baseline, str(d.runs), _fmt(d.baseline_mean),
                  _fmt(d.arm_mean), _fmt(d.difference),
                  f"[{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]", _fmt(d.crn_gain))
    return t


def analyse(plan: SweepPlan, directory: Path, console: Console,
            confidence: float = 0.95) -> list[Path]:
    """Sensitivity, tipping points and comparisons a finished sweep's spec asks for: printed,
    and saved as CSV in the sweep directory. Returns the files written."""
    spec = plan.spec
    if not (spec.sensitivity or spec.success or spec.compare or plan.labels):
        return []
    con = open_sweep(directory)
    written: list[Path] = []
    if spec.sensitivity is not None:
        first, second = sobol_indices(con, plan, spec.sensitivity.outputs)
        t = Table(title="Sobol indices (first order S1, total ST; +- 95 % bootstrap)",
                  header_style="bold")
        for c in ("output", "axis", "S1", "+-", "ST", "+-"):
            t.add_column(c, justify="left" if c in ("output", "axis") else "right")
        for ix in first:
            t.add_row(ix.output, ix.axis, _fmt(ix.S1), _fmt(ix.S1_conf), _fmt(ix.ST),
                      _fmt(ix.ST_conf))
        console.print(t)
        written.append(write_result_csv(directory, "sensitivity.csv", [i.row() for i in first]))
        if second:
            written.append(write_result_csv(directory, "sensitivity_second_order.csv", second))
    if spec.success is not None:
        s = spec.success
        rows = success_by_point(con, plan, s)
        written.append(write_result_csv(directory, "tipping.csv", rows))
        crit = (f"{s.metric} >= {s.at_least:g}" if s.at_least is not None
                else f"{s.metric} <= {s.at_most:g}")
        ok = sum(1 for r in rows if r["success"])
        console.print(f"success: {crit} in at least {s.share_of_runs:.0%} of runs"
                      + (f" ({s.description})" if s.description else "")
                      + f": met at {ok} of {len(rows)} points", highlight=False)
        _print_map(plan, rows, console)
        crossings = contour(plan, rows, s.share_of_runs)
        if crossings:
            written.append(write_result_csv(directory, "contour.csv", [
                {"axis": c.axis, **{f"at {k}": v for k, v in c.at.items()}, "low": c.low,
                 "high": c.high, "estimate": c.estimate,
                 "fails": "above" if c.fails_above else "below"} for c in crossings]))
            console.print("failure contour (where success flips):", highlight=False)
            for c in crossings:
                at = ", ".join(f"{k}={_fmt(v)}" for k, v in c.at.items())
                est = f" (~{_fmt(c.estimate)})" if c.estimate is not None else ""
                side = "above" if c.fails_above else "below"
                console.print(f"  {c.axis} between {_fmt(c.low)} and {_fmt(c.high)}{est}"
                              f"{' at ' + at if at else ''}: fails {side}", highlight=False)
    axis, baseline = None, None
    if spec.compare is not None:
        axis, baseline = spec.compare.axis, spec.compare.baseline
        metrics = spec.compare.metrics
    elif plan.labels:
        axis, baseline = "arm", plan.labels["arm"][0]
        metrics = plan.metrics
    if axis is not None:
        diffs = paired_differences(con, axis, baseline, metrics, confidence)
        console.print(_compare_table(diffs, confidence))
        written.append(write_result_csv(directory, "compare.csv", [d.row() for d in diffs]))
    return written


def _print_map(plan: SweepPlan, rows: list[dict[str, Any]], console: Console) -> None:
    """A grid of two axes: share of successful runs per point, failures marked."""
    axes = [a.path for a in plan.spec.axes]
    if plan.spec.design != "grid" or len(axes) != 2:
        return
    ya, xa = axes
    xs = list(dict.fromkeys(r[xa] for r in rows))
    ys = list(dict.fromkeys(r[ya] for r in rows))
    cell = {(r[ya], r[xa]): r for r in rows}
    t = Table(title="share of runs meeting the threshold (x: fails)", header_style="bold")
    t.add_column(f"{ya} \\ {xa}")
    for x in xs:
        t.add_column(_fmt(x), justify="right")
    for y in ys:
        out = []
        for x in xs:
            r = cell.get((y, x))
            if r is None or r["share"] is None:
                out.append("-")
            else:
                out.append(f"{r['share']:.0%}" + ("" if r["success"] else " x"))
        t.add_row(_fmt(y), *out)
    console.print(t)


# ---------------------------------------------------------------------------------- command
def run_plan(plan: SweepPlan, out: Path, *, resume: bool, retry_failed: bool, overwrite: bool,
             processes: int | None, workers: int | None, scheduler: str | None,
             spec_text: str | None = None) -> SweepSummary:
    """Run a plan with the CLI's backend options, progress and summary; analyse it when
    complete. Exits with code 1 (after writing everything) if points failed."""
    backend = make_backend(processes=processes, workers=workers, scheduler=scheduler)
    err = Console(stderr=True)
    with SweepProgress(err) as progress:
        summary = run_sweep(plan, out, backend, resume=resume, retry_failed=retry_failed,
                            overwrite=overwrite, reporter=progress, spec_text=spec_text)
    console = Console()
    rate = summary.run_days / summary.wall_s if summary.wall_s > 0 else 0.0
    console.print(
        f"{summary.points} points: {summary.ok} ok, {summary.failed} failed "
        f"({summary.ran} run now, {summary.skipped} done before) in {summary.wall_s:.1f} s "
        f"on {backend.name} ({rate:,.1f} simulated run-days/s)", highlight=False)
    console.print(f"sweep directory: [bold]{summary.directory}[/]", soft_wrap=True)
    if summary.complete:
        analyse(plan, summary.directory, console)
    if summary.failed:
        first = summary.failures[0] if summary.failures else None
        hint = f" (e.g. point {first.point}: {first.error})" if first else ""
        typer.echo(f"error: {summary.failed} of {summary.points} points failed{hint}; see "
                   f"dtaosim query {summary.directory} \"select point, seed, error from points "
                   "where status = 'failed'\"; redo them with --resume --retry-failed",
                   err=True)
        raise typer.Exit(1)
    return summary


def sweep(
    spec: Annotated[Path, typer.Argument(
        help="Sweep spec (TOML), or a sweep directory to resume.")],
    out: Annotated[Path | None, typer.Option(
        help="Sweep directory (default: sweeps/<spec name>).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the sweep in --out: skip finished points.")] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="With --resume, redo the points that failed.")] = False,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace an earlier sweep in --out (only a sweep directory).")
    ] = False,
    processes: Annotated[int | None, typer.Option(
        help="Run points in N local worker processes.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Run points on a Dask LocalCluster of N worker processes.")] = None,
    scheduler: Annotated[str | None, typer.Option(
        help="Run points on the Dask cluster at this address (tcp://HOST:PORT).")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Check the spec and print its points; run nothing.")] = False,
) -> None:
    """Run a sweep: a base configuration, axes over any of its fields, a design (grid,
    random, lhs, sobol) and runs per point, into one Parquet dataset partitioned by point.

    Query it with `dtaosim query DIR "SQL"`; see docs/experiments.md.
    """
    if retry_failed and not resume:
        raise ConfigError("--retry-failed needs --resume")
    spec_text = None
    if spec.is_dir():
        if not resume:
            raise ConfigError(f"{spec} is a directory; to continue the sweep in it add --resume")
        if out is not None and out.resolve() != spec.resolve():
            raise ConfigError(f"--out {out} differs from the sweep directory {spec}")
        if not (spec / SPEC_FILE).is_file():
            raise ConfigError(f"{spec} is not a sweep directory (no {SPEC_FILE})")
        plan = plan_from_dir(spec)
        target = spec
    else:
        plan = load_plan(spec)
        spec_text = spec.read_text(encoding="utf-8")
        target = out if out is not None else Path("sweeps") / (plan.spec.name or spec.stem)
    if dry_run:
        _print_plan(plan, target)
        return
    run_plan(plan, target, resume=resume, retry_failed=retry_failed, overwrite=overwrite,
             processes=processes, workers=workers, scheduler=scheduler, spec_text=spec_text)


def _print_plan(plan: SweepPlan, target: Path, rows: int = 20) -> None:
    """The design (first ``rows`` points) and the sweep's size."""
    console = Console()
    t = Table(title=f"{len(plan.points)} points ({plan.spec.design} design)",
              header_style="bold")
    cols = list(plan.points[0]) if plan.points else []
    for c in cols:
        t.add_column(c, justify="right")
    for p in plan.points[:rows]:
        t.add_row(*(_fmt(p.get(c)) for c in cols))
    if len(plan.points) > rows:
        t.add_row(*(["..."] * len(cols)))
    console.print(t)
    cfgs = [plan.run_config(k) for k in range(len(plan.points))]
    runs = sum(c.runs for c in cfgs)
    run_days = sum(c.runs * c.days for c in cfgs)
    console.print(f"{runs:,} runs, {run_days:,.1f} simulated run-days; directory {target}",
                  highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``sweep`` command to ``app``."""
    app.command()(sweep)
