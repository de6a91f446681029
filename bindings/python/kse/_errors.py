"""Statuses and exceptions: one `KseError` subclass per `kse_status`."""

from __future__ import annotations

import enum
from typing import Dict, Type, Union


class Status(enum.IntEnum):
    """The `kse_status` values of kse.h (`KSE_OK`, `KSE_ERR_*`)."""

    OK = 0
    INVALID_ARGUMENT = 1
    INVALID_UTF8 = 2
    BUFFER_TOO_SMALL = 3
    INPUT_TOO_LONG = 4
    MODEL_NOT_FOUND = 5
    MODEL_INVALID = 6
    RUNTIME_UNAVAILABLE = 7
    RUNTIME = 8
    TOKENIZER = 9
    UNSUPPORTED_VERSION = 10
    INVALID_HANDLE = 11
    INTERNAL = 12

    @property
    def c_name(self) -> str:
        """The C name, e.g. ``"KSE_ERR_MODEL_NOT_FOUND"``."""
        return "KSE_OK" if self is Status.OK else f"KSE_ERR_{self.name}"


class KseError(Exception):
    """A failed kse call.

    Attributes:
        status: the `kse_status` value (a `Status` when this version knows it,
            so both ``e.status == 5`` and ``e.status == Status.MODEL_NOT_FOUND`` work).
        name: the status's C name from the library, e.g. ``"KSE_ERR_MODEL_NOT_FOUND"``.
        message: the library's message naming the problem.

    Catch a subclass (e.g. `ModelNotFoundError`) for one status, or `KseError`
    for all.
    """

    def __init__(self, status: int, name: str, message: str):
        super().__init__(status, name, message)
        try:
            self.status: Union[Status, int] = Status(status)
        except ValueError:
            self.status = status
        self.name = name
        self.message = message

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self.status)}, {self.name!r}, {self.message!r})"


class InvalidArgumentError(KseError, ValueError):
    """KSE_ERR_INVALID_ARGUMENT: an argument is missing or out of range."""


class InvalidUtf8Error(KseError, UnicodeError):
    """KSE_ERR_INVALID_UTF8: a text is not valid UTF-8 (bytes given as they are,
    or a `str` with lone surrogates); the message names the text's index."""


class BufferTooSmallError(KseError):
    """KSE_ERR_BUFFER_TOO_SMALL (the binding sizes buffers itself; seeing this is a bug)."""


class InputTooLongError(KseError, ValueError):
    """KSE_ERR_INPUT_TOO_LONG: a text exceeds max_tokens and the encoder was
    created with ``truncate=False``."""


class ModelNotFoundError(KseError):
    """KSE_ERR_MODEL_NOT_FOUND: the model directory or one of its files does not exist."""


class ModelInvalidError(KseError):
    """KSE_ERR_MODEL_INVALID: the model directory is malformed; the message names the field."""


class RuntimeUnavailableError(KseError):
    """KSE_ERR_RUNTIME_UNAVAILABLE: ONNX Runtime is missing, unloadable or too
    old; the message says where kse looked."""


class OnnxRuntimeError(KseError):
    """KSE_ERR_RUNTIME: ONNX Runtime failed while creating a session or running the model."""


class TokenizerError(KseError):
    """KSE_ERR_TOKENIZER: the tokenizer failed on a text."""


class UnsupportedVersionError(KseError):
    """KSE_ERR_UNSUPPORTED_VERSION: this binding and the loaded libkse disagree
    on the layout of `kse_options`."""


class InvalidHandleError(KseError, ValueError):
    """KSE_ERR_INVALID_HANDLE: the encoder is closed (like I/O on a closed file,
    this is also a `ValueError`)."""


class InternalError(KseError):
    """KSE_ERR_INTERNAL: a bug in kse (an internal panic was caught)."""


class LibraryError(OSError):
    """libkse could not be found or loaded, or it is a version this binding
    does not support. The message lists every place that was tried."""


_BY_STATUS: Dict[int, Type[KseError]] = {
    Status.INVALID_ARGUMENT: InvalidArgumentError,
    Status.INVALID_UTF8: InvalidUtf8Error,
    Status.BUFFER_TOO_SMALL: BufferTooSmallError,
    Status.INPUT_TOO_LONG: InputTooLongError,
    Status.MODEL_NOT_FOUND: ModelNotFoundError,
    Status.MODEL_INVALID: ModelInvalidError,
    Status.RUNTIME_UNAVAILABLE: RuntimeUnavailableError,
    Status.RUNTIME: OnnxRuntimeError,
    Status.TOKENIZER: TokenizerError,
    Status.UNSUPPORTED_VERSION: UnsupportedVersionError,
    Status.INVALID_HANDLE: InvalidHandleError,
    Status.INTERNAL: InternalError,
}


def error_for(status: int, name: str, message: str) -> KseError:
    """The exception for a status: its subclass, or `KseError` for a status
    newer than this binding."""
    return _BY_STATUS.get(status, KseError)(status, name, message)


def binding_error(status: Status, message: str) -> KseError:
    """An error detected by the binding itself, named like the library would."""
    return error_for(status, status.c_name, message)
