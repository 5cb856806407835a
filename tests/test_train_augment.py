"""Adversarial training (`xadv train --augment keyboard:0.3,codemix:0.2`): the grammar fails in one line,
copies keep exact answer spans on real TyDi train rows, which rows get a copy depends only on (seed, id,
attack), and the card and the config digest record the augmentation of a run that trains end to end."""

from __future__ import annotations

import json

import pytest

from attacks.adversarial import AugmentSpec, adversarial_copies
from xadv.errors import XadvError
from xadv.train import load_config


def _cli(*args):
    from typer.testing import CliRunner

    from cli import app

    return CliRunner().invoke(app, ["train", *args])


@pytest.mark.parametrize("value, message", [
    ("", "augment is empty"),
    (" , ", "augment is empty"),
    ("keyboard", "has no rate: write keyboard:0.2"),
    ("nosuch:0.3", "unknown attack"),
    ("keyboard:0", "the rate must be in (0, 1]"),
    ("keyboard:1.5", "the rate must be in (0, 1]"),
    ("keyboard:nan", "the rate must be in (0, 1]"),
    ("keyboard:x", "is not a number"),
    ("keyboard:0.3,typo:0.2", "names 'keyboard' twice"),
    ("keyboard:0.3,,codemix:0.2", "an empty item"),
])
def test_bad_augment_values_exit_2_in_one_line(value, message):
    res = _cli("--preset", "smoke", "--augment", value, "--dry-run")
    assert res.exit_code == 2, res.output
    assert message in res.output and res.output.strip().count("\n") == 0, res.output
    with pytest.raises(XadvError, match="augment"):
        AugmentSpec.parse(value)


def test_bad_strength_and_toml_values_fail_in_one_line(tmp_path):
    res = _cli("--preset", "smoke", "--augment", "keyboard:0.3", "--augment-strength", "0", "--dry-run")
    assert res.exit_code == 2 and "augment strength must be a number in (0, 1]" in res.output
    with pytest.raises(XadvError, match="names 'keyboard' twice"):
        load_config("smoke", sets=["augment.attacks='keyboard:0.3,typo:0.1'"])
    with pytest.raises(XadvError, match=r"augment: unknown key 'rate'"):
        load_config("smoke", sets=["augment.rate=0.3"])


def test_spec_is_canonical_and_in_the_digest(tmp_path):
    spec = AugmentSpec.parse("typo:0.3, codemix:0.2")
    assert str(spec) == "codemix:0.2,keyboard:0.3" and spec == AugmentSpec.parse("codemix:0.2,keyboard:0.3")
    assert spec.key()["versions"] == {"codemix": "codemix/2"}
    plain = load_config("smoke")
    aug = load_config("smoke", sets=["augment.attacks='keyboard:0.3,codemix:0.2'"])
    # the order and the alias do not change the recipe; the augmentation, its rates and strength do
    assert aug.digest() == load_config("smoke", sets=["augment.attacks='codemix:0.2,typo:0.3'"]).digest()
    assert aug.digest() != plain.digest()
    assert aug.digest() != load_config("smoke", sets=["augment.attacks='keyboard:0.4,codemix:0.2'"]).digest()
    assert aug.digest() != load_config("smoke", sets=["augment.attacks='keyboard:0.3,codemix:0.2'",
                                                      "augment.strength=0.3"]).digest()
    # no augmentation: the key stays out of the digest (earlier runs keep theirs), `none` is off
    assert load_config("smoke", sets=["augment.strength=0.5"]).digest() == plain.digest()
    assert load_config("smoke", sets=["augment.attacks=none"]).digest() == plain.digest()
    # CLI > file > preset
    cfg = tmp_path / "adv.toml"
    cfg.write_text('[augment]\nattacks = "keyboard:0.5"\nstrength = 0.1\n', encoding="utf-8")
    from_file = load_config("smoke", cfg)
    assert str(from_file.augment_spec()) == "keyboard:0.5" and from_file.augment_spec().strength == 0.1
    over = load_config("smoke", cfg, {"augment": {"attacks": "codemix:0.2"}})
    assert str(over.augment_spec()) == "codemix:0.2" and over.augment_spec().strength == 0.1


@pytest.fixture(scope="module")
def train_rows(data_dir):
    from xadv.data import load_qa

    en = load_qa("tydiqa:en:train", data_dir).select(range(300)).to_list()
    other = load_qa("tydiqa:sw,ko:train", data_dir).shuffle(seed=0).select(range(200)).to_list()
    return en + other


@pytest.mark.needs_data
def test_copies_keep_exact_answer_spans_on_real_train_rows(train_rows, data_dir):
    spec = AugmentSpec.parse("keyboard:0.5,codemix:0.5,distractor:0.5,char-noise:context:0.3")
    made = adversarial_copies(train_rows, spec, seed=13, data_dir=data_dir)
    by_id = {r["id"]: r for r in train_rows}
    counts = {c.attack: c for c in made.counts}
    assert set(counts) == {"codemix", "distractor", "keyboard", "char-noise:context"}
    assert counts["keyboard"].target == "question" and counts["distractor"].target == "context"
    for c in counts.values():
        assert 0.3 * c.rows * 0.7 < c.selected < c.rows  # a seeded share, not all
        assert c.made + sum(c.skipped.values()) == c.selected and c.made > 0
    assert counts["codemix"].partners  # English rows code-mix into a partner language
    assert len(made.rows) == sum(c.made for c in counts.values())
    for copy in made.rows:
        source_id, _, attack = copy["id"].partition("#adv-")
        src = by_id[source_id]
        assert attack in counts and copy["lang"] == src["lang"]
        assert copy["answers"]["text"] == src["answers"]["text"]
        for text, start in zip(copy["answers"]["text"], copy["answers"]["answer_start"]):
            assert copy["context"][start:start + len(text)] == text
        assert (copy["question"], copy["context"]) != (src["question"], src["context"])


@pytest.mark.needs_data
def test_copies_depend_on_seed_id_and_attack_only(train_rows, data_dir):
    spec = AugmentSpec.parse("keyboard:0.3,codemix:0.2")
    one = adversarial_copies(train_rows, spec, seed=13, data_dir=data_dir)
    two = adversarial_copies(train_rows, spec, seed=13, data_dir=data_dir)
    assert json.dumps(one.rows, ensure_ascii=False) == json.dumps(two.rows, ensure_ascii=False)
    assert one.to_dict() == two.to_dict()
    backwards = adversarial_copies(train_rows[::-1], spec, seed=13, data_dir=data_dir)
    assert sorted(one.rows, key=lambda r: r["id"]) == sorted(backwards.rows, key=lambda r: r["id"])
    half = adversarial_copies(train_rows[::2], spec, seed=13, data_dir=data_dir)  # other rows do not matter
    kept = {r["id"] for r in train_rows[::2]}
    assert [r for r in one.rows if r["id"].partition("#adv-")[0] in kept] == list(half.rows)
    other = adversarial_copies(train_rows, spec, seed=14, data_dir=data_dir)
    assert {r["id"] for r in other.rows} != {r["id"] for r in one.rows}


@pytest.mark.needs_data
def test_smoke_training_with_augment_records_it_in_card_and_digest(data_dir, tmp_path):
    """The tiny random model (real tokenizer), target phase only: the augmented run trains, its card says
    what was added, and its run folder refuses the same recipe without augmentation."""
    from xadv.testing import tiny_qa_model

    model, tok = tiny_qa_model(seed=0, hidden=32, layers=2)
    base = tmp_path / "tiny"
    model.save_pretrained(str(base))
    tok.save_pretrained(str(base))
    args = ["--preset", "smoke", "--base", str(base), "--intermediate", "none", "--data-dir", str(data_dir),
            "--set", "budget.lora_r=0", "--set", "phases.target.max_steps=4", "--set", "eval.n_per_lang=1",
            "--quiet"]
    out = tmp_path / "adv"
    res = _cli(*args, "--augment", "keyboard:0.5,codemix:0.5", "--out", str(out), "--json")
    assert res.exit_code == 0, res.output
    card = json.loads((out / "xadv_card.json").read_text(encoding="utf-8"))
    aug = card["augmentation"]
    assert aug["spec"] == "codemix:0.5,keyboard:0.5" and aug["strength"] == 0.2 and aug["mode"] == "added"
    assert aug["originals"] == 24 and aug["copies"] == sum(a["made"] for a in aug["attacks"]) > 0
    assert aug["step_budget"].startswith("unchanged: max_steps=4") and card["phases"][0]["steps"] == 4
    assert card["config"]["augment"] == {"attacks": "codemix:0.5,keyboard:0.5", "strength": 0.2}
    target = [t for t in card["tasks"] if t["task"] == "target"][0]
    assert target["examples"] == 24 and target["adversarial_copies"] == aug["copies"]
    assert card["evaluation"]["n_per_lang"] == 1
    run = json.loads((out / "xadv_train_run.json").read_text(encoding="utf-8"))
    assert run["digest"] == aug["config_digest"]
    plain = _cli(*args, "--out", str(out))  # the same recipe without augmentation is another run
    assert plain.exit_code == 2 and "different config" in plain.output
