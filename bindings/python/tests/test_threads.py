"""One encoder, many Python threads: every vector right, the GIL released
during the library call, close() safe against calls in flight."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from support import reference


def test_threads_on_the_default_model_match_the_reference(encoder):
    sentences, ref = reference()
    rng = np.random.default_rng(1)
    orders = [rng.permutation(len(sentences)) for _ in range(4)]

    def work(order):
        return encoder.encode([sentences[i] for i in order])

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, orders))
    for t, (order, got) in enumerate(zip(orders, results)):
        diff = np.abs(got - ref[order]).max(axis=1)
        bad = np.flatnonzero(diff > 1e-5)
        assert not bad.size, f"thread {t}: sentences {order[bad].tolist()} off by up to {diff.max()}"


def test_many_threads_many_batches_every_vector_checked(tiny_encoder):
    pool_of_texts = [f"{i}번째 문장: 스레드 {'가나다라'[i % 4] * (i % 23)}" for i in range(200)]
    baseline = np.stack([tiny_encoder.encode([t])[0] for t in pool_of_texts])
    errors: list[str] = []
    checked = [0]
    lock = threading.Lock()

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(25):
            idx = rng.integers(0, len(pool_of_texts), size=int(rng.integers(1, 40)))
            got = tiny_encoder.encode([pool_of_texts[i] for i in idx])
            diff = float(np.abs(got - baseline[idx]).max())
            with lock:
                checked[0] += len(idx)
                if diff > 1e-6:
                    errors.append(f"thread {seed}: max difference {diff}")

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    assert checked[0] > 8 * 25, "every thread encoded and checked its batches"


def test_the_gil_is_released_while_the_library_works(tiny_encoder):
    texts = [f"문장 {i}: 전역 인터프리터 잠금" for i in range(20000)]
    timing = {}

    def work() -> None:
        start = time.perf_counter()
        tiny_encoder.encode(texts)
        timing["call"] = (start, time.perf_counter())

    ticks = []
    worker = threading.Thread(target=work)
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    start, end = timing["call"]
    inside = [t for t in ticks if start <= t <= end]
    gaps = np.diff([start] + inside + [end])
    # With the GIL held for the whole foreign call, this thread could not run
    # at all until it returned: one gap as long as the call.
    assert end - start > 0.2, f"the call took only {end - start:.3f} s; too short to tell"
    assert gaps.max() < 0.5 * (end - start), (
        f"main thread stalled {gaps.max():.3f} s of a {end - start:.3f} s encode: GIL held?"
    )
    assert len(inside) >= 20


def test_close_waits_for_calls_in_flight(kse, tiny_encoder):
    enc = kse.Encoder(tiny_encoder.model_dir, sessions=2)
    texts = [f"닫기 전에 끝나야 할 문장 {i}" for i in range(15000)]
    expected = tiny_encoder.encode(texts[:5])
    result = {}

    def work() -> None:
        result["vectors"] = enc.encode(texts)
        result["done"] = time.perf_counter()

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.time() + 30
    while enc._active == 0 and worker.is_alive() and time.time() < deadline:
        time.sleep(0.0005)
    assert enc._active == 1, "the worker never entered encode"
    entered = time.perf_counter()
    enc.close()  # must wait for the worker's call, then free
    closed = time.perf_counter()
    worker.join()
    assert "vectors" in result, "the call in flight completed"
    call = result["done"] - entered
    assert closed - entered >= 0.5 * call, (
        f"close() returned after {closed - entered:.3f} s of a {call:.3f} s call: it did not wait"
    )
    np.testing.assert_allclose(result["vectors"][:5], expected, atol=1e-6)
    try:
        enc.encode(["늦었다"])
    except kse.InvalidHandleError:
        pass
    else:
        raise AssertionError("encode after close must raise")
