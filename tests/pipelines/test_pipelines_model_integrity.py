"""A local model directory is verified like a registry model: altered weights are not used, its
digest is recorded in run.json and can be pinned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.numpy import load_file, save_file

from gridai.exceptions import ExitCode, GridAIModelError
from gridai.forecast.registry import load_forecaster

from support import DAYAHEAD_DAY, dayahead_cfg, run_dayahead


def _tamper(model_dir: Path) -> None:
    arrays = load_file(str(model_dir / "arrays.safetensors"))
    save_file(
        {k: v * 1.5 if v.dtype.kind == "f" else v for k, v in arrays.items()},
        str(model_dir / "arrays.safetensors"),
    )


def test_altered_weights_are_refused(dayahead_inputs: dict[str, Path], tmp_path: Path) -> None:
    model = tmp_path / "champion"
    shutil.copytree(dayahead_inputs["champion"], model)
    load_forecaster(model)  # intact
    _tamper(model)
    with pytest.raises(GridAIModelError, match="altered"):
        load_forecaster(model)


@pytest.mark.parametrize("case", ["tampered", "pinned-mismatch", "pinned-match"])
def test_job_records_and_checks_the_model_digest(
    dayahead_inputs: dict[str, Path], tmp_path: Path, case: str
) -> None:
    model = tmp_path / "champion"
    shutil.copytree(dayahead_inputs["champion"], model)
    from gridai.tracking.loading import model_directory_digest

    digest = model_directory_digest(model)
    over: dict[str, object] = {"model__uri": str(model)}
    if case == "tampered":
        _tamper(model)
    elif case == "pinned-mismatch":
        over["model__sha256"] = "0" * 64
    else:
        over["model__sha256"] = digest
    res = run_dayahead(dayahead_cfg(dayahead_inputs, **over), tmp_path / "out")
    doc = json.loads((tmp_path / "out" / DAYAHEAD_DAY / "run.json").read_text())
    if case == "pinned-match":
        assert res.exit_code == ExitCode.OK and doc["model"]["substituted"] is False
        assert doc["model"]["sha256"] == digest
    else:
        assert res.exit_code == ExitCode.FALLBACK and doc["model"]["substituted"] is True
        assert ("altered" if case == "tampered" else "model.sha256") in doc["model"]["reason"]
