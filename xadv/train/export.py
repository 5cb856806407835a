"""Turn a trained run's LoRA adapter into a self-contained adapter folder (how the embedded default is made).

    xadv train --preset default --out runs/default
    python -m xadv.train.export runs/default xadv/assets/default --half --evaluate --data-dir ../shared/data

The folder holds adapter_config.json, adapter_model.safetensors, xadv_card.json and a README.md.
`--half` stores the LoRA matrices and the span head in float16 (half the bytes; the merged weights move
by ~1e-3 of the adapter's own update). `--evaluate` then scores the folder AS SHIPPED (me5-small + this
adapter, through `xadv.models.default` and `xadv.qa`) on the evaluation data of the run and puts those
numbers in the card, so the card describes the artifact users get, not its float32 parent.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from xadv.errors import XadvError
from xadv.io import atomic_copy, atomic_write_bytes, atomic_write_text
from xadv.models.card import evaluation_summary, read_card, write_card
from xadv.train.loop import ADAPTER_DIR

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


def readme(card: dict) -> str:
    """A human summary of an adapter's card."""
    ev = card.get("evaluation") or {}
    target = next(p for p in card["phases"] if p["name"] == "target")
    files = card["adapter"]["files"]
    size = sum(meta["bytes"] for name, meta in files.items() if name in ADAPTER_FILES)
    b = card["budget"]
    hp = card["hyperparameters"]["target"]
    lines = [
        f"# xadv QA adapter ({card.get('preset') or 'custom'} preset)",
        "",
        f"LoRA adapter (rank {b['lora_r']}, alpha {b['lora_alpha']:g}, on {', '.join(b['lora_targets'])} of the top "
        f"{b['train_top_layers'] or 'all'} layers, plus the span head; {card['adapter'].get('dtype', 'float32')}) "
        f"for `{card['base_model']['name']}`, {size / 2**20:.1f} MiB.",
        "",
        f"Trained on `{card['target']}` only "
        f"({', '.join(f['path'] + ' sha256 ' + f['sha256'] for f in card['data_files'])}): "
        f"{target['steps']} steps of {hp['batch_size']} windows of up to {hp['max_seq_length']} tokens "
        f"(lr {hp['lr']:g}), {target['seconds']:.0f} s wall on {target['device']}, "
        f"loss {target['loss_first']:.2f} → {target['loss_last']:.2f}.",
        "",
        "Reproduce: `xadv train --preset default --out runs/default`, then "
        "`python -m xadv.train.export runs/default xadv/assets/default --half --evaluate`.",
        "",
    ]
    if ev:
        lines += [f"Clean `{ev['data']}` ({ev['mode']} normalisation, {ev['n']} questions, "
                  f"{ev.get('evaluated', 'the trained checkpoint')}):", "",
                  "| lang | n | F1 | EM | zero-shot |", "|---|---:|---:|---:|---|"]
        for lang, row in ev["languages"].items():
            lines.append(f"| {lang} | {row['n']} | {row['f1']:.1f} | {row['exact_match']:.1f} | "
                         f"{'yes' if row['zero_shot'] else 'no (trained on it)'} |")
        if ev.get("macro"):
            lines.append(f"| macro | {ev['n']} | {ev['macro']['f1']:.1f} | {ev['macro']['exact_match']:.1f} | |")
        lines += ["", f"Zero-shot macro F1 (the languages without QA training data): {ev['zero_shot_macro_f1']}."]
    lines += ["", "The full record (hyper-parameters, software, commit, per-step losses) is `xadv_card.json`.", ""]
    return "\n".join(lines)


def _to_half(path: Path) -> None:
    from safetensors.torch import load_file, save

    state = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in load_file(str(path)).items()}
    atomic_write_bytes(path, save(state, metadata={"format": "pt"}))


def export_adapter(run_dir: str | Path, dest: str | Path, *, half: bool = False, evaluate: bool = False,
                   data_dir: str | Path | None = None, progress: bool = True) -> Path:
    """Copy `run_dir/adapter` + its card into `dest` (replacing the adapter files there)."""
    from xadv.train.pipeline import adapter_info

    run_dir, dest = Path(run_dir), Path(dest)
    card = read_card(run_dir)
    if card is None or not card.get("adapter"):
        raise XadvError(f"{run_dir} is not a finished xadv training run with a LoRA adapter (no card or adapter)")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ADAPTER_FILES:
        atomic_copy(run_dir / ADAPTER_DIR / name, dest / name)
    if half:
        _to_half(dest / "adapter_model.safetensors")
    shutil.copymode(dest / "adapter_config.json", dest / "adapter_model.safetensors")  # safetensors writes 0600
    info = adapter_info(dest, names=ADAPTER_FILES)
    card["adapter"] = {**card["adapter"], **info, "path": ".", "dtype": "float16" if half else "float32"}
    if evaluate:
        card["evaluation"] = evaluate_adapter(dest, card, data_dir=data_dir, progress=progress)
    write_card(dest, card)
    atomic_write_text(dest / "README.md", readme(card))
    return dest


def evaluate_adapter(folder: Path, card: dict, *, data_dir=None, progress: bool = True) -> dict:
    """Clean evaluation of base + adapter exactly as `xadv.models.default` loads it."""
    from xadv.data import load_qa
    from xadv.models.loading import load_adapter_model
    from xadv.qa.engine import EngineConfig
    from xadv.qa.evaluation import evaluate

    ev = card["config"]["eval"]
    loaded = load_adapter_model(folder, base=card["base_model"]["name"], name=str(folder))
    report = evaluate(loaded, load_qa(ev["data"], data_dir=data_dir), data_name=ev["data"], mode=ev["mode"],
                      config=EngineConfig(batch_size=ev["batch_size"], progress=progress),
                      n_per_lang=ev["n_per_lang"] or None)
    summary = evaluation_summary(report, card["seen_languages"]["qa"])
    summary["n_per_lang"] = ev["n_per_lang"] or None
    summary["evaluated"] = f"the shipped adapter merged into {card['base_model']['name']}"
    return summary


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Export a trained run's LoRA adapter as a self-contained folder.")
    p.add_argument("run_dir")
    p.add_argument("dest")
    p.add_argument("--half", action="store_true", help="store the adapter in float16 (half the size)")
    p.add_argument("--evaluate", action="store_true", help="evaluate the exported folder and record it in the card")
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    print(export_adapter(args.run_dir, args.dest, half=args.half, evaluate=args.evaluate, data_dir=args.data_dir))


if __name__ == "__main__":  # pragma: no cover
    main()
