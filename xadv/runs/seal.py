"""Keyed seals: what makes a forged record detectable, where a plain digest cannot.

A record's `digest` is sha256 over its canonical JSON: anyone can recompute it, so it only catches
accidental edits (a tool that rewrote a number, a bad merge). A forger who edits a record simply
recomputes it, or deletes it. A seal is an HMAC-SHA256 over the same canonical JSON, keyed with a
secret the leaderboard owner keeps in `XADV_RESULTS_KEY`; without the key no one can make a seal that
verifies, so with the key set, readers refuse every record whose seal is missing or does not verify.

    "seal": {"alg": "hmac-sha256", "key_id": "<first 8 hex of sha256(key)>", "mac": "<64 hex>"}

`key_id` only tells which key sealed a record (a record sealed with another key is named as such);
it reveals nothing usable about the key. See docs/security.md ("Forged or edited results").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xadv.errors import XadvError

KEY_ENV = "XADV_RESULTS_KEY"
ALG = "hmac-sha256"
MIN_KEY_CHARS = 16
UNSEALED_FIELDS = ("digest", "seal")  # what neither the digest nor the seal covers


def canonical_json(obj: Any) -> bytes:
    """The bytes digests and seals are computed over: sorted keys, no whitespace, UTF-8."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # readers refuse these first; a record built in memory may still hold one
        raise XadvError("the record holds a lone surrogate (not valid Unicode): it cannot be hashed") from None


def sealed_content(obj: Mapping[str, Any]) -> dict:
    """Every field of a record but its `digest` and `seal`."""
    return {k: v for k, v in obj.items() if k not in UNSEALED_FIELDS}


def results_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The sealing key from `XADV_RESULTS_KEY`, or None when it is not set.

    Set but empty, or shorter than 16 characters, is an error: a CI secret that failed to reach the job
    must not silently turn verification off, and a short key can be guessed from one sealed record."""
    raw = (os.environ if environ is None else environ).get(KEY_ENV)
    if raw is None:
        return None
    if len(raw.strip()) < MIN_KEY_CHARS:
        what = "empty" if not raw.strip() else f"only {len(raw.strip())} characters"
        raise XadvError(f"{KEY_ENV} is set but {what}: use at least {MIN_KEY_CHARS} random characters "
                        "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`), or unset it")
    return raw.strip().encode("utf-8")


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _mac(obj: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, canonical_json(sealed_content(obj)), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Seal:
    alg: str
    key_id: str
    mac: str

    @classmethod
    def make(cls, obj: Mapping[str, Any], key: bytes) -> Seal:
        """The seal of `obj` (its fields but `digest` and `seal`) under `key`."""
        return cls(ALG, key_id(key), _mac(obj, key))

    def to_dict(self) -> dict:
        return {"alg": self.alg, "key_id": self.key_id, "mac": self.mac}

    @classmethod
    def from_dict(cls, d: Any) -> Seal:
        if not (isinstance(d, dict) and set(d) == {"alg", "key_id", "mac"}
                and all(isinstance(v, str) for v in d.values())):
            raise XadvError("malformed seal: expected {\"alg\", \"key_id\", \"mac\"} strings")
        return cls(d["alg"], d["key_id"], d["mac"])

    def problem(self, obj: Mapping[str, Any], key: bytes) -> str | None:
        """None when this seal verifies `obj` under `key`, else why not (one line)."""
        if self.alg != ALG:
            return f"sealed with {self.alg!r}, which this xadv does not verify (it checks {ALG})"
        if not hmac.compare_digest(self.key_id, key_id(key)):
            return (f"sealed with another key (key id {self.key_id}, {KEY_ENV} has {key_id(key)}): "
                    "not written by the holder of this key")
        if not hmac.compare_digest(self.mac, _mac(obj, key)):
            return f"content does not match its seal (key id {self.key_id}): edited after it was written"
        return None


def seal_problem(obj: Mapping[str, Any], key: bytes) -> tuple[str, str] | None:
    """(kind, message) when `obj` is not sealed by `key`: kind "unsealed" (no seal) or "edited" (a seal
    that does not verify); None when it verifies. A malformed seal is an XadvError."""
    if "seal" not in obj:
        return ("unsealed", f"no seal, but {KEY_ENV} is set (key id {key_id(key)}): written without the key "
                            "or with the seal removed, so anyone could have written it")
    why = Seal.from_dict(obj["seal"]).problem(obj, key)
    return None if why is None else ("edited", why)
