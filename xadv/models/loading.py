"""Load an extractive-QA checkpoint safely: the one door through which models enter xadv.

A checkpoint is untrusted input (leaderboard submissions come from anyone), so:
- weights load from safetensors only; pickled weights (pytorch_model.bin, *.pt, *.ckpt) can execute
  code when unpickled and are refused unless the caller passes `allow_pickle=True` (`--allow-pickle`);
- `trust_remote_code` is never set: no Python code from a checkpoint ever runs;
- weights that the config expects but the files lack are an error, not a silently random layer.

Decision on a missing QA head (e.g. the fresh `me5-small` import, a bare encoder): an error by default,
because a random `qa_outputs` layer yields meaningless near-zero F1 that could end up in a results table.
`allow_untrained_head=True` (`--allow-untrained-head`) accepts it, with a warning, for fine-tuning or
smoke tests; the random head is then initialised from a fixed seed, so the same files still give the
same model (and the fingerprint stays a faithful name for it).

`name_or_path` is a local directory, the special name `me5-small` (imported offline on first use),
`default` (me5-small + the QA adapter shipped with xadv, see `xadv.models.default`), or a
Hugging Face hub id (fetched with huggingface_hub; with HF_HUB_OFFLINE=1 only the local HF cache is used).

Path or hub id (`looks_like_path`): an existing path always wins. Otherwise a name is a path, and missing
("no such checkpoint directory"), never looked up on the hub, when it starts with `./`, `../`, `/` or `~`
(or is `.`/`..`), contains a backslash or more than one `/`, has a `/` after a first component that exists
here (`runs/x` while `runs/` exists), or ends in a weight/config suffix (`.safetensors`, `.bin`, `.pt`,
`.ckpt`, `.json`, ...). Hub ids are `name` or `owner/name`. Every hub request waits at most
`xadv.paths.network_timeout()` seconds ($XADV_NET_TIMEOUT, default 30) per connect or read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xadv.errors import ModelError
from xadv.io import check_regular_file, read_json
from xadv.models.default import ADAPTER_FILES, DEFAULT_BASE, DEFAULT_NAME, default_adapter_dir
from xadv.models.fingerprint import TOKENIZER_FILES, checkpoint_fingerprint, file_sha256

if TYPE_CHECKING:  # pragma: no cover
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

PICKLE_PATTERNS = ("pytorch_model*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.pickle")
OTHER_FRAMEWORK_PATTERNS = ("tf_model*.h5", "flax_model*.msgpack", "*.onnx", "*.gguf")
HEAD_PREFIX = "qa_outputs."
UNTRAINED_HEAD_SEED = 0
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
CHECKPOINT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".json", ".h5",
                       ".msgpack", ".onnx", ".gguf", ".model", ".zip", ".tar", ".gz")


class UntrainedHeadWarning(UserWarning):
    """The checkpoint has no trained QA head; a seeded random one was attached."""


@dataclass(frozen=True)
class WeightFiles:
    """The weight files of a checkpoint directory, by kind."""

    safetensors: list[Path]
    pickled: list[Path]
    other: list[Path]


@dataclass
class LoadedModel:
    """A QA model ready for inference (eval mode, on `device`) plus what identifies it."""

    model: "PreTrainedModel"
    tokenizer: "PreTrainedTokenizerFast"
    name: str  # what the user asked for: a path, `me5-small`, or a hub id
    path: Path  # the local directory the files were read from
    fingerprint: str  # sha256 of config + loaded weights + tokenizer files (see xadv.models.fingerprint)
    has_qa_head: bool  # False: `qa_outputs` is a seeded random layer (allow_untrained_head)
    weights_format: str  # "safetensors" or "pickle"
    device: str = "cpu"
    provenance: dict | None = None  # xadv_provenance.json of an xadv import, if any
    zero_shot: dict | None = None  # seen-language info from an xadv model card (filled by xadv.train later)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:12]

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def weight_files(path: Path) -> WeightFiles:
    files = [p for p in sorted(path.iterdir()) if p.is_file()]

    def match(patterns):
        return [p for p in files if any(p.match(pat) for pat in patterns)]

    return WeightFiles(match(("*.safetensors",)), match(PICKLE_PATTERNS), match(OTHER_FRAMEWORK_PATTERNS))


def resolve_checkpoint(name_or_path: str | Path, *, allow_pickle: bool = False) -> Path:
    """Local directory for `name_or_path` (importing me5-small or fetching a hub id as needed).

    An existing local path always wins, so `./me5-small` is a directory, while `me5-small` is the import
    unless a directory of that name exists in the current directory.
    """
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelError(f"{path} is a file; --model takes a checkpoint directory (with config.json)")
        return path
    if name == "me5-small":
        from xadv.models.me5 import me5_small_path

        return me5_small_path(ensure=True)
    if looks_like_path(name) or not _HUB_ID.match(name):
        raise ModelError(f"no such checkpoint directory: {name} does not exist (hub ids are owner/name)")
    return _fetch_from_hub(name, allow_pickle=allow_pickle)


def looks_like_path(name: str) -> bool:
    """Whether a name that does not exist locally must still be a path, never a hub id (module docstring)."""
    if name in (".", "..") or name.startswith(("./", "../", "/", "~")) or "\\" in name or name.count("/") > 1:
        return True
    if name.lower().endswith(CHECKPOINT_SUFFIXES):
        return True
    first, sep, _ = name.partition("/")
    return bool(sep) and os.path.lexists(first)


def _fetch_from_hub(repo_id: str, *, allow_pickle: bool) -> Path:
    """Download (or find in the HF cache) the files a QA checkpoint needs; never pickles unless allowed."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import HfHubHTTPError, LocalEntryNotFoundError

    from xadv.paths import network_timeout

    patterns = ["*.json", "*.safetensors", "*.model", "*.txt"] + (list(PICKLE_PATTERNS) if allow_pickle else [])
    timeout = network_timeout()
    _hub_requests_time_out(timeout)
    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns, etag_timeout=timeout))
    except LocalEntryNotFoundError:
        raise ModelError(f"{repo_id!r} is not a local directory and is not in the Hugging Face cache, and the hub "
                         f"cannot be reached (offline?): pass a checkpoint directory, or download it first "
                         f"online") from None
    except (HfHubHTTPError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot fetch {repo_id!r} from the Hugging Face hub: {first}") from None


def _hub_requests_time_out(seconds: float) -> None:
    """Make every huggingface_hub request time out: snapshot_download's own `repo_info` call passes no
    timeout (requests then waits forever on an endpoint that accepts and never answers), so the sessions
    it uses get `seconds` as their default for connect and read."""
    import requests
    from huggingface_hub import configure_http_backend

    class _TimeoutSession(requests.Session):
        def request(self, method, url, *args, **kwargs):  # type: ignore[override]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = seconds
            return super().request(method, url, *args, **kwargs)

    configure_http_backend(backend_factory=_TimeoutSession)


def read_config(path: Path) -> dict:
    cfg_file = path / "config.json"
    if not any(path.iterdir()):
        raise ModelError(f"{path} is an empty directory, not a checkpoint")
    if not cfg_file.is_file():
        raise ModelError(f"{path} is not a Hugging Face checkpoint (no config.json)")
    config = read_json(cfg_file, "model config", error=ModelError)
    if not isinstance(config, dict) or "model_type" not in config:
        raise ModelError(f"{cfg_file} has no model_type: not a transformers model config")
    return config


def safetensors_keys(files: list[Path]) -> set[str]:
    """Tensor names from safetensors headers (reads only the headers, no weights)."""
    from safetensors import safe_open

    keys: set[str] = set()
    for f in files:
        try:
            with safe_open(str(f), framework="numpy") as fh:
                keys.update(fh.keys())
        except Exception as exc:  # noqa: BLE001 - any parse failure means a corrupt file
            first = " ".join(str(exc).split()) or type(exc).__name__
            raise ModelError(f"{f} is not a valid safetensors file (corrupt or truncated): {first}") from None
    return keys


def _choose_weights(path: Path, allow_pickle: bool) -> tuple[str, list[Path]]:
    wf = weight_files(path)
    if wf.safetensors:
        return "safetensors", wf.safetensors
    if wf.pickled:
        if not allow_pickle:
            names = ", ".join(p.name for p in wf.pickled[:3])
            raise ModelError(f"{path} has only pickled weights ({names}), which can run arbitrary code when loaded: "
                             f"convert them to safetensors, or pass --allow-pickle if you trust this checkpoint")
        return "pickle", wf.pickled
    if wf.other:
        raise ModelError(f"{path} has only {wf.other[0].name}-style weights; xadv loads PyTorch weights "
                         f"(safetensors): convert the checkpoint first")
    raise ModelError(f"{path} has a config.json but no weights file (model.safetensors)")


@contextlib.contextmanager
def _quiet_transformers():
    """Hide transformers' own load chatter; xadv reports what matters (missing head, pickles) itself."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


def load_tokenizer(path: Path) -> "PreTrainedTokenizerFast":
    """The checkpoint's fast tokenizer; ModelError when missing or slow (slow ones give no offsets)."""
    from transformers import AutoTokenizer

    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise ModelError(f"{path} has no tokenizer files (tokenizer.json / tokenizer_config.json): "
                         f"save the tokenizer with the model")
    for name in TOKENIZER_FILES:  # a FIFO or device named tokenizer.json would hang or flood the parser
        if os.path.lexists(path / name):
            check_regular_file(path / name, "tokenizer")
    try:
        with _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(str(path), use_fast=True, trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 - untrusted files: the tokenizers library raises plain Exception
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load the tokenizer of {path}: {first}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(f"the tokenizer of {path} ({type(tokenizer).__name__}) is not a fast tokenizer: it cannot "
                         f"return character offsets, which extractive QA needs (add a tokenizer.json)")
    return tokenizer


def _no_head_error(path: Path) -> ModelError:
    return ModelError(f"{path} has no trained QA head (qa_outputs), e.g. a bare encoder such as the me5-small "
                      f"import: fine-tune it first, or pass --allow-untrained-head to use a random (seeded) head")


def _init_head_deterministically(model, seed: int = UNTRAINED_HEAD_SEED) -> None:
    import torch

    head = model.qa_outputs
    std = getattr(model.config, "initializer_range", 0.02)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=gen) * std)
        if head.bias is not None:
            head.bias.zero_()


def load_qa_model(name_or_path: str | Path, *, allow_pickle: bool = False, allow_untrained_head: bool = False,
                  device: str = "cpu") -> LoadedModel:
    """Load a checkpoint for extractive QA (AutoModelForQuestionAnswering + fast AutoTokenizer).

    Raises ModelError, in one line, for: a missing/empty/non-checkpoint directory, pickled-only weights
    without `allow_pickle`, weights that do not match the config, an architecture without a QA class,
    a slow or missing tokenizer, NaN/inf weights, and (without `allow_untrained_head`) a checkpoint with no
    QA head.
    """
    name = str(name_or_path)
    if name == "default" and not Path(name).exists():  # the embedded default: me5-small + shipped adapter
        return load_default_model(device=device)
    path = resolve_checkpoint(name_or_path, allow_pickle=allow_pickle)  # before the heavy imports: fail fast
    import torch
    from transformers import AutoModelForQuestionAnswering

    config = read_config(path)
    fmt, weights = _choose_weights(path, allow_pickle)
    if fmt == "safetensors":  # fail fast, before loading anything heavy: a corrupt file, or no QA head
        keys = safetensors_keys(weights)
        if not allow_untrained_head and not any(k.split(".")[-2:-1] == ["qa_outputs"] for k in keys):
            raise _no_head_error(path)
    tokenizer = load_tokenizer(path)
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise ModelError(f"unknown device {device!r} (use cpu, cuda, cuda:0, mps)") from None

    try:
        with _quiet_transformers():
            model, info = AutoModelForQuestionAnswering.from_pretrained(
                str(path), use_safetensors=(fmt == "safetensors"), trust_remote_code=False,
                output_loading_info=True)
    except ValueError as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else "ValueError"
        if "Unrecognized configuration class" in msg:
            raise ModelError(f"{path}: model type {config.get('model_type')!r} has no question-answering "
                             f"model in transformers") from None
        if "does not recognize this architecture" in str(exc):
            import transformers

            raise ModelError(f"{path}: model type {config.get('model_type')!r} is unknown to transformers "
                             f"{transformers.__version__}") from None
        raise ModelError(f"cannot load {path}: {msg}") from None
    except Exception as exc:  # noqa: BLE001 - untrusted files: any failure to parse them is the checkpoint's
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load {path}: {type(exc).__name__}: {msg}") from None

    missing = [k for k in info.get("missing_keys", []) if not k.endswith("position_ids")]
    head_missing = [k for k in missing if k.startswith(HEAD_PREFIX)]
    body_missing = [k for k in missing if not k.startswith(HEAD_PREFIX)]
    if body_missing:
        raise ModelError(f"{path}: {len(body_missing)} weights the config expects are missing from the files "
                         f"(e.g. {body_missing[0]}): the weights do not match config.json")
    if info.get("mismatched_keys"):
        raise ModelError(f"{path}: weights with the wrong shape for config.json (e.g. {info['mismatched_keys'][0]})")
    has_head = not head_missing
    if not has_head:
        if not allow_untrained_head:
            raise _no_head_error(path)
        warnings.warn(f"{path} has no trained QA head: using a random qa_outputs layer (seed "
                      f"{UNTRAINED_HEAD_SEED}); its answers are meaningless until fine-tuned",
                      UntrainedHeadWarning, stacklevel=2)
        _init_head_deterministically(model)

    _check_finite_weights(model, path)
    model.to(dev).eval()
    from xadv.models.card import read_card, zero_shot_info  # a trained checkpoint says which languages it saw
    from xadv.models.me5 import read_provenance

    return LoadedModel(model=model, tokenizer=tokenizer, name=name, path=path,
                       fingerprint=_fingerprint(path, weights), has_qa_head=has_head,
                       weights_format=fmt, device=str(dev), provenance=read_provenance(path),
                       zero_shot=zero_shot_info(read_card(path)))


def _check_finite_weights(model, path: Path) -> None:
    """NaN/inf weights are an error at the door, not something the forward pass is trusted to reveal:
    PyTorch's fused CPU attention kernel (SDPA without a mask, seen on an AVX-512 machine) returns zeros, not
    NaN, for NaN queries, so a batch without padding gives finite logits and a plausible, wrong answer. Parameters
    only (buffers are made by the model's code, some legitimately infinite). `aminmax` propagates NaN and
    shows +-inf, about 20x faster than `isfinite().all()` (0.02 s for me5-small's 96M-value embedding)."""
    import torch

    for name, tensor in model.named_parameters():
        if tensor.is_floating_point() and tensor.numel() and not all(
                bool(torch.isfinite(x)) for x in torch.aminmax(tensor.detach())):
            raise ModelError(f"{path}: weight {name} has non-finite values (NaN/inf): the checkpoint is corrupt "
                             f"or its training diverged; refusing to score it")


def _fingerprint(path: Path, weights: list[Path]) -> str:
    files = [path / "config.json", *weights, *(path / f for f in TOKENIZER_FILES if (path / f).is_file())]
    return checkpoint_fingerprint(path, files)


def fingerprint_checkpoint(name_or_path: str | Path, *, allow_pickle: bool = False) -> str:
    """The fingerprint `load_qa_model` would report, without loading the model (hashes files only)."""
    path = resolve_checkpoint(name_or_path, allow_pickle=allow_pickle)
    read_config(path)
    _fmt, weights = _choose_weights(path, allow_pickle)
    return _fingerprint(path, weights)


def model_info(loaded: LoadedModel) -> dict:
    """A JSON-ready description of a loaded checkpoint (what `xadv models info` prints)."""
    cfg = loaded.model.config
    tok = loaded.tokenizer
    return {
        "name": loaded.name,
        "path": str(loaded.path),
        "architecture": type(loaded.model).__name__,
        "config_architectures": list(getattr(cfg, "architectures", None) or []),
        "model_type": cfg.model_type,
        "n_params": loaded.n_params,
        "hidden_size": getattr(cfg, "hidden_size", None),
        "layers": getattr(cfg, "num_hidden_layers", None),
        "heads": getattr(cfg, "num_attention_heads", None),
        "max_position_embeddings": getattr(cfg, "max_position_embeddings", None),
        "vocab_size": getattr(cfg, "vocab_size", None),
        "tokenizer": type(tok).__name__,
        "tokenizer_vocab": len(tok),
        "tokenizer_max_length": tok.model_max_length if tok.model_max_length < 10**9 else None,
        "has_qa_head": loaded.has_qa_head,
        "weights_format": loaded.weights_format,
        "fingerprint": loaded.fingerprint,
        "provenance": loaded.provenance,
    }


# --- LoRA adapters and the embedded default ---------------------------------------------------------------


def _adapter_fingerprint(base_fingerprint: str, adapter_dir: Path, digests: dict[str, str]) -> str:
    lines = [f"base\t{base_fingerprint}\n"]
    for name in ADAPTER_FILES:
        lines.append(f"{name}\t{(adapter_dir / name).stat().st_size}\t{digests[name]}\n")
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def load_adapter_model(adapter_dir: str | Path, *, base: str = DEFAULT_BASE, name: str | None = None,
                       device: str = "cpu") -> LoadedModel:
    """A base checkpoint with a peft LoRA QA adapter merged in (the adapter's QA head replaces the base's)."""
    adapter_dir = Path(adapter_dir)
    missing = [f for f in ADAPTER_FILES if not (adapter_dir / f).is_file()]
    if missing:
        raise ModelError(f"{adapter_dir} is not a QA adapter (missing {', '.join(missing)})")
    from xadv.models.card import read_card, zero_shot_info

    card = read_card(adapter_dir)
    digests = {name: file_sha256(adapter_dir / name) for name in ADAPTER_FILES}  # hashed once: check + fingerprint
    _check_adapter_files(adapter_dir, card, digests)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntrainedHeadWarning)  # the adapter brings the trained head
        loaded = load_qa_model(base, allow_untrained_head=True)
    try:
        from peft import PeftModel
    except ImportError:
        raise ModelError("loading a LoRA adapter needs the package 'peft' (pip install peft)") from None
    try:
        model = PeftModel.from_pretrained(loaded.model, str(adapter_dir)).merge_and_unload()
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot apply the adapter {adapter_dir} to {base}: {first}") from None
    _check_finite_weights(model, adapter_dir)  # a NaN in the adapter is a NaN in every merged weight it touches
    model.to(device).eval()
    return LoadedModel(
        model=model, tokenizer=loaded.tokenizer, name=name or str(adapter_dir), path=adapter_dir,
        fingerprint=_adapter_fingerprint(loaded.fingerprint, adapter_dir, digests), has_qa_head=True,
        weights_format="safetensors", device=device,
        provenance={"kind": "xadv-lora-adapter", "base": base, "base_fingerprint": loaded.fingerprint,
                    "base_provenance": loaded.provenance, "adapter": str(adapter_dir)},
        zero_shot=zero_shot_info(card), extra={"card": card} if card else {})


def _check_adapter_files(adapter_dir: Path, card: dict | None, digests: dict[str, str]) -> None:
    """An adapter whose card lists its files' SHA-256 (every adapter xadv exports, the shipped default among
    them) must match it: a changed or damaged file would otherwise score as the model the card describes."""
    files = ((card or {}).get("adapter") or {}).get("files") or {}
    for name in ADAPTER_FILES:
        want = (files.get(name) or {}).get("sha256")
        if want and digests[name] != want:
            raise ModelError(f"{adapter_dir / name} does not match its model card (sha256 differs): the adapter "
                             f"was changed or damaged; reinstall xadv or re-export the adapter")


def load_default_model(device: str = "cpu") -> LoadedModel:
    """me5-small + the embedded default adapter: what `--model default` (and no `--model`) means."""
    adapter_dir = default_adapter_dir()
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise ModelError(f"the default QA adapter is missing from this installation ({adapter_dir}): "
                         f"reinstall xadv, or pass --model CKPT")
    return load_adapter_model(adapter_dir, base=DEFAULT_BASE, name=DEFAULT_NAME, device=device)
