"""Error paths: every failure is a KseError subclass with status, name and
message, raised before anything crashes."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
import textwrap

import pytest

from support import BINDING, LIBRARY, REPO, clean_env, tiny


def test_missing_model_is_model_not_found(kse, tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(kse.ModelNotFoundError) as info:
        kse.Encoder(missing)
    e = info.value
    assert isinstance(e, kse.KseError)
    assert e.status == kse.Status.MODEL_NOT_FOUND == 5
    assert e.name == "KSE_ERR_MODEL_NOT_FOUND"
    assert str(missing) in e.message
    assert str(e) == f"KSE_ERR_MODEL_NOT_FOUND: {e.message}"
    # A directory without kse.json is "not found" too, naming the file.
    with pytest.raises(kse.ModelNotFoundError, match="kse.json"):
        kse.Encoder(tmp_path)


def test_malformed_model_is_model_invalid(kse, tmp_path):
    (tmp_path / "kse.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(kse.ModelInvalidError) as info:
        kse.Encoder(tmp_path)
    assert info.value.status == kse.Status.MODEL_INVALID and "kse.json" in info.value.message


def test_bad_options_are_invalid_argument(kse):
    for kwargs in ({"sessions": 0}, {"batch_tokens": 0}, {"sessions": -1}, {"intra_threads": 2**32}, {"sessions": 1.5}):
        with pytest.raises(kse.InvalidArgumentError) as info:
            kse.Encoder(tiny(), **kwargs)
        assert info.value.status == kse.Status.INVALID_ARGUMENT
        assert isinstance(info.value, ValueError)
        assert next(iter(kwargs)) in info.value.message, info.value.message
    with pytest.raises(kse.InvalidArgumentError, match="NUL"):
        kse.Encoder(str(tiny()) + "\0x")


def test_invalid_utf8_bytes_name_the_text(kse, tiny_encoder):
    with pytest.raises(kse.InvalidUtf8Error) as info:
        tiny_encoder.encode(["fine", "좋아", b"ok \xff\xfe"])
    e = info.value
    assert e.status == kse.Status.INVALID_UTF8 and e.name == "KSE_ERR_INVALID_UTF8"
    assert "text 2" in e.message and "offset 3" in e.message, e.message
    assert isinstance(e, UnicodeError) and isinstance(e, ValueError)
    with pytest.raises(kse.InvalidUtf8Error):
        tiny_encoder.tokenize(b"\xc3")


def test_lone_surrogate_names_the_text(kse, tiny_encoder):
    bad = b"abc\xff".decode("utf-8", "surrogateescape")  # "abc\udcff", as os.fsdecode makes
    with pytest.raises(kse.InvalidUtf8Error) as info:
        tiny_encoder.encode(["fine", "also fine", "x", bad])
    e = info.value
    assert e.status == kse.Status.INVALID_UTF8
    assert e.message.startswith("text 3 is not valid UTF-8: unpaired surrogate U+DCFF at char 3"), e.message
    with pytest.raises(kse.InvalidUtf8Error, match="surrogate"):
        tiny_encoder.tokenize("\ud800")
    # The encoder is unharmed.
    assert tiny_encoder.encode(["fine"]).shape == (1, 16)


def test_wrong_item_type_is_type_error(tiny_encoder):
    with pytest.raises(TypeError, match="text 1 is int"):
        tiny_encoder.encode(["fine", 42])
    with pytest.raises(TypeError, match="text 0 is NoneType"):
        tiny_encoder.encode([None])


def test_use_after_close_raises_and_close_is_idempotent(kse):
    enc = kse.Encoder(tiny())
    before = enc.encode(["안녕"])
    enc.close()
    enc.close()  # idempotent
    assert enc.closed and "closed" in repr(enc)
    for call in (lambda: enc.encode(["안녕"]), lambda: enc.encode_with_stats([]), lambda: enc.tokenize("안녕")):
        with pytest.raises(kse.InvalidHandleError) as info:
            call()
        assert info.value.status == kse.Status.INVALID_HANDLE
        assert "closed" in info.value.message and isinstance(info.value, ValueError)
    assert enc.dim == 16 and before.shape == (1, 16)  # metadata stays readable

    with pytest.raises(RuntimeError, match="boom"):
        with kse.Encoder(tiny()) as ctx:
            assert not ctx.closed
            raise RuntimeError("boom")
    assert ctx.closed, "the with block closes, on an exception too"


def test_errors_pickle_and_unknown_statuses(kse, tiny_encoder):
    from kse._errors import error_for

    e = error_for(5, "KSE_ERR_MODEL_NOT_FOUND", "gone")
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is kse.ModelNotFoundError and (back.status, back.name, back.message) == (5, e.name, "gone")
    future = error_for(99, "KSE_ERR_UNKNOWN", "new")
    assert type(future) is kse.KseError and future.status == 99
    assert repr(future) == "KseError(99, 'KSE_ERR_UNKNOWN', 'new')"
    # Library-defined names match the enum.
    lib = kse.load_library()
    for s in kse.Status:
        assert lib.kse_status_name(s).decode() == s.c_name
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(tiny_encoder)


def test_a_second_different_library_is_refused(kse, tmp_path):
    copy = tmp_path / "libkse.so"
    shutil.copy(LIBRARY, copy)
    assert kse.load_library(LIBRARY) is kse.load_library()
    with pytest.raises(kse.LibraryError, match="already loaded"):
        kse.load_library(copy)


def _run(script: str, **env: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True, text=True, timeout=120, env=clean_env(PYTHONPATH=str(BINDING), **env),
    )
    assert out.returncode == 0, out.stderr
    return out


def test_missing_onnx_runtime_is_runtime_unavailable(tmp_path):
    missing = tmp_path / "libonnxruntime.so.1"
    out = _run(f"""
        import kse
        try:
            kse.Encoder({str(tiny())!r}, ort_library={str(missing)!r})
        except kse.RuntimeUnavailableError as e:
            print(int(e.status), e.name)
            print(e.message)
    """)
    status, message = out.stdout.splitlines()[:2]
    assert status == "7 KSE_ERR_RUNTIME_UNAVAILABLE"
    assert str(missing) in message


def test_bad_kse_library_is_a_library_error(tmp_path):
    junk = tmp_path / "libkse.so"
    junk.write_text("not a library")
    script = """
        import kse
        try:
            kse.Encoder("unused")
        except kse.LibraryError as e:
            assert isinstance(e, OSError)
            print(e)
    """
    assert "KSE_LIBRARY names" in _run(script, KSE_LIBRARY=str(tmp_path / "nope.so")).stdout
    assert f"cannot load KSE_LIBRARY={junk}" in _run(script, KSE_LIBRARY=str(junk)).stdout


def test_source_checkout_library_is_found_without_settings():
    out = _run("""
        import kse
        print(kse.library_path())
        print(kse.Encoder(%r).encode(["안녕"]).shape)
    """ % str(tiny()))
    path, shape = out.stdout.splitlines()
    assert path == str(REPO / "target" / "release" / "libkse.so") and shape == "(1, 16)"
