"""Which examples form each step's batch: deterministic, length-grouped, resumable, shardable.

Everything is a pure function of (seed, task, epoch, step), so a resumed run rebuilds exactly the batch
order it was following without saving any iterator state, and every process of a multi-GPU run agrees
on which task a step trains (DDP needs all ranks to use the same head) while taking its own share of
the global batch.

Length grouping: each epoch is shuffled, cut into chunks of `group` batches, each chunk is sorted by
length and split into batches, and the batches are shuffled again. Batches then hold windows of
similar length, so padding (pure waste on CPU) stays small without giving up randomness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from xadv.train.features import TrainFeature

GROUP = 32


@dataclass
class TaskStream:
    """Global batches of one task's features, epoch after epoch; `position` = batches already served."""

    lengths: np.ndarray
    batch_size: int  # global batch (per device x processes)
    seed: int
    task_index: int
    drop_last: bool = False  # set with several processes: a short batch cannot be split evenly
    position: int = 0

    def __post_init__(self) -> None:
        self._cached: tuple[int, list[np.ndarray]] | None = None

    def _epoch(self, epoch: int) -> list[np.ndarray]:
        if self._cached is not None and self._cached[0] == epoch:
            return self._cached[1]
        n = len(self.lengths)
        rng = np.random.default_rng([self.seed, self.task_index, epoch])
        perm = rng.permutation(n)
        batches: list[np.ndarray] = []
        span = self.batch_size * GROUP
        for lo in range(0, n, span):
            chunk = perm[lo:lo + span]
            chunk = chunk[np.argsort(-self.lengths[chunk], kind="stable")]
            batches.extend(chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size))
        if self.drop_last and len(batches) > 1:  # only the last chunk can end in a short batch
            batches = [b for b in batches if len(b) == self.batch_size]
        order = rng.permutation(len(batches))
        self._cached = (epoch, [batches[i] for i in order])
        return self._cached[1]

    @property
    def batches_per_epoch(self) -> int:
        return len(self._epoch(0))

    def next(self) -> np.ndarray:
        per = self.batches_per_epoch
        epoch, k = divmod(self.position, per)
        self.position += 1
        return self._epoch(epoch)[k]


def task_probabilities(sizes: dict[str, int], sampling: str, temperature: float) -> dict[str, float]:
    """P(task) per step: proportional to size, or to size ** (1 / temperature)."""
    power = 1.0 if sampling == "size" else 1.0 / temperature
    weights = {t: float(n) ** power for t, n in sizes.items()}
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}


def task_for_step(tasks: Sequence[str], probs: Sequence[float], seed: int, step: int) -> str:
    """The task that step `step` trains: the same on every process and after a resume."""
    if len(tasks) == 1:
        return tasks[0]
    rng = np.random.default_rng([seed, 7919, step])
    return tasks[int(rng.choice(len(tasks), p=np.asarray(probs) / np.sum(probs)))]


def shard(batch: np.ndarray, rank: int, world: int) -> np.ndarray:
    """This process's part of a global batch."""
    return batch[rank::world] if world > 1 else batch


def collate(features: Sequence["TrainFeature"], kind: str, pad_id: int, allow_cls: bool = False
            ) -> dict[str, "torch.Tensor"]:
    """Pad to the longest window of the batch; QA batches carry start/end and the `allowed` mask."""
    import torch

    from xadv.qa.engine import collate as pad_inputs  # the same right-padding inference uses

    batch = pad_inputs(list(features), pad_id)
    n, width = batch["input_ids"].shape
    if kind == "qa":
        allowed = np.zeros((n, width), dtype=bool)
        for r, f in enumerate(features):
            allowed[r, f.ctx_lo:f.ctx_hi + 1] = True
            if allow_cls:
                allowed[r, 0] = True
        batch["allowed"] = torch.from_numpy(allowed)
        batch["start_positions"] = torch.tensor([f.start for f in features])
        batch["end_positions"] = torch.tensor([f.end for f in features])
    else:
        batch["labels"] = torch.tensor([f.label for f in features])
    return batch
