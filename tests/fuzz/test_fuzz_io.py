"""Hostile paths, files, checkpoints and endpoints: every case ends in one `error: ...` line and exit 2 (or
the documented repair), within a deadline, with nothing replaced that is not a regular file.

Safety of the tests themselves (they may run as root): no test opens or writes a real device. "Devices",
FIFOs, sockets and links are created under `tmp_path`; the one link to `/dev/full` is only ever `lstat`ed
(a broken writer would replace the link, never the device). "Full disk" is a real 1 MB tmpfs where this
process may mount one, else `shutil.disk_usage` is monkeypatched.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from xadv.errors import XadvError, XadvWarning
from xadv.io import atomic_open, atomic_write_text, check_output_dir, check_output_path, staged_dir

DEADLINE_S = 60  # no case may take longer (a hang fails the test instead of stalling the suite)
NET_TIMEOUT_S = "2"

SQUAD = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{
    "context": "Nairobi ni mji mkuu wa Kenya. Mji huu una watu wengi sana.",
    "qas": [{"id": "swahili--1", "question": "Mji mkuu wa Kenya ni upi?",
             "answers": [{"text": "Nairobi", "answer_start": 0}]},
            {"id": "swahili--2", "question": "Mji huu una nini?",
             "answers": [{"text": "watu wengi", "answer_start": 42}]}]}]}]}


class Hung(Exception):
    """The deadline of a case passed: something blocked (a FIFO, a socket) instead of failing."""


@contextlib.contextmanager
def deadline(seconds: float = DEADLINE_S):
    """SIGALRM after `seconds`: interrupts a blocking open/read/recv in this (the main) thread."""
    def fire(signum, frame):
        raise Hung(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run(*args, seconds: float = DEADLINE_S):
    with deadline(seconds):
        return CliRunner().invoke(app, [str(a) for a in args])


def assert_one_error(result, *needles: str) -> str:
    """Exit 2, exactly one non-empty stderr line, starting `error: `, containing `needles`; no traceback."""
    assert not isinstance(result.exception, Hung), "the command hung"
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def assert_untouched_fifo(path: Path) -> None:
    assert stat.S_ISFIFO(os.lstat(path).st_mode), f"{path} was replaced"


@pytest.fixture
def squad(tmp_path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    return path


@pytest.fixture
def odd(tmp_path) -> dict[str, Path]:
    """Things that exist and are not regular files, all under tmp_path."""
    root = tmp_path / "odd"
    root.mkdir()
    os.mkfifo(root / "fifo.json")
    (root / "dir.json").mkdir()
    (root / "target.json").write_text("keep me\n")
    (root / "link.json").symlink_to(root / "target.json")
    (root / "dangling.json").symlink_to(root / "nowhere.json")
    (root / "full.json").symlink_to("/dev/full")  # only ever lstat-ed here
    things = {name: root / f"{name}.json" for name in ("fifo", "dir", "link", "dangling", "full")}
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(OSError):  # AF_UNIX paths are limited to ~107 bytes
        sock.bind(str(root / "s.json"))
        things["socket"] = root / "s.json"
    with contextlib.suppress(OSError):  # a node for /dev/null's device, in tmp_path (needs CAP_MKNOD)
        os.mknod(root / "dev.json", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        things["device"] = root / "dev.json"
    yield things
    sock.close()


@contextlib.contextmanager
def tmpfs(where: Path, size: str = "1m", readonly: bool = False):
    """A tiny tmpfs at `where` (skip when this process cannot mount); always unmounted."""
    if not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("needs root and mount(8) for a tmpfs")
    where.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if readonly else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True, timeout=20)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=20)


# --- 1. destructive writes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "dir", "link", "dangling", "full", "socket", "device"])
def test_atomic_open_replaces_only_regular_files(odd, kind):
    if kind not in odd:
        pytest.skip(f"cannot make a {kind} here")
    path = odd[kind]
    before = os.lstat(path)
    with deadline(10), pytest.raises(XadvError, match="not a regular file") as err:
        with atomic_open(path) as fh:
            fh.write("{}")
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    after = os.lstat(path)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert (odd["link"].parent / "target.json").read_text() == "keep me\n"  # never written through a link
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]


def test_atomic_open_still_replaces_a_regular_file_and_cleans_up(tmp_path):
    path = tmp_path / "sub" / "out.json"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two" and sorted(p.name for p in path.parent.iterdir()) == ["out.json"]
    with pytest.raises(ValueError), atomic_open(path) as fh:
        fh.write("half")
        raise ValueError("interrupted")
    assert path.read_text() == "two" and sorted(p.name for p in path.parent.iterdir()) == ["out.json"]


def test_staged_dir_refuses_odd_files_in_the_output_folder(tmp_path):
    out = tmp_path / "ckpt"
    out.mkdir()
    os.mkfifo(out / "config.json")
    with deadline(10), pytest.raises(XadvError, match="FIFO"), staged_dir(out) as stage:
        (stage / "config.json").write_text("{}")
    assert_untouched_fifo(out / "config.json")
    assert [p.name for p in out.iterdir()] == ["config.json"]  # the stage is gone


def test_output_checks_refuse_a_file_in_the_way_and_a_file_for_a_folder(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(XadvError, match="not a directory"):
        check_output_path(tmp_path / "afile" / "out.json")
    with pytest.raises(XadvError, match="is a regular file, not a directory"):
        check_output_dir(tmp_path / "afile")


def test_full_disk_is_refused_before_writing(tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=3 * 2**20))
    with pytest.raises(XadvError, match=r"only 3\.0 MB free .* XADV_MIN_FREE_MB"):
        atomic_write_text(tmp_path / "out.json", "{}")
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("XADV_MIN_FREE_MB", "1")
    atomic_write_text(tmp_path / "out.json", "{}")  # the floor is configurable
    with pytest.raises(XadvError, match="needs 5.0 MB"):  # and the file's own size counts where known
        with atomic_open(tmp_path / "big.bin", "wb", size_hint=4 * 2**20) as fh:
            fh.write(b"")
    monkeypatch.setenv("XADV_MIN_FREE_MB", "lots")
    with pytest.raises(XadvError, match="XADV_MIN_FREE_MB='lots'"):
        atomic_write_text(tmp_path / "out.json", "{}")


def test_a_real_full_and_a_read_only_tmpfs(tmp_path, monkeypatch):
    with tmpfs(tmp_path / "full", "1m") as full:
        with pytest.raises(XadvError, match="MB free"):  # under the 16 MB floor
            check_output_path(full / "out.json")
        monkeypatch.setenv("XADV_MIN_FREE_MB", "0")
        atomic_write_text(full / "out.json", "kept")
        with pytest.raises(XadvError, match="No space left on device"):  # the disk fills up while writing
            with atomic_open(full / "out.json", "wb") as fh:
                for _ in range(4):
                    fh.write(b"x" * 2**19)
        assert (full / "out.json").read_text() == "kept" and [p.name for p in full.iterdir()] == ["out.json"]
    with tmpfs(tmp_path / "ro", readonly=True) as ro:
        with pytest.raises(XadvError, match="not writable"):
            check_output_path(ro / "out.json")


def _no_compute(monkeypatch):
    """Make any model loading or suite run fail the test: the output checks must come first."""
    import xadv.models.loading as loading
    import xadv.runs.suite as suite

    def boom(*a, **k):
        raise AssertionError("computed before refusing the output path")

    monkeypatch.setattr(suite, "run_suite", boom)
    monkeypatch.setattr(loading, "load_qa_model", boom)


@pytest.mark.parametrize("kind", ["fifo", "dir", "link", "full"])
def test_attack_out_is_refused_before_computing(odd, squad, monkeypatch, kind):
    _no_compute(monkeypatch)
    before = os.lstat(odd[kind])
    result = run("attack", "--data", squad, "--lang", "sw", "--attack", "keyboard", "--out", odd[kind],
                 "--results", odd["dir"].parent / "results")
    assert_one_error(result, str(odd[kind]), "not a regular file")
    assert os.lstat(odd[kind]).st_ino == before.st_ino


def test_attack_out_on_a_full_or_unwritable_disk_fails_first(tmp_path, squad, monkeypatch):
    _no_compute(monkeypatch)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=2**20))
    result = run("attack", "--data", squad, "--lang", "sw", "--out", tmp_path / "run.json")
    assert_one_error(result, "MB free")
    monkeypatch.undo()
    _no_compute(monkeypatch)
    with tmpfs(tmp_path / "ro", readonly=True) as ro:
        assert_one_error(run("attack", "--data", squad, "--lang", "sw", "--out", ro / "run.json"), "not writable")


def test_attack_results_dir_on_a_full_disk_fails_before_loading(tmp_path, squad, monkeypatch):
    import xadv.models.loading as loading

    monkeypatch.setattr(loading, "load_qa_model", lambda *a, **k: pytest.fail("loaded a model"))
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=2**20))
    result = run("attack", "--data", squad, "--lang", "sw", "--results", tmp_path / "results")
    assert_one_error(result, "results", "MB free")
    (tmp_path / "results.file").write_text("x")
    monkeypatch.undo()
    result = run("attack", "--data", squad, "--lang", "sw", "--results", tmp_path / "results.file")
    assert_one_error(result, "not a directory")


def test_perturb_eval_leaderboard_outputs_refuse_a_fifo(odd, squad, monkeypatch, tmp_path):
    _no_compute(monkeypatch)
    fifo = odd["fifo"]
    assert_one_error(run("perturb", "--data", squad, "--attack", "keyboard", "--out", fifo), "FIFO")
    log = tmp_path / "p.edits.jsonl"
    os.mkfifo(log)  # the edit log beside the output is checked up front too
    assert_one_error(run("perturb", "--data", squad, "--attack", "keyboard", "--out", tmp_path / "p.json"), "FIFO")
    assert not (tmp_path / "p.json").exists()
    assert_one_error(run("eval", "--model", "whatever", "--data", squad, "--out", fifo), "FIFO")
    assert_one_error(run("leaderboard", "--results", tmp_path, "--out", fifo), "FIFO")
    assert_one_error(run("report", tmp_path, "--out", fifo), "FIFO")
    assert_untouched_fifo(fifo)
    assert_untouched_fifo(log)


# --- 2. hangs ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def silent_server(lifetime: float = 30.0):
    """127.0.0.1:port that accepts connections and never answers; it stops by itself after `lifetime`."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    accepted: list[float] = []
    held: list[socket.socket] = []
    stop = threading.Event()
    end = time.monotonic() + lifetime

    def serve():
        while not stop.is_set() and time.monotonic() < end:
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            accepted.append(time.monotonic())
            held.append(conn)
        for conn in held:
            conn.close()
        srv.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(5)


def test_hub_lookup_against_a_silent_endpoint_times_out(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("XADV_NET_TIMEOUT", NET_TIMEOUT_S)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    with silent_server() as (url, accepted):
        monkeypatch.setattr(constants, "ENDPOINT", url)
        t0 = time.monotonic()
        result = run("models", "info", "xadv-test/no-such-model", seconds=40)
        took = time.monotonic() - t0
    assert_one_error(result, "xadv-test/no-such-model", "cannot be reached")
    assert accepted, "the hub was never asked"
    assert took < 20, f"took {took:.1f} s with XADV_NET_TIMEOUT={NET_TIMEOUT_S}"


def test_download_from_a_silent_server_times_out(tmp_path, monkeypatch):
    monkeypatch.setenv("XADV_NET_TIMEOUT", NET_TIMEOUT_S)
    with silent_server() as (url, accepted):
        t0 = time.monotonic()
        result = run("data", "download", "tydiqa", "--split", "dev", "--data-dir", tmp_path, "--base-url",
                     url + "/", seconds=40)
        took = time.monotonic() - t0
    assert_one_error(result, "no answer within 2 s", "XADV_NET_TIMEOUT")
    assert accepted and took < 20
    assert not list((tmp_path / "tydiqa_goldp").rglob("*.json"))


def test_bad_net_timeout_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("XADV_NET_TIMEOUT", "-1")
    result = run("data", "download", "tydiqa", "--split", "dev", "--data-dir", tmp_path, "--base-url",
                 "http://127.0.0.1:9/")
    assert_one_error(result, "XADV_NET_TIMEOUT='-1'")


@pytest.mark.parametrize("name", ["runs/x", "./x", "../x", "~/no-such-xadv-ckpt", "/no/such", "a/b/c",
                                  "ckpt.safetensors", "x/pytorch_model.bin", "x\\y"])
def test_names_that_look_like_paths_never_reach_the_hub(tmp_path, monkeypatch, name):
    import xadv.models.loading as loading

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    monkeypatch.setattr(loading, "_fetch_from_hub", lambda *a, **k: pytest.fail(f"{name} went to the hub"))
    assert_one_error(run("models", "info", name), "no such checkpoint directory")


def test_hub_ids_stay_hub_ids(tmp_path, monkeypatch):
    import xadv.models.loading as loading

    monkeypatch.chdir(tmp_path)
    (tmp_path / "owner").mkdir()  # a local folder named like the owner makes `owner/name` a path
    names = ("someone/name", "bert-base-multilingual-cased", "deepset/xlm-roberta-base-squad2", "org/Qwen2.5-0.5B")
    monkeypatch.setattr(loading, "_fetch_from_hub", lambda name, **k: tmp_path / f"hub-{name.replace('/', '-')}")
    for name in names:
        assert loading.resolve_checkpoint(name) == tmp_path / f"hub-{name.replace('/', '-')}"
    with pytest.raises(XadvError, match="no such checkpoint directory"):
        loading.resolve_checkpoint("owner/name")


def test_a_fifo_in_a_results_directory_is_named_not_read(tmp_path):
    import numpy as np

    from xadv.leaderboard.regress import SLOT_FIELDS, Cell, write_baseline

    results = tmp_path / "results"
    results.mkdir()
    os.mkfifo(results / "x.json")
    baseline = tmp_path / "baseline.json"
    slot = {k: "x" for k in SLOT_FIELDS}
    one = Cell(slot, "fp", ("q1",), np.array([True]), np.array([False]), np.array([1.0]), np.array([1.0]))
    write_baseline([one], baseline, source="test")
    for args in (["leaderboard", "--results", results], ["report", results],
                 ["regress", "--baseline", baseline, "--current", results],
                 ["regress", "--baseline", tmp_path / "new.json", "--current", results, "--update-baseline"]):
        assert_one_error(run(*args, seconds=20), str(results / "x.json"), "FIFO")
    fifo_baseline = tmp_path / "fifo-baseline.json"
    os.mkfifo(fifo_baseline)
    assert_one_error(run("regress", "--baseline", fifo_baseline, "--current", results, seconds=20), "FIFO")
    assert_one_error(run("leaderboard", "--results", fifo_baseline, seconds=20))
    assert_untouched_fifo(results / "x.json")


def test_a_dangling_link_in_a_results_directory_is_named(tmp_path):
    (tmp_path / "gone.json").symlink_to(tmp_path / "nowhere.json")
    assert_one_error(run("leaderboard", "--results", tmp_path), "gone.json", "dangling")


# --- 3. silent nonsense, 4. tracebacks: checkpoints ----------------------------------------------------------


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    """A tiny checkpoint and broken copies of it (made once per module: the tokenizer takes seconds)."""
    import torch
    from safetensors.torch import load_file, save_file

    from xadv.testing import tiny_checkpoint

    root = tmp_path_factory.mktemp("ckpts")
    good = tiny_checkpoint(root / "good")
    out = {"good": good}
    for name in ("nan", "inf", "onenan", "truncated", "garbage", "badtok", "deepcfg", "dupcfg", "badcard"):
        out[name] = Path(shutil.copytree(good, root / name))
    state = load_file(str(good / "model.safetensors"))
    for name, value in (("nan", float("nan")), ("inf", float("inf"))):
        broken = {k: (v.clone().fill_(value) if k.endswith("attention.self.query.weight") else v)
                  for k, v in state.items()}
        save_file(broken, str(out[name] / "model.safetensors"), metadata={"format": "pt"})
    one = {k: v.clone() for k, v in state.items()}  # one bad value among millions, not at a vector boundary
    emb = one["bert.embeddings.word_embeddings.weight"].view(-1)
    emb[emb.numel() // 2 + 5] = float("nan")
    save_file(one, str(out["onenan"] / "model.safetensors"), metadata={"format": "pt"})
    blob = (good / "model.safetensors").read_bytes()
    (out["truncated"] / "model.safetensors").write_bytes(blob[: len(blob) // 2])
    (out["garbage"] / "model.safetensors").write_bytes(b"\xff" * 4096)
    (out["badtok"] / "tokenizer.json").write_text("{garbage", encoding="utf-8")
    (out["deepcfg"] / "config.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    cfg = (good / "config.json").read_text(encoding="utf-8")
    (out["dupcfg"] / "config.json").write_text(cfg.replace("{", '{"model_type": "gpt2",', 1), encoding="utf-8")
    (out["badcard"] / "xadv_card.json").write_text('{"schema": ' * 50_000, encoding="utf-8")
    assert torch.isnan(load_file(str(out["nan"] / "model.safetensors"))
                       ["bert.encoder.layer.0.attention.self.query.weight"]).all()
    return out


@pytest.fixture
def one_thread(monkeypatch):
    monkeypatch.setenv("XADV_NUM_THREADS", "1")
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", ["nan", "inf"])
def test_non_finite_weights_are_an_error_not_f1_zero(ckpts, squad, one_thread, name):
    result = run("eval", "--model", ckpts[name], "--data", squad, "--no-cache", "--quiet")
    assert_one_error(result, str(ckpts[name]), "non-finite")


@pytest.mark.parametrize("name, tensor", [("nan", r"bert\.encoder\.layer\.\d+\.attention\.self\.query\.weight"),
                                          ("inf", r"bert\.encoder\.layer\.\d+\.attention\.self\.query\.weight"),
                                          ("onenan", r"bert\.embeddings\.word_embeddings\.weight")])
def test_non_finite_weights_are_refused_at_load_naming_the_tensor(ckpts, one_thread, name, tensor):
    """At the door, not in the forward pass: on CPUs where the fused attention kernel maps a row of NaN scores
    to zeros (AVX-512), the NaN-query checkpoint gives finite logits and a plausible, wrong F1."""
    from xadv.models.loading import load_qa_model

    with pytest.raises(XadvError, match=rf"weight {tensor} has non-finite values"):
        load_qa_model(ckpts[name])
    assert load_qa_model(ckpts["good"]).has_qa_head


def test_non_finite_logits_are_never_cached(ckpts, squad, one_thread, tmp_path, monkeypatch):
    """A model corrupted in memory (the Python API takes loaded models) reaches the engine: its NaN head makes
    every logit NaN, whatever the attention kernel, and the engine's logits check is the line that holds."""
    import torch

    from xadv.models.loading import load_qa_model
    from xadv.qa.engine import EngineConfig, QAEngine

    loaded = load_qa_model(ckpts["good"])
    with torch.no_grad():
        loaded.model.qa_outputs.bias.fill_(float("nan"))
    cache = tmp_path / "preds.sqlite"
    engine = QAEngine.from_loaded(loaded, EngineConfig(cache_path=cache))
    with pytest.raises(XadvError, match="non-finite"):
        engine.predict([{"id": "1", "question": "q?", "context": "some context here"}])
    assert len(engine.cache) == 0


def test_a_good_checkpoint_still_evaluates(ckpts, squad, one_thread):
    result = run("eval", "--model", ckpts["good"], "--data", squad, "--no-cache", "--quiet", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["overall"]["n"] == 2


@pytest.mark.parametrize("name, needle", [("truncated", "not a valid safetensors file"),
                                          ("garbage", "not a valid safetensors file"),
                                          ("badtok", "cannot load the tokenizer"),
                                          ("deepcfg", "nested too deeply"),
                                          ("dupcfg", "appears twice"),
                                          ("badcard", "model card")])
def test_corrupt_checkpoint_files_are_one_line(ckpts, squad, one_thread, name, needle):
    assert_one_error(run("models", "info", ckpts[name]), needle)
    assert_one_error(run("eval", "--model", ckpts[name], "--data", squad, "--allow-untrained-head",
                         "--no-cache", "--quiet"), needle)


def test_a_fifo_for_a_tokenizer_file_is_refused(ckpts, tmp_path):
    ckpt = Path(shutil.copytree(ckpts["good"], tmp_path / "fifotok"))
    (ckpt / "tokenizer.json").unlink()
    os.mkfifo(ckpt / "tokenizer.json")
    assert_one_error(run("models", "info", ckpt, seconds=30), "tokenizer.json", "FIFO")


# --- 4. tracebacks: seeds, numbers, caches -------------------------------------------------------------------


def test_negative_seeds_are_refused_alike(squad, monkeypatch, tmp_path):
    _no_compute(monkeypatch)
    must = "seed must be a whole number >= 0"
    assert_one_error(run("attack", "--data", squad, "--lang", "sw", "--seed", "-1"), must)
    assert_one_error(run("perturb", "--data", squad, "--attack", "keyboard", "--out", tmp_path / "p.json",
                         "--seed", "-1"), must)
    assert_one_error(run("train", "--preset", "smoke", "--seed", "-1", "--out", tmp_path / "run"), must)
    assert_one_error(run("train", "--preset", "smoke", "--set", "seed=-2", "--dry-run"), "seed must be")
    assert not (tmp_path / "run").exists() and not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("setting", ["phases.target.lr=nan", "phases.target.lr=inf", "phases.intermediate.lr=-inf",
                                     "budget.dropout=nan", "phases.target.warmup=nan", "en_share=nan"])
def test_non_finite_training_numbers_are_refused(setting, tmp_path):
    result = run("train", "--preset", "smoke", "--set", setting, "--out", tmp_path / "run")
    assert_one_error(result, setting.split("=")[0])
    assert not (tmp_path / "run").exists()


def test_a_garbage_prediction_cache_is_moved_aside_and_rebuilt(tmp_path):
    from xadv.qa.cache import PredictionCache

    path = tmp_path / "predictions.sqlite"
    path.write_bytes(b"not a database " * 500)
    with pytest.warns(XadvWarning, match="moved it to predictions.sqlite.corrupt-"):
        cache = PredictionCache(path)
    cache.put_many([("k", ("answer", 3, 1.5))])
    cache.close()
    again = PredictionCache(path)
    assert again.get("k") == ("answer", 3, 1.5)
    again.close()
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("predictions.sqlite.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == b"not a database " * 500  # kept, never deleted


def test_garbage_cache_through_the_cli_is_one_warning(ckpts, squad, one_thread, tmp_path, monkeypatch):
    monkeypatch.setenv("XADV_CACHE_DIR", str(tmp_path))
    (tmp_path / "predictions.sqlite").write_bytes(os.urandom(8192))
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        result = run("eval", "--model", ckpts["good"], "--data", squad, "--quiet", "--json")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: prediction cache") and "Traceback" not in result.output


def test_odd_things_at_the_cache_path_are_errors(tmp_path):
    from xadv.qa.cache import PredictionCache

    os.mkfifo(tmp_path / "fifo.sqlite")
    (tmp_path / "dir.sqlite").mkdir()
    for name, kind in (("fifo.sqlite", "FIFO"), ("dir.sqlite", "directory")):
        with deadline(10), pytest.raises(XadvError, match=kind):
            PredictionCache(tmp_path / name)
    assert_untouched_fifo(tmp_path / "fifo.sqlite")


@pytest.mark.parametrize("sub", ["", "sub"])
def test_cache_dir_that_is_a_file_is_one_line(tmp_path, monkeypatch, squad, sub):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("XADV_CACHE_DIR", str(tmp_path / "afile" / sub))
    assert_one_error(run("eval", "--model", "me5-small", "--data", squad), "XADV_CACHE_DIR", "not a directory")
    assert_one_error(run("models", "info", "me5-small"), "XADV_CACHE_DIR", "not a directory")
    assert (tmp_path / "afile").read_text() == "x"


def test_write_adversarial_pair_is_checked_before_the_cell_is_computed(ckpts, squad, one_thread, tmp_path):
    """A FIFO (or folder) where a cell's edit log goes used to be found only after the model ran and the
    adversarial JSON was written: half a pair on disk, and the computed record never saved."""
    adv, res = tmp_path / "adv", tmp_path / "res"
    args = ("attack", "--model", ckpts["good"], "--data", squad, "--lang", "sw", "--attack", "keyboard", "--n", "2",
            "--results", res, "--write-adversarial", adv)
    first = run(*args)
    assert first.exit_code == 0, first.output
    [json_file] = adv.glob("*.json")
    log = json_file.with_name(json_file.name.removesuffix(".json") + ".edits.jsonl")
    assert log.is_file()
    shutil.rmtree(adv)
    shutil.rmtree(res)
    adv.mkdir()
    os.mkfifo(log)
    assert_one_error(run(*args, seconds=60), log.name, "FIFO")
    assert sorted(p.name for p in adv.iterdir()) == [log.name]  # no adversarial JSON without its log
    assert not res.exists() or not list(res.glob("*.json"))  # and no record marks the cell done


def test_write_perturbed_refuses_before_writing_either_file(tmp_path):
    from attacks.run import perturb_rows, write_perturbed

    rows = [{"id": "q1", "question": "Where is the red box kept?", "context": "The red box is kept in the hall.",
             "answers": {"text": ["in the hall"], "answer_start": [20]}, "lang": "en"}]
    out = tmp_path / "adv.json"
    (tmp_path / "adv.edits.jsonl").mkdir()
    with pytest.raises(XadvError, match="adv.edits.jsonl is a directory"):
        write_perturbed(perturb_rows(rows, "keyboard", "question", 0.5, 0), out)
    assert not out.exists()


def test_a_disk_that_fills_while_writing_a_pair_leaves_the_old_pair(tmp_path, monkeypatch):
    """The adversarial JSON and its edit log are one unit: a full disk while writing the second used to leave
    the new JSON beside the old log while saying "nothing was replaced"."""
    import errno

    from attacks.run import perturb_rows, write_perturbed

    rows = [{"id": "q1", "question": "Where is the red box kept?", "context": "The red box is kept in the hall.",
             "answers": {"text": ["in the hall"], "answer_start": [20]}, "lang": "en", "title": "t"}]
    out, log = tmp_path / "adv.json", tmp_path / "adv.edits.jsonl"
    out.write_text("OLD", encoding="utf-8")
    log.write_text("OLDLOG", encoding="utf-8")
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second file's data reaching the disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises((OSError, XadvError)):
        write_perturbed(perturb_rows(rows, "keyboard", "question", 0.5, 0), out)
    monkeypatch.undo()
    assert out.read_text(encoding="utf-8") == "OLD" and log.read_text(encoding="utf-8") == "OLDLOG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adv.edits.jsonl", "adv.json"]  # no .part left
    write_perturbed(perturb_rows(rows, "keyboard", "question", 0.5, 0), out)  # and with room, both replaced
    assert out.read_text(encoding="utf-8") != "OLD" and log.read_text(encoding="utf-8") != "OLDLOG"
