"""The HTML report (``report.html``): content, robustness, atomic writing, the CLI hooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from dtaosim.cli.app import app
from dtaosim.errors import DataError
from dtaosim.report import page as page_mod
from dtaosim.report.figures import MAX_POINTS, build_charts
from dtaosim.report.page import REPORT_FILE, render_report, write_report
from dtaosim.report.rundir import RunDir

from .rundirs import rich_run_dir, subnet_row, write_run_dir

runner = CliRunner()
CHAIN_CHARTS = {"shares", "prices", "bleed", "concentration", "pools", "pool_spread",
                "sum_prices", "injection", "pay_rank", "pay_time", "burns", "churn"}
AGENT_CHARTS = {"tao_usd", "teams_active", "retention", "entries_exits", "profit_time",
                "profit_hardware"}


def _plotly_free(html: str) -> str:
    """The page without the embedded Plotly library (the first <script> in <head>)."""
    start = html.index("<script type='text/javascript'>")
    end = html.index("</script>", start)
    return html[:start] + html[end:]


def test_report_of_a_full_run_has_every_chart_and_section(tmp_path: Path) -> None:
    d = rich_run_dir(tmp_path / "run", runs=3, days=10)
    result = write_report(d)
    assert result.path == d / REPORT_FILE and result.path.is_file()
    assert result.bytes == result.path.stat().st_size
    assert result.unavailable == [] and result.problems == []
    assert result.charts == len(CHAIN_CHARTS | AGENT_CHARTS)
    html = result.path.read_text(encoding="utf-8")
    for key in CHAIN_CHARTS | AGENT_CHARTS:
        assert f'id="chart-{key}"' in html, key
    body = _plotly_free(html)
    assert "median and p10-p90 over 3 runs" in body
    assert "10 days</b> (72,000 blocks, 11 records)" in body
    assert "Validation against the real network" in body
    assert "<td class='within'>" in body or "<td class='outside'>" in body
    for name in ("timeseries.parquet", "network.parquet", "uids.parquet", "teams.parquet",
                 "config.toml", "manifest.json"):
        assert f"<a href='{name}'>" in body, name
    assert "seed</th><td>1<" in body and "12.5 s" in body and "0.1.0" in body
    assert "Miner teams: miner teams active 100 to <b>90</b>" in body
    assert not list(d.glob(".report.html.tmp-*"))


def test_report_is_self_contained_and_offline(tmp_path: Path) -> None:
    html = write_report(rich_run_dir(tmp_path / "run", runs=2, days=5)).path.read_text()
    body = _plotly_free(html)
    # every reference to another resource is relative (data files), none to the network
    refs = re.findall(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]""", body)
    assert refs and all("://" not in r and not r.startswith("//") for r in refs), refs
    assert "cdn" not in body.lower()
    assert html.count("<script type='text/javascript'>") == 1  # Plotly embedded once
    assert "Plotly.newPlot" in html and "plotly.js v" in html[:2_000_000]


def test_single_run_has_lines_not_fans(tmp_path: Path) -> None:
    d = rich_run_dir(tmp_path / "run", runs=1, days=5)
    charts = {c.key: c for c in build_charts(RunDir(d))}
    fig = charts["pools"].figure
    assert fig is not None
    assert len(fig.data) == 1 and fig.data[0].fill is None
    assert "over 1 runs" not in fig.layout.title.text
    many = {c.key: c for c in build_charts(RunDir(rich_run_dir(tmp_path / "r3", runs=3,
                                                                days=5)))}
    fan = many["pools"].figure
    assert fan is not None and len(fan.data) == 3 and fan.data[1].fill == "tonexty"
    med = np.asarray(fan.data[2].y, dtype=float)
    lo, hi = np.asarray(fan.data[1].y, dtype=float), np.asarray(fan.data[0].y, dtype=float)
    assert np.all(lo <= med) and np.all(med <= hi)


def test_every_chart_has_title_axes_with_units_and_hover(tmp_path: Path) -> None:
    d = rich_run_dir(tmp_path / "run", runs=2, days=5)
    for c in build_charts(RunDir(d)):
        fig = c.figure
        assert fig is not None, c.key
        assert fig.layout.title.text and len(fig.layout.title.text) > 10, c.key
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text, c.key
        shown = [t for t in fig.data if t.hoverinfo != "skip"]
        assert shown, c.key
        for t in shown:
            assert t.type in ("histogram", "box") or t.hovertemplate, (c.key, t.name)


def test_long_series_are_thinned_for_display_only(tmp_path: Path) -> None:
    d = rich_run_dir(tmp_path / "run", runs=2, days=60, every=0.05, subnets=4, miners=2,
                     validators=1, agents=False)
    rd = RunDir(d)
    assert rd.blocks.size == 1201
    charts = build_charts(rd)
    for c in charts:
        assert c.figure is not None
        for t in c.figure.data:
            if t.x is not None and t.type in ("scatter", "bar"):
                assert len(t.x) <= MAX_POINTS, (c.key, t.name, len(t.x))
    pools = next(c for c in charts if c.key == "pools").figure
    assert pools is not None and pools.data[2].x[0] == 0 and pools.data[2].x[-1] == 60
    churn = next(c for c in charts if c.key == "churn").figure
    assert churn is not None
    assert sum(v for v in churn.data[0].y if v) == pytest.approx(1.0)  # binned, not dropped
    assert RunDir(d).files["timeseries.parquet"].rows == 2 * 1201 * 4  # data untouched


def test_report_of_an_interrupted_run_says_what_is_missing(tmp_path: Path) -> None:
    d = rich_run_dir(tmp_path / "run", runs=2, days=4, agents=False)
    (d / "uids.parquet").write_bytes(b"PAR1")  # stream cut off: no footer
    (d / "manifest.json").unlink()
    result = write_report(d)
    assert set(result.unavailable) == {"pay_rank", "pay_time"}
    html = _plotly_free(result.path.read_text())
    assert "This run directory is incomplete or damaged" in html
    assert "manifest.json is missing (the run did not finish)" in html
    assert "uids.parquet is unreadable" in html
    assert "Miner pay by UID rank: not available (uids.parquet is unreadable" in html
    assert "wall time</th><td>unknown" in html


def test_report_without_the_subnet_table_still_has_a_page(tmp_path: Path) -> None:
    d = rich_run_dir(tmp_path / "run", runs=2, days=4)
    (d / "timeseries.parquet").unlink()
    result = write_report(d)
    html = _plotly_free(result.path.read_text())
    assert "timeseries.parquet is missing" in html
    assert ("Emission share of the top subnets and the rest: not available (timeseries.parquet "
            "is missing)") in html
    assert {"shares", "prices", "pools", "burns"} <= set(result.unavailable)
    assert result.charts >= 4  # churn and the agent charts come from network.parquet
    assert "subnets registered" in html  # the headline keeps what network.parquet gives


def test_report_of_a_chain_only_run_without_uids(tmp_path: Path) -> None:
    d = write_run_dir(tmp_path / "run", [subnet_row(0, t, k, share=0.5 * (t > 0),
                                                    price=0.1 * k)
                                          for t in (0, 1, 2) for k in (1, 2)])
    result = write_report(d)
    assert set(result.unavailable) == {"pay_rank", "pay_time"}
    html = _plotly_free(result.path.read_text())
    assert "uids.parquet is missing (aggregate holders: --uids 0)" in html
    assert "Miner teams" not in html  # no agent section without the columns
    assert "warn" not in html.split("<main>")[1].split("<h2>")[0] or "manifest" in html


def test_a_failed_report_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = rich_run_dir(tmp_path / "run", runs=1, days=2, agents=False)
    before = sorted(p.name for p in d.iterdir())

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(page_mod.os, "fsync", disk_full)
    with pytest.raises(DataError, match=r"cannot write .*report.html: No space left on device"):
        write_report(d)
    monkeypatch.undo()
    assert sorted(p.name for p in d.iterdir()) == before  # no report, no temporary file


def test_cli_report_into_a_read_only_dir_is_one_error_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = rich_run_dir(tmp_path / "run", runs=1, days=2, agents=False)

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(page_mod.tempfile, "mkstemp", denied)  # as a read-only folder does
    result = runner.invoke(app, ["report", str(d)])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines == [f"error: cannot write {d / REPORT_FILE}: Permission denied"]
    assert not (d / REPORT_FILE).exists()


def test_an_old_report_is_replaced_whole(tmp_path: Path) -> None:
    d = rich_run_dir(tmp_path / "run", runs=1, days=2, agents=False)
    (d / REPORT_FILE).write_text("old")
    write_report(d)
    assert (d / REPORT_FILE).read_text().startswith("<!DOCTYPE html>")


# ------------------------------------------------------------------------------ CLI
def test_cli_report_writes_the_file(tmp_path: Path) -> None:
    d = rich_run_dir(tmp_path / "run", runs=2, days=3)
    result = runner.invoke(app, ["report", str(d)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"report: {d / REPORT_FILE}" in result.stdout and "18 charts" in result.stdout
    assert (d / REPORT_FILE).is_file()


def test_cli_report_bad_dir_is_one_error_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "nope")])
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines == [f"error: run directory not found: {tmp_path / 'nope'}"]


def test_report_after_run_turns_a_failure_into_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from dtaosim.cli import report as report_cli

    d = rich_run_dir(tmp_path / "run", runs=1, days=2, agents=False)

    def boom(run: object) -> object:
        raise ValueError("a bug in a chart")

    monkeypatch.setattr(report_cli, "write_report", boom)
    assert report_cli.report_after_run(d) is None
    err = capsys.readouterr().err
    assert "warning: report not written (ValueError: a bug in a chart)" in err
    assert f"dtaosim report {d}" in err
    assert not (d / REPORT_FILE).exists()


@pytest.fixture
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_writes_its_report_and_no_report_skips_it(in_tmp: Path) -> None:
    out = in_tmp / "with"
    result = runner.invoke(app, ["run", "--days", "0.05", "--uids", "8", "--validators", "2",
                                 "--record-every", "120", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / REPORT_FILE).is_file()
    assert f"report: {out / REPORT_FILE}" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert REPORT_FILE in manifest["files"]  # listed once written (--overwrite recognises it)
    out2 = in_tmp / "without"
    result = runner.invoke(app, ["run", "--days", "0.02", "--uids", "0", "--no-agents",
                                 "--no-report", "--out", str(out2)])
    assert result.exit_code == 0, result.output
    assert not (out2 / REPORT_FILE).exists() and "report:" not in result.stdout


def test_run_survives_a_failing_report(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dtaosim.cli import report as report_cli

    def boom(run: object) -> object:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(report_cli, "write_report", boom)
    out = in_tmp / "run"
    result = runner.invoke(app, ["run", "--days", "0.02", "--uids", "0", "--no-agents",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: report not written (RuntimeError: renderer exploded)" in result.stderr
    assert {"timeseries.parquet", "network.parquet", "manifest.json", "config.toml"} <= {
        p.name for p in out.iterdir()}
    assert not (out / REPORT_FILE).exists()


def test_render_report_is_deterministic_apart_from_nothing(tmp_path: Path) -> None:
    d = rich_run_dir(tmp_path / "run", runs=2, days=3)
    a, _, _ = render_report(d)
    b, _, _ = render_report(d)
    assert a == b
    assert page_mod.PLOTLY_CONFIG["displaylogo"] is False
