#!/usr/bin/env python3
"""Pack what Spark executors need into one archive for `--archives`.

    python3 examples/spark/make_bundle.py [--model models/kse-ko-small ...] [--out target/spark/kse-bundle.tar.gz]

The archive (shipped with `--archives kse-bundle.tar.gz#kse`, unpacked by
Spark on every executor; layout in kse_spark.py):
  python/kse/             the Python binding (bindings/python/kse)
  lib/libkse.so           libkse from target/release (run `make setup` first)
  lib/libonnxruntime.so.1 ONNX Runtime, beside libkse, where libkse looks for it
  models/NAME/            each --model directory (default: the default model)
  MANIFEST.sha256         sha256 of every file above
Executors need Python 3 with numpy, pandas and pyarrow (what PySpark's
mapInPandas needs anyway); nothing else is installed on them.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", type=Path, help="model directory (repeatable)")
    ap.add_argument("--out", type=Path, default=REPO / "target" / "spark" / "kse-bundle.tar.gz")
    args = ap.parse_args(argv)
    models = args.model or [REPO / "models" / "kse-ko-small"]
    release = REPO / "target" / "release"
    files: list[tuple[Path, str]] = [
        (release / "libkse.so", "lib/libkse.so"),
        (release / "libonnxruntime.so.1", "lib/libonnxruntime.so.1"),
    ]
    files += [(p, f"python/kse/{p.name}") for p in sorted((REPO / "bindings" / "python" / "kse").iterdir())
              if p.is_file() and p.suffix in (".py", ".typed")]
    for m in models:
        if not (m / "kse.json").is_file():
            print(f"make_bundle: {m} is not a model directory (no kse.json)", file=sys.stderr)
            return 1
        files += [(p, f"models/{m.name}/{p.name}") for p in sorted(m.iterdir()) if p.is_file()]
    missing = [str(src) for src, _ in files if not src.is_file()]
    if missing:
        print(f"make_bundle: missing {', '.join(missing)}; run `make setup` first", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".part")
    sums = []
    with tarfile.open(tmp, "w:gz") as tar:
        for src, name in files:
            info = tar.gettarinfo(str(src.resolve()), arcname=name)
            info.mode = 0o755 if name.endswith(".so") or ".so." in name else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(src, "rb") as f:
                data = f.read()
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
            tar.addfile(info, io.BytesIO(data))
        blob = "".join(sums).encode()
        info = tarfile.TarInfo("MANIFEST.sha256")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    tmp.replace(args.out)
    size = args.out.stat().st_size / 1e6
    print(f"make_bundle: {args.out} ({size:.1f} MB; models: {', '.join(m.name for m in models)})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
