"""The Streamlit monitoring dashboard (``fractal dashboard``): a thin page over
:mod:`actors.reports.views` and :mod:`actors.reports.figures`."""
