"""The embedded default model: me5-small + the shipped LoRA adapter, trained on English TyDi train only."""

from __future__ import annotations

import json

import pytest

from xadv.langs import TYDI_LANGS
from xadv.models.default import default_adapter_dir


def test_the_adapter_ships_small_with_a_complete_card():
    folder = default_adapter_dir()
    files = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    assert {"adapter_config.json", "adapter_model.safetensors", "xadv_card.json"} <= set(files)
    assert files["adapter_model.safetensors"] < 8 * 2**20  # a few MB, not a model
    card = json.loads((folder / "xadv_card.json").read_text(encoding="utf-8"))
    assert card["base_model"]["name"] == "me5-small" and card["intermediate_tasks"] == []
    assert card["preset"] == "default" and card["mix"] == "en"
    (data,) = card["data_files"]
    assert data["path"] == "tydiqa_goldp/tydiqa.goldp.en.train.json"
    assert data["sha256"] == "ab4317b6f2fcf3367e8890226631deaf3af283ffb5a878fc54ebb0d6b2afe377"
    assert card["seen_languages"]["eval_qa"] == ["en"]
    assert card["zero_shot_languages"] == [lang for lang in TYDI_LANGS if lang != "en"]
    ev = card["evaluation"]
    assert ev["data"] == "tydiqa:all:dev" and ev["n_per_lang"] is None and ev["n"] == 5077  # the full dev set
    assert set(ev["languages"]) == set(TYDI_LANGS)
    assert ev["languages"]["en"]["zero_shot"] is False and ev["languages"]["sw"]["zero_shot"] is True
    # the adapter files are the ones the card describes
    from xadv.io import sha256_file

    for name, meta in card["adapter"]["files"].items():
        if (folder / name).is_file() and name != "README.md":
            assert sha256_file(folder / name) == meta["sha256"], name


@pytest.mark.needs_data
@pytest.mark.slow
def test_default_model_answers_english_questions(data_dir):
    from xadv.data import load_qa
    from xadv.models.loading import load_default_model
    from xadv.qa.engine import EngineConfig, QAEngine
    from xadv.score import GoldAnswers, score_predictions

    loaded = load_default_model()
    assert loaded.name == "default" and loaded.has_qa_head
    assert loaded.zero_shot["seen_qa_languages"] == ["en"] and "sw" in loaded.zero_shot["zero_shot_languages"]
    rows = load_qa("tydiqa:en:dev", data_dir).select(range(40)).to_list()
    preds = QAEngine.from_loaded(loaded, EngineConfig(cache=False)).predict(rows, gold=False)
    result = score_predictions(GoldAnswers.from_rows(rows), {i: p.text for i, p in preds.items()})
    assert result.f1 > 40  # a trained reader (an untrained head scores near 0 here)
