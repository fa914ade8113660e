"""The results store: schema, all-or-nothing writes, no duplicates, SQL quantiles equal to numpy's."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import aftermath as am
from aftermath.store import Store, StoreError, record_from_result
from aftermath.store.records import RunRecord
from aftermath.store.schema import SUMMARY_COLUMNS

DOC = Path(__file__).resolve().parents[1] / "docs" / "store.md"
TABLES = ("batches", "runs", "series", "flows", "society", "strain_series", "chronicle", "strains", "ledger",
          "summaries", "meta")


@pytest.fixture(scope="module")
def result() -> am.Result:
    return am.simulate(am.load("hyosan"), engine="ode", days=20)


def meta(replicate: int, point: int = 0, batch: str = "b1") -> dict[str, object]:
    return {"batch_id": batch, "point": point, "variant": f"v{point}", "overrides": "{}", "replicate": replicate,
            "seed": 1000 + replicate, "scenario": "Hyosan", "scenario_hash": "h", "engine": "ode"}


def add_batch(st: Store, batch: str = "b1", points: int = 1) -> None:
    st.add_batch({"batch_id": batch, "kind": "ensemble", "scenario": "Hyosan", "scenario_hash": "h", "engine": "ode",
                  "master_seed": 0, "runs": 10, "days": 20, "points": points, "spec": "{}"})


def counts(st: Store) -> dict[str, int]:
    return {t: int(st.query(f"SELECT count(*) AS n FROM {t}")["n"][0]) for t in TABLES if t not in ("meta", "batches")}


def test_schema_has_every_table_and_is_documented(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as st:
        assert set(TABLES) <= set(st.tables())
        doc = DOC.read_text(encoding="utf-8")
        for table in TABLES:
            m = re.search(rf"^### `{table}`\n(.*?)(?=^### |\Z)", doc, flags=re.S | re.M)
            assert m, f"docs/store.md has no section for {table}"
            for col in st.query(f"DESCRIBE {table}")["column_name"]:
                assert f"`{col}`" in m.group(1), f"{table}.{col} is not documented"
        assert [c for c, _ in SUMMARY_COLUMNS] == list(st.query("DESCRIBE summaries")["column_name"])[1:-1]


def test_a_run_round_trips(tmp_path: Path, result: am.Result) -> None:
    with Store(tmp_path / "s.duckdb") as st:
        add_batch(st)
        (rid,) = st.write([record_from_result(result, meta(0))])
        assert rid is not None
        s = st.series(rid)
        assert len(s) == result.counts.size
        z = s[s.state == "Z"].groupby("day")["count"].sum().to_numpy()
        np.testing.assert_allclose(z, result.total("Z"), rtol=1e-12)  # sums in another order
        f = st.query("SELECT day, zone, flow, count FROM flows WHERE run_id = ?", [rid])
        assert f["count"].sum() == pytest.approx(result.flows.sum())
        assert (f["count"] != 0).all()  # flows are stored sparse
        summ = st.summaries("b1")
        assert summ["survivors"][0] == pytest.approx(result.summary()["survivors"])
        runs = st.runs("b1")
        assert runs["status"][0] == "done" and runs["numba_version"][0] and runs["store_s"][0] >= 0
        assert len(st.query("SELECT * FROM chronicle")) == len(result.chronicle)


def test_a_failed_write_leaves_nothing(tmp_path: Path, result: am.Result, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as st:
        add_batch(st)
        st.write([record_from_result(result, meta(0))])
        before = counts(st)
        original = Store._insert

        def failing(self: Store, name: str, table: pa.Table) -> None:
            if name == "chronicle":  # after series, flows, society and strain_series went in
                raise RuntimeError("disk on fire")
            original(self, name, table)

        monkeypatch.setattr(Store, "_insert", failing)
        with pytest.raises(RuntimeError, match="disk on fire"):
            st.write([record_from_result(result, meta(1)), record_from_result(result, meta(2))])
        assert counts(st) == before
        monkeypatch.setattr(Store, "_insert", original)
        st.write([record_from_result(result, meta(1))])
    with Store(path, read_only=True) as st:  # and what was committed survives a reopen
        assert sorted(st.done("b1")) == [(0, 0), (0, 1)]
        assert counts(st)["series"] == 2 * result.counts.size


def test_a_run_is_stored_once(tmp_path: Path, result: am.Result) -> None:
    with Store(tmp_path / "s.duckdb") as st:
        add_batch(st)
        rec = record_from_result(result, meta(0))
        assert st.write([rec])[0] is not None
        assert st.write([rec, rec]) == [None, None]
        assert counts(st)["runs"] == 1 and counts(st)["series"] == result.counts.size
        with pytest.raises(Exception, match=r"(?i)constraint"):  # the unique key guards direct inserts too
            st.con.execute("INSERT INTO runs (run_id, batch_id, point, variant, overrides, replicate, seed, scenario,"
                           " scenario_hash, engine, days, status) SELECT 999, batch_id, point, variant, overrides,"
                           " replicate, seed, scenario, scenario_hash, engine, days, status FROM runs")


def test_a_failed_run_is_replaced_when_it_succeeds(tmp_path: Path, result: am.Result) -> None:
    with Store(tmp_path / "s.duckdb") as st:
        add_batch(st)
        st.write([RunRecord({**meta(0), "status": "failed", "error": "boom", "days": 20})])
        assert st.done("b1") == set()
        assert st.runs("b1", status="failed")["error"][0] == "boom"
        st.write([record_from_result(result, meta(0))])
        runs = st.runs("b1")
        assert list(runs["status"]) == ["done"]


def synthetic(rng: np.random.Generator, replicate: int, point: int, days: int = 12) -> RunRecord:
    zones, states = ["a", "b"], ["S", "Z"]
    n = (days + 1) * len(zones) * len(states)
    series = pa.table({
        "day": np.repeat(np.arange(days + 1, dtype=np.int32), 4),
        "zone": np.tile(np.repeat(zones, 2), days + 1),
        "state": np.tile(states, 2 * (days + 1)),
        "count": rng.gamma(2.0, 10.0 + point, n),
    })
    summary = {"survivors": float(rng.normal(100, 10)), "deaths": float(rng.poisson(5))}
    from aftermath.store.records import summary_row

    return RunRecord({**meta(replicate, point), "status": "done", "days": days},
                     {"series": series, "summaries": summary_row(summary)}, summary)


def test_quantiles_in_sql_equal_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    q = (0.05, 0.25, 0.5, 0.75, 0.95)
    with Store(tmp_path / "s.duckdb") as st:
        add_batch(st, points=2)
        recs = [synthetic(rng, r, p) for p in range(2) for r in range(37)]
        st.write(recs)
        got = st.quantiles("b1", state="Z", q=q)
        got_a = st.quantiles("b1", state="Z", zone="a", q=q)
        sq = st.summary_quantiles("b1", ["survivors", "deaths"], q=q)
        for p in range(2):
            mine = [r for r in recs if r.meta["point"] == p]
            frames = [r.tables["series"].to_pandas() for r in mine]
            z = np.array([f[f.state == "Z"].groupby("day")["count"].sum().to_numpy() for f in frames])
            za = np.array([f[(f.state == "Z") & (f.zone == "a")]["count"].to_numpy() for f in frames])
            for table, values in ((got, z), (got_a, za)):
                sub = table[table.point == p]
                assert list(sub["day"]) == list(range(13)) and (sub["n"] == 37).all()
                expect = np.quantile(values, q, axis=0)
                for i, x in enumerate(q):
                    np.testing.assert_allclose(sub[f"q{x:g}"].to_numpy(), expect[i], rtol=1e-12)
                np.testing.assert_allclose(sub["mean"].to_numpy(), values.mean(axis=0), rtol=1e-12)
            surv = np.array([r.summary["survivors"] for r in mine if r.summary])
            row = sq[(sq.point == p) & (sq.metric == "survivors")]
            np.testing.assert_allclose(row[[f"q{x:g}" for x in q]].to_numpy()[0], np.quantile(surv, q), rtol=1e-12)
        with pytest.raises(StoreError):
            st.quantiles("b1", q=(0.5, 2.0))
        with pytest.raises(StoreError, match="no batch"):
            st.quantiles("zzz")


def test_open_tables_take_new_columns(tmp_path: Path, result: am.Result) -> None:
    import pandas as pd

    with Store(tmp_path / "s.duckdb") as st:
        add_batch(st)
        for i, ledger in enumerate([pd.DataFrame({"policy": ["cull"], "culled": [3]}),
                                    pd.DataFrame({"policy": ["seal"], "sacrificed": [2.5]})]):
            rec = record_from_result(result, meta(i))
            rec.tables["ledger"] = pa.Table.from_pandas(ledger, preserve_index=False)
            st.write([rec])
        led = st.query("SELECT policy, culled, sacrificed FROM ledger ORDER BY run_id")
        assert list(led["policy"]) == ["cull", "seal"]
        assert led["culled"][0] == 3 and led["sacrificed"][1] == 2.5


def test_export_parquet_and_read_only(tmp_path: Path, result: am.Result) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as st:
        add_batch(st)
        st.write([record_from_result(result, meta(r)) for r in range(3)])
    with Store(path, read_only=True) as st:
        files = st.export_parquet(tmp_path / "pq")
    names = {f.stem for f in files}
    assert set(TABLES) <= names
    assert pq.read_table(tmp_path / "pq" / "series.parquet").num_rows == 3 * result.counts.size
    assert pq.read_table(tmp_path / "pq" / "runs.parquet").column("replicate").to_pylist() == [0, 1, 2]
    with pytest.raises(StoreError, match="no store"):
        Store(tmp_path / "missing.duckdb", read_only=True)
