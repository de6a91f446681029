#!/usr/bin/env python3
"""Embeds the seed model card's example sentences and prints the 4 x 4 cosine
similarity matrix between the two groups (the Python twin of examples/c/similarity.c).

    python examples/python/similarity.py [MODEL_DIR]

Without MODEL_DIR it uses libkse's default model, kse-ko-small
(``kse.Encoder()``): $KSE_MODEL_DIR if set, else models/kse-ko-small of the
build tree or share/kse/models/kse-ko-small of the installed tree that libkse
sits in, so it works from any working directory. Uses the installed `kse`
package (`pip install bindings/python`), or, when it is not installed, the one
in this checkout's bindings/python (and its target/release/libkse.so). A wheel
with its own bundled libkse has no model beside it: set $KSE_MODEL_DIR or name
MODEL_DIR.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
try:
    import kse
except ImportError:  # not installed: use the checkout's package (and its target/release/libkse.so)
    sys.path.insert(0, str(REPO / "bindings" / "python"))
    import kse

GROUP_1 = [
    "다만, 도로와 인접해서 거리의 소음이 들려요.",
    "형이 다시 캐나다 들어가야 하니 가족모임 일정은 바꾸지 마세요.",
    "방안에 필요한 시설이 모두 있어서 매우 편리합니다.",
    "관광자원화 검토를 모범적으로 적용한 지자체에는 홍보·컨설팅, 관광상품 개발 지원 등을 제공할 계획이다.",
]
GROUP_2 = [
    "하지만, 길과 가깝기 때문에 거리의 소음을 들을 수 있습니다.",
    "가족 모임 일정은 바꾸지 말도록 하십시오.",
    "특히, 숙소 근처에 안전한 실내 주차장이 있어서 편리합니다.",
    "아울러 지자체, 지역관광협회 등과 함께 수시로 관광지 현장을 점검할 계획이다.",
]


def main() -> int:
    model_dir = sys.argv[1] if len(sys.argv) > 1 else None  # None: libkse's default model
    try:
        with kse.Encoder(model_dir) as enc:
            vectors, stats = enc.encode_with_stats(GROUP_1 + GROUP_2)
            print(f"model {enc.name} (kse {kse.library_version()}), {enc.dim}-d, {stats.tokens} tokens")
    except (kse.KseError, kse.LibraryError) as e:
        print(f"similarity: {e}", file=sys.stderr)
        return 1
    # The vectors are L2-normalised, so dot products are cosine similarities
    # (summed in double precision, like the C example).
    v = vectors.astype("float64")
    sim = v[:4] @ v[4:].T
    for row in sim:
        print("[" + " ".join(f"{x:11.8f}" for x in row) + "]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
