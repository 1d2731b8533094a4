#!/usr/bin/env python3
"""Trains ModelGen's default model: a small llama-architecture model with its own vocabulary, on the English text of
Debian's `fortunes` package (BSD licence), and writes it as GGUF.

Run by a maintainer, never by CI: eng/train-default-model/train.sh installs what it needs (Debian's python3-torch and
fortunes) and quantizes the result with modelgen itself. Deterministic for a given seed, torch build and thread count.

Steps: read the fortunes and hold out every 20th one; learn a SentencePiece-style vocabulary (byte-pair merges inside
words, scored by merge order, with byte fallback), which llama.cpp's SPM tokenizer applies exactly as trained here;
train a llama block stack (RMSNorm, rotary embeddings with adjacent pairs as GGUF's llama expects, SwiGLU, tied
embedding); write F32 GGUF and the held-out text.
"""
import argparse
import collections
import math
import os
import random
import re
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

FORTUNES = "/usr/share/games/fortunes"
# Prose in English; left out: pictures (art, ascii-art), a file of non-English text, and the Debian, Linux and Perl
# in-jokes, which are mostly command lines.
FILES = ["fortunes", "literature", "wisdom", "people", "platitudes", "humorists", "kids", "pets", "love", "food",
         "riddles", "songs-poems", "education", "work", "science", "politics", "sports", "miscellaneous", "magic",
         "medicine", "law", "news", "men-women", "paradoxum", "goedel", "pratchett", "cookie", "definitions",
         "computers", "drugs", "ethnic", "zippy", "tao", "startrek"]

SPACE = "\u2581"
UNK, BOS, EOS = 0, 1, 2
# llama.cpp's token types.
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6


def read_fortunes():
    texts = []
    for name in FILES:
        with open(os.path.join(FORTUNES, name), encoding="utf-8", errors="replace") as f:
            for entry in f.read().split("\n%\n"):
                entry = entry.strip("\n%").rstrip()
                # Tabs and runs of spaces are layout, not language.
                entry = re.sub(r"[ \t]+", " ", entry).strip()
                if 20 <= len(entry) <= 2000 and entry.isascii():
                    texts.append(entry)
    return texts


def words_of(text):
    """The pieces merges stay inside, as llama.cpp's SPM tokenizer sees the text: spaces become the word marker
    that starts each word (one is prefixed to the text), and a line break stands alone."""
    marked = SPACE + text.replace(" ", SPACE)
    return re.findall(SPACE + "[^" + SPACE + "\n]*|[^" + SPACE + "\n]+|\n", marked)


class Vocabulary:
    def __init__(self, pieces):
        # Control tokens, 256 byte-fallback tokens, then pieces in order of preference: the score falls with rank.
        self.tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + pieces
        self.types = [UNKNOWN, CONTROL, CONTROL] + [BYTE] * 256 + [NORMAL] * len(pieces)
        self.scores = [0.0] * 259 + [-float(i) for i in range(len(pieces))]
        self.ids = {t: i for i, t in enumerate(self.tokens) if self.types[i] == NORMAL}
        self.cache = {}

    @staticmethod
    def train(texts, size):
        """Byte-pair merges over the words' characters, most frequent pair first (ties by the pair's text), until the
        vocabulary has <size> tokens. Pair counts are updated only for the words a merge touches."""
        counts = collections.Counter(w for t in texts for w in words_of(t) if w != "\n")
        chars = collections.Counter()
        for w, c in counts.items():
            for ch in w:
                chars[ch] += c
        pieces = [ch for ch, c in chars.most_common() if c >= 2]
        words = [list(w) for w in counts]
        weights = list(counts.values())
        pairs = collections.Counter()
        where = collections.defaultdict(set)
        for i, w in enumerate(words):
            for a, b in zip(w, w[1:]):
                pairs[a, b] += weights[i]
                where[a, b].add(i)
        while 259 + len(pieces) < size and pairs:
            (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
            merged = a + b
            pieces.append(merged)
            for i in list(where[a, b]):
                w = words[i]
                for x, y in zip(w, w[1:]):
                    pairs[x, y] -= weights[i]
                    if pairs[x, y] <= 0:
                        del pairs[x, y]
                    where[x, y].discard(i)
                out, j = [], 0
                while j < len(w):
                    if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                        out.append(merged)
                        j += 2
                    else:
                        out.append(w[j])
                        j += 1
                words[i] = out
                for x, y in zip(out, out[1:]):
                    pairs[x, y] += weights[i]
                    where[x, y].add(i)
        return Vocabulary(pieces)

    def encode_word(self, word):
        """llama.cpp's SPM tokenization of one word: merge the adjacent pair whose concatenation is the
        highest-scoring token (leftmost on ties) until none is; unknown symbols fall back to byte tokens."""
        if word in self.cache:
            return self.cache[word]
        symbols = list(word)
        while True:
            best, best_score = -1, None
            for i in range(len(symbols) - 1):
                t = self.ids.get(symbols[i] + symbols[i + 1])
                if t is not None and (best_score is None or self.scores[t] > best_score):
                    best, best_score = i, self.scores[t]
            if best < 0:
                break
            symbols[best:best + 2] = [symbols[best] + symbols[best + 1]]
        ids = []
        for s in symbols:
            if s in self.ids:
                ids.append(self.ids[s])
            else:
                ids.extend(3 + b for b in s.encode("utf-8"))
        self.cache[word] = ids
        return ids

    def encode(self, text):
        return [i for w in words_of(text) for i in self.encode_word(w)]


class Block(nn.Module):
    def __init__(self, dim, heads, ffn):
        super().__init__()
        self.heads = heads
        self.attn_norm = nn.Parameter(torch.ones(dim))
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(dim, dim, bias=False)
        self.v = nn.Linear(dim, dim, bias=False)
        self.o = nn.Linear(dim, dim, bias=False)
        self.ffn_norm = nn.Parameter(torch.ones(dim))
        self.gate = nn.Linear(dim, ffn, bias=False)
        self.up = nn.Linear(dim, ffn, bias=False)
        self.down = nn.Linear(ffn, dim, bias=False)

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        h = rms_norm(x, self.attn_norm)
        q, k, v = (m(h).view(b, t, self.heads, -1).transpose(1, 2) for m in (self.q, self.k, self.v))
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        a = scores.masked_fill(causal, float("-inf")).softmax(-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(b, t, d))
        h = rms_norm(x, self.ffn_norm)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


EPSILON = 1e-5
ROPE_BASE = 10000.0


def rms_norm(x, weight):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPSILON) * weight


def rope_tables(length, head_dim):
    inv = ROPE_BASE ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv)
    return angles.cos(), angles.sin()


def rotate(x, cos, sin):
    # GGUF's llama rotates adjacent pairs (x0, x1), (x2, x3), ...
    t = x.shape[2]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    c, s = cos[:t], sin[:t]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


class Model(nn.Module):
    def __init__(self, vocab, dim, layers, heads, ffn, context):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, ffn) for _ in range(layers))
        self.norm = nn.Parameter(torch.ones(dim))
        cos, sin = rope_tables(context, dim // heads)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * layers) if name.endswith(("o.weight", "down.weight")) else 0.02)

    def forward(self, ids):
        x = self.embed(ids)
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        return rms_norm(x, self.norm) @ self.embed.weight.T


def write_gguf(path, args, vocab, model):
    def s(text):
        b = text.encode("utf-8")
        return struct.pack("<Q", len(b)) + b

    kvs = []

    def kv(key, kind, payload):
        kvs.append(s(key) + struct.pack("<I", kind) + payload)

    u32 = lambda v: struct.pack("<I", v)
    f32 = lambda v: struct.pack("<f", v)
    kv("general.architecture", 8, s("llama"))
    kv("general.name", 8, s("ModelGen fortunes"))
    kv("general.license", 8, s("BSD-3-Clause (training data: Debian's fortunes package)"))
    kv("general.file_type", 4, u32(0))
    kv("llama.context_length", 4, u32(args.context))
    kv("llama.embedding_length", 4, u32(args.dim))
    kv("llama.block_count", 4, u32(args.layers))
    kv("llama.feed_forward_length", 4, u32(args.ffn))
    kv("llama.attention.head_count", 4, u32(args.heads))
    kv("llama.attention.head_count_kv", 4, u32(args.heads))
    kv("llama.rope.dimension_count", 4, u32(args.dim // args.heads))
    kv("llama.rope.freq_base", 6, f32(ROPE_BASE))
    kv("llama.attention.layer_norm_rms_epsilon", 6, f32(EPSILON))
    kv("llama.vocab_size", 4, u32(len(vocab.tokens)))
    kv("tokenizer.ggml.model", 8, s("llama"))
    kv("tokenizer.ggml.pre", 8, s("default"))
    kv("tokenizer.ggml.tokens", 9, u32(8) + struct.pack("<Q", len(vocab.tokens)) + b"".join(s(t) for t in vocab.tokens))
    kv("tokenizer.ggml.scores", 9, u32(6) + struct.pack("<Q", len(vocab.scores)) + b"".join(f32(v) for v in vocab.scores))
    kv("tokenizer.ggml.token_type", 9, u32(5) + struct.pack("<Q", len(vocab.types)) + b"".join(struct.pack("<i", v) for v in vocab.types))
    kv("tokenizer.ggml.bos_token_id", 4, u32(BOS))
    kv("tokenizer.ggml.eos_token_id", 4, u32(EOS))
    kv("tokenizer.ggml.unknown_token_id", 4, u32(UNK))
    kv("tokenizer.ggml.add_bos_token", 7, b"\x01")
    kv("tokenizer.ggml.add_eos_token", 7, b"\x00")

    # torch keeps a linear layer as [out, in], row-major: GGUF's shape [in, out] over the same bytes.
    tensors = [("token_embd.weight", model.embed.weight)]
    for i, b in enumerate(model.blocks):
        p = "blk.%d." % i
        tensors += [(p + "attn_norm.weight", b.attn_norm), (p + "attn_q.weight", b.q.weight), (p + "attn_k.weight", b.k.weight),
                    (p + "attn_v.weight", b.v.weight), (p + "attn_output.weight", b.o.weight), (p + "ffn_norm.weight", b.ffn_norm),
                    (p + "ffn_gate.weight", b.gate.weight), (p + "ffn_up.weight", b.up.weight), (p + "ffn_down.weight", b.down.weight)]
    tensors.append(("output_norm.weight", model.norm))

    infos, blobs, offset = [], [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        shape = list(reversed(t.shape))
        infos.append(s(name) + u32(len(shape)) + b"".join(struct.pack("<Q", d) for d in shape) + u32(0) + struct.pack("<Q", offset))
        padding = (-len(data)) % 32
        blobs.append(data + b"\0" * padding)
        offset += len(data) + padding

    header = b"GGUF" + u32(3) + struct.pack("<QQ", len(tensors), len(kvs)) + b"".join(kvs) + b"".join(infos)
    header += b"\0" * ((-len(header)) % 32)
    with open(path, "wb") as f:
        f.write(header)
        for blob in blobs:
            f.write(blob)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the F32 GGUF to write")
    parser.add_argument("--heldout", required=True, help="where to write the held-out fortunes, as text")
    parser.add_argument("--vocab", type=int, default=2048)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--ffn", type=int, default=384)
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    texts = read_fortunes()
    train_texts = [t for i, t in enumerate(texts) if i % 20 != 7]
    heldout = [t for i, t in enumerate(texts) if i % 20 == 7]
    with open(args.heldout, "w", encoding="utf-8") as f:
        f.write("\n\n".join(heldout) + "\n")

    started = time.time()
    vocab = Vocabulary.train(train_texts, args.vocab)
    stream = []
    for t in train_texts:
        stream += [BOS] + vocab.encode(t) + [EOS]
    data = torch.tensor(stream, dtype=torch.long)
    held = torch.tensor([i for t in heldout for i in [BOS] + vocab.encode(t) + [EOS]], dtype=torch.long)
    print(f"{len(texts)} fortunes, {len(data)} training tokens, {len(held)} held out, vocabulary {len(vocab.tokens)} "
          f"({time.time() - started:.0f} s)", file=sys.stderr)

    model = Model(len(vocab.tokens), args.dim, args.layers, args.heads, args.ffn, args.context)
    print(f"{sum(p.numel() for p in model.parameters())} parameters", file=sys.stderr)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = 100

    def batch(source):
        starts = torch.randint(0, len(source) - args.context - 1, (args.batch,))
        x = torch.stack([source[s:s + args.context] for s in starts])
        y = torch.stack([source[s + 1:s + args.context + 1] for s in starts])
        return x, y

    for step in range(1, args.steps + 1):
        lr = args.lr * min(1.0, step / warmup) * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = batch(data)
        loss = F.cross_entropy(model(x).view(-1, len(vocab.tokens)), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 50 == 0 or step == args.steps:
            with torch.no_grad():
                model.eval()
                hx, hy = batch(held)
                held_loss = F.cross_entropy(model(hx).view(-1, len(vocab.tokens)), hy.view(-1)).item()
                model.train()
            print(f"step {step}: loss {loss.item():.3f}, held-out {held_loss:.3f} (ppl {math.exp(held_loss):.1f}), "
                  f"{time.time() - started:.0f} s", file=sys.stderr)

    write_gguf(args.out, args, vocab, model)


if __name__ == "__main__":
    main()
