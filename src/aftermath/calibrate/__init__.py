"""Calibration: fit scenario parameters to observed counts (``aftermath calibrate``, docs/calibration.md).

>>> from aftermath.calibrate import calibrate, boarding_school_csv
>>> res = calibrate("boarding-school", boarding_school_csv(),
...                 {"pathogen.beta": (0.5, 4), "defence.decay": (0.1, 1.5)}, likelihood="normal")
>>> res.best, res.posterior, res.summary(), res.plot("fit.png")

The names below are imported on first use (PEP 562), so that ``import aftermath.calibrate.commands``
(the command line starting) does not load the optimiser, the engines and SciPy.
"""

import typing as _typing

from aftermath import _lazy

if _typing.TYPE_CHECKING:
    from aftermath.calibrate.data import MEASURES, read_data
    from aftermath.calibrate.fit import CalibrationResult, boarding_school_csv, calibrate
    from aftermath.calibrate.likelihood import LIKELIHOODS
    from aftermath.calibrate.priors import CalibrationError, Prior, parse_prior

__all__ = ["LIKELIHOODS", "MEASURES", "CalibrationError", "CalibrationResult", "Prior", "boarding_school_csv",
           "calibrate", "parse_prior", "read_data"]

#: the module each public name lives in
_HOME = {"MEASURES": ".data", "read_data": ".data", "CalibrationResult": ".fit", "boarding_school_csv": ".fit",
         "calibrate": ".fit", "LIKELIHOODS": ".likelihood", "CalibrationError": ".priors", "Prior": ".priors",
         "parse_prior": ".priors"}

#: the submodules ``import aftermath.calibrate`` left as attributes when it imported its names eagerly:
#: on first use, what it imported then is imported (``aftermath.calibrate.likelihood`` works as it did)
_SUBMODULES = frozenset(("data", "fit", "likelihood", "mcmc", "priors", "problem"))


__getattr__, __dir__ = _lazy.attach(__name__, globals(), _HOME, _SUBMODULES)
