"""Shared test fixtures: a temporary MLflow SQLite store.

Creating an MLflow SQLite database runs its schema migrations (seconds), so one template
database is built per session and copied for every test that asks for ``mlflow_uri``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # MLflow emits this UserWarning from its own module import (mlflow.types.responses);
    # it says nothing about gridai code.
    config.addinivalue_line("filterwarnings", r"ignore:.*Any type hint is inferred as AnyType:UserWarning")


@pytest.fixture(scope="session")
def _mlflow_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow import MlflowClient

    db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def mlflow_uri(tmp_path: Path, _mlflow_template_db: Path) -> str:
    """URI of an empty MLflow SQLite store in ``tmp_path`` (artifacts go to ``tmp_path/mlartifacts``)."""
    db = tmp_path / "mlflow.db"
    shutil.copyfile(_mlflow_template_db, db)
    return f"sqlite:///{db}"
