"""The whole chain on the smoke preset: each mix trains all three phases, the loss falls, the card
records what was trained on, the checkpoint reloads through xadv.models and predicts through xadv.qa,
and an interrupted run resumes to the same weights.

The base is the tiny random model (real tokenizer) so that the file stays fast; the smoke preset's
LoRA is replaced by full training of the two tiny layers, which a random model needs to learn at all.
"""

from __future__ import annotations

import json

import pytest

from xadv.langs import TYDI_LANGS

pytestmark = pytest.mark.needs_data

# a random tiny model learns visibly only with a large step and a few passes over few examples:
# 12 target steps of 4 = 6 passes over 8 examples
TINY = ["budget.lora_r=0", "phases.intermediate.lr=1e-2", "phases.target.lr=1e-2", "phases.target.max_steps=12",
        "phases.target.max_examples=8", "phases.intermediate.max_steps=9"]


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    from xadv.testing import tiny_qa_model

    model, tok = tiny_qa_model(seed=0, hidden=32, layers=2)
    path = tmp_path_factory.mktemp("tiny-base")
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


def _config(tiny_base, mix, extra=()):
    from xadv.train import load_config

    return load_config("smoke", overrides={"base": str(tiny_base), "mix": mix}, sets=[*TINY, *extra])


@pytest.fixture(scope="module")
def runs(tiny_base, data_dir, tmp_path_factory):
    from xadv.train import train

    out = {}
    for mix in ("en", "multi", "mixed"):
        path = tmp_path_factory.mktemp(f"smoke-{mix}")
        out[mix] = train(_config(tiny_base, mix), path, data_dir=data_dir, progress=False)
    return out


def _halves(losses):
    half = len(losses) // 2
    return sum(losses[:half]) / half, sum(losses[half:]) / (len(losses) - half)


@pytest.mark.slow
@pytest.mark.parametrize("mix", ["en", "multi", "mixed"])
def test_smoke_trains_all_phases_and_the_loss_falls(runs, mix):
    result = runs[mix]
    assert [p["name"] for p in result.phases] == ["intermediate", "target"]
    inter, target = result.phases
    assert inter["steps"] == 9 and target["steps"] == 12
    assert set(inter["task_steps"]) == {"qa", "xnli", "pawsx"} and sum(inter["task_steps"].values()) == 9
    first, second = _halves(target["losses"])
    assert second < first - 0.05, target["losses"]


@pytest.mark.slow
def test_card_records_mix_tasks_counts_and_seen_languages(runs):
    en, multi, mixed = (runs[m].card for m in ("en", "multi", "mixed"))
    for mix, card in (("en", en), ("multi", multi), ("mixed", mixed)):
        saved = json.loads((runs[mix].out / "xadv_card.json").read_text(encoding="utf-8"))
        assert saved["mix"] == mix == card["mix"]
        assert card["intermediate_tasks"] == ["qa", "xnli", "pawsx"]
        assert card["target"] == "tydiqa:en:train" and card["seed"] == 13
        tasks = {(t["phase"], t["task"]): t for t in card["tasks"]}
        assert set(tasks) == {("intermediate", "qa"), ("intermediate", "xnli"), ("intermediate", "pawsx"),
                              ("target", "target")}
        assert tasks[("target", "target")]["examples_per_language"] == {"en": 8}
        for key, t in tasks.items():
            assert t["examples"] == (8 if key[0] == "target" else 24) == sum(t["examples_per_language"].values())
            assert all(len(f["sha256"]) == 64 for f in t["files"])
        assert card["software"]["torch"] and card["base_model"]["fingerprint"]
        assert card["evaluation"]["n_per_lang"] == 3 and set(card["evaluation"]["languages"]) == set(TYDI_LANGS)
    # which languages each mix used, per task
    def per_lang(card, task):
        return card["tasks"][[t["task"] for t in card["tasks"]].index(task)]["examples_per_language"]
    assert per_lang(en, "qa") == {"en": 24} and per_lang(en, "xnli") == {"en": 24}
    assert per_lang(multi, "qa") == {"ko": 12, "sw": 12} and per_lang(multi, "pawsx") == {"ko": 24}
    assert per_lang(multi, "xnli") == {"ar": 8, "ru": 8, "sw": 8}
    assert per_lang(mixed, "qa") == {"en": 12, "ko": 6, "sw": 6} and mixed["en_share"] == 0.5
    # TyDi ko/sw QA train data makes ko/sw not zero-shot; XNLI sw text alone does not
    assert en["seen_languages"]["eval_qa"] == ["en"]
    assert multi["seen_languages"]["eval_qa"] == ["en", "ko", "sw"]
    assert "ru" in multi["seen_languages"]["eval_any"] and "ru" in multi["zero_shot_languages"]
    assert multi["zero_shot_languages"] == ["ar", "bn", "fi", "id", "ru", "te"]
    assert multi["evaluation"]["languages"]["sw"]["zero_shot"] is False
    assert multi["evaluation"]["languages"]["fi"]["zero_shot"] is True


@pytest.mark.slow
def test_checkpoint_reloads_and_predicts_through_the_qa_engine(runs, data_dir):
    from xadv.data import load_qa
    from xadv.models.card import read_card
    from xadv.models.loading import load_qa_model
    from xadv.qa.engine import EngineConfig, QAEngine

    out = runs["mixed"].out
    loaded = load_qa_model(out)  # a trained head: no allow_untrained_head needed
    assert loaded.has_qa_head and read_card(out)["mix"] == "mixed"
    # the card's seen languages travel with the loaded model (mixed QA trains on TyDi ko/sw: not zero-shot)
    assert loaded.zero_shot["mix"] == "mixed"
    assert set(loaded.zero_shot["seen_qa_languages"]) == set(read_card(out)["seen_languages"]["eval_qa"])
    rows = load_qa("tydiqa:sw:dev", data_dir).select(range(4)).to_list()
    preds = QAEngine.from_loaded(loaded, EngineConfig(cache=False)).predict(rows)
    for row in rows:
        p = preds[row["id"]]
        assert p.text and row["context"][p.start:p.start + len(p.text)] == p.text
    # the evaluation in the card came from this very checkpoint
    assert runs["mixed"].card["evaluation"]["fingerprint"] == loaded.fingerprint
    # the intermediate checkpoint keeps its pair heads and a card of its own
    inter = out / "phases" / "intermediate"
    assert json.loads((inter / "xadv_pair_heads.json").read_text()) == {"pawsx": 2, "xnli": 3}
    assert read_card(inter)["phases"][0]["name"] == "intermediate"


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_the_same_weights(tiny_base, data_dir, tmp_path, monkeypatch):
    """Stop the target phase after step 5 (a resume point was saved at step 4); rerun; same model."""
    import torch
    from safetensors.torch import load_file

    from xadv.train import loop, train

    extra = ["intermediate=[]", "phases.target.save_every=4", "phases.target.max_steps=8", "eval.data=''"]
    config = _config(tiny_base, "en", extra)
    straight = train(config, tmp_path / "straight", data_dir=data_dir, progress=False)

    calls = {"n": 0}
    real_update = loop._Bar.update

    def interrupt(self, loss, speed):
        calls["n"] += 1
        real_update(self, loss, speed)
        if calls["n"] == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(loop._Bar, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(config, tmp_path / "resumed", data_dir=data_dir, progress=False)
    assert json.loads((tmp_path / "resumed" / "resume" / "state.json").read_text())["step"] == 4
    monkeypatch.setattr(loop._Bar, "update", real_update)
    messages = []
    resumed = train(config, tmp_path / "resumed", data_dir=data_dir, progress=False, log=messages.append)
    assert any("resuming at step 4/8" in m for m in messages)
    assert resumed.phases[0]["resumed_at_step"] == 4 and not (tmp_path / "resumed" / "resume").exists()
    assert resumed.phases[0]["losses"][:4] == straight.phases[0]["losses"][:4]
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    # a finished run is not trained again; a different config in the same directory is refused
    again = train(config, tmp_path / "resumed", data_dir=data_dir, progress=False, log=messages.append)
    assert again.phases[0]["steps"] == 8 and any("already done" in m for m in messages)
    from xadv.errors import XadvError

    with pytest.raises(XadvError, match="different config"):
        train(_config(tiny_base, "en", [*extra, "seed=14"]), tmp_path / "resumed", data_dir=data_dir,
              progress=False)


@pytest.mark.slow
def test_lora_adapter_applied_to_the_base_is_the_saved_checkpoint(tiny_base, data_dir, tmp_path):
    """What `xadv.models.default` does with the shipped adapter gives exactly the trained model."""
    import torch

    from xadv.models.loading import load_adapter_model, load_qa_model
    from xadv.train import train

    config = _config(tiny_base, "en", ["intermediate=[]", "budget.lora_r=4", "phases.target.max_steps=3",
                                       "eval.data=''"])
    result = train(config, tmp_path / "lora", data_dir=data_dir, progress=False)
    adapter = result.card["adapter"]
    assert adapter["format"] == "peft-lora" and adapter["applies_to"] == str(tiny_base)
    assert set(adapter["files"]) >= {"adapter_config.json", "adapter_model.safetensors"}
    merged = load_qa_model(tmp_path / "lora")
    applied = load_adapter_model(tmp_path / "lora" / "adapter", base=str(tiny_base))
    assert applied.fingerprint != merged.fingerprint and applied.has_qa_head
    enc = merged.tokenizer(["Where is Nairobi?"], ["Nairobi is the capital of Kenya."], return_tensors="pt")
    with torch.inference_mode():
        a, b = merged.model(**enc), applied.model(**enc)
    assert torch.allclose(a.start_logits, b.start_logits, atol=1e-5)
    assert torch.allclose(a.end_logits, b.end_logits, atol=1e-5)
    # LoRA trains a small fraction of the parameters: the adapter is tiny next to the model
    assert result.phases[0]["parameters"]["trainable"] < result.phases[0]["parameters"]["total"] / 20
    # exported in float16 (how the embedded default ships): half the bytes, the same answers
    from xadv.train.export import export_adapter

    dest = export_adapter(tmp_path / "lora", tmp_path / "shipped", half=True)
    card = json.loads((dest / "xadv_card.json").read_text(encoding="utf-8"))
    assert card["adapter"]["dtype"] == "float16" and set(card["adapter"]["files"]) == {
        "adapter_config.json", "adapter_model.safetensors"}
    assert card["adapter"]["files"]["adapter_model.safetensors"]["bytes"] < adapter["files"][
        "adapter_model.safetensors"]["bytes"] * 0.6
    assert "Trained on `tydiqa:en:train` only" in (dest / "README.md").read_text(encoding="utf-8")
    half = load_adapter_model(dest, base=str(tiny_base))
    with torch.inference_mode():
        c = half.model(**enc)
    assert torch.allclose(a.start_logits, c.start_logits, atol=1e-3)
    assert half.zero_shot["seen_qa_languages"] == ["en"]


def test_cli_dry_run_shows_the_plan(data_dir):
    from typer.testing import CliRunner

    from cli import app

    res = CliRunner().invoke(app, ["train", "--preset", "smoke", "--mix", "multi", "--intermediate", "xnli",
                                   "--data-dir", str(data_dir), "--dry-run", "--json"])
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert plan["config"]["mix"] == "multi" and plan["config"]["intermediate"] == ["xnli"]
    assert [t["task"] for t in plan["tasks"]] == ["xnli", "target"]
    assert plan["tasks"][0]["examples_per_language"] == {"ar": 8, "ru": 8, "sw": 8}
    assert plan["seen_languages"]["eval_qa"] == ["en"] and "sw" in plan["seen_languages"]["eval_any"]
    bad = CliRunner().invoke(app, ["train", "--preset", "smoke", "--set", "phases.target.lr=x", "--dry-run",
                                   "--data-dir", str(data_dir)])
    assert bad.exit_code == 2 and "error: phases.target.lr: expected float" in bad.output
    missing = CliRunner().invoke(app, ["train", "--preset", "smoke", "--data-dir", str(data_dir)])
    assert missing.exit_code == 2 and "--out DIR is required" in missing.output


@pytest.mark.slow
def test_a_finished_run_keeps_its_evaluation_unless_the_evaluation_changes(tiny_base, data_dir, runs, monkeypatch):
    """Re-running a finished command must not re-evaluate an unchanged checkpoint (on the cpu preset that
    is 5 minutes of full TyDi dev); asking for a different evaluation must."""
    from xadv.train import pipeline, train

    first = runs["en"]
    calls = []
    real = pipeline.run_evaluation
    monkeypatch.setattr(pipeline, "run_evaluation", lambda *a, **k: calls.append(1) or real(*a, **k))
    messages = []
    again = train(_config(tiny_base, "en"), first.out, data_dir=data_dir, progress=False, log=messages.append)
    assert calls == [] and any("eval: already done" in m for m in messages)
    assert again.card["evaluation"] == first.card["evaluation"]
    fewer = train(_config(tiny_base, "en", ["eval.n_per_lang=1"]), first.out, data_dir=data_dir, progress=False)
    assert calls == [1] and fewer.card["evaluation"]["n_per_lang"] == 1
    assert {v["n"] for v in fewer.card["evaluation"]["languages"].values()} == {1}


def test_one_process_can_train_with_different_mixed_precisions(tiny_base, data_dir, tmp_path):
    """accelerate's process-wide state refused a second Accelerator with another precision (seen when the
    bf16 cpu preset trained after the fp32 smoke runs in one test session)."""
    from xadv.train import train

    extra = ["intermediate=[]", "phases.target.max_steps=2", "phases.target.save_every=0", "eval.data=''"]
    for i, precision in enumerate(("no", "bf16", "no")):
        result = train(_config(tiny_base, "en", [*extra, f"budget.mixed_precision={precision}"]),
                       tmp_path / f"{i}-{precision}", data_dir=data_dir, progress=False)
        assert result.phases[-1]["steps"] == 2
