"""The HTML report of a run directory: one self-contained, offline file, ``report.html``.

The page has a headline in words, the charts of :mod:`dtaosim.report.figures` by section, the
validation table of :mod:`dtaosim.report.validation`, and at the bottom the configuration,
mechanism, seed, version, wall time and a link to each data file. Plotly's JavaScript is
embedded once in the page (no CDN, no network request), so the file opens anywhere and can be
sent on its own. A run directory whose run was interrupted gets a report that says what is
missing. :func:`write_report` writes the file atomically into the run directory.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import plotly.offline
from numpy.typing import NDArray

from dtaosim.errors import DataError
from dtaosim.io.rundir import CONFIG_FILE, MANIFEST_FILE, REPORT_FILE, add_to_manifest
from dtaosim.report import metrics as m
from dtaosim.report.figures import MAX_POINTS, Chart, build_charts
from dtaosim.report.rundir import RunDir
from dtaosim.report.validation import Validation, validate

__all__ = ["REPORT_FILE", "ReportResult", "render_report", "write_report"]

PLOTLY_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "responsive": True,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;
background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 8px;border-bottom:1px solid #ddd;
padding-bottom:4px}.sub{color:#666;margin:0 0 18px}
.headline{font-size:15px;line-height:1.55;background:#f3f6fb;border-left:4px solid #1f77b4;
padding:10px 16px;margin:12px 0}.headline p{margin:6px 0}
.warn{background:#fff6e0;border-left:4px solid #e3a008;padding:8px 16px;margin:12px 0}
.chart{margin:10px 0 18px;border:1px solid #eee;border-radius:4px;padding:4px}
.missing{color:#777;font-style:italic;border:1px dashed #ccc;padding:14px;margin:10px 0}
table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{border-bottom:1px solid #e5e5e5;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#fafafa}td.num{text-align:right;white-space:nowrap}
.within{color:#16803c;font-weight:600}.outside{color:#c0392b;font-weight:600}
.na{color:#888}footer{margin-top:36px;font-size:13px;color:#444}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:11.5px;max-height:420px}
details{margin:6px 0}.note{color:#666;font-size:12px}
"""


@dataclass(frozen=True)
class ReportResult:
    """What :func:`write_report` did: the file, its size in bytes, the time taken, the number
    of charts drawn, the keys of those not available, the run directory's problems and the keys
    of the key charts (exported by ``--png``)."""

    path: Path
    bytes: int
    seconds: float
    charts: int
    unavailable: list[str]
    problems: list[str]
    key_charts: list[str]


# ------------------------------------------------------------------------------ formatting
def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _num(x: float, kind: str = "g") -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    if kind == "pct":
        return f"{x:.1%}"
    if kind == "int":
        return f"{x:,.0f}"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:,.1f}"
    return f"{x:.3g}"


def _size(n: int) -> str:
    if n < 1_000_000:
        return f"{n / 1e3:,.1f} kB"
    return f"{n / 1e6:,.2f} MB"


def _spread_text(values: NDArray[np.float64], kind: str = "g") -> str:
    """``median`` or ``median (p10-p90 a-b)`` over runs."""
    v = np.asarray(values, dtype=np.float64)
    med, p10, p90 = m.spread(v)
    text = _num(float(med), kind)
    if np.sum(np.isfinite(v)) > 1 and float(p10) != float(p90):
        text += f" (p10-p90 {_num(float(p10), kind)} to {_num(float(p90), kind)})"
    return text


def _med(values: NDArray[np.float64]) -> float:
    return float(m.spread(values)[0])


# ------------------------------------------------------------------------------ sections
def _headline(rd: RunDir, v: Validation | None) -> str:
    runs = rd.runs.size
    mech = rd.mechanism
    date = ""
    if rd.manifest and isinstance(rd.manifest.get("mechanism"), dict):
        date = str(rd.manifest["mechanism"].get("date", ""))
    blocks = int(rd.blocks[-1] - rd.blocks[0]) if rd.blocks.size else 0
    of = f"median of {runs} runs, p10-p90 in brackets" if runs > 1 else "one run"
    lines = [f"<b>{rd.horizon_days:,.4g} days</b> ({blocks:,} blocks, {rd.blocks.size} records) "
             f"under the <b>{_e(mech)}</b> rules{f' (in force from {_e(date)})' if date else ''}"
             f", {runs} Monte Carlo run{'s' if runs != 1 else ''}, seed "
             f"{_e(rd.setting('seed', '?'))}. Figures are the {of}."]
    parts: list[str] = []
    missing: list[str] = []

    def emission() -> str:
        minted = rd.network_array("minted_tao")
        emitted = minted[:, -1] - minted[:, 0]
        inj = m.injection(rd)
        injected = inj.tao_in_per_block_run * float(rd.blocks[-1] - rd.blocks[0])
        bought = np.nansum(inj.chain_buy_per_block * np.diff(rd.blocks), axis=1)
        return (f"<b>{_spread_text(emitted, 'int')} TAO</b> emitted; "
                f"<b>{_spread_text(injected, 'int')} TAO</b> "
                f"({_num(_med(inj.fraction), 'pct')}) were injected into subnet pools as tao_in "
                f"and {_num(_med(bought), 'int')} TAO bought alpha for the protocol (chain buys)")

    def prices() -> str:
        s = m.sum_of_prices(rd)
        return (f"the sum of alpha prices went from <b>{_num(_med(s.start))}</b> to "
                f"<b>{_spread_text(s.end)}</b> TAO")

    def churn() -> str:
        c = m.churn(rd)
        return (f"<b>{_spread_text(c.registered[:, -1], 'int')}</b> subnets registered and "
                f"<b>{_spread_text(c.dissolved[:, -1], 'int')}</b> dissolved")

    for part in (emission, prices, churn):
        try:
            parts.append(part())
        except DataError as e:
            missing.append(str(e))
    if missing:
        parts.append(f"(not available: {_e('; '.join(dict.fromkeys(missing)))})")
    if parts:
        lines.append("; ".join(parts) + ".")
    try:
        top = m.top_subnets(rd, 5)
        if top.netuids:
            shares = ", ".join(f"SN{k} {_num(_med(top.share[:, -1, i]), 'pct')}"
                               for i, k in enumerate(top.netuids))
            conc = m.concentration(rd)
            lines.append(f"Largest subnets by emission share at the end: {shares}; the top 10 "
                         f"take {_spread_text(conc.top10[:, -1], 'pct')}, Gini "
                         f"{_spread_text(conc.gini[:, -1])}.")
        b = m.price_bleed(rd)
        lines.append(f"Alpha prices vs TAO over the run: median change "
                     f"{_spread_text(b.median)} (log), "
                     f"{_num(_med(b.share_falling), 'pct')} of subnets fell.")
    except DataError:
        pass
    try:
        pay = m.payout_shape(rd)
    except DataError:
        pay = None
    if pay is not None:
        lines.append(f"Miners: in the median subnet {_num(_med(pay.zero_share[:, -1]), 'pct')} "
                     f"of miner UIDs earn nothing at the end; the best-paid UID takes "
                     f"{_num(_med(pay.top1[:, -1]), 'pct')} of miner pay and "
                     f"{_num(_med(pay.n50[:, -1]), 'int')} UID(s) take half of it.")
    a = m.agents(rd)
    if a is not None:
        lines.append(_agents_headline(rd, a))
    if v is not None:
        c = v.counts
        lines.append(f"Validation against the real network: <b>{c['within']}</b> metrics within "
                     f"the real band, <b>{c['outside']}</b> outside, {c['n/a']} not applicable "
                     "(table below).")
    return "<div class='headline'>" + "".join(f"<p>{ln}</p>" for ln in lines) + "</div>"


def _agents_headline(rd: RunDir, a: m.Agents) -> str:
    s = a.series
    bits = []
    if "teams_active" in s:
        bits.append(f"miner teams active {_num(_med(s['teams_active'][:, 0]), 'int')} to "
                    f"<b>{_spread_text(s['teams_active'][:, -1], 'int')}</b>")
    tiers = [(c, n) for c, n in (("retained_top_decile", "top decile"),
                                 ("retained_top_quartile", "top quartile"),
                                 ("retained_rest", "the rest")) if c in s]
    if tiers:
        bits.append("talent retained " + ", ".join(
            f"{n} {_num(_med(s[c][:, -1]), 'pct')}" for c, n in tiers))
    exits = [(r, a.total(f"exits_{r}")) for r in m.EXIT_REASONS if f"exits_{r}" in s]
    if exits:
        bits.append("exits by reason: " + ", ".join(
            f"{r.replace('_', ' ')} {_num(_med(t), 'int')}" for r, t in exits))
    if "entries" in s:
        bits.append(f"entries {_num(_med(a.total('entries')), 'int')}")
    if "miner_profit_usd_p50" in s:
        p50 = _spread_text(s["miner_profit_usd_p50"][:, -1])
        bits.append(f"median miner profit at the end {p50} USD per team-day")
    if "tao_usd" in s:
        bits.append(f"TAO/USD {_num(_med(s['tao_usd'][:, 0]))} to "
                    f"{_spread_text(s['tao_usd'][:, -1])}")
    return "Miner teams: " + "; ".join(bits) + "." if bits else ""


def _problems(rd: RunDir) -> str:
    if not rd.problems:
        return ""
    items = "".join(f"<li>{_e(p)}</li>" for p in rd.problems)
    return ("<div class='warn'><b>This run directory is incomplete or damaged</b>; the report "
            f"shows what could be read.<ul>{items}</ul></div>")


def _chart_html(c: Chart) -> str:
    if c.figure is None:
        return (f"<div class='missing' id='missing-{_e(c.key)}'>{_e(c.title)}: not available "
                f"({_e(c.missing)})</div>")
    div = c.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{c.key}",
                           config=PLOTLY_CONFIG, default_width="100%",
                           default_height=f"{c.figure.layout.height or 380}px")
    return f"<div class='chart' data-chart='{_e(c.key)}'>{div}</div>"


def _validation_html(v: Validation | None, error: str | None) -> str:
    out = ["<h2 id='validation'>Validation against the real network</h2>"]
    if v is None:
        out.append(f"<div class='missing'>Validation not available ({_e(error)})</div>")
        return "".join(out)
    out.append("<p class='note'>Per metric: the median over runs and the p10-p90 band over runs "
               "of the simulated value, the real value and its band, the real horizon compared "
               "with; <i>within</i> when the bands overlap. How each is computed: "
               "docs/validation.md of dtaosim.</p>")
    out.append("<table><thead><tr><th>metric</th><th>unit</th><th>simulated median "
               "[p10, p90]</th><th>real [band]</th><th>horizon</th><th>verdict</th>"
               "<th>note</th></tr></thead><tbody>")
    for c in v.checks:
        sim = "-" if c.sim_median is None else _num(c.sim_median)
        if c.sim_p10 is not None and c.sim_p90 is not None and c.runs > 1:
            sim += f" [{_num(c.sim_p10)}, {_num(c.sim_p90)}]"
        real = "" if c.real_value is None else _num(c.real_value)
        if c.real_low is not None or c.real_high is not None:
            real += f" [{_num(c.real_low)}, {_num(c.real_high)}]"  # type: ignore[arg-type]
        cls = {"within": "within", "outside": "outside"}.get(c.verdict, "na")
        label = f"{c.ref} {c.label}" if c.ref else c.label
        horizon = f"{c.real_horizon_days} d" if c.real_horizon_days > 0 else "level"
        out.append(f"<tr><td>{_e(label)}</td><td>{_e(c.unit)}</td><td class='num'>{_e(sim)}</td>"
                   f"<td class='num'>{_e(real.strip() or '-')}</td><td>{horizon}</td>"
                   f"<td class='{cls}'>{_e(c.verdict)}</td><td class='note'>{_e(c.note)}</td>"
                   "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _footer(rd: RunDir) -> str:
    man = rd.manifest or {}
    mech = man.get("mechanism") if isinstance(man.get("mechanism"), dict) else {}
    rows = [
        ("mechanism", f"{rd.mechanism}" + (f" ({mech.get('date')})" if mech.get("date") else "")),
        ("rules", ", ".join(f"{k}={v}" for k, v in (mech.get("rules") or {}).items()) or "-"),
        ("seed", rd.setting("seed", "-")),
        ("runs", rd.setting("runs", rd.runs.size)),
        ("days", rd.setting("days", f"{rd.horizon_days:g}")),
        ("UIDs per subnet", rd.setting("uids", "-")),
        ("dtaosim version", man.get("dtaosim_version", "unknown (no manifest)")),
        ("wall time", f"{man['wall_time_s']:,.1f} s" if "wall_time_s" in man else "unknown"),
        ("created (UTC)", man.get("created_utc", "-")),
        ("run directory", str(rd.path)),
    ]
    out = ["<footer><h2>Run</h2><table>"]
    out += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows]
    out.append("</table><h2>Data files</h2><ul>")
    for p in sorted(rd.path.iterdir()):
        if not p.is_file() or p.name.startswith(".") or p.name == REPORT_FILE:
            continue
        size = p.stat().st_size
        state = ""
        f = rd.files.get(p.name)
        if f is not None:
            state = f" - {f.rows:,} rows" if f.ok and f.rows is not None else f" - {f.problem}"
        out.append(f"<li><a href='{_e(p.name)}'>{_e(p.name)}</a> ({_size(size)}{state})</li>")
    out.append("</ul>")
    cfg = rd.path / CONFIG_FILE
    if cfg.is_file():
        out.append(f"<details><summary>{CONFIG_FILE} (resolved configuration)</summary><pre>"
                   f"{_e(cfg.read_text(encoding='utf-8', errors='replace'))}</pre></details>")
    if rd.manifest is not None:
        out.append(f"<details><summary>{MANIFEST_FILE}</summary><pre>"
                   f"{_e(json.dumps(rd.manifest, indent=2, default=str))}</pre></details>")
    out.append(f"<p class='note'>Charts show at most {MAX_POINTS} points per line (thinned for "
               "display; the data files hold every record). Made by dtaosim from the files "
               "above only; it works offline.</p></footer>")
    return "".join(out)


# ------------------------------------------------------------------------------ page
def render_report(run: RunDir | str | Path) -> tuple[str, list[Chart], RunDir]:
    """The report page of a run directory as an HTML string, with its charts.

    Raises
    ------
    DataError
        If ``run`` is not a readable run directory.
    """
    rd = m.open_run(run)
    charts = build_charts(rd)
    v: Validation | None = None
    verror = None
    try:
        v = validate(rd)
    except DataError as e:
        verror = str(e)
    title = f"dtaosim report: {rd.path.name}"
    body = [f"<main><h1>{_e(title)}</h1><p class='sub'>{_e(rd.mechanism)} - "
            f"{rd.horizon_days:,.4g} days - {rd.runs.size} run(s)</p>", _problems(rd),
            _headline(rd, v)]
    section = None
    for c in charts:
        if c.section != section:
            section = c.section
            body.append(f"<h2>{_e(section)}</h2>")
        body.append(_chart_html(c))
    body.append(_validation_html(v, verror))
    body.append(_footer(rd))
    body.append("</main>")
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(title)}</title><style>{_CSS}</style>"
            f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script>"
            "</head><body>" + "".join(body) + "</body></html>\n")
    return page, charts, rd


def write_report(run: RunDir | str | Path) -> ReportResult:
    """Write ``report.html`` into the run directory, atomically (temporary file + rename).

    Raises
    ------
    DataError
        If ``run`` is not a readable run directory or the report cannot be written there (the
        previous ``report.html``, if any, is left as it was, and no temporary file remains).
    """
    t0 = time.perf_counter()
    page, charts, rd = render_report(run)
    data = page.encode("utf-8")
    target = rd.path / REPORT_FILE
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{REPORT_FILE}.tmp-", dir=rd.path)
    except OSError as e:
        raise DataError(f"cannot write {target}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        add_to_manifest(rd.path, REPORT_FILE)  # the directory stays recognisably dtaosim's
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise DataError(f"cannot write {target}: {e.strerror or e}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ReportResult(target, len(data), time.perf_counter() - t0,
                        sum(c.figure is not None for c in charts),
                        [c.key for c in charts if c.figure is None], list(rd.problems),
                        [c.key for c in charts if c.figure is not None and c.key_chart])
