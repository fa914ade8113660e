"""The local web dashboard, ``aftermath serve`` (``docs/dashboard.md``).

:mod:`aftermath.web.server` is the application (FastAPI), :mod:`aftermath.web.jobs` runs the
stochastic engines in the background, :mod:`aftermath.web.payload` turns a run into what the page
draws, and ``static/`` is the page itself (plain HTML, CSS and JavaScript, with uPlot vendored).
"""
