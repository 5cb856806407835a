"""Batch order: a pure function of (seed, task, epoch, step), so resuming and multi-process runs agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xadv.train.batching import TaskStream, collate, shard, task_for_step, task_probabilities
from xadv.train.features import TrainFeature


def _stream(n=103, bs=8, seed=0, **kw):
    lengths = np.random.default_rng(5).integers(20, 300, size=n)
    return TaskStream(lengths, bs, seed, 0, **kw)


def test_each_epoch_serves_every_window_exactly_once():
    s = _stream()
    per = s.batches_per_epoch
    assert per == 13  # 12 full batches and one of 7
    for epoch in range(2):
        seen = np.concatenate([s.next() for _ in range(per)])
        assert sorted(seen.tolist()) == list(range(103)), epoch
    assert not np.array_equal(s._epoch(0)[0], s._epoch(1)[0])  # reshuffled each epoch


def test_order_is_reproducible_and_resumable():
    a = _stream()
    first = [a.next() for _ in range(30)]
    b = _stream()
    b.position = 17  # what a resume restores
    assert all(np.array_equal(x, y) for x, y in zip(first[17:], [b.next() for _ in range(13)], strict=True))
    assert not np.array_equal(_stream(seed=1).next(), first[0])


def test_length_grouping_cuts_padding():
    s = _stream(n=2000, bs=16)
    grouped = sum(len(b) * s.lengths[b].max() for b in s._epoch(0))
    rng = np.random.default_rng(0)
    perm = rng.permutation(2000)
    random = sum(16 * s.lengths[perm[i:i + 16]].max() for i in range(0, 2000, 16))
    assert grouped < 0.6 * random


def test_several_processes_split_full_batches():
    s = _stream(n=103, bs=8, drop_last=True)
    batches = [s.next() for _ in range(s.batches_per_epoch)]
    assert all(len(b) == 8 for b in batches) and len(batches) == 12
    parts = [shard(batches[0], r, 4) for r in range(4)]
    assert sorted(np.concatenate(parts).tolist()) == sorted(batches[0].tolist())
    assert shard(batches[0], 0, 1) is batches[0]


def test_task_sampling_by_size_or_temperature():
    sizes = {"qa": 9000, "xnli": 1000}
    assert task_probabilities(sizes, "size", 2.0) == pytest.approx({"qa": 0.9, "xnli": 0.1})
    assert task_probabilities(sizes, "temperature", 2.0) == pytest.approx({"qa": 0.75, "xnli": 0.25})
    picks = [task_for_step(["qa", "xnli"], [0.75, 0.25], 3, step) for step in range(4000)]
    assert picks.count("xnli") / 4000 == pytest.approx(0.25, abs=0.03)
    assert picks == [task_for_step(["qa", "xnli"], [0.75, 0.25], 3, step) for step in range(4000)]


def test_collate_pads_and_masks():
    qa = [TrainFeature(np.array([0, 5, 6, 2, 7, 8, 9, 2]), "en", start=5, end=6, ctx_lo=4, ctx_hi=6),
          TrainFeature(np.array([0, 5, 2, 7, 2]), "en", start=0, end=0, ctx_lo=3, ctx_hi=3)]
    batch = collate(qa, "qa", pad_id=1, allow_cls=True)
    assert batch["input_ids"].shape == (2, 8) and batch["input_ids"][1, 5:].tolist() == [1, 1, 1]
    assert batch["attention_mask"][1].tolist() == [1] * 5 + [0] * 3
    assert batch["allowed"][0].tolist() == [True, False, False, False, True, True, True, False]
    assert batch["allowed"][1].tolist() == [True, False, False, True, False, False, False, False]
    assert batch["start_positions"].tolist() == [5, 0]
    pairs = collate([TrainFeature(np.array([0, 4, 2]), "sw", label=2)], "pairs", pad_id=1)
    assert pairs["labels"].tolist() == [2] and "allowed" not in pairs


def _phase(losses, step_tasks, tasks):
    from xadv.train.loop import PhaseResult

    return PhaseResult(name="intermediate", tasks=tasks, steps=len(losses), seconds=1.0, tokens=1, losses=losses,
                       task_steps={t: step_tasks.count(t) for t in tasks}, task_probabilities={},
                       windows={}, parameters={}, step_tasks=step_tasks)


def test_per_task_losses_catch_a_task_that_did_not_learn():
    # The failure this guards against, as it happened: in a 3-task phase the mixed curve fell (QA's big
    # losses were sampled less often late on) while XNLI sat at chance (ln 3) the whole time.
    tasks = ["qa", "xnli"]
    step_tasks = ["qa" if i % 3 == 0 else "xnli" for i in range(120)]
    losses = [(5.4 - 3.0 * i / 120) if t == "qa" else 1.0986 for i, t in enumerate(step_tasks)]
    result = _phase(losses, step_tasks, tasks)
    per_task = result.task_losses()
    assert per_task["qa"]["steps"] == 40 and per_task["xnli"]["steps"] == 80
    assert per_task["qa"]["last"] < per_task["qa"]["first"] - 2.0
    assert per_task["xnli"]["first"] == per_task["xnli"]["last"] == pytest.approx(1.0986)
    assert result.not_learning() == ["xnli"]
    card = result.to_dict()
    assert card["not_learning"] == ["xnli"] and set(card["task_losses"]) == {"qa", "xnli"}
    assert "step_tasks" not in card


def test_a_diverging_task_is_flagged_and_short_tasks_are_not_judged():
    step_tasks = ["qa"] * 60 + ["pawsx"] * 10
    losses = [5.4 - 2.0 * min(i, 30) / 30 + 2.5 * max(0, i - 30) / 30 for i in range(60)] + [0.69] * 10
    result = _phase(losses, step_tasks, ["pawsx", "qa"])
    assert result.task_losses()["qa"]["last"] >= result.task_losses()["qa"]["first"]
    assert result.not_learning() == ["qa"]  # pawsx: 10 steps are too few to judge
    assert result.not_learning(min_steps=5) == ["pawsx", "qa"]


def test_the_recorded_step_tasks_are_the_sampled_ones():
    tasks, probs = ["pawsx", "qa", "xnli"], [0.3, 0.4, 0.3]
    seq = [task_for_step(tasks, probs, 13, i) for i in range(200)]
    assert set(seq) == set(tasks) and seq == [task_for_step(tasks, probs, 13, i) for i in range(200)]


def test_mean_pooling_ignores_padding_and_cls_reads_the_first_token():
    from xadv.train.model import pool

    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]],
                           [[5.0, 6.0], [7.0, 8.0], [9.0, 10.0]]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    assert pool(hidden, mask, "cls").tolist() == [[1.0, 2.0], [5.0, 6.0]]
    assert pool(hidden, mask, "mean").tolist() == [[2.0, 3.0], [7.0, 8.0]]
