"""Every Dask wait has a deadline: a scheduler that accepts and never answers is exit 5 in seconds."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridai.cli.main import app

from support import gefcom_job_yaml


@pytest.fixture
def silent_scheduler() -> str:
    """A TCP server that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    server.close()
    for c in held:
        c.close()


def test_silent_scheduler_is_exit_5_within_its_deadline(tmp_path: Path, silent_scheduler: str) -> None:
    cfg = tmp_path / "job.yaml"
    cfg.write_text(gefcom_job_yaml(extra="dask: {connect_timeout_s: 1.0}\n"))
    t0 = time.monotonic()
    res = CliRunner().invoke(
        app, ["run", "day-ahead", "--date", "2008-06-30", "-c", str(cfg), "--out", str(tmp_path / "out"),
              "--scheduler", silent_scheduler],
    )  # fmt: skip
    assert res.exit_code == 5, res.output
    assert silent_scheduler in res.output and "connect_timeout_s" in res.output
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "out" / "2008-06-30").exists()
