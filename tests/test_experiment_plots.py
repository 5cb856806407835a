"""The experiment's figures draw from any analysis the runner can produce, without numpy warnings."""
import math
import warnings

from xadv.experiments.plots import _mean, plot


def _lang(clean, robust, den):
    return {"clean_f1": clean, "robust_f1": robust, "zero_shot": True,
            "attacks": {"keyboard/question": {"asr_denominator": den, "asr_successes": den // 2}}}


def test_a_language_without_any_exact_answer_plots_without_a_warning(tmp_path):
    """A diverged model answers nothing exactly: its ASR is undefined (0/0) in every language, and in a mix
    of that one model the per-language mean is over nothing; the figure shows a gap, not a warning."""
    a = {"langs": ["sw", "te"], "gains": [], "groups": {
        "baseline": {"mix": None, "task": None, "langs": {"sw": _lang(60.0, 50.0, 10), "te": _lang(50.0, 40.0, 8)},
                     "macro": {"clean_f1": 55.0, "robust_f1": 45.0}},
        "en-qa": {"mix": "en", "task": "qa", "langs": {"sw": _lang(5.0, 4.0, 0), "te": _lang(4.0, 3.0, 0)},
                  "macro": {"clean_f1": 4.5, "robust_f1": 3.5}}}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paths = plot(a, tmp_path / "plots")
    assert [p.name for p in paths] == ["robust_f1.png", "tasks.png", "per_language.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_mean_skips_undefined_values():
    assert _mean([1.0, float("nan"), 3.0]) == 2.0 and math.isnan(_mean([float("nan")])) and math.isnan(_mean([]))
