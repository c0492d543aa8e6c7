"""The atomic write helpers of gridai/outputs.py: all or nothing, nothing left behind."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from gridai.exceptions import GridAIConfigError
from gridai.outputs import (
    OutputNotWritableError,
    atomic_dir,
    atomic_path,
    safe_path_part,
    swap_in,
    write_atomic,
    write_bytes_atomic,
    write_text_atomic,
)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _usual(kind: int) -> int:
    mask = os.umask(0)
    os.umask(mask)
    return kind & ~mask


def test_file_helpers_write_and_replace(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.json"
    assert write_text_atomic(target, "one\n") == target
    assert target.read_text(encoding="utf-8") == "one\n"
    write_bytes_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    write_atomic(target, lambda tmp: tmp.write_text("three", encoding="utf-8"))
    assert target.read_text(encoding="utf-8") == "three"
    assert [p.name for p in target.parent.iterdir()] == ["b.json"]
    assert _mode(target) == _usual(0o666)


def test_temporary_keeps_the_suffix_and_is_hidden(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "plot.png") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".plot.png.") and tmp.suffix == ".png"
        tmp.write_bytes(b"png")
    assert (tmp_path / "plot.png").read_bytes() == b"png"


def test_failed_file_write_keeps_the_old_file_and_removes_created_folders(tmp_path: Path) -> None:
    old = tmp_path / "x.txt"
    old.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(old) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("writer failed")
    assert old.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "new" / "deep" / "y.txt"):
        raise RuntimeError("writer failed")
    assert not (tmp_path / "new").exists()


def test_atomic_dir_swaps_the_whole_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_dir(out) as staging:  # a first run: gridai's own directory, marked beside it
        (staging / "stale.csv").write_text("stale", encoding="utf-8")
    with atomic_dir(out) as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".out.tmp-")
        (staging / "sub").mkdir()
        (staging / "sub" / "a.csv").write_text("a", encoding="utf-8")
        assert not (out / "sub").exists()  # nothing visible before the block ends
    assert sorted(p.name for p in out.iterdir()) == ["sub"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.gridai", "out"]
    assert _mode(out) == _usual(0o777)


@pytest.mark.parametrize(
    "content", ["published-by-someone-else", "symlink"], ids=["foreign-files", "symlink"]
)
def test_atomic_dir_never_replaces_what_gridai_did_not_write(tmp_path: Path, content: str) -> None:
    real = tmp_path / "theirs"
    real.mkdir()
    (real / "report.pdf").write_text("not ours", encoding="utf-8")
    out = real if content != "symlink" else tmp_path / "link"
    if content == "symlink":
        out.symlink_to(real, target_is_directory=True)
    match = "symbolic link" if content == "symlink" else "did not write"
    with pytest.raises(OutputNotWritableError, match=match), atomic_dir(out) as staging:
        (staging / "new.csv").write_text("new", encoding="utf-8")
    assert sorted(p.name for p in real.iterdir()) == ["report.pdf"]
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())


def test_atomic_dir_failure_leaves_the_old_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with atomic_dir(out) as staging:
        (staging / "keep.csv").write_text("keep", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_dir(out) as staging:
        (staging / "new.csv").write_text("new", encoding="utf-8")
        raise RuntimeError("writer failed")
    assert sorted(p.name for p in out.iterdir()) == ["keep.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.gridai", "out"]


def test_atomic_dir_merge_replaces_staged_files_and_keeps_the_others(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "other.txt").write_text("other", encoding="utf-8")
    (out / "metrics.json").write_text("old", encoding="utf-8")
    with atomic_dir(out, merge=True) as staging:
        assert staging.parent == out and staging.name.startswith(".")
        (staging / "metrics.json").write_text("new", encoding="utf-8")
        (staging / "forecasts.csv").write_text("f", encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == ["forecasts.csv", "metrics.json", "other.txt"]
    assert (out / "metrics.json").read_text(encoding="utf-8") == "new"
    with pytest.raises(RuntimeError), atomic_dir(out, merge=True) as staging:
        (staging / "metrics.json").write_text("half", encoding="utf-8")
        raise RuntimeError("writer failed")
    assert (out / "metrics.json").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in out.iterdir()) == ["forecasts.csv", "metrics.json", "other.txt"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2(RENAME_EXCHANGE) is Linux's")
def test_publish_is_one_exchange_so_the_directory_is_never_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final, staging = tmp_path / "D", tmp_path / ".D.tmp"
    final.mkdir()
    (final / "old.csv").write_text("old", encoding="utf-8")
    staging.mkdir()
    (staging / "new.csv").write_text("new", encoding="utf-8")

    def no_rename(*args: object) -> None:
        raise AssertionError("two renames leave a window in which D is missing")

    monkeypatch.setattr("gridai.outputs.os.rename", no_rename)
    swap_in(staging, final, tmp_path / ".D.old")
    assert sorted(p.name for p in final.iterdir()) == ["new.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D"]


@pytest.mark.parametrize(
    "name", ["../x", "/abs", "a/b", "..", ".", "", ".hidden", "a..b", "x" * 200, "tab\tname"],
    ids=["dotdot", "absolute", "separator", "parent", "current", "empty", "hidden", "double-dot", "long", "control"],
)  # fmt: skip
def test_names_that_would_escape_the_output_are_refused(name: str) -> None:
    with pytest.raises(GridAIConfigError, match="cannot name an output"):
        safe_path_part(name, "feeder")


def test_ordinary_names_pass() -> None:
    assert safe_path_part("zone_1.b-2", "feeder") == "zone_1.b-2"
