"""Observed data: a CSV of ``day, zone, measure, value`` read, checked and mapped onto the model.

* ``day``: a whole number >= 0, the scenario's day (day 0 is the first simulated day). A count of a
  state "on day d" is the count at the end of day d; a count of events "on day d" (new infections,
  deaths) is what happened during day d, as everywhere in Aftermath (``docs/report.md``).
* ``zone``: a zone id of the scenario, or ``all`` (or empty, or the column left out) for the
  world's total.
* ``measure``: one of :data:`MEASURES`.
* ``value``: a number >= 0; an empty cell is a day not observed (partial data) and is dropped.

Lines starting with ``#`` are comments (the shipped data sets name their source there). A shipped
data set is named instead of a path: ``--data boarding-school`` (:data:`DATASETS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aftermath.calibrate.priors import CalibrationError
from aftermath.model.flows import DEATH_FLOWS, Flow
from aftermath.model.world import State
from aftermath.scenario.schema import Scenario

#: The largest data file read, checked before reading.
MAX_DATA_BYTES = 50 * 2**20
#: The most observations one calibration may hold.
MAX_ROWS = 200_000
#: The zone label of the world's total.
ALL = "all"


#: Data sets shipped with aftermath, by name: the file under ``aftermath/calibrate/data``.
DATASETS = {"boarding-school": "boarding_school_1978.csv"}


def dataset_path(name: str) -> Path:
    """The file of a shipped data set (:data:`DATASETS`)."""
    from importlib import resources

    return Path(str(resources.files("aftermath.calibrate") / "data" / DATASETS[name]))


@dataclass(frozen=True)
class Measure:
    """What the model says a measure is: a count of states (prevalence) or a sum of daily flows."""

    kind: str  # "prevalence" or "incidence"
    index: tuple[int, ...]  # states (prevalence) or flows (incidence)
    text: str

    @property
    def short(self) -> str:
        """The text up to its first parenthesis or colon (a plot's title)."""
        return self.text.split(" (")[0].split(":")[0]


def _states(*s: State) -> tuple[int, ...]:
    return tuple(int(x) for x in s)


def _flows(*f: Flow) -> tuple[int, ...]:
    return tuple(int(x) for x in f)


#: The measures a data file may name, and what each is in the model.
MEASURES: dict[str, Measure] = {
    "I": Measure("prevalence", _states(State.E, State.H, State.Z),
                 "infected at the day's end (E + H + Z: people ill then, not new cases): the I of the SIR limit, "
                 "where only Z is non-zero"),
    "infected": Measure("prevalence", _states(State.E, State.H, State.Z), "infected at the day's end (E + H + Z)"),
    "ferals": Measure("prevalence", _states(State.Z), "ferals at the day's end (Z): ferals seen"),
    "humans": Measure("prevalence", _states(State.S, State.E, State.H), "humans at the day's end (S + E + H)"),
    "S": Measure("prevalence", _states(State.S), "susceptible at the day's end"),
    "E": Measure("prevalence", _states(State.E), "latent carriers at the day's end"),
    "H": Measure("prevalence", _states(State.H), "hybrids at the day's end"),
    "Z": Measure("prevalence", _states(State.Z), "ferals at the day's end"),
    "D": Measure("prevalence", _states(State.D), "corpses at the day's end"),
    "R": Measure("prevalence", _states(State.R), "removed at the day's end (SIR's recovered)"),
    "infections": Measure("incidence", _flows(Flow.INFECTION), "new infections during the day"),
    "deaths": Measure("incidence", _flows(*DEATH_FLOWS), "deaths during the day (bites, natural, starved, "
                      "culled, swept hybrids)"),
    "turned": Measure("incidence", _flows(Flow.ONSET_FERAL, Flow.RELAPSE), "new ferals during the day"),
    "recoveries": Measure("incidence", _flows(Flow.DECAY), "ferals removed by decay during the day (SIR's "
                          "recoveries)"),
}


def read_data(source: str | Path | pd.DataFrame, scenario: Scenario | None = None) -> pd.DataFrame:
    """The observations as a frame ``day, zone, measure, value`` (sorted, missing values dropped).

    Raises :class:`CalibrationError` naming the column, the value and what was expected.
    """
    if isinstance(source, pd.DataFrame):
        raw = source.copy()
        where = "--data"
    else:
        if not str(source).strip():  # Path("") is "."
            raise CalibrationError(f"--data: got {str(source)!r}, expected a CSV file or a shipped data set "
                                   f"({', '.join(DATASETS)})")
        path = Path(source)
        where = f"--data {str(path)!r}"
        if not path.exists() and str(source) in DATASETS:
            path = dataset_path(str(source))
        if path.is_dir():
            raise CalibrationError(f"{where}: is a folder, expected a CSV file")
        if not path.exists():
            raise CalibrationError(f"{where}: no such file, expected a CSV file with columns day, zone, measure, "
                                   f"value, or a shipped data set ({', '.join(DATASETS)})")
        if path.stat().st_size > MAX_DATA_BYTES:
            raise CalibrationError(f"{where}: {path.stat().st_size:,} bytes, expected at most {MAX_DATA_BYTES:,}")
        try:
            raw = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False, skipinitialspace=True)
        except pd.errors.EmptyDataError:
            raise CalibrationError(f"{where}: empty, expected a CSV file with columns day, zone, measure, "
                                   "value") from None
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CalibrationError(f"{where}: not a readable CSV file ({first})") from None
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    for col in ("day", "measure", "value"):
        if col not in raw.columns:
            have = ", ".join(map(str, raw.columns)) or "none"
            raise CalibrationError(f"{where}: no column {col!r} (columns: {have}); expected columns day, zone, "
                                   "measure, value")
    extra = [c for c in raw.columns if c not in ("day", "zone", "measure", "value", "date", "note")]
    if extra:
        raise CalibrationError(f"{where}: unknown column {extra[0]!r}; expected day, zone, measure, value "
                               "(and optionally date, note)")
    if len(raw) > MAX_ROWS:
        raise CalibrationError(f"{where}: {len(raw):,} rows, expected at most {MAX_ROWS:,}")
    if "zone" not in raw.columns:
        raw["zone"] = ALL
    rows = []
    for i, d in enumerate(raw.to_dict(orient="records")):
        line = i + 2
        value_text = str(d["value"]).strip()
        if value_text in ("", "NA", "nan", "NaN"):
            continue  # not observed
        day = _number(d["day"], "day", line, where)
        if day != int(day) or day < 0:
            raise CalibrationError(f"{where}: column 'day', row {line}: {d['day']!r}, expected a whole number >= 0")
        value = _number(value_text, "value", line, where)
        if value < 0:
            raise CalibrationError(f"{where}: column 'value', row {line}: {value_text!r}, expected a number >= 0")
        measure = str(d["measure"]).strip()
        if measure not in MEASURES:
            raise CalibrationError(f"{where}: column 'measure', row {line}: {measure!r}, expected one of "
                                   f"{', '.join(MEASURES)}")
        zone = str(d["zone"]).strip() or ALL
        rows.append((int(day), zone, measure, float(value)))
    if not rows:
        raise CalibrationError(f"{where}: no observations (every row empty or missing), expected at least one value")
    df = pd.DataFrame(rows, columns=["day", "zone", "measure", "value"])
    dup = df.duplicated(["day", "zone", "measure"])
    if dup.any():
        r = df[dup].iloc[0]
        raise CalibrationError(f"{where}: day {r['day']}, zone {r['zone']!r}, measure {r['measure']!r} appears twice; "
                               "expected one value per day, zone and measure")
    if scenario is not None:
        check_zones(df, scenario, where)
    return df.sort_values(["measure", "zone", "day"]).reset_index(drop=True)


def _number(text: object, col: str, line: int, where: str) -> float:
    try:
        v = float(str(text).strip())
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise CalibrationError(f"{where}: column {col!r}, row {line}: {text!r}, expected a finite number")
    return v


def check_zones(df: pd.DataFrame, scenario: Scenario, where: str = "--data") -> None:
    ids = [z.id for z in scenario.zones]
    for zone in pd.unique(df["zone"]):
        if zone != ALL and zone not in ids:
            raise CalibrationError(f"{where}: column 'zone': {zone!r}, expected 'all' or a zone of the scenario "
                                   f"({', '.join(ids)})")


Groups = tuple[tuple[str, str, np.ndarray], ...]


def observation_groups(data: pd.DataFrame) -> Groups:
    """The rows of each observed series of ``data``: ``(measure, zone, rows)``, in order of first
    appearance (for :func:`model_values`; a calibration computes them once, not at every trial)."""
    rows: dict[tuple[object, object], np.ndarray] = data.groupby(["measure", "zone"], sort=False).indices  # type: ignore[assignment]
    return tuple((str(m), str(z), np.asarray(idx)) for (m, z), idx in rows.items())


def model_values(counts: np.ndarray, flows: np.ndarray, zone_ids: tuple[str, ...], data: pd.DataFrame,
                 delay: int = 0, groups: Groups | None = None) -> np.ndarray:
    """The model's value of each observation (row of ``data``), before any reporting fraction.

    ``counts[time, zone, state]`` and ``flows[day, flow, zone]`` as in :class:`aftermath.result.Result`.
    With a reporting ``delay`` of k days, the value reported on day d is the model's on day d - k
    (before day 0: the count at the start, no events). ``groups``: :func:`observation_groups` of
    ``data`` (or of a frame with the same measures and zones, row for row), if known.
    """
    out = np.empty(len(data))
    days = data["day"].to_numpy() - int(delay)
    for measure, zone, idx in observation_groups(data) if groups is None else groups:
        m = MEASURES[measure]
        zsel = slice(None) if zone == ALL else [zone_ids.index(zone)]
        d = days[idx]
        if m.kind == "prevalence":
            series = counts[:, zsel, :][:, :, list(m.index)].sum(axis=(1, 2))  # time 0..T
            t = np.clip(d + 1, 0, len(series) - 1)
            out[idx] = series[t]
        else:
            series = flows[:, list(m.index), :][:, :, zsel].sum(axis=(1, 2))  # day 0..T-1
            ok = d >= 0
            vals = np.zeros(len(d))
            vals[ok] = series[np.minimum(d[ok], len(series) - 1)]
            out[idx] = vals
    return out


def horizon(data: pd.DataFrame, delay: int = 0) -> int:
    """The days to simulate so that every observation has its model value."""
    return max(1, int(data["day"].max()) - int(delay) + 1)
