"""The results store: every run of an ensemble or a sweep in one DuckDB file (docs/store.md)."""

from aftermath.store.records import RunRecord, record_from_result, scenario_hash
from aftermath.store.store import DEFAULT_PATH, DEFAULT_Q, Store, StoreError

__all__ = ["DEFAULT_PATH", "DEFAULT_Q", "RunRecord", "Store", "StoreError", "record_from_result", "scenario_hash"]
