"""The report layer: reads run directories (never simulation objects) and turns them into metrics,
a validation against real-world figures and a self-contained HTML report.

* :mod:`~dtaosim.report.rundir` - a run directory opened for reading (:class:`RunDir`);
* :mod:`~dtaosim.report.metrics` - metrics per Monte Carlo run (price bleed, volatility,
  concentration, churn, pools, injection, burns, payout shape, agents);
* :mod:`~dtaosim.report.validation` - the real-world targets and :func:`validate`;
* :mod:`~dtaosim.report.figures` - the report's Plotly charts (fans over runs, thinned series);
* :mod:`~dtaosim.report.page` - ``report.html``: headline, charts, validation, run details;
* :mod:`~dtaosim.report.png` - static images of the key charts through a headless Chromium.
"""
