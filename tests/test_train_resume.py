"""The resume point survives a kill at any moment of its swap (a SIGTERM raises SystemExit at any bytecode)."""
import os

import pytest
import torch

from xadv.train import loop


class _Tiny(torch.nn.Linear):
    def __init__(self):
        super().__init__(3, 2)

    def trainable_state(self):
        return {k: v.detach().clone() for k, v in self.state_dict().items()}


def _save(resume, step):
    model = _Tiny()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0)
    loop._save_resume(resume, model, optimizer, scheduler, {"phase": "target", "step": step})


@pytest.mark.parametrize("killed_at, step", [(1, 4), (2, 4), (3, 8)])
def test_a_kill_inside_the_swap_leaves_a_resume_point(tmp_path, monkeypatch, killed_at, step):
    """Kill at the first rename (old point moved aside), between the two (resume/ gone: recovered from the
    complete temp dir, the new point) or after both; the next run always finds a point, never step 0."""
    resume = tmp_path / "resume"
    _save(resume, 4)
    real, calls = os.replace, {"n": 0}

    def replace(src, dst):  # os is one module: count the swap's directory renames, not the atomic file writes
        calls["n"] += os.path.isdir(src)
        if calls["n"] == killed_at and os.path.isdir(src):
            raise SystemExit(143)
        real(src, dst)

    monkeypatch.setattr(loop.os, "replace", replace)
    with pytest.raises(SystemExit):
        _save(resume, 8)
        raise SystemExit(143)  # the kill came after the swap
    monkeypatch.setattr(loop.os, "replace", real)
    if killed_at == 2:
        assert not resume.exists()  # the window this guards
    assert loop.read_resume_state(resume)["step"] == (8 if killed_at >= 2 else 4)
    loop.clear_resume(resume)
    assert not any(tmp_path.iterdir())


def test_an_incomplete_temp_dir_is_not_taken_for_a_resume_point(tmp_path):
    """A temp dir without state.json (written last) is half-written: the previous point, set aside, comes
    back instead."""
    resume = tmp_path / "resume"
    _save(resume, 4)
    os.replace(resume, loop._old(resume))
    loop._tmp(resume).mkdir()
    (loop._tmp(resume) / "trainable.safetensors").write_bytes(b"half")
    assert loop.read_resume_state(resume)["step"] == 4
    assert resume.is_dir() and not loop._old(resume).exists()


def test_no_point_anywhere_is_a_fresh_start(tmp_path):
    assert loop.read_resume_state(tmp_path / "resume") is None
    assert not (tmp_path / "resume").exists()
