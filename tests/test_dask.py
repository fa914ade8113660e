"""A small ensemble on a real Dask cluster (LocalCluster: 2 worker processes, 1 thread each)
stores exactly what the same ensemble stores when run in this process."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from aftermath.run import DaskExecutor, ensemble
from aftermath.store import Store

distributed = pytest.importorskip("dask.distributed")


def stochastic_engine() -> str:
    from aftermath.run.ensemble import check_engine

    try:
        check_engine("ssa")
        return "ssa"
    except ValueError:
        return "ode"


def stored(res: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    st: Store = res.store  # type: ignore[attr-defined]
    bid: str = res.batch_id  # type: ignore[attr-defined]
    summ = st.query("SELECT r.point, r.replicate, r.seed, s.* EXCLUDE (run_id) FROM summaries s JOIN runs r "
                    "USING (run_id) WHERE r.batch_id = ? ORDER BY r.point, r.replicate", [bid])
    series = st.query("SELECT r.point, r.replicate, s.day, s.zone, s.state, s.count FROM series s "
                      "JOIN runs r USING (run_id) WHERE r.batch_id = ? ORDER BY ALL", [bid])
    return summ, series


@pytest.mark.timeout(180)
def test_dask_local_cluster_matches_in_process() -> None:
    engine = stochastic_engine()
    scenario, days = ("sir", 30) if engine == "ssa" else ("hyosan", 20)
    small = {"zones.town.population": {"S": 990, "Z": 10}} if scenario == "sir" else {}
    variants = {"base": small, "other": {**small, "pathogen.beta": 0.4}}
    kw = {"runs": 5, "master_seed": 21, "engine": engine, "days": days, "variants": variants}
    with ensemble(scenario, **kw) as ref:
        expected = stored(ref)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        ex = DaskExecutor(cluster.scheduler_address)
        try:
            assert ex.workers == 2
            with ensemble(scenario, executor=ex, **kw) as res:
                assert (res.executor, res.stored, res.failed) == ("dask", 10, 0)
                got = stored(res)
        finally:
            ex.close()
    pd.testing.assert_frame_equal(got[0], expected[0])
    pd.testing.assert_frame_equal(got[1], expected[1])


@pytest.mark.timeout(180)
def test_cli_dask_flag_starts_and_stops_a_local_cluster(tmp_path: Path) -> None:
    import json

    import typer
    from typer.testing import CliRunner

    from aftermath.run.commands import register

    app = typer.Typer()
    register(app)
    store = str(tmp_path / "d.duckdb")
    r = CliRunner().invoke(app, ["ensemble", "sir", "--runs", "4", "--days", "10", "--engine", "ode",
                                 "--dask", "--workers", "2", "--store", store, "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert (report["executor"], report["stored"]) == ("dask", 4)
