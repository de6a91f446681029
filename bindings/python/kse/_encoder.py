"""`Encoder`: a loaded model, through kse_create / kse_encode_packed / kse_free."""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Iterable, List, NamedTuple, Optional, Tuple, Union

import numpy as np

from ._errors import KseError, Status, binding_error, error_for
from ._library import Chunk as _CChunk
from ._library import Error, Options, PathLike, Stats, load_library

Text = Union[str, bytes]

_SIZE_T = np.dtype(f"u{ctypes.sizeof(ctypes.c_size_t)}")
_U32_MAX = 2**32 - 1
_LONG = {"truncate": 0, "error": 1, "window": 2}  # KSE_TRUNCATE, KSE_TRUNCATION_ERROR, KSE_WINDOW


class EncodeStats(NamedTuple):
    """Counts from one `Encoder.encode` call."""

    tokens: int
    """Tokens fed to the model, special tokens included, padding excluded."""
    truncated: int
    """Texts cut at the model's max tokens."""
    windowed: int = 0
    """Texts over max tokens encoded in windows (``long="window"``)."""
    windows: int = 0
    """Windows those texts took."""


class Chunk(NamedTuple):
    """One chunk of a document from `Encoder.encode_chunks`."""

    text: str
    """The chunk's text: ``document[start:end]``."""
    start: int
    """Index of its first character in the document (a str index)."""
    end: int
    """Index just past its last character."""
    byte_start: int
    """Offset of its first byte in the document's UTF-8 encoding."""
    byte_end: int
    """Offset just past its last byte."""
    tokens: int
    """Ids the model saw for it, special and prefix tokens included."""


def _utf8(index: int, text: object) -> bytes:
    """One text as UTF-8 bytes, or a clear error naming its index."""
    if isinstance(text, str):
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise binding_error(
                Status.INVALID_UTF8,
                f"text {index} is not valid UTF-8: unpaired surrogate U+{ord(text[e.start]):04X} "
                f"at char {e.start} (a str with lone surrogates, e.g. from "
                f"os.fsdecode or errors='surrogateescape')",
            ) from None
    if isinstance(text, (bytes, bytearray, memoryview)):
        return bytes(text)
    raise TypeError(f"text {index} is {type(text).__name__}; expected str (or UTF-8 bytes)")


def _pack(texts: List[object]) -> Tuple[bytes, np.ndarray]:
    """All texts in one UTF-8 buffer plus n + 1 offsets (kse_encode_packed)."""
    try:
        bufs = [t.encode("utf-8") for t in texts]  # type: ignore[attr-defined]
        if not all(type(b) is bytes for b in bufs):
            raise TypeError
    except (AttributeError, UnicodeEncodeError, TypeError):
        bufs = [_utf8(i, t) for i, t in enumerate(texts)]
    offsets = np.zeros(len(bufs) + 1, dtype=_SIZE_T)
    np.cumsum(np.fromiter(map(len, bufs), dtype=_SIZE_T, count=len(bufs)), out=offsets[1:])
    return b"".join(bufs), offsets


def _u32(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U32_MAX:
        raise binding_error(Status.INVALID_ARGUMENT, f"{name} must be an int in 0..{_U32_MAX}, got {value!r}")
    return value


class Encoder:
    """A loaded embedding model (a kse model directory).

        with kse.Encoder() as enc:                           # the default model, kse-ko-small
            vectors = enc.encode(["안녕하세요", "반갑습니다"])   # float32 [2, enc.dim]

        enc = kse.Encoder("models/kse-ko-small")             # or name a model directory
        enc = kse.Encoder("kse-ko-mini")                     # or a model shipped with kse

    Loading takes about a second: create one encoder and share it. It is
    thread-safe: any number of Python threads may call `encode` and
    `tokenize` at once (the GIL is released while kse works; up to `sessions`
    calls run in parallel, the others wait). `close()` waits for calls in
    progress, frees the model and is idempotent; using a closed encoder raises
    `InvalidHandleError` (a `ValueError`).

    Args:
        model_dir: the model directory (holds kse.json); None (the default)
            loads libkse's default model, kse-ko-small: the directory in
            ``$KSE_MODEL_DIR`` if set, else ``models/kse-ko-small`` of the
            build tree or ``share/kse/models/kse-ko-small`` of the installed
            tree that libkse sits in (`ModelNotFoundError` naming the places
            looked at if none has it). Exactly "kse-ko-small" or
            "kse-ko-mini" names a model shipped with kse, loaded from that
            same build or installed tree (``$KSE_MODEL_DIR`` and the current
            directory are not consulted; pass "./kse-ko-mini" for a directory
            of that name). kse-ko-mini is the default distilled into 6 layers:
            about twice as fast, the same 384-d vectors, KorSTS dev 84.75
            against the default's 85.54.
        intra_threads: ONNX Runtime threads per session; 0 = the machine's
            cores divided among the sessions.
        sessions: how many encode calls run at the same time.
        batch_tokens: bound on texts x longest-text tokens per model run
            (bounds memory); None = the library's default (512).
        long: what to do with a text longer than `max_tokens`: "truncate"
            (the default; counted in `EncodeStats.truncated`), "error"
            (raise `InputTooLongError`) or "window" (one vector from
            overlapping windows over the whole text; docs/long-inputs.md).
        window_overlap: tokens consecutive windows share (default 32).
        truncate: ``truncate=False`` is the older spelling of
            ``long="error"``.
        ort_library: path of the ONNX Runtime library; None = libkse's own
            search (`KSE_ORT_LIBRARY`, then beside libkse.so).

    Raises:
        ModelNotFoundError, ModelInvalidError, RuntimeUnavailableError, ...:
            `KseError` subclasses carrying the library's status and message.
        LibraryError: libkse itself could not be found or loaded.
    """

    def __init__(
        self,
        model_dir: Optional[PathLike] = None,
        *,
        intra_threads: int = 0,
        sessions: int = 1,
        batch_tokens: Optional[int] = None,
        long: str = "truncate",
        window_overlap: int = 32,
        truncate: bool = True,
        ort_library: Optional[PathLike] = None,
    ) -> None:
        self._handle: Optional[int] = None  # first, so close()/__del__ work if __init__ fails
        self._cond = threading.Condition(threading.Lock())
        self._active = 0
        lib = load_library()
        opts = Options()
        status = lib.kse_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
        if status != Status.OK:
            raise error_for(
                status,
                lib.kse_status_name(status).decode(),
                f"libkse {lib.kse_version().decode()} does not accept this binding's kse_options "
                f"({ctypes.sizeof(opts)} bytes)",
            )
        if model_dir is None:
            opts.model_dir = None  # NULL: libkse finds its default model
        else:
            path = os.fsencode(model_dir)
            if b"\0" in path:
                raise binding_error(Status.INVALID_ARGUMENT, "model_dir contains a NUL character")
            opts.model_dir = path
        opts.intra_threads = _u32("intra_threads", intra_threads)
        opts.sessions = _u32("sessions", sessions)
        if batch_tokens is not None:
            opts.batch_tokens = _u32("batch_tokens", batch_tokens)
        if long not in _LONG:
            raise binding_error(Status.INVALID_ARGUMENT, f"long must be one of {', '.join(_LONG)}; got {long!r}")
        if not truncate and long != "truncate":
            raise binding_error(Status.INVALID_ARGUMENT, f"truncate=False contradicts long={long!r}")
        opts.truncation = _LONG[long] if truncate else _LONG["error"]
        opts.window_overlap = _u32("window_overlap", window_overlap)
        opts.ort_library_path = os.fsencode(ort_library) if ort_library is not None else None
        handle = ctypes.c_void_p()
        err = Error()
        status = lib.kse_create(ctypes.byref(opts), ctypes.byref(handle), ctypes.byref(err))
        if status != Status.OK:
            raise self._error(lib, status, err)
        self._lib = lib
        self._handle = handle.value
        self._model_dir = os.fsdecode(model_dir) if model_dir is not None else None
        self._sessions = sessions
        self._dim = int(lib.kse_dim(self._handle))
        self._max_tokens = int(lib.kse_max_tokens(self._handle))
        self._name = lib.kse_model_name(self._handle).decode("utf-8", "replace")
        #: Stats of the most recent successful `encode` on this encoder (from
        #: any thread; use `encode_with_stats` for a call's own counts).
        self.last_stats = EncodeStats(0, 0)

    # -- properties ---------------------------------------------------------

    @property
    def dim(self) -> int:
        """Width of each embedding (floats per text)."""
        return self._dim

    @property
    def max_tokens(self) -> int:
        """The model's max tokens per text, special tokens included."""
        return self._max_tokens

    @property
    def name(self) -> str:
        """The model's name from its manifest."""
        return self._name

    @property
    def model_dir(self) -> Optional[str]:
        """The model directory (or shipped model's name) this encoder was
        created from, as given, or None when it was created with the default
        model (``kse.Encoder()``)."""
        return self._model_dir

    @property
    def closed(self) -> bool:
        """True once `close()` has been called."""
        return self._handle is None

    # -- lifetime -------------------------------------------------------------

    def close(self) -> None:
        """Frees the model. Waits for calls in progress on other threads;
        calling it again does nothing."""
        cond = getattr(self, "_cond", None)
        if cond is None:
            return
        with cond:
            handle, self._handle = self._handle, None  # new calls now fail
            while self._active:
                cond.wait()
        if handle is not None:
            self._lib.kse_free(handle)

    def __enter__(self) -> "Encoder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: modules may be gone
            pass

    def __getstate__(self) -> None:
        raise TypeError("a kse.Encoder cannot be pickled; create one in each process from its model_dir")

    def __repr__(self) -> str:
        if self._handle is None:
            where = getattr(self, "_model_dir", None)
            return f"<kse.Encoder (closed) model_dir={where!r}>"
        return (
            f"<kse.Encoder name={self._name!r} dim={self._dim} max_tokens={self._max_tokens} "
            f"sessions={self._sessions} model_dir={self._model_dir!r}>"
        )

    def _acquire(self) -> int:
        with self._cond:
            if self._handle is None:
                raise binding_error(
                    Status.INVALID_HANDLE,
                    f"this Encoder ({getattr(self, '_model_dir', None) or getattr(self, '_name', '?')}) "
                    f"is closed; create a new one",
                )
            self._active += 1
            return self._handle

    def _release(self) -> None:
        with self._cond:
            self._active -= 1
            if not self._active:
                self._cond.notify_all()

    @staticmethod
    def _error(lib: ctypes.CDLL, status: int, err: Error) -> KseError:
        return error_for(status, lib.kse_status_name(status).decode(), err.message.decode("utf-8", "replace"))

    # -- work -----------------------------------------------------------------

    def encode_with_stats(self, sentences: Union[Text, Iterable[Text]]) -> Tuple[np.ndarray, EncodeStats]:
        """Like `encode`, also returning this call's `EncodeStats`."""
        single = isinstance(sentences, (str, bytes))
        texts: List[object] = [sentences] if single else list(sentences)  # type: ignore[list-item]
        n = len(texts)
        handle = self._acquire()
        try:
            data, offsets = _pack(texts)
            out = np.empty((n, self._dim), dtype=np.float32)
            stats = Stats()
            err = Error()
            status = self._lib.kse_encode_packed(
                handle, data, offsets.ctypes.data, n, out.ctypes.data, out.size,
                ctypes.byref(stats), ctypes.byref(err),
            )
        finally:
            self._release()
        if status != Status.OK:
            raise self._error(self._lib, status, err)
        result = EncodeStats(int(stats.tokens), int(stats.truncated), int(stats.windowed), int(stats.windows))
        self.last_stats = result
        return (out[0] if single else out), result

    def encode(self, sentences: Union[Text, Iterable[Text]]) -> np.ndarray:
        """Embeds sentences.

        Args:
            sentences: a sequence (or any iterable) of `str`; `bytes` items
                are passed as they are and must be UTF-8. A single `str`
                gives a single vector.

        Returns:
            numpy float32 array [len(sentences), dim] (row i for sentence i),
            or [dim] for a single str. The vectors of the bundled models are
            L2-normalised, so a dot product is the cosine similarity.

        Raises:
            InvalidUtf8Error: a str with lone surrogates or invalid UTF-8
                bytes; the message names the text's index.
            InputTooLongError: a text over `max_tokens` with ``truncate=False``.
            InvalidHandleError: the encoder is closed.
        """
        return self.encode_with_stats(sentences)[0]

    def tokenize(self, sentence: Text) -> List[int]:
        """Token ids the model sees for one text (prefix, special tokens and
        truncation applied)."""
        data = _utf8(0, sentence)
        cap = max(self._max_tokens, 16)
        n = ctypes.c_size_t()
        err = Error()
        handle = self._acquire()
        try:
            while True:
                ids = (ctypes.c_int32 * cap)()
                status = self._lib.kse_tokenize(handle, data, len(data), ids, cap, ctypes.byref(n), ctypes.byref(err))
                if status == Status.BUFFER_TOO_SMALL and n.value > cap:
                    cap = n.value
                    continue
                break
        finally:
            self._release()
        if status != Status.OK:
            raise self._error(self._lib, status, err)
        return ids[: n.value]

    def count_tokens(self, text: Text) -> int:
        """How many ids the model would see for `text` without truncation
        (prefix and special tokens included); runs the tokenizer only."""
        data = _utf8(0, text)
        n = ctypes.c_size_t()
        err = Error()
        handle = self._acquire()
        try:
            status = self._lib.kse_count_tokens(handle, data, len(data), ctypes.byref(n), ctypes.byref(err))
        finally:
            self._release()
        if status != Status.OK:
            raise self._error(self._lib, status, err)
        return int(n.value)

    def chunks(self, document: Text, chunk_tokens: int = 0, overlap: int = 0) -> List[Chunk]:
        """The chunks `encode_chunks` would embed, without running the model."""
        return self._chunks(document, chunk_tokens, overlap, vectors=False)[0]

    def encode_chunks(self, document: Text, chunk_tokens: int = 0, overlap: int = 0) -> Tuple[List[Chunk], np.ndarray]:
        """Splits a document into chunks of at most `chunk_tokens` tokens (0:
        the model's max tokens), at sentence ends where it can and at token
        boundaries where a sentence is too long, consecutive chunks sharing
        `overlap` tokens, and embeds each (docs/long-inputs.md).

        Returns:
            (chunks, vectors): a `Chunk` per chunk (its text, str and byte
            ranges, token count) and numpy float32 [len(chunks), dim]. An
            empty or whitespace-only document gives ``([], [0, dim] array)``.
        """
        return self._chunks(document, chunk_tokens, overlap, vectors=True)

    def _chunks(self, document: Text, chunk_tokens: int, overlap: int, vectors: bool) -> Tuple[List[Chunk], np.ndarray]:
        data = _utf8(0, document)
        for name, value in (("chunk_tokens", chunk_tokens), ("overlap", overlap)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise binding_error(Status.INVALID_ARGUMENT, f"{name} must be a non-negative int, got {value!r}")
        n = ctypes.c_size_t()
        err = Error()
        handle = self._acquire()
        try:
            # First the count (tokenizer only), then the chunks and vectors.
            status = self._lib.kse_encode_chunks(
                handle, data, len(data), chunk_tokens, overlap, None, 0, None, 0, ctypes.byref(n), ctypes.byref(err)
            )
            if status in (Status.OK, Status.BUFFER_TOO_SMALL) and n.value > 0:
                cap = n.value
                spans = (_CChunk * cap)()
                out = np.empty((cap, self._dim), dtype=np.float32)
                status = self._lib.kse_encode_chunks(
                    handle, data, len(data), chunk_tokens, overlap, spans, cap,
                    out.ctypes.data if vectors else None, out.size if vectors else 0,
                    ctypes.byref(n), ctypes.byref(err),
                )
            else:
                spans, out = (_CChunk * 0)(), np.empty((0, self._dim), dtype=np.float32)
        finally:
            self._release()
        if status != Status.OK:
            raise self._error(self._lib, status, err)
        # str indices from byte offsets: count the characters before each.
        text = data.decode("utf-8")
        chars = lambda b: len(data[:b].decode("utf-8"))  # noqa: E731
        result = []
        for c in spans[: n.value]:
            start, end = chars(c.start), chars(c.end)
            result.append(Chunk(text[start:end], start, end, int(c.start), int(c.end), int(c.tokens)))
        return result, out[: n.value]
