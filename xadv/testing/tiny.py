"""A tiny, randomly initialised extractive-QA model with the real multilingual-e5-small tokenizer.

For fast tests of everything downstream of a checkpoint (features, batching, span decoding, caching,
attack search): its answers are meaningless but deterministic, and it tokenises real TyDi text exactly
as the real model does. The 250k x `hidden` word-embedding matrix dominates its size (32 MB at 32).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from xadv.models.tokenizer import MODEL_MAX_LENGTH, load_me5_tokenizer

if TYPE_CHECKING:  # pragma: no cover
    from transformers import BertForQuestionAnswering, PreTrainedTokenizerFast


def tiny_qa_config(*, hidden: int = 32, layers: int = 2, heads: int = 2, intermediate: int | None = None,
                   vocab_size: int = 250002, pad_token_id: int = 1):
    """BERT config shaped like multilingual-e5-small (XLM-R vocab, 512 positions) but tiny."""
    from transformers import BertConfig

    if hidden % heads:
        raise ValueError(f"hidden={hidden} must be divisible by heads={heads}")
    return BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                      num_attention_heads=heads, intermediate_size=intermediate or 4 * hidden,
                      max_position_embeddings=MODEL_MAX_LENGTH, type_vocab_size=2,
                      pad_token_id=pad_token_id, hidden_act="gelu", layer_norm_eps=1e-12,
                      architectures=["BertForQuestionAnswering"])


def tiny_qa_model(seed: int = 0, hidden: int = 32, layers: int = 2, heads: int = 2,
                  intermediate: int | None = None, init_range: float = 0.02,
                  tokenizer: "PreTrainedTokenizerFast | None" = None,
                  ) -> tuple["BertForQuestionAnswering", "PreTrainedTokenizerFast"]:
    """(model in eval mode, tokenizer); the same seed gives bit-identical weights.

    The global torch RNG is left untouched (the init runs inside `torch.random.fork_rng`), so building
    a tiny model in a test never changes another test's randomness. Parsing the 250k-piece tokenizer
    takes about a second: pass an already loaded me5 `tokenizer` to skip it.
    """
    import torch
    from transformers import BertForQuestionAnswering

    tokenizer = tokenizer if tokenizer is not None else load_me5_tokenizer()
    config = tiny_qa_config(hidden=hidden, layers=layers, heads=heads, intermediate=intermediate,
                            vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id)
    config.initializer_range = init_range
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertForQuestionAnswering(config)
    model.eval()
    return model, tokenizer


def tiny_checkpoint(directory: str | Path, seed: int = 0) -> Path:
    """`tiny_qa_model(seed)` saved as a Hugging Face checkpoint directory (what `--model DIR` loads)."""
    from xadv.io import staged_dir

    model, tok = tiny_qa_model(seed=seed)
    directory = Path(directory)
    with staged_dir(directory) as stage:
        model.save_pretrained(stage)
        tok.save_pretrained(stage)
    return directory
