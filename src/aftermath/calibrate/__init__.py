"""Calibration: fit scenario parameters to observed counts (``aftermath calibrate``, docs/calibration.md).

>>> from aftermath.calibrate import calibrate, boarding_school_csv
>>> res = calibrate("boarding-school", boarding_school_csv(),
...                 {"pathogen.beta": (0.5, 4), "defence.decay": (0.1, 1.5)}, likelihood="normal")
>>> res.best, res.posterior, res.summary(), res.plot("fit.png")
"""

from aftermath.calibrate.data import MEASURES, read_data
from aftermath.calibrate.fit import CalibrationResult, boarding_school_csv, calibrate
from aftermath.calibrate.likelihood import LIKELIHOODS
from aftermath.calibrate.priors import CalibrationError, Prior, parse_prior

__all__ = ["LIKELIHOODS", "MEASURES", "CalibrationError", "CalibrationResult", "Prior", "boarding_school_csv",
           "calibrate", "parse_prior", "read_data"]
