"""xadv: adversarial-robustness evaluation for cross-lingual extractive QA.

Kept import-light on purpose: `import xadv` must not pull torch, transformers or textattack,
so that `xadv --help` and the data/score commands start fast.
"""

__version__ = "0.1.0"
