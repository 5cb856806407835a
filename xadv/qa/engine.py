"""The QA engine: examples -> cached, batched forward passes -> decoded answer spans.

Throughput on CPU is decided by how few padded tokens go through the model: windows are sorted by
length and each batch is padded only to its own longest window (all of TyDi dev is 5,294 windows and
812k real tokens at 384/128; padding every window to 384 would push 2.5x as many through the model). Work is done
in chunks of examples so that
memory stays bounded and the on-disk cache fills as it goes (an interrupted run resumes for free).
"""

from __future__ import annotations

import copy
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import numpy as np

from xadv.device import cpu_has_native_bf16, inference_precision
from xadv.errors import DataError, ModelError, XadvError, XadvWarning
from xadv.progress import Bar
from xadv.qa.cache import PredictionCache, gold_key, prediction_key
from xadv.qa.decode import Window, best_spans, gold_logprob
from xadv.qa.features import Feature, FeatureConfig, build_features

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import PreTrainedTokenizerFast

ENGINE_VERSION = "1"  # bump when decoding changes, so cached predictions are not reused
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class EngineConfig:
    """Everything that shapes predictions (part of the cache key) plus how to run (not part of it)."""

    max_seq_length: int = 384
    doc_stride: int = 128  # overlap between windows, tokens
    max_query_length: int = 64
    max_answer_length: int = 30  # tokens
    # auto | fp32 | bf16 | fp16 | int8 (`xadv.device.inference_precision`); int8 is dynamic quantisation of the
    # nn.Linear layers but the FFN down-projections; bf16/fp16 run a copy of the model cast to that dtype
    precision: str = "auto"
    int8: bool = False  # the older spelling of precision="int8"
    # run-time only:
    batch_size: int = 8
    chunk_examples: int = 1024  # examples tokenised, run and decoded together
    num_threads: int | None = None  # None: $XADV_NUM_THREADS/$OMP_NUM_THREADS if set, else all usable cores
    cache: bool = True  # in-memory prediction cache
    cache_path: str | Path | None = None  # optional sqlite store (see `xadv.qa.cache.default_cache_path`)
    progress: bool = False  # rich progress bar on stderr

    def __post_init__(self) -> None:
        if self.int8:
            if self.precision not in ("auto", "fp32", "int8"):
                raise XadvError(f"int8 and precision {self.precision} contradict each other: give one precision")
            object.__setattr__(self, "precision", "int8")
        inference_precision(self.precision, "cpu", bf16=False)  # an unknown name is an error here, not later

    @property
    def features(self) -> FeatureConfig:
        return FeatureConfig(self.max_seq_length, self.doc_stride, self.max_query_length)

    def settings_key(self, precision: str | None = None, device_kind: str = "cpu") -> str:
        """The settings that change a prediction, as a stable string (batch size does not).

        `precision` is the resolved one (`auto` never appears in a key; the engine passes what it runs);
        bf16/fp16 and a non-CPU device are named, fp32 on the CPU keeps the key it always had."""
        precision = precision or self.precision
        if precision == "auto":
            raise XadvError("settings_key needs the resolved precision, not auto")
        keep = ("max_seq_length", "doc_stride", "max_query_length", "max_answer_length")
        # int8 names its scheme, so predictions cached (or attack cells recorded) under the earlier
        # all-Linear scheme are never reused for this one
        key: dict[str, Any] = {"engine": ENGINE_VERSION, **{k: getattr(self, k) for k in keep},
                               "int8": INT8_SCHEME if precision == "int8" else False}
        if precision in ("bf16", "fp16"):
            key["precision"] = precision
        if device_kind != "cpu":
            key["device"] = device_kind
        return json.dumps(key, sort_keys=True)


@dataclass(frozen=True)
class Prediction:
    """The answer to one example: `text == context[start:start + len(text)]` ("" and -1: no span).

    `gold_logprob` = log P(start) + log P(end) of the gold span (best window, best gold answer);
    None when the example had no gold answer, -inf when no window holds one.
    """

    text: str
    start: int
    score: float
    gold_logprob: float | None = None


@dataclass
class EngineStats:
    """Counters for tests and benchmarks: what was actually computed, and what the cache saved."""

    examples: int = 0
    cache_hits: int = 0
    features: int = 0
    tokens: int = 0  # real (unpadded) tokens through the model
    padded_tokens: int = 0  # tokens including per-batch padding
    forward_passes: int = 0
    forward_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Example:
    id: str
    question: str
    context: str
    gold: tuple[tuple[int, str], ...]
    key: str = ""
    gkey: str | None = None


def configure_threads(num_threads: int | None = None) -> int:
    """Set torch's intra-op threads: explicit value, else leave a user's env setting, else all usable cores."""
    import torch

    if num_threads is None:
        env = os.environ.get("XADV_NUM_THREADS")
        if env:
            if not env.strip().isdigit():
                raise XadvError(f"XADV_NUM_THREADS={env!r} is not a whole number of threads")
            num_threads = int(env)
        elif any(os.environ.get(v) for v in THREAD_ENV_VARS):
            return torch.get_num_threads()  # the user chose via OMP/MKL: torch already honours it
        else:
            num_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if num_threads < 1:
        raise XadvError(f"number of threads must be >= 1, got {num_threads}")
    if torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
    return num_threads


# Feed-forward down-projections (intermediate -> hidden) stay fp32: their inputs are GELU outputs with
# large outliers, which dynamic per-tensor int8 activations cannot represent. Measured on the default
# model, 40 TyDi dev questions per language (360): fp32 F1 49.8; every Linear int8 40.7; int8 but these
# fp32 49.8 (the QA head or the last two layers in fp32 instead: 40.7 / 40.6), at 0.75x fp32's time on one
# thread; on all of dev with 2 threads only 0.96x (benchmarks/results/bench_eval_*_idle.json).
FP32_LINEAR_SUFFIXES = ("output.dense", "ffn.lin2", "mlp.fc2", "mlp.down_proj")
FP32_LINEAR_EXCEPT = ("attention.output.dense",)
INT8_SCHEME = "dynamic-int8/ffn-down-fp32"


def int8_linear_names(model: "torch.nn.Module") -> set[str]:
    """The nn.Linear modules dynamic int8 quantises: all but the feed-forward down-projections."""
    import torch

    return {name for name, mod in model.named_modules()
            if isinstance(mod, torch.nn.Linear)
            and not (name.endswith(FP32_LINEAR_SUFFIXES) and not name.endswith(FP32_LINEAR_EXCEPT))}


def quantize_int8(model: "torch.nn.Module") -> "torch.nn.Module":
    """A copy of `model` with its nn.Linear layers dynamically quantised to int8 (weights int8, activations
    quantised per batch), except the feed-forward down-projections (FP32_LINEAR_SUFFIXES). On the default
    model it costs 1.1 TyDi dev F1 (benchmarks/results/int8_f1_cost.json) and is 4 % faster on 2 CPU threads
    (benchmarks/bench_eval.py). Embeddings stay fp32, so the copy costs their memory again."""
    import torch

    with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao (not a dependency)
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, int8_linear_names(model), dtype=torch.qint8, inplace=False)


def _gold_spans(answers: Any, example_id: str) -> tuple[tuple[int, str], ...]:
    if not answers:
        return ()
    try:
        texts, starts = answers["text"], answers["answer_start"]
    except (KeyError, TypeError) as exc:
        raise DataError(f"example {example_id!r}: answers must be {{'text': [...], 'answer_start': [...]}}") from exc
    if len(texts) != len(starts):
        raise DataError(f"example {example_id!r}: {len(texts)} answer texts but {len(starts)} answer starts")
    return tuple((int(s), str(t)) for t, s in zip(texts, starts) if t)


class QAEngine:
    """Predicts answer spans for extractive-QA examples with one model, caching every result.

    `fingerprint` must change whenever the weights change (the loader's content hash): it is what
    keeps a cached prediction from being served for a different model.
    """

    def __init__(self, model: "torch.nn.Module", tokenizer: "PreTrainedTokenizerFast", fingerprint: str,
                 config: EngineConfig = EngineConfig(), name: str | None = None):
        if config.batch_size < 1:
            raise XadvError(f"batch size must be >= 1, got {config.batch_size}")
        if config.chunk_examples < 1:
            raise XadvError(f"chunk_examples must be >= 1, got {config.chunk_examples}")
        config.features.check(tokenizer)
        limit = min(getattr(tokenizer, "model_max_length", None) or 10**9,
                    getattr(getattr(model, "config", None), "max_position_embeddings", None) or 10**9)
        if config.max_seq_length > limit:
            raise XadvError(f"max_seq_length={config.max_seq_length} exceeds what this model can take ({limit})")
        self.config = config
        self.tokenizer = tokenizer
        self.fingerprint = fingerprint
        self.name = name or f"model {fingerprint[:12]}"  # for messages
        self.num_threads = configure_threads(config.num_threads)
        model.eval()
        self.device = _device_of(model)
        self.precision = inference_precision(config.precision, self.device.type)
        self.model = _in_precision(model, self.precision.name, self.device)
        self.cache = PredictionCache(config.cache_path) if config.cache else None
        self.stats = EngineStats()
        self._settings = config.settings_key(self.precision.name, self.device.type)
        self._pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    def settings_key(self) -> str:
        """What changes this engine's predictions (resolved precision and device kind included)."""
        return self._settings

    @classmethod
    def from_loaded(cls, loaded: Any, config: EngineConfig = EngineConfig()) -> "QAEngine":
        """From an `xadv.models` LoadedModel (model, tokenizer, name, fingerprint)."""
        return cls(loaded.model, loaded.tokenizer, loaded.fingerprint, config, name=loaded.name)

    # --- public -------------------------------------------------------------------------------

    def predict(self, examples: Iterable[Mapping[str, Any]], *, gold: bool = True) -> dict[str, Prediction]:
        """{id: Prediction} for dict-like examples (id, question, context[, answers]); ids must be unique.

        With `gold` (default) and answers present, also the gold-span log-probability.
        """
        items = self._parse(examples, gold)
        out: dict[str, Prediction] = {}
        todo: list[_Example] = []
        for ex in items:
            hit = self._lookup(ex)
            if hit is not None:
                out[ex.id] = hit
                self.stats.cache_hits += 1
            else:
                todo.append(ex)
        self.stats.examples += len(items)
        groups: dict[str, list[_Example]] = {}  # same question+context: one computation, any chunk
        for ex in todo:
            groups.setdefault(ex.key, []).append(ex)
        keys = list(groups)
        with self._progress(todo) as advance:
            for lo in range(0, len(keys), self.config.chunk_examples):
                chunk = [ex for key in keys[lo:lo + self.config.chunk_examples] for ex in groups[key]]
                out.update(self._run_chunk(chunk, advance))
        return {ex.id: out[ex.id] for ex in items}

    def predict_one(self, question: str, context: str, answers: Mapping[str, Any] | None = None) -> Prediction:
        """Convenience for a single example (goes through the same cache)."""
        return self.predict([{"id": "_", "question": question, "context": context, "answers": answers}])["_"]

    # --- internals ----------------------------------------------------------------------------

    def _parse(self, examples: Iterable[Mapping[str, Any]], with_gold: bool) -> list[_Example]:
        items: list[_Example] = []
        seen: set[str] = set()
        for n, row in enumerate(examples):
            ex_id = str(row.get("id", n)) if isinstance(row, Mapping) else None
            if ex_id is None:
                raise DataError(f"example #{n} is a {type(row).__name__}, expected a mapping with question/context")
            if ex_id in seen:
                raise DataError(f"duplicate example id {ex_id!r} in one predict() call")
            seen.add(ex_id)
            question, context = row.get("question"), row.get("context")
            if not isinstance(question, str) or not isinstance(context, str):
                raise DataError(f"example {ex_id!r} needs string 'question' and 'context' fields")
            spans = _gold_spans(row.get("answers"), ex_id) if with_gold else ()
            ex = _Example(ex_id, question, context, spans)
            ex.key = prediction_key(self.fingerprint, self._settings, question, context)
            ex.gkey = gold_key(ex.key, spans) if spans else None
            items.append(ex)
        return items

    def _lookup(self, ex: _Example) -> Prediction | None:
        if self.cache is None:
            return None
        hit = self.cache.get(ex.key)
        if hit is None:
            return None
        glp = None
        if ex.gkey is not None:
            glp = self.cache.get_gold(ex.gkey)
            if glp is None:
                return None
        return Prediction(hit[0], hit[1], hit[2], glp)

    def _run_chunk(self, chunk: list[_Example], advance) -> dict[str, Prediction]:
        # identical (question, context) pairs in one call are computed once
        first: dict[str, _Example] = {}
        for ex in chunk:
            first.setdefault(ex.key, ex)
        unique = {key: i for i, key in enumerate(first)}
        reps = list(first.values())
        feats = build_features([e.question for e in reps], [e.context for e in reps], self.tokenizer,
                               self.config.features)
        advance.chunk(len(chunk), len(feats))
        windows: list[list[Window]] = [[] for _ in reps]
        for feat, (start, end) in zip(feats, self._forward(feats, advance)):
            windows[feat.example_index].append(
                Window(start, end, feat.offsets, feat.ctx_lo, feat.ctx_hi))
        preds: dict[str, Prediction] = {}
        new_preds, new_gold = [], []
        for ex in chunk:
            wins = windows[unique[ex.key]]
            spans = best_spans(wins, ex.context, 1, self.config.max_answer_length)  # the best is exact with n=1
            best = spans[0] if spans else None
            glp = gold_logprob(wins, ex.gold) if ex.gold else None
            pred = Prediction(best.text if best else "", best.start if best else -1,
                              best.score if best else float("-inf"), glp)
            preds[ex.id] = pred
            new_preds.append((ex.key, (pred.text, pred.start, pred.score)))
            if ex.gkey is not None:
                new_gold.append((ex.gkey, glp))
        if self.cache is not None:
            self.cache.put_many(new_preds, new_gold)
        return preds

    def _forward(self, feats: list[Feature], advance) -> list[tuple[np.ndarray, np.ndarray]]:
        """(start_logits, end_logits) per feature, unpadded, in the order of `feats`."""
        import torch

        results: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(feats)
        with torch.inference_mode():
            for idx in length_sorted_batches(feats, self.config.batch_size):
                inputs = collate([feats[i] for i in idx], self._pad_id, self.device)
                t0 = time.perf_counter()
                out = self.model(**inputs)
                self.stats.forward_seconds += time.perf_counter() - t0
                start, end = (x.float().cpu().numpy() for x in _start_end(out))
                self._check_finite(start, end, inputs["attention_mask"])
                for r, i in enumerate(idx):
                    n = len(feats[i])
                    results[i] = (start[r, :n].copy(), end[r, :n].copy())
                self.stats.forward_passes += 1
                self.stats.features += len(idx)
                self.stats.tokens += sum(len(feats[i]) for i in idx)
                self.stats.padded_tokens += inputs["input_ids"].numel()
                advance(len(idx))
        return results  # type: ignore[return-value]

    def _check_finite(self, start: np.ndarray, end: np.ndarray, mask: "torch.Tensor") -> None:
        """NaN/inf logits (NaN or overflowing weights) would decode to empty answers and score a silent
        F1 of 0: an error instead, before anything is cached. One pass over the batch's real tokens."""
        real = mask.cpu().numpy().astype(bool)
        if np.isfinite(start[real]).all() and np.isfinite(end[real]).all():
            return
        raise ModelError(f"{self.name} ({self.fingerprint[:12]}) produced non-finite (NaN/inf) logits: its weights "
                         f"are corrupt or diverged; refusing to score it")

    def _progress(self, todo: list[_Example]) -> "_Bar":
        return _Bar(len(todo), enabled=self.config.progress and bool(todo))


class _Bar:
    """Progress in windows; the total is estimated from the windows per example seen so far."""

    def __init__(self, n_examples: int, enabled: bool):
        self.n_examples = n_examples
        self.examples_seen = self.windows_seen = 0
        self._bar = Bar("predicting windows", n_examples, enabled=enabled)

    def __enter__(self) -> "_Bar":
        self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

    def chunk(self, n_examples: int, n_windows: int) -> None:
        """A chunk's windows are known: refine the estimated total."""
        self.examples_seen += n_examples
        self.windows_seen += n_windows
        rest = self.n_examples - self.examples_seen
        self._bar.set_total(self.windows_seen + round(rest * self.windows_seen / max(self.examples_seen, 1)))

    def __call__(self, n_windows: int) -> None:
        self._bar.advance(n_windows)


def length_sorted_batches(feats: list[Feature], batch_size: int) -> list[list[int]]:
    """Feature indices in batches of similar length, longest first (ties keep input order)."""
    order = sorted(range(len(feats)), key=lambda i: -len(feats[i]))
    return [order[lo:lo + batch_size] for lo in range(0, len(order), batch_size)]


def collate(feats: list[Feature], pad_id: int, device: Any = None) -> dict[str, "torch.Tensor"]:
    """Model inputs for `feats`, right-padded to the longest of them (not to max_seq_length)."""
    import torch

    width = max(len(f) for f in feats)
    ids = np.full((len(feats), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(feats), width), dtype=np.int64)
    with_types = feats[0].token_type_ids is not None
    types = np.zeros((len(feats), width), dtype=np.int64) if with_types else None
    for r, f in enumerate(feats):
        ids[r, :len(f)] = f.input_ids
        mask[r, :len(f)] = 1
        if types is not None:
            types[r, :len(f)] = f.token_type_ids
    inputs = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
    if types is not None:
        inputs["token_type_ids"] = torch.from_numpy(types)
    if device is not None and getattr(device, "type", str(device)) != "cpu":
        inputs = {k: v.to(device) for k, v in inputs.items()}
    return inputs


def _in_precision(model: "torch.nn.Module", precision: str, device: "torch.device") -> "torch.nn.Module":
    """The model to run for `precision`: itself (fp32), an int8-quantised copy, or a copy cast to bf16/fp16
    (a copy, so that a caller's model, e.g. one a suite shares between cells, is never changed)."""
    import torch

    if precision == "fp32":
        return model
    if precision == "int8":
        if device.type != "cpu":
            raise XadvError(f"int8 dynamic quantisation runs on CPU only; the model is on {device}")
        return quantize_int8(model)
    if precision == "fp16" and device.type == "cpu":
        raise XadvError("fp16 runs on GPUs only; on a CPU use bf16 (fast with AMX / AVX512-BF16) or fp32")
    if precision == "bf16" and device.type == "cpu" and not cpu_has_native_bf16():
        warnings.warn(XadvWarning("bf16 on a CPU without native bf16 (AMX / AVX512-BF16) is much slower "
                                  "than fp32 here"), stacklevel=3)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    return copy.deepcopy(model).to(dtype).eval()


def _device_of(model: "torch.nn.Module") -> "torch.device":
    import torch

    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def _start_end(out: Any) -> tuple["torch.Tensor", "torch.Tensor"]:
    if hasattr(out, "start_logits"):
        return out.start_logits, out.end_logits
    if isinstance(out, (tuple, list)) and len(out) >= 2:
        return out[0], out[1]
    raise XadvError(f"model output {type(out).__name__} has no start/end logits: not an extractive-QA model")
