"""The atomic write helpers of gridai/outputs.py: all or nothing, nothing left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gridai.outputs import atomic_dir, atomic_path, write_atomic, write_bytes_atomic, write_text_atomic


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
    out.mkdir()
    (out / "stale.csv").write_text("stale", encoding="utf-8")
    with atomic_dir(out) as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".out.tmp-")
        (staging / "sub").mkdir()
        (staging / "sub" / "a.csv").write_text("a", encoding="utf-8")
        assert not (out / "sub").exists()  # nothing visible before the block ends
    assert sorted(p.name for p in out.iterdir()) == ["sub"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert _mode(out) == _usual(0o777)


def test_atomic_dir_failure_leaves_the_old_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.csv").write_text("keep", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_dir(out) as staging:
        (staging / "new.csv").write_text("new", encoding="utf-8")
        raise RuntimeError("writer failed")
    assert sorted(p.name for p in out.iterdir()) == ["keep.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


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
