"""kse for Python: the Korean Sentence Encoder through its C ABI (ctypes).

    import kse
    with kse.Encoder("models/multilingual-e5-small") as enc:
        vectors = enc.encode(["안녕하세요", "반갑습니다"])   # numpy float32 [2, dim]

The shared library is found from `KSE_LIBRARY` (a path to libkse.so) or, in a
source checkout, `target/release/libkse.so`.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Sequence

import numpy as np

__all__ = ["Encoder", "KseError", "load_library"]

KSE_ERROR_MESSAGE_SIZE = 512
KSE_OK = 0


class _Options(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("intra_threads", ctypes.c_uint32),
        ("sessions", ctypes.c_uint32),
        ("batch_tokens", ctypes.c_uint32),
        ("truncation", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("model_dir", ctypes.c_char_p),
        ("ort_library_path", ctypes.c_char_p),
    ]


class _Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int32), ("message", ctypes.c_char * KSE_ERROR_MESSAGE_SIZE)]


class _Stats(ctypes.Structure):
    _fields_ = [("tokens", ctypes.c_size_t), ("truncated", ctypes.c_size_t)]


class KseError(Exception):
    """A failed kse call: `status` is the kse_status value, `name` its name."""

    def __init__(self, status: int, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.status = status
        self.name = name
        self.message = message


_lib = None


def _default_library() -> Path:
    env = os.environ.get("KSE_LIBRARY")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "target" / "release" / "libkse.so"


def load_library(path: str | os.PathLike | None = None) -> ctypes.CDLL:
    """Loads libkse (once per process) and declares its functions."""
    global _lib
    if _lib is not None:
        return _lib
    lib = ctypes.CDLL(str(path or _default_library()))
    p = ctypes.POINTER
    lib.kse_options_init.restype = ctypes.c_int32
    lib.kse_options_init.argtypes = [p(_Options), ctypes.c_size_t]
    lib.kse_create.restype = ctypes.c_int32
    lib.kse_create.argtypes = [p(_Options), p(ctypes.c_void_p), p(_Error)]
    lib.kse_free.restype = None
    lib.kse_free.argtypes = [ctypes.c_void_p]
    lib.kse_encode.restype = ctypes.c_int32
    lib.kse_encode.argtypes = [
        ctypes.c_void_p, p(ctypes.c_char_p), p(ctypes.c_size_t), ctypes.c_size_t,
        p(ctypes.c_float), ctypes.c_size_t, p(_Stats), p(_Error),
    ]
    lib.kse_tokenize.restype = ctypes.c_int32
    lib.kse_tokenize.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, p(ctypes.c_int32), ctypes.c_size_t,
        p(ctypes.c_size_t), p(_Error),
    ]
    for fn in ("kse_dim", "kse_max_tokens"):
        getattr(lib, fn).restype = ctypes.c_size_t
        getattr(lib, fn).argtypes = [ctypes.c_void_p]
    lib.kse_model_name.restype = ctypes.c_char_p
    lib.kse_model_name.argtypes = [ctypes.c_void_p]
    lib.kse_version.restype = ctypes.c_char_p
    lib.kse_version.argtypes = []
    lib.kse_status_name.restype = ctypes.c_char_p
    lib.kse_status_name.argtypes = [ctypes.c_int32]
    _lib = lib
    return lib


def _raise(lib, status: int, err: _Error):
    raise KseError(status, lib.kse_status_name(status).decode(), err.message.decode("utf-8", "replace"))


class Encoder:
    """A loaded model. Thread-safe; close it (or use `with`) to free it."""

    def __init__(self, model_dir: str | os.PathLike, *, intra_threads: int = 0, sessions: int = 1,
                 batch_tokens: int | None = None, truncate: bool = True, ort_library: str | None = None):
        lib = load_library()
        opts = _Options()
        status = lib.kse_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
        if status != KSE_OK:
            raise KseError(status, lib.kse_status_name(status).decode(), "kse_options_init refused this binding's options layout")
        opts.model_dir = os.fsencode(model_dir)
        opts.intra_threads = intra_threads
        opts.sessions = sessions
        if batch_tokens is not None:
            opts.batch_tokens = batch_tokens
        opts.truncation = 0 if truncate else 1
        opts.ort_library_path = os.fsencode(ort_library) if ort_library else None
        handle = ctypes.c_void_p()
        err = _Error()
        status = lib.kse_create(ctypes.byref(opts), ctypes.byref(handle), ctypes.byref(err))
        if status != KSE_OK:
            _raise(lib, status, err)
        self._lib = lib
        self._handle = handle
        self.dim = lib.kse_dim(handle)
        self.max_tokens = lib.kse_max_tokens(handle)
        self.name = lib.kse_model_name(handle).decode()
        self.last_stats = (0, 0)

    def close(self) -> None:
        if getattr(self, "_handle", None):
            self._lib.kse_free(self._handle)
            self._handle = None

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def encode(self, sentences: Sequence[str | bytes]) -> np.ndarray:
        """Embeds sentences; returns float32 [len(sentences), dim]. `bytes`
        items are passed as they are (for testing invalid UTF-8)."""
        if not self._handle:
            raise ValueError("encoder is closed")
        data = [s if isinstance(s, bytes) else s.encode("utf-8") for s in sentences]
        n = len(data)
        texts = (ctypes.c_char_p * n)(*data)
        lengths = (ctypes.c_size_t * n)(*[len(b) for b in data])
        out = np.empty((n, self.dim), dtype=np.float32)
        stats = _Stats()
        err = _Error()
        status = self._lib.kse_encode(
            self._handle, texts, lengths, n, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size,
            ctypes.byref(stats), ctypes.byref(err),
        )
        if status != KSE_OK:
            _raise(self._lib, status, err)
        self.last_stats = (stats.tokens, stats.truncated)
        return out

    def tokenize(self, sentence: str) -> list[int]:
        """Token ids the model sees (prefix, special tokens, truncation applied)."""
        data = sentence.encode("utf-8")
        n = ctypes.c_size_t()
        err = _Error()
        cap = max(16, len(data) + 8)
        while True:
            ids = (ctypes.c_int32 * cap)()
            status = self._lib.kse_tokenize(self._handle, data, len(data), ids, cap, ctypes.byref(n), ctypes.byref(err))
            if status == 3 and n.value > cap:  # KSE_ERR_BUFFER_TOO_SMALL
                cap = n.value
                continue
            if status != KSE_OK:
                _raise(self._lib, status, err)
            return list(ids[: n.value])
