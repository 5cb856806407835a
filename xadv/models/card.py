"""The model card (`xadv_card.json`) saved with every checkpoint that xadv trains.

It answers, for anyone reading a result later: what was this model trained on (tasks, examples per
task and language, file sha256s, mix), how (phases, hyper-parameters, budget, seed, software and git
commit, wall time), and, most importantly for cross-lingual claims, which evaluation languages it has
SEEN: a model trained on TyDi sw QA data is not zero-shot on sw, and every later report must say so.

Two notions of "seen" are kept apart:
- `seen_languages.qa`: languages with span-QA training data (any phase): NOT zero-shot for QA;
- `seen_languages.any`: languages with any training text (e.g. XNLI sw): still zero-shot for QA in the
  usual cross-lingual sense, but exposed to the language during training.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Protocol

from xadv.errors import ModelError
from xadv.io import atomic_open, read_json
from xadv.langs import TYDI_LANGS
from xadv.provenance import software_versions

CARD_FILE = "xadv_card.json"
CARD_SCHEMA = "xadv-model-card/1"


class TaskData(Protocol):
    """What the card reads of a training task's data (`xadv.train.data.TaskData` has it): the card sits
    below training in the layers, so it names the shape, not the class."""

    task: str
    kind: str
    counts: dict[str, int]
    available: dict[str, int]
    files: list[Any]

    @property
    def languages(self) -> list[str]: ...


def software() -> dict[str, Any]:
    """xadv, git commit, Python and the training stack's versions, as cards have always recorded them."""
    return software_versions()


def seen_languages(tasks: list[TaskData]) -> dict[str, list[str]]:
    """Languages with QA data and with any data, in all and restricted to the TyDi evaluation languages."""
    qa, anything = set(), set()
    for t in tasks:
        langs = set(t.languages)
        anything |= langs
        if t.kind == "qa":
            qa |= langs
    return {"qa": sorted(qa), "any": sorted(anything),
            "eval_qa": [lang for lang in TYDI_LANGS if lang in qa],
            "eval_any": [lang for lang in TYDI_LANGS if lang in anything]}


def task_summary(data: TaskData, feature_stats: dict | None = None) -> dict[str, Any]:
    return {
        "task": data.task, "kind": data.kind, "examples": sum(data.counts.values()),
        "examples_per_language": dict(sorted(data.counts.items())),
        "available_per_language": data.available,
        "files": [f.__dict__ for f in data.files],
        **({"windows": feature_stats} if feature_stats else {}),
    }


def build_card(*, config: dict, base: dict, phases: list[dict], tasks: list[TaskData],
               task_summaries: list[dict], seconds: float, adapter: dict | None = None,
               augmentation: dict | None = None) -> dict[str, Any]:
    seen = seen_languages(tasks)
    zero_shot = [lang for lang in TYDI_LANGS if lang not in seen["qa"]]
    return {
        "schema": CARD_SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "base_model": base,
        "mix": config["mix"],
        "en_share": config["en_share"] if config["mix"] == "mixed" else None,
        "seed": config["seed"],
        "preset": config.get("preset"),
        "intermediate_tasks": list(config["intermediate"]),
        "target": config["target"],
        "phases": phases,
        "tasks": task_summaries,
        "data_files": _unique_files(task_summaries),
        "seen_languages": seen,
        "zero_shot_languages": zero_shot,
        "budget": config["budget"],
        "hyperparameters": config["phases"],
        "config": config,
        "adapter": adapter,
        "augmentation": augmentation,  # adversarial copies in the target phase (None: trained without)
        "software": software(),
        "wall_seconds": round(seconds, 1),
        "evaluation": None,
    }


def _unique_files(summaries: list[dict]) -> list[dict]:
    seen, out = set(), []
    for s in summaries:
        for f in s["files"]:
            if f["sha256"] not in seen:
                seen.add(f["sha256"])
                out.append({"path": f["path"], "source": f["source"], "sha256": f["sha256"],
                            "examples": f["examples"]})
    return out


def evaluation_summary(report: Any, seen_qa: list[str]) -> dict[str, Any]:
    """The clean evaluation as the card stores it: per language F1/EM and whether it is zero-shot."""
    d = report.to_dict()
    langs = {lang: {"n": row["n"], "f1": round(row["f1"], 2), "exact_match": round(row["exact_match"], 2),
                    "zero_shot": lang not in seen_qa}
             for lang, row in d["languages"].items()}
    zs = [v for v in langs.values() if v["zero_shot"]]
    return {
        "data": d["data"], "mode": d["mode"], "n": d["n"], "languages": langs,
        "overall": {"f1": round(d["overall"]["f1"], 2), "exact_match": round(d["overall"]["exact_match"], 2)},
        "macro": ({"f1": round(d["macro"]["f1"], 2), "exact_match": round(d["macro"]["exact_match"], 2)}
                  if d["macro"] else None),
        "zero_shot_macro_f1": round(sum(v["f1"] for v in zs) / len(zs), 2) if zs else None,
        "seconds": d["seconds"], "fingerprint": d["fingerprint"],
        "precision": d.get("engine", {}).get("precision"), "device": d.get("engine", {}).get("device"),
    }


def write_card(directory: str | os.PathLike, card: dict) -> Path:
    path = Path(directory) / CARD_FILE
    with atomic_open(path) as fh:
        json.dump(card, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    return path


def read_card(directory: str | os.PathLike) -> dict | None:
    """The card of a checkpoint directory, or None when it has none (not trained by xadv). A card that is
    there but unreadable is an error: it says which languages were seen in training, and ignoring it would
    count them as zero-shot."""
    path = Path(directory) / CARD_FILE
    if not path.exists():
        return None
    card = read_json(path, "model card", error=ModelError)
    return card if isinstance(card, dict) and card.get("schema") == CARD_SCHEMA else None


def zero_shot_info(card: dict | None) -> dict | None:
    """What `LoadedModel.zero_shot` holds for a trained checkpoint: seen vs zero-shot evaluation languages."""
    if not card:
        return None
    seen = card.get("seen_languages") or {}
    return {"seen_qa_languages": list(seen.get("eval_qa", [])), "seen_any_languages": list(seen.get("eval_any", [])),
            "zero_shot_languages": list(card.get("zero_shot_languages", [])), "mix": card.get("mix"),
            "intermediate_tasks": list(card.get("intermediate_tasks", []))}
