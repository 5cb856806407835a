"""The experiment's figures (matplotlib, imported when plotting: the Agg backend, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from xadv.experiments.analysis import pooled_asr
from xadv.experiments.spec import BASELINE, MIXES, TASKS
from xadv.io import atomic_open

MIX_COLORS: dict[str, str] = {"en": "tab:blue", "multi": "tab:green", "mixed": "tab:orange"}  # every plot


def plot(a: dict, out_dir: Path) -> list[Path]:
    """Four figures: robust F1 heat map (model x language), mixed-vs-other gains, tasks per mix, and clean F1
    and ASR per language for each mix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    langs, names = a["langs"], list(a["groups"])
    grid = np.array([[a["groups"][g]["langs"][lang]["robust_f1"] for lang in langs] for g in names])
    fig, ax = plt.subplots(figsize=(2.8 + 0.7 * len(langs), 1.2 + 0.42 * len(names)))
    im = ax.imshow(grid, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(len(names)), names)
    for i, g in enumerate(names):
        for j, lang in enumerate(langs):
            seen = a["groups"][g]["langs"][lang]["zero_shot"] is False
            ax.text(j, i, f"{grid[i, j]:.0f}{'*' if seen else ''}", ha="center", va="center", fontsize=7,
                    color="white" if grid[i, j] < _mean(grid.ravel()) else "black")
    fig.colorbar(im, ax=ax, label="robust F1, mean of attacks")
    ax.set_title("Robust F1 per model and language (* = TyDi QA data seen)", fontsize=9)
    fig.tight_layout()
    paths.append(out_dir / "robust_f1.png")
    _save(fig, paths[-1])
    plt.close(fig)

    if a["gains"]:
        scopes = ["all", "zero-shot"]
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
        tasks = [t for t in TASKS if any(r["task"] == t for r in a["gains"])]
        for ax, scope in zip(axes, scopes):
            for k, (comp, color) in enumerate((("mixed vs en", "tab:blue"), ("mixed vs multi", "tab:orange"))):
                xs, ys, lo, hi = [], [], [], []
                for i, task in enumerate(tasks):
                    r = next((r for r in a["gains"] if r["task"] == task and r["comparison"] == comp
                              and r["scope"] == scope), None)
                    if r is None and scope == "zero-shot":  # no seen language in the pair: same as all
                        r = next((r for r in a["gains"] if r["task"] == task and r["comparison"] == comp), None)
                    if r is None:
                        continue
                    t = r["robust"]
                    xs.append(i + (k - 0.5) * 0.35)
                    ys.append(t["diff"])
                    lo.append(t["diff"] - t["ci_low"])
                    hi.append(t["ci_high"] - t["diff"])
                if xs:
                    ax.bar(xs, ys, width=0.35, yerr=[lo, hi], capsize=3, label=comp, color=color)
            ax.axhline(0, color="black", lw=0.8)
            ax.set_xticks(range(len(tasks)), tasks)
            ax.set_xlim(-0.6, len(tasks) - 0.4)
            ax.set_title("all languages" if scope == "all" else "languages zero-shot for both", fontsize=9)
        axes[0].set_ylabel("Δ robust F1 (points), 95% CI")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        paths.append(out_dir / "mixed_gains.png")
        _save(fig, paths[-1])
        plt.close(fig)

    mixes = [m for m in MIXES if any(g["mix"] == m for g in a["groups"].values())]
    tasks = [t for t in TASKS if any(g["task"] == t for g in a["groups"].values())]
    if mixes and tasks:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        for ax, key, title in ((axes[0], "clean_f1", "clean F1 (macro)"), (axes[1], "robust_f1", "robust F1 (macro)")):
            width = 0.8 / len(mixes)
            for k, mix in enumerate(mixes):
                ys = [a["groups"].get(f"{mix}-{t}", {}).get("macro", {}).get(key, np.nan) for t in tasks]
                ax.bar(np.arange(len(tasks)) + (k - (len(mixes) - 1) / 2) * width, ys, width=width, label=mix,
                       color=MIX_COLORS[mix])
            if BASELINE in a["groups"]:
                ax.axhline(a["groups"][BASELINE]["macro"][key], color="black", ls="--", lw=1, label="baseline")
            ax.set_xticks(range(len(tasks)), tasks)
            ax.set_xlim(-0.6, len(tasks) - 0.4)
            ax.set_title(title, fontsize=9)
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        paths.append(out_dir / "tasks.png")
        _save(fig, paths[-1])
        plt.close(fig)

    if mixes:
        paths.append(_plot_per_language(a, mixes, out_dir, plt))
    return paths


def _plot_per_language(a: dict, mixes: list[str], out_dir: Path, plt) -> Path:
    """Per language: clean F1 and ASR (pooled over attacks) of each mix (mean of its models) and the baseline."""
    langs = a["langs"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, title, value in ((axes[0], "clean F1", lambda c: c["clean_f1"]),
                             (axes[1], "ASR % (exact match, pooled over attacks)", pooled_asr)):
        for mix in mixes:
            models = [g for g in a["groups"].values() if g["mix"] == mix]
            ys = [_mean([value(g["langs"][lang]) for g in models]) for lang in langs]
            ax.plot(range(len(langs)), ys, marker="o", color=MIX_COLORS[mix], label=f"{mix} (mean of {len(models)})")
        if BASELINE in a["groups"]:
            ys = [value(a["groups"][BASELINE]["langs"][lang]) for lang in langs]
            ax.plot(range(len(langs)), ys, marker="s", ls="--", color="black", label="baseline")
        ax.set_xticks(range(len(langs)), langs)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Per language and mix (each mix: the mean of its intermediate-task models)", fontsize=9)
    fig.tight_layout()
    path = out_dir / "per_language.png"
    _save(fig, path)
    plt.close(fig)
    return path


def _mean(values) -> float:
    """Mean of the defined values; NaN, without numpy's "Mean of empty slice" warning, when none is (a
    language where no model of a mix answered anything exactly has no ASR)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def _save(fig, path: Path) -> None:
    """A PNG through the one writer (`xadv.io.atomic_open`)."""
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, dpi=110, format="png")
