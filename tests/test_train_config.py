"""Training configs: presets, TOML files, flags and `key=value` overrides, and one-line errors."""

from __future__ import annotations

import pytest

from xadv.train.config import ConfigError, load_config, parse_override, preset_names

MAIN_PRESETS = ("smoke", "cpu", "gpu", "default")


def test_every_preset_parses_and_names_its_phases():
    assert set(MAIN_PRESETS) <= set(preset_names())
    for name in preset_names():
        cfg = load_config(name)
        assert cfg.preset == name and cfg.target == "tydiqa:en:train"
        assert cfg.target_phase.batch_size >= 1
    assert load_config("default").intermediate == []  # the embedded adapter: English TyDi train only
    assert load_config("gpu").target_phase.lr == pytest.approx(3e-5)  # the XTREME QA recipe
    assert load_config("gpu").target_phase.max_seq_length == 384
    assert load_config("smoke").intermediate == ["qa", "xnli", "pawsx"]


def test_file_overrides_preset_and_flags_override_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('mix = "multi"\nseed = 5\n[phases.target]\nlr = 1e-4\n[sources]\nxnli = ["xnli:sw:dev"]\n',
                    encoding="utf-8")
    cfg = load_config("smoke", path, {"seed": 7}, ["phases.target.max_steps=3", "eval.n_per_lang=2"])
    assert (cfg.mix, cfg.seed) == ("multi", 7)
    assert cfg.target_phase.lr == pytest.approx(1e-4) and cfg.target_phase.max_steps == 3
    assert cfg.target_phase.batch_size == load_config("smoke").target_phase.batch_size  # untouched keys stay
    assert cfg.sources["xnli"] == ["xnli:sw:dev"] and cfg.eval.n_per_lang == 2


def test_overrides_are_typed_like_toml():
    assert parse_override("phases.target.lr=2e-4") == {"phases": {"target": {"lr": 2e-4}}}
    assert parse_override("target=tydiqa:en:train") == {"target": "tydiqa:en:train"}  # bare string
    assert parse_override("intermediate=[]") == {"intermediate": []}
    cfg = load_config("smoke", sets=["intermediate=xnli,pawsx", "budget.dropout=null"])
    assert cfg.intermediate == ["xnli", "pawsx"] and cfg.budget.dropout is None


@pytest.mark.parametrize("sets, message", [
    (["mix=french"], "unknown mix 'french'"),
    (["intermediate=qa,squad"], "unknown intermediate task 'squad'"),
    (["en_share=1.5"], "en_share must be strictly between 0 and 1"),
    (["phases.target.lr=fast"], "phases.target.lr: expected float"),
    (["phases.target.no_answer=skip"], "no_answer must be one of drop, cls"),
    (["phases.intermediate.pair_pooling=max"], "pair_pooling must be one of cls, mean"),
    (["phases.warmup.lr=1"], "unknown phase 'warmup'"),
    (["budget.lora_rank=8"], "budget: unknown key 'lora_rank'"),
    (["learning_rate=1"], "unknown config key 'learning_rate'"),
    (["phases.target.max_steps=0", "phases.target.epochs=0"], "set max_steps > 0 or epochs > 0"),
    (["sources.xnli=[]", "intermediate=xnli"], "intermediate task 'xnli' has no data sources"),
])
def test_bad_values_fail_in_one_line(sets, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config("smoke", sets=sets)
    assert "\n" not in str(info.value)


def test_missing_or_broken_files_and_unknown_presets(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(None, tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("mix = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.toml: not a TOML training config .*line 1"):
        load_config(None, bad)
    with pytest.raises(ConfigError, match="unknown preset 'laptop'.*smoke"):
        load_config("laptop")


def test_digest_names_what_shapes_the_weights():
    base = load_config("smoke")
    assert base.digest() == load_config("smoke").digest()
    # run-time settings and the evaluation do not change the trained model
    same = load_config("smoke", sets=["budget.threads=1", "eval.n_per_lang=50", "phases.target.save_every=1"])
    assert same.digest() == base.digest()
    for change in ("seed=14", "mix=en", "phases.target.lr=1e-4", "budget.lora_r=8", "en_share=0.25"):
        assert load_config("smoke", sets=[change]).digest() != base.digest(), change


# --- precision: `auto` is bf16 only where the hardware computes it natively -----------------------------------

AMX_FLAGS = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
EPYC_FLAGS = "processor\t: 0\nflags\t\t: fpu sse2 fma avx avx2 sha_ni\n"


def test_native_bf16_is_read_from_the_cpu_flags_not_from_substrings():
    from xadv.device import cpu_has_native_bf16

    assert cpu_has_native_bf16(AMX_FLAGS)
    assert cpu_has_native_bf16("flags\t: avx512f avx512_bf16\n")
    assert not cpu_has_native_bf16(EPYC_FLAGS)
    assert not cpu_has_native_bf16("model name\t: amx_bf16 lookalike\nflags\t: avx2\n")  # a flag, not any text


@pytest.mark.parametrize("device, bf16, expected", [("cpu", True, "bf16"), ("cpu", False, "no"),
                                                    ("cuda", True, "bf16"), ("cuda", False, "fp16")])
def test_auto_precision_per_device(device, bf16, expected):
    from xadv.device import training_precision

    chosen = training_precision("auto", device=device, bf16=bf16)
    assert chosen.name == expected and chosen.why.startswith("auto: ")
    assert training_precision("bf16", device=device, bf16=bf16).name == "bf16"  # explicit wins, anywhere


def test_auto_digest_is_the_digest_of_the_precision_that_runs(monkeypatch):
    """auto resolves before hashing: on a bf16 machine it trains (and hashes) exactly as an explicit bf16
    config, elsewhere as fp32, so a run is never resumed in another precision's weights."""
    import xadv.device

    auto = load_config("cpu")
    assert auto.budget.mixed_precision == "auto" and load_config("smoke").budget.mixed_precision == "no"
    explicit = {p: load_config("cpu", sets=[f"budget.mixed_precision={p}"]).digest() for p in ("bf16", "no")}
    assert explicit["bf16"] != explicit["no"]
    for native, expected in ((True, "bf16"), (False, "no")):
        monkeypatch.setattr(xadv.device, "cpu_has_native_bf16", lambda cpuinfo=None, n=native: n)
        monkeypatch.setattr(xadv.device, "training_device", lambda: "cpu")
        assert auto.precision().name == expected
        assert auto.digest() == explicit[expected]
    with pytest.raises(ConfigError, match="mixed_precision must be one of auto, no, bf16, fp16"):
        load_config("smoke", sets=["budget.mixed_precision=fp8"]).check()
