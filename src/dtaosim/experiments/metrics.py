"""Per-run outcomes of a sweep, as SQL views over its dataset.

:func:`open_sweep` opens a sweep directory in DuckDB (:func:`dtaosim.io.sweep_store.connect`)
and adds the view ``runs``: one row per point and Monte Carlo run with the point's design
(seed, axis values), every column of ``network`` at the run's last record (``sum_price``,
``pools_tao``, ``subnets``, ... and the agents' columns when they are recorded, e.g.
``retained_top_decile``, ``tao_usd``), and these derived outcomes:

========================== ==============================================================
``subnets_registered_run`` subnets registered during the run
``subnets_dissolved_run``  subnets dissolved during the run
``emission_hhi``           Herfindahl index of the TAO emission the subnets alive at the end
                           received over the run (1 / effective number of subnets)
``emission_top10_share``   share of that emission received by the 10 largest receivers
``subnets_no_paid_miner``  subnets alive at the end whose miners were paid nothing over the
                           run (a subnet re-registered on a netuid starts from zero)
========================== ==============================================================

The last three need the ``subnets`` table (kept ``ends`` by default); ``runs`` needs
``network`` (any records). Sensitivity, tipping points and comparisons read ``runs``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dtaosim.io.sweep_store import connect, views

__all__ = ["KEY_METRICS", "columns", "open_sweep", "runs_view_sql"]

KEY_METRICS = (
    "retained_top_decile",
    "retained_top_quartile",
    "teams_active",
    "sum_price",
    "pools_tao",
    "emission_hhi",
    "emission_top10_share",
    "subnets_no_paid_miner",
    "subnets",
    "subnets_dissolved_run",
)
"""The outcomes ``dtaosim compare`` reports by default (those present)."""


def columns(con: Any, view: str) -> list[str]:
    """Column names of a view."""
    return [str(r[0]) for r in con.execute(f'describe "{view}"').fetchall()]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def runs_view_sql(con: Any) -> str | None:
    """SQL of the ``runs`` view for the views ``con`` has (None without ``network``)."""
    have = set(views(con))
    if "network" not in have:
        return None
    design_cols = columns(con, "design")
    net_cols = [c for c in columns(con, "network") if c not in design_cols]
    last_cols = ", ".join(f"l.{_q(c)}" for c in net_cols)
    parts = [
        "with last as (select * from network qualify row_number() over "
        "(partition by point, run order by block desc) = 1),",
        "first as (select point, run, subnets_registered as _sr0, subnets_dissolved as _sd0 "
        "from network qualify row_number() over (partition by point, run order by block) = 1)",
    ]
    derived = ["l.subnets_registered - f._sr0 as subnets_registered_run",
               "l.subnets_dissolved - f._sd0 as subnets_dissolved_run"]
    joins = ["join first f on f.point = l.point and f.run = l.run"]
    if "subnets" in have:
        parts[-1] += ","
        parts.append(
            "sub_last as (select point, run, netuid, registered_at, cum_tao_emission, "
            "cum_miner_paid from subnets qualify block = max(block) over "
            "(partition by point, run)),"
            "sub_first as (select point, run, netuid, registered_at, cum_tao_emission, "
            "cum_miner_paid from subnets qualify block = min(block) over "
            "(partition by point, run)),"
            "per_subnet as (select e.point, e.run, e.netuid, "
            "e.cum_tao_emission - coalesce(s.cum_tao_emission, 0) as emitted, "
            "e.cum_miner_paid - coalesce(s.cum_miner_paid, 0) as miner_paid "
            "from sub_last e left join sub_first s on s.point = e.point and s.run = e.run "
            "and s.netuid = e.netuid and s.registered_at = e.registered_at),"
            "ranked as (select *, row_number() over (partition by point, run "
            "order by emitted desc, netuid) as rk from per_subnet),"
            "conc as (select point, run, "
            "sum(emitted * emitted) / nullif(sum(emitted) * sum(emitted), 0) as emission_hhi, "
            "sum(emitted) filter (where rk <= 10) / nullif(sum(emitted), 0) "
            "as emission_top10_share, "
            "count(*) filter (where miner_paid <= 0) as subnets_no_paid_miner "
            "from ranked group by point, run)")
        derived += ["c.emission_hhi", "c.emission_top10_share",
                    "coalesce(c.subnets_no_paid_miner, 0) as subnets_no_paid_miner"]
        joins.append("left join conc c on c.point = l.point and c.run = l.run")
    return (" ".join(parts) + " select d.*, " + last_cols + ", " + ", ".join(derived)
            + " from last l join design d on d.point = l.point " + " ".join(joins)
            + " order by l.point, l.run")


def open_sweep(sweep_dir: str | Path) -> Any:
    """A DuckDB connection with the sweep's views (``design``, ``status``, ``points``,
    ``network``, ``subnets``, ``uids``, agent tables) and ``runs``.

    Raises
    ------
    DataError
        If the directory is not a sweep directory.
    """
    con = connect(sweep_dir)
    sql = runs_view_sql(con)
    if sql is not None:
        con.execute(f"create view runs as {sql}")
    return con
