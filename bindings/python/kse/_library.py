"""Finding and loading libkse, and the ctypes declarations of its C ABI (kse.h)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from pathlib import Path
from typing import Iterator, Optional, Tuple, Union

from ._errors import LibraryError

#: kse.h's KSE_ABI_VERSION that these declarations were written against.
ABI_VERSION = 0
#: kse.h's KSE_ERROR_MESSAGE_SIZE.
ERROR_MESSAGE_SIZE = 512

PathLike = Union[str, "os.PathLike[str]"]

_PACKAGE_DIR = Path(__file__).resolve().parent
#: Where a wheel built with the native libraries keeps them (libonnxruntime.so.1
#: sits beside libkse.so there, which is where libkse looks for it).
BUNDLED_DIR = _PACKAGE_DIR / "_native"
_LIB_NAME = "libkse.so"


class Options(ctypes.Structure):
    """struct kse_options."""

    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("intra_threads", ctypes.c_uint32),
        ("sessions", ctypes.c_uint32),
        ("batch_tokens", ctypes.c_uint32),
        ("truncation", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("model_dir", ctypes.c_char_p),
        ("ort_library_path", ctypes.c_char_p),
        ("window_overlap", ctypes.c_uint32),
        ("reserved2", ctypes.c_uint32),
    ]


class Error(ctypes.Structure):
    """struct kse_error."""

    _fields_ = [("status", ctypes.c_int32), ("message", ctypes.c_char * ERROR_MESSAGE_SIZE)]


class Stats(ctypes.Structure):
    """struct kse_encode_stats."""

    _fields_ = [
        ("tokens", ctypes.c_size_t),
        ("truncated", ctypes.c_size_t),
        ("windowed", ctypes.c_size_t),
        ("windows", ctypes.c_size_t),
    ]


class Chunk(ctypes.Structure):
    """struct kse_chunk."""

    _fields_ = [("start", ctypes.c_size_t), ("end", ctypes.c_size_t), ("tokens", ctypes.c_size_t)]


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None


def _source_tree_library() -> Optional[Path]:
    """target/release/libkse.so when this package is imported from a source
    checkout (bindings/python/kse), else None."""
    root = _PACKAGE_DIR.parent.parent.parent
    if _PACKAGE_DIR.parent.parent.name != "bindings" or not (root / "include" / "kse.h").is_file():
        return None
    return root / "target" / "release" / _LIB_NAME


def candidates() -> Iterator[Tuple[str, Optional[str], str]]:
    """The places `load_library()` tries, in order, lazily, as (where, path
    or soname or None, why None)."""
    env = os.environ.get("KSE_LIBRARY")
    yield "$KSE_LIBRARY", env or None, "not set"
    yield "bundled in the package", str(BUNDLED_DIR / _LIB_NAME), ""
    src = _source_tree_library()
    yield "source checkout", str(src) if src else None, "not imported from a source checkout"
    yield 'ctypes.util.find_library("kse")', ctypes.util.find_library("kse"), "found nothing"


def _declare(lib: ctypes.CDLL) -> None:
    p = ctypes.POINTER
    vp, sz, i32 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int32
    lib.kse_options_init.restype = i32
    lib.kse_options_init.argtypes = [p(Options), sz]
    lib.kse_create.restype = i32
    lib.kse_create.argtypes = [p(Options), p(vp), p(Error)]
    lib.kse_free.restype = None
    lib.kse_free.argtypes = [vp]
    lib.kse_encode.restype = i32
    lib.kse_encode.argtypes = [vp, p(ctypes.c_char_p), p(sz), sz, p(ctypes.c_float), sz, p(Stats), p(Error)]
    # data and offsets go as raw addresses (a bytes object's buffer, a numpy array's data).
    lib.kse_encode_packed.restype = i32
    lib.kse_encode_packed.argtypes = [vp, ctypes.c_char_p, vp, sz, vp, sz, p(Stats), p(Error)]
    lib.kse_tokenize.restype = i32
    lib.kse_tokenize.argtypes = [vp, ctypes.c_char_p, sz, p(i32), sz, p(sz), p(Error)]
    lib.kse_count_tokens.restype = i32
    lib.kse_count_tokens.argtypes = [vp, ctypes.c_char_p, sz, p(sz), p(Error)]
    lib.kse_encode_chunks.restype = i32
    lib.kse_encode_chunks.argtypes = [vp, ctypes.c_char_p, sz, sz, sz, p(Chunk), sz, vp, sz, p(sz), p(Error)]
    for fn in ("kse_dim", "kse_max_tokens"):
        getattr(lib, fn).restype = sz
        getattr(lib, fn).argtypes = [vp]
    lib.kse_model_name.restype = ctypes.c_char_p
    lib.kse_model_name.argtypes = [vp]
    lib.kse_version.restype = ctypes.c_char_p
    lib.kse_version.argtypes = []
    lib.kse_version_number.restype = ctypes.c_uint32
    lib.kse_version_number.argtypes = []
    lib.kse_abi_version.restype = ctypes.c_uint32
    lib.kse_abi_version.argtypes = []
    lib.kse_status_name.restype = ctypes.c_char_p
    lib.kse_status_name.argtypes = [i32]


def _open(path: str) -> ctypes.CDLL:
    # ctypes.CDLL (not PyDLL) releases the GIL around every foreign call, so
    # Python threads encode in parallel.
    lib = ctypes.CDLL(path)
    try:
        _declare(lib)
    except AttributeError as e:
        raise LibraryError(f"{path} is not libkse (or too old a version): {e}") from None
    abi = lib.kse_abi_version()
    if abi != ABI_VERSION:
        raise LibraryError(
            f"{path} is libkse {lib.kse_version().decode()} with ABI version {abi}; "
            f"this binding needs ABI version {ABI_VERSION}"
        )
    return lib


def load_library(path: Optional[PathLike] = None) -> ctypes.CDLL:
    """Loads libkse once per process and returns it (a `ctypes.CDLL`).

    With `path`, loads that file. Without, tries in order: the `KSE_LIBRARY`
    environment variable (a path to libkse.so), the copy bundled in this
    package (wheels built with the native libraries), ``target/release/libkse.so``
    of the source checkout this package is imported from, then
    ``ctypes.util.find_library("kse")`` (an installed libkse). Raises
    `LibraryError` listing every place it looked. A `KSE_LIBRARY` that does
    not exist or does not load is an error, not skipped.

    Calling it again returns the library already loaded; asking for a
    different file once one is loaded raises `LibraryError` (one libkse and
    one ONNX Runtime serve the whole process).
    """
    global _lib, _lib_path
    with _lock:
        if path is not None:
            want = os.fspath(path)
            if _lib is not None:
                if os.path.realpath(want) != os.path.realpath(_lib_path or ""):
                    raise LibraryError(f"libkse is already loaded from {_lib_path}; cannot also load {want}")
                return _lib
            try:
                lib = _open(want)
            except OSError as e:
                raise LibraryError(f"cannot load libkse from {want}: {e}") from None
            _lib, _lib_path = lib, want
            return lib
        if _lib is not None:
            return _lib
        tried = []
        for where, cand, why_none in candidates():
            if cand is None:
                tried.append(f"  {where}: {why_none}")
                continue
            is_path = os.sep in cand
            if is_path and not os.path.exists(cand):
                if where == "$KSE_LIBRARY":
                    raise LibraryError(f"KSE_LIBRARY names {cand}, which does not exist")
                tried.append(f"  {where}: {cand} (no such file)")
                continue
            try:
                lib = _open(cand)
            except OSError as e:
                if where == "$KSE_LIBRARY":
                    raise LibraryError(f"cannot load KSE_LIBRARY={cand}: {e}") from None
                tried.append(f"  {where}: {cand} ({e})")
                continue
            _lib, _lib_path = lib, cand
            return lib
        raise LibraryError(
            "libkse not found. Looked in:\n" + "\n".join(tried) + "\n"
            "Set KSE_LIBRARY=/path/to/libkse.so, install kse (`make install`), or in a source "
            "checkout run `make setup` to build target/release/libkse.so."
        )


def library_path() -> str:
    """Path (or soname) libkse was loaded from, loading it first if needed."""
    load_library()
    assert _lib_path is not None
    return _lib_path


def library_version() -> str:
    """The loaded libkse's version string, e.g. ``"0.2.0"``."""
    return load_library().kse_version().decode()
