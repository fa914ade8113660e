"""Reports of a results store's batches (:mod:`aftermath.store`): ensemble, sweep or comparison.

Everything heavy is asked of DuckDB (quantiles over runs are computed in SQL), so a report of a
store of thousands of runs takes seconds: the report reads a few thousand aggregated rows, never
the runs themselves.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd

from aftermath.compare import comparison
from aftermath.record.vocabulary import Vocabulary, scenario_vocabulary, shows_deaths, state_label, sweep_metrics
from aftermath.report import ensemble as ens
from aftermath.report import html as H
from aftermath.report import plots

if TYPE_CHECKING:
    from aftermath.store.store import Store

#: Variant labels taken as the baseline of a comparison, in order of preference (else point 0).
BASELINE_LABELS = ("baseline", "base", "none", "status quo")


def quantiles_sql(store: Store, batch_id: str, point: int | None = None) -> pd.DataFrame:
    """The quantile frame (``day, zone, state, q05..q95``, zone ``"all"`` for the world) of the
    runs of one point of a batch (all points when None), computed in DuckDB."""
    cond = "" if point is None else "AND r.point = $point"
    params: dict[str, Any] = {"batch": batch_id, "qs": list(ens.QUANTILES)}
    if point is not None:
        params["point"] = int(point)
    cols = ", ".join(f"qv[{i + 1}] AS {name}" for i, name in enumerate(ens.QUANTILE_NAMES))
    sql = f"""
        WITH s AS (
            SELECT s.run_id, s.day, s.zone::VARCHAR AS zone, s.state::VARCHAR AS state, s.count
            FROM series s JOIN runs r ON s.run_id = r.run_id
            WHERE r.batch_id = $batch AND r.status = 'done' {cond}),
        w AS (SELECT run_id, day, 'all' AS zone, state, sum(count) AS count FROM s GROUP BY run_id, day, state),
        u AS (SELECT * FROM s UNION ALL SELECT * FROM w),
        agg AS (SELECT day, zone, state, quantile_cont(count, $qs::DOUBLE[]) AS qv FROM u GROUP BY day, zone, state)
        SELECT day, zone, state, {cols} FROM agg ORDER BY zone, state, day"""
    return store.query(sql, params)


def chronicle_sql(store: Store, batch_id: str, point: int | None = None) -> pd.DataFrame:
    """Per chronicle kind: in how many runs it happened and the median day it first did."""
    cond = "" if point is None else f"AND r.point = {int(point)}"
    return store.query(f"""
        WITH first AS (
            SELECT c.run_id, c.kind, min(c.day) AS day FROM chronicle c JOIN runs r ON c.run_id = r.run_id
            WHERE r.batch_id = ? AND r.status = 'done' {cond} GROUP BY c.run_id, c.kind)
        SELECT kind, count(*) AS runs, median(day) AS first_day FROM first GROUP BY kind ORDER BY runs DESC, kind""",
        [batch_id])


def render_store(store: Store, batch: str | None = None) -> str:
    """The report of one batch of ``store`` (the latest when ``batch`` is None)."""
    bid = store.batch_id(batch)
    info = store.query("SELECT * FROM batches WHERE batch_id = ?", [bid]).iloc[0]
    spec = _json(info["spec"])
    prov = _provenance(store, bid)
    summaries = lifted_summaries(store.summaries(bid))
    points = summaries[["point", "variant"]].drop_duplicates().sort_values("point")
    kind = str(info["kind"])
    if kind != "sweep" and len(points) > 1:
        kind = "comparison"
    sub = (f"batch {bid[:12]} · {kind} · {H.engines_phrase([str(info['engine'])])} · master seed "
           f"{info['master_seed']} · {H.plural(int(info['runs']), 'run')} per point · "
           f"{H.plural(int(info['points']), 'point')} · {H.plural(int(info['days']), 'day')}")
    title = f"{info['scenario']}: {kind}"
    one_point = int(points["point"].iloc[0]) if len(points) == 1 else None
    scenario = _batch_scenario(store, bid, str(info["scenario"]), str(info["scenario_hash"]), one_point)
    shown = [c for c in info.index if c not in ("spec", "scenario_json")]
    batch_html = H.table_html(pd.DataFrame([info[shown]]).astype(str), 0, shown)
    run: dict[str, Any] = {"engine": info["engine"], "seed": int(info["master_seed"]), "days": info["days"]}
    if prov.get("seeds"):
        run["replicate seeds"] = ", ".join(str(s) for s in prov["seeds"])
    params_html = H.parameters_html(scenario, run) + (
        f"<details><summary>batch spec (points and their overrides)</summary><pre>"
        f"{H.html.escape(json.dumps(spec, indent=2))}</pre></details>")
    shown_summaries = summaries.drop(columns=["point", "replicate", "run_id", "summary"], errors="ignore")
    if len(points) <= 1:
        q = quantiles_sql(store, bid)
        variant = str(points["variant"].iloc[0]) if len(points) else ""
        page = H.render_ensemble(q, title=title, summaries=shown_summaries,
                                 scenario=scenario, chronicle=chronicle_sql(store, bid),
                                 subtitle=f"{sub} · variant: {variant}" if variant else sub,
                                 extra=[("Batch", batch_html), ("Parameters", params_html)])
        return page
    overrides = _overrides(store, bid)
    vocab = scenario_vocabulary(scenario)
    z = state_label(vocab, "Z")  # "ferals", "I: infectious (Z)", "Z: zombies"
    said = "ferals" if vocab.name == "aftermath" else z
    extra = [(f"{said[:1].upper()}{said[1:]} over time per point",
              H._safe(lambda: _ferals_by_point(store, bid, said), f"{said[:1].upper()}{said[1:]} (world) per point: "
                      "median and 90% band across replicates.")),
             ("Key numbers per point", H.table_html(_describe_points(summaries, vocab), 0, ["variant", "metric"])),
             ("Batch", batch_html), ("Parameters", params_html)]
    swept = [c for c in overrides.columns if c != "point" and pd.api.types.is_numeric_dtype(overrides[c])]
    if info["kind"] == "sweep" and swept:
        merged = summaries.merge(overrides, on="point")
        # the outcomes the terminal's table leads with: the SIR limit's S (not its survivors, who
        # include I's latent and hybrids), and deaths only where some run had any (else its R holds
        # everyone removed, and the attack rate says what deaths would not)
        lead = sweep_metrics(vocab)[0][0]
        outcomes = (lead, "deaths" if shows_deaths(vocab, merged["deaths"]) else "attack_rate")
        return H.render_sweep(merged, swept, metrics=outcomes, title=title, subtitle=sub, extra=extra, vocab=vocab)
    labels = list(points["variant"])
    baseline, how = batch_baseline(prov, labels)
    cmp = comparison(summaries, baseline)
    return H.render_comparison(cmp, title=title, subtitle=f"{sub} · baseline: {baseline} ({how})", extra=extra,
                               vocab=vocab)


def lifted_summaries(summaries: pd.DataFrame) -> pd.DataFrame:
    """The store's summaries with every scalar of each run's summary JSON as a column (new keys
    the store's fixed columns lack, the ledger's people as ``ledger_*``), as
    :func:`aftermath.report.ensemble.summary_frame` makes them from runs in memory."""
    from aftermath.compare import summary_of

    keep = [c for c in ("point", "variant", "replicate", "run_id", "seed", "summary") if c in summaries.columns]
    rows = []
    for row in summaries.to_dict(orient="records"):
        lifted = ens.record_scalars(summary_of({str(k): v for k, v in row.items()}))
        rows.append({**lifted, **{c: row[c] for c in keep}})
    return pd.DataFrame(rows) if rows else summaries


def batch_baseline(prov: dict[str, Any], labels: list[str]) -> tuple[str, str]:
    """The baseline of a comparison and how it is known: recorded with the batch, or (a batch of an
    older store) the first label of :data:`BASELINE_LABELS`, else the first point."""
    recorded = prov.get("baseline")
    if isinstance(recorded, str) and recorded in labels:
        return recorded, "recorded"
    guess = next((b for b in labels if b.lower() in BASELINE_LABELS), labels[0])
    return guess, "not recorded: guessed from the labels"


def _provenance(store: Store, bid: str) -> dict[str, Any]:
    """The batch's provenance (:meth:`Store.provenance`) where the store can say it; else empty."""
    get = getattr(store, "provenance", None)
    if get is None:
        return {}
    try:
        out = get(bid)
    except Exception:  # an older store or a partial record: the report says "not recorded"
        return {}
    return out if isinstance(out, dict) else {}


def _batch_scenario(store: Store, bid: str, name: str, digest: str, point: int | None = None) -> Any:
    """The scenario a batch ran: from the store (its recorded scenario; of its one ``point`` when it
    has one, overrides applied) where it has one, else a built-in of that name that still hashes
    the same, else None ("not recorded")."""
    get = getattr(store, "scenario", None)
    if callable(get):
        for args in ((bid, point), (bid,)) if point is not None else ((bid,),):
            try:
                return get(*args)
            except Exception:  # not recorded (or an older Store): try the base, then the built-ins
                continue
    return _scenario(name, digest)


def _ferals_by_point(store: Store, bid: str, said: str = "ferals") -> Any:
    q = store.quantiles(bid, state="Z")
    fig, ax = plots._fig_ax(None, (9, 4))
    for i, (label, part) in enumerate(q.groupby("variant", sort=False)):
        c = plots.OKABE_ITO[i % len(plots.OKABE_ITO)]
        ax.fill_between(part["day"], part["q0.05"], part["q0.95"], color=c, alpha=0.2, lw=0)
        ax.plot(part["day"], part["q0.5"], color=c, label=str(label))
    ax.set_xlabel("day")
    ax.set_ylabel(said)
    ax.margins(x=0)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


#: summary keys of the society's and the policies' mechanisms (gates, sweeps, culls, walls, food,
#: births): a row of zeros for them says nothing in a limit that has none (the SIR, Munz's model);
#: the epidemic's own keys (infections, peaks, days) stay, zero or not (a zero is an answer there)
MECHANISMS = frozenset({
    "births", "breaches", "turned_away_attempts", "turned_away_attempts_healthy", "excluded", "excluded_healthy",
    "culled", "hybrids_swept", "ferals_swept", "killed_by_policy", "swept", "swept_hybrids", "starved",
})


def _describe_points(summaries: pd.DataFrame, vocab: Vocabulary | None = None) -> pd.DataFrame:
    rows = []
    for variant, s in summaries.groupby("variant", sort=False):
        d = H._in_key_order(ens.describe(s.drop(columns=["point", "replicate", "run_id", "summary"],
                                                errors="ignore")), vocab)
        rows.append(d.assign(variant=variant))
    out = pd.concat(rows, ignore_index=True)
    if vocab is not None and vocab.name != "aftermath":  # the SIR and Munz limits: no sweeps, culls, gates...
        nothing = out.groupby("metric")[["q05", "q50", "q95"]].apply(lambda q: bool((q.to_numpy() == 0).all()))
        idle = {m for m, zero in nothing.items() if zero and m in MECHANISMS}
        out = out[~out["metric"].isin(idle)]  # rows of zeros for what the limit has no mechanism for
    out["metric"] = [H.word(m, vocab) for m in out["metric"]]  # in words; the keys stay in the store
    return out[["variant", "metric", "q05", "q50", "q95"]]


def _overrides(store: Store, bid: str) -> pd.DataFrame:
    pts = store.query("SELECT DISTINCT point, overrides FROM runs WHERE batch_id = ? ORDER BY point", [bid])
    rows = [{"point": int(p), **_json(o)} for p, o in zip(pts["point"], pts["overrides"], strict=True)]
    return pd.DataFrame(rows)


def _json(text: Any) -> dict[str, Any]:
    try:
        out = json.loads(text) if isinstance(text, str) else dict(text or {})
    except (TypeError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def _scenario(name: str, digest: str) -> Any:
    """The scenario of a batch when a built-in of that name still hashes the same; else None."""
    from aftermath.scenario.load import builtin_names, load
    from aftermath.store.records import scenario_hash

    for key in builtin_names():
        try:
            sc = load(key)
        except Exception:  # a broken built-in must not stop a report
            continue
        if sc.name == name and scenario_hash(sc) == digest:
            return sc
    return None
