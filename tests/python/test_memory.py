"""Memory must not grow with each new input length (ONNX Runtime's per-shape
memory planning is off and batches are bounded by a token budget)."""

from __future__ import annotations


def rss_mb() -> int:
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) // 1024


def test_memory_is_flat_across_many_input_lengths(kse_encoder):
    # Warm up with the largest shapes first: the longest text and a full batch.
    kse_encoder.encode(["가 " * 600] * 4)
    kse_encoder.encode(["가"] * 64)
    before = rss_mb()
    for n in range(1, 500, 3):  # 167 distinct sequence lengths
        kse_encoder.encode(["나 " * n])
    growth = rss_mb() - before
    print(f"RSS growth over 167 new input lengths: {growth} MB")
    assert growth < 64, f"resident memory grew by {growth} MB"
