"""Static checks of the Dockerfile (no Docker engine on the development or CI machines)."""

from __future__ import annotations

import re
from pathlib import Path

DOCKERFILE = (Path(__file__).resolve().parents[1] / "Dockerfile").read_text(encoding="utf-8")


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_torch_is_pinned_to_a_wheel_index_before_the_project() -> None:
    ins = _instructions()
    runs = [rest for word, rest in ins if word == "RUN"]
    torch_at = next(i for i, r in enumerate(runs) if "torch==" in r)
    project_at = next(i for i, r in enumerate(runs) if re.search(r"pip install (--no-deps )?\.", r))
    assert torch_at < project_at
    assert "--index-url" in runs[torch_at]
    assert dict((w, r) for w, r in ins if w == "ARG" and r.startswith("TORCH_INDEX"))  # overridable


def test_state_volumes_are_writable_by_the_non_root_user_and_hold_the_store() -> None:
    ins = _instructions()
    volume = next(rest for word, rest in ins if word == "VOLUME")
    volumes = set(re.findall(r'"([^"]+)"', volume))
    env = " ".join(rest for word, rest in ins if word == "ENV")
    store = re.search(r"MLFLOW_TRACKING_URI=sqlite:///(/\S+)/mlflow\.db", env)
    assert store is not None and store.group(1) in volumes, (
        "the MLflow store (the champion) lives in a volume"
    )
    assert "/app/outputs" in volumes
    words = [w for w, _ in ins]
    user_at = words.index("USER")
    chown = next(i for i, (w, r) in enumerate(ins) if w == "RUN" and "chown" in r)
    assert chown < words.index("VOLUME") < user_at, "volumes are created owned by the user before USER"
    assert next(r for w, r in ins if w == "USER") != "root"
    chown_cmd = ins[chown][1]
    assert all(v in chown_cmd for v in volumes)
