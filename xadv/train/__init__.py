"""Training (STILTs): base encoder -> intermediate tasks (QA, XNLI, PAWS-X) under a data mix -> target
span-QA fine-tuning on TyDi GoldP train -> zero-shot evaluation; a model card with every checkpoint.

    from xadv.train import load_config, train
    result = train(load_config("smoke"), "runs/smoke", data_dir="../shared/data")
    result.card["seen_languages"]          # which evaluation languages training has seen

Importing this package is cheap; torch, transformers, accelerate and peft load when training starts.
"""

from xadv.train.config import TrainConfig, load_config, preset_names


def train(*args, **kwargs):
    """See `xadv.train.pipeline.train` (imported lazily: it pulls torch)."""
    from xadv.train.pipeline import train as _train

    return _train(*args, **kwargs)


__all__ = ["TrainConfig", "load_config", "preset_names", "train"]
