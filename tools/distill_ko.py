#!/usr/bin/env python3
"""Distil the default model into a smaller student (developer tool; MODEL.md, kse-ko-mini).

    # 1. (tools venv: onnx + the kse binding) the student's start weights and the teacher's vectors
    python tools/distill_ko.py prepare --teacher models/kse-ko-small --prune target/ko-mini/prune \
        --e5s1 .cache/models-src/e5-small-q4.bin --layers 1,3,5,7,9,11 --out target/ko-mini/distil
    # 2. (train venv: PyTorch) distillation, resumable, in stages of at most --max-minutes
    python tools/distill_ko.py train --prune target/ko-mini/prune --out target/ko-mini/distil --epochs 2
    # 3. then tools/train_ko.py --e5s1 target/ko-mini/distil/distilled.npz ... (the default's STS stages)
    #    and tools/export_ko.py --name kse-ko-mini

The student is the teacher's own encoder cut to fewer layers: the same
embeddings, hidden size and (pruned) vocabulary, its layer j initialised from
the teacher's layer LAYERS[j] (every other layer: 1,3,...,11 keeps the top
one). `prepare` reads the teacher's weights from its model directory
(tools/export_ko.py's reader: int8 matrices back to the float32 values ONNX
Runtime computes with) and embeds every Korean sentence the default model's
recipe trains on (tools/ko_data.py's training_sentences: KorSTS and KLUE STS
train without the held-out slice, NLI, StyleKQC, paraKQC, question pairs,
PAWS-X-ko dev; no check sentence) through libkse, so the targets are exactly
the shipped model's vectors.

`train` minimises, per batch of B sentences, the squared distance between the
student's and the teacher's L2-normalised vectors (summed over dimensions)
plus --sim-weight times the mean squared difference of their B x B cosine
matrices. The word embedding stays frozen (export stores it as the E5S1 INT4
rows). AdamW, linear warm-up over the first 10% of steps then linear decay,
length-bucketed batches in a seeded order. KorSTS dev Spearman (PyTorch) is
logged after each epoch. A checkpoint is written every --checkpoint-steps
steps and when --max-minutes is reached; running the same command again
resumes from the last one (same data order, optimiser and random states), so
the stage can be run in pieces of at most 90 minutes on 2 cores. The result
is OUT/distilled.npz, a start pack that tools/train_ko.py takes as --e5s1.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import e5s1  # noqa: E402
import ko_data  # noqa: E402

REPO = HERE.parent
HYPER = ("epochs", "batch", "lr", "sim_weight", "weight_decay", "max_tokens", "seed", "threads")


def sentences_digest(sents: list[str]) -> str:
    return hashlib.sha256("\n".join(sents).encode()).hexdigest()


def write_pack(path: Path, weights: dict[str, np.ndarray], cfg: e5s1.Config) -> None:
    """A start pack tools/train_ko.py reads with --e5s1 (float32 tensors, config JSON)."""
    arrays = {"__config__": np.frombuffer(json.dumps(dataclasses.asdict(cfg)).encode(), np.uint8)}
    arrays.update({k: np.ascontiguousarray(v, np.float32) for k, v in weights.items()})
    tmp = path.with_name(path.name + ".part.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def vocab_rows(prune: Path) -> np.ndarray:
    """The pruned vocabulary's rows in e5's embedding (tools/prune_vocab.py's vocab-map.json)."""
    return np.array(json.loads((prune / "vocab-map.json").read_text())["base_rows"], np.int64)


# ---------------------------------------------------------------------------
# prepare (tools venv)
# ---------------------------------------------------------------------------


def prepare(args) -> int:
    from export_ko import weights_from_model_dir

    sys.path.insert(0, str(REPO / "bindings" / "python"))
    import kse

    layers = [int(x) for x in args.layers.split(",")]
    base_rows = vocab_rows(args.prune)
    f = e5s1.open_e5s1(args.e5s1)
    teacher = weights_from_model_dir(args.teacher, f, base_rows)
    if len(layers) != len(set(layers)) or not all(0 <= i < f.config.layers for i in layers):
        raise SystemExit(f"--layers {args.layers}: distinct teacher layers 0..{f.config.layers - 1}")
    student = {k: v for k, v in teacher.items() if k.startswith("emb.")}
    for j, i in enumerate(layers):
        for name, arr in teacher.items():
            if name.startswith(f"l{i}."):
                student[f"l{j}." + name.partition(".")[2]] = arr
    cfg = dataclasses.replace(f.config, layers=len(layers), vocab=len(base_rows))
    args.out.mkdir(parents=True, exist_ok=True)
    write_pack(args.out / "start.npz", student, cfg)

    sents = list(dict.fromkeys(ko_data.training_sentences(args.data_dir)))
    digest = sentences_digest(sents)
    meta_path = args.out / "teacher.json"
    if meta_path.exists() and json.loads(meta_path.read_text()).get("sentences_sha256") == digest \
            and (args.out / "teacher.npy").exists():
        print(f"prepare: teacher vectors for {len(sents)} sentences already in {args.out}")
    else:
        kse.load_library(REPO / "target" / "release" / "libkse.so")
        t = time.time()
        with kse.Encoder(args.teacher, intra_threads=args.threads) as enc:
            vecs = np.concatenate([enc.encode(sents[i:i + 2048]) for i in range(0, len(sents), 2048)])
        np.save(args.out / "teacher.npy", vecs.astype(np.float32))
        (args.out / "sentences.txt").write_text("\n".join(s.replace("\n", " ") for s in sents) + "\n", encoding="utf-8")
        meta_path.write_text(json.dumps({"teacher": str(args.teacher), "sentences": len(sents),
                                         "sentences_sha256": digest, "seconds": round(time.time() - t, 1)}) + "\n")
        print(f"prepare: {len(sents)} teacher vectors in {time.time() - t:.0f} s")
    (args.out / "student.json").write_text(json.dumps({"layers": layers, "teacher": str(args.teacher)}) + "\n")
    print(f"prepare: {len(layers)}-layer student (teacher layers {layers}) in {args.out / 'start.npz'}")
    return 0


# ---------------------------------------------------------------------------
# train (train venv)
# ---------------------------------------------------------------------------


def train(args) -> int:
    import torch
    from tokenizers import Tokenizer

    import train_ko
    from sts_data import read_pairs

    # What the result depends on: the hyperparameters and the teacher's vectors (not paths or time limits).
    recipe = {k: str(getattr(args, k)) for k in HYPER}
    report = args.out / "distill-report.json"
    if (args.out / "distilled.npz").exists() and report.exists():
        old = json.loads(report.read_text())
        if {k: old["args"].get(k) for k in HYPER} == recipe and old.get("teacher") == json.loads(
                (args.out / "teacher.json").read_text()).get("sentences_sha256"):
            print(f"train: {args.out / 'distilled.npz'} is up to date")
            return 0
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    start, cfg = train_ko.load_start(args.out / "start.npz", vocab_rows(args.prune))
    teacher = np.load(args.out / "teacher.npy")
    sents = (args.out / "sentences.txt").read_text(encoding="utf-8").split("\n")[:-1]
    if len(sents) != teacher.shape[0]:
        raise SystemExit(f"{args.out}: {len(sents)} sentences but {teacher.shape[0]} teacher vectors; rerun prepare")
    tok = Tokenizer.from_file(str(args.prune / "tokenizer.json"))
    tok.enable_truncation(args.max_tokens)
    pad_id = tok.token_to_id("<pad>")
    seqs = train_ko.tokenise(tok, sents)
    dev_pairs = read_pairs(args.data_dir / "korsts" / "sts-dev.tsv")
    dev_seqs = train_ko.tokenise(tok, [s for a, b, _ in dev_pairs for s in (a, b)])
    dev_gold = np.array([g for _, _, g in dev_pairs])
    device = torch.device("cpu")

    model = train_ko.build_torch(torch, cfg, start["emb.word"].shape[0])
    train_ko.load_into(torch, model, start)
    model.word.weight.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    rng = np.random.default_rng(args.seed)
    lengths = [len(s) for s in seqs]
    epoch_orders = [train_ko.batches(rng, lengths, args.batch) for _ in range(args.epochs)]
    total = sum(len(o) for o in epoch_orders)
    opt, sched = train_ko.optimiser(torch, params, args.lr, args.weight_decay, total)
    torch.manual_seed(args.seed)

    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()
                         + (args.out / "teacher.json").read_bytes()).hexdigest()[:16]
    ckpt = args.out / f"checkpoint-{key}.pt"
    step, history = 0, []
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["torch_rng"])
        step, history = state["step"], state["history"]
        print(f"train: resumed at step {step}/{total} from {ckpt}", flush=True)

    def save() -> None:
        tmp = ckpt.with_suffix(".part")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "torch_rng": torch.get_rng_state(), "step": step, "history": history}, tmp)
        tmp.replace(ckpt)

    t0 = time.time()
    target = torch.from_numpy(teacher)
    done_before = 0
    for epoch, order in enumerate(epoch_orders):
        if step >= done_before + len(order):
            done_before += len(order)
            continue
        model.train()
        for b, idx in enumerate(order):
            if done_before + b < step:
                continue
            ids, mask = train_ko.pad_batch(torch, [seqs[i] for i in idx], pad_id, device)
            s = torch.nn.functional.normalize(model(ids, mask), dim=-1)
            t = target[idx]
            loss = ((s - t) ** 2).sum(-1).mean()
            if args.sim_weight:
                loss = loss + args.sim_weight * ((s @ s.T - t @ t.T) ** 2).mean()
            train_ko.update(torch, loss, opt, sched, params)
            step += 1
            if step % 100 == 0:
                print(f"train: step {step}/{total} (epoch {epoch + 1}), loss {loss.item():.5f}  "
                      f"[{time.time() - t0:.0f} s]", flush=True)
            if step % args.checkpoint_steps == 0:
                save()
            if args.max_minutes and time.time() - t0 > 60 * args.max_minutes and step < total:
                save()
                print(f"train: stopped after {args.max_minutes} min at step {step}/{total}; run again to resume",
                      flush=True)
                return 3
        done_before += len(order)
        score = train_ko.dev_spearman(torch, model, dev_seqs, dev_gold, pad_id, device)
        history.append({"epoch": epoch + 1, "dev_spearman": round(score, 3), "seconds": round(time.time() - t0, 1)})
        print(f"train: epoch {epoch + 1}/{args.epochs}: KorSTS dev {score:.2f}  [{time.time() - t0:.0f} s]", flush=True)
        save()
    weights = train_ko.state_numpy(model)
    write_pack(args.out / "distilled.npz", weights, cfg)
    teacher_sha = json.loads((args.out / "teacher.json").read_text())["sentences_sha256"]
    report.write_text(json.dumps({"steps": total, "history": history, "args": recipe, "teacher": teacher_sha},
                                 indent=2) + "\n")
    print(f"train: wrote {args.out / 'distilled.npz'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="student start weights and teacher vectors (tools venv)")
    p.add_argument("--teacher", type=Path, default=REPO / "models" / "kse-ko-small")
    p.add_argument("--layers", default="1,3,5,7,9,11", help="teacher layers the student's layers start from")
    p.add_argument("--e5s1", type=Path, required=True)
    t = sub.add_parser("train", help="distillation (train venv, PyTorch)")
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--sim-weight", type=float, default=1.0)
    t.add_argument("--weight-decay", type=float, default=0.01)
    t.add_argument("--max-tokens", type=int, default=128)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--checkpoint-steps", type=int, default=300)
    t.add_argument("--max-minutes", type=float, default=85.0, help="stop at a checkpoint after this long (0: never)")
    for q in (p, t):
        q.add_argument("--prune", type=Path, required=True)
        q.add_argument("--out", type=Path, required=True)
        q.add_argument("--data-dir", type=Path, default=ko_data.DATA)
        q.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    return prepare(args) if args.cmd == "prepare" else train(args)


if __name__ == "__main__":
    sys.exit(main())
