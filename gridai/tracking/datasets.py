"""The load data as an MLflow dataset input: a full SHA-256 digest and a source that is recorded as given."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr


def data_digest(load: xr.Dataset) -> str:
    """SHA-256 of the load values, timestamps and series names (hex)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(load["time"].values.astype("datetime64[ns]").astype("int64")).tobytes())
    h.update("\x1f".join(map(str, load["series"].values)).encode())
    h.update(np.ascontiguousarray(load["load"].transpose("time", "series").values, dtype="float64").tobytes())
    return h.hexdigest()


def load_dataset_entity(load: xr.Dataset, source: str, digest: str) -> Any:
    """MLflow dataset entity of the load (a ``time`` column + one column per series).

    The MLflow digest is the first 32 hex digits of ``digest`` (MLflow's own digest hashes
    only a sample of the rows).
    """
    import mlflow.data

    values = load["load"].transpose("time", "series").values
    frame = pd.DataFrame(values, columns=[str(c) for c in load["series"].values])
    frame.insert(0, "time", pd.DatetimeIndex(load["time"].values))
    dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]
        frame, source=_gridai_source(source), name="load", digest=digest[:32]
    )
    return dataset._to_mlflow_entity()


def _gridai_source(uri: str) -> Any:
    """An MLflow dataset source that records ``uri`` as given (a file, directory or dataset name)."""
    from mlflow.data.dataset_source import DatasetSource

    class GridAIDataSource(DatasetSource):
        def __init__(self, uri: str) -> None:
            self.uri = uri

        @staticmethod
        def _get_source_type() -> str:
            return "gridai"

        def load(self) -> str:
            return self.uri

        @staticmethod
        def _can_resolve(raw_source: Any) -> bool:
            return False

        @classmethod
        def _resolve(cls, raw_source: Any) -> GridAIDataSource:
            return cls(str(raw_source))

        def to_dict(self) -> dict[str, Any]:
            return {"uri": self.uri}

        @classmethod
        def from_dict(cls, source_dict: dict[Any, Any]) -> GridAIDataSource:
            return cls(str(source_dict["uri"]))

    return GridAIDataSource(uri)
