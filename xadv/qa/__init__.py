"""The QA engine: features with offsets, batched forward passes, span decoding, a prediction cache.

    from xadv.models.loading import load_qa_model
    from xadv.qa.engine import EngineConfig, QAEngine

    engine = QAEngine.from_loaded(load_qa_model("./ckpt"), EngineConfig(batch_size=16))
    preds = engine.predict(rows)          # {id: Prediction(text, start, score, gold_logprob)}

Modules: `features` (windows + offsets), `decode` (pure numpy span search, gold log-prob), `cache`
(dict + sqlite), `engine` (batching, threads, int8), `evaluation` (what `xadv eval` runs). Knows nothing
about attacks. The constructed oracle models that tests drive the engine with live in `xadv.testing`.
Importing this package is cheap; torch is imported where it is used.
"""
