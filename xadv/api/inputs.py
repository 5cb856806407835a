"""What the API's `model` and `data` arguments accept: a name or path, or an object already loaded."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from xadv.errors import XadvError
from xadv.qa.evaluation import first_n_indices as _first_n_indices

if TYPE_CHECKING:
    from datasets import Dataset

    from xadv.models.loading import LoadedModel


def load_model(name_or_path: str | os.PathLike = "default", *, allow_pickle: bool = False,
               allow_untrained_head: bool = False, device: str = "auto") -> LoadedModel:
    """A QA model through the one safe door (`xadv.models.loading.load_qa_model`): `default` (me5-small +
    the shipped adapter, offline), `me5-small`, a checkpoint directory or a hub id."""
    from xadv.device import resolve_device
    from xadv.models.loading import load_qa_model

    return load_qa_model(name_or_path, allow_pickle=allow_pickle, allow_untrained_head=allow_untrained_head,
                         device=resolve_device(device))


def load_data(name: str | os.PathLike, data_dir: str | os.PathLike | None = None, n: int | None = None,
              lang: str | None = None) -> Dataset:
    """QA rows (`xadv.data.load_qa`); `n`: the first n questions of each language, as the CLI's `--n`."""
    from xadv.data import load_qa

    ds = load_qa(name, data_dir, lang)
    return ds if n is None else ds.select(first_n_indices(ds["lang"], n))


def first_n_indices(langs: list[str], n: int) -> list[int]:
    """Indices of the first `n` rows of each language (`xadv.qa.evaluation.first_n_indices`), `n` checked."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise XadvError(f"n (questions per language) must be a whole number >= 1, got {n!r}")
    return _first_n_indices(langs, n)


def as_model(model: Any, **load: Any) -> Any:
    """A LoadedModel: `model` itself when it is one, else loaded by name or path."""
    if isinstance(model, (str, os.PathLike)):
        return load_model(model, **load)
    if hasattr(model, "fingerprint") and hasattr(model, "tokenizer"):
        return model
    raise XadvError(f"model: expected a name, a path or xadv.load_model(...), got {type(model).__name__}")


def as_rows(data: Any, data_dir: str | os.PathLike | None = None, n: int | None = None) -> tuple[list[dict], str]:
    """(rows, the name records give the data): a dataset name or path is loaded, a Dataset or list of rows
    is taken as it is; `n` keeps the first n questions of each language."""
    if isinstance(data, (str, os.PathLike)):
        return [dict(r) for r in load_data(data, data_dir, n)], str(data)
    if isinstance(data, Mapping) or not hasattr(data, "__iter__"):
        raise XadvError(f"data: expected a dataset name, a path, a datasets.Dataset or a list of rows, got "
                        f"{type(data).__name__}")
    rows = [dict(r) for r in data]
    if n is not None:
        rows = [rows[i] for i in first_n_indices([r.get("lang") or "?" for r in rows], n)]
    if not rows:
        raise XadvError("data: no rows")
    return rows, str(getattr(getattr(data, "info", None), "dataset_name", None) or "dataset")
