"""xadv: adversarial-robustness evaluation for cross-lingual extractive QA.

The Python API (docs/python-api.md), resolved lazily (PEP 562) from `xadv.api`:

    import xadv
    model = xadv.load_model()                                  # the embedded default model
    data = xadv.load_data("tydiqa:sw:dev", n=20)
    xadv.evaluate(model, data).overall.f1
    run = xadv.attack(model, data, "keyboard", results="xadv-results")
    board = xadv.build_leaderboard("xadv-results")
    adv = xadv.perturb_dataset(data, "keyboard")               # a datasets.Dataset with an `edits` column

Kept import-light on purpose: `import xadv` must not pull torch, transformers or textattack, so that
`xadv --help` and the data/score commands start fast; the API module loads on first attribute access.
"""

from __future__ import annotations

from typing import Any

from xadv.version import __version__

_API = ("load_model", "load_data", "evaluate", "attack", "build_leaderboard", "perturb_dataset", "augment",
        "EvalResult", "RunResult", "Leaderboard")

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        from xadv import api

        return getattr(api, name)
    raise AttributeError(f"module 'xadv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
