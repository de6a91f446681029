"""kse for Python: the Korean Sentence Encoder through its C ABI (ctypes).

    import kse

    with kse.Encoder() as enc:                              # the default model, kse-ko-small
        vectors = enc.encode(["안녕하세요", "반갑습니다"])   # numpy float32 [2, 384]
        print(vectors @ vectors.T)                          # cosine similarities

``kse.Encoder()`` loads libkse's default model (``$KSE_MODEL_DIR``, else
``models/kse-ko-small`` beside libkse's build or installed tree);
``kse.Encoder("path/to/model")`` loads a model directory.

libkse is found through `KSE_LIBRARY` (a path to libkse.so), then the copy
bundled in the package (wheels built with the native libraries), then
``target/release/libkse.so`` of a source checkout, then the system library
path; see `load_library`. Failed calls raise `KseError` subclasses that carry
the library's status and message.
"""

from __future__ import annotations

from ._encoder import Chunk, EncodeStats, Encoder
from ._errors import (
    BufferTooSmallError,
    InputTooLongError,
    InternalError,
    InvalidArgumentError,
    InvalidHandleError,
    InvalidUtf8Error,
    KseError,
    LibraryError,
    ModelInvalidError,
    ModelNotFoundError,
    OnnxRuntimeError,
    RuntimeUnavailableError,
    Status,
    TokenizerError,
    UnsupportedVersionError,
)
from ._library import ABI_VERSION, library_path, library_version, load_library

__version__ = "0.2.0"

__all__ = [
    "ABI_VERSION",
    "BufferTooSmallError",
    "Chunk",
    "EncodeStats",
    "Encoder",
    "InputTooLongError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidHandleError",
    "InvalidUtf8Error",
    "KseError",
    "LibraryError",
    "ModelInvalidError",
    "ModelNotFoundError",
    "OnnxRuntimeError",
    "RuntimeUnavailableError",
    "Status",
    "TokenizerError",
    "UnsupportedVersionError",
    "library_path",
    "library_version",
    "load_library",
]
