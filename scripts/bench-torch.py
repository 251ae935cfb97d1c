#!/usr/bin/env python3
"""The PyTorch side of the train bench: the same DeltaNet / Mamba small LMs in plain float32 PyTorch on CPU
(chunked delta rule with chunk 64, Mamba with a sequential scan), one OpenMP and one BLAS thread, timing a
full step (forward + backward + clip + AdamW) on synthetic ids. Prints one JSON line with tokens/s.

Usage: python scripts/bench-torch.py --model deltanet-small|mamba-small [--reps 3]
Needs torch (CPU): python3 -m venv .venv && .venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
Shapes follow src/models/sizes.ts's `small` size and the recipes' batch 8 x 256, vocab 8192.
"""
import argparse, json, math, os, statistics, time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class ShortConv(nn.Module):  # depthwise causal conv, width W, then SiLU
    def __init__(self, c, w=4, bias=False):
        super().__init__()
        self.conv = nn.Conv1d(c, c, w, groups=c, padding=w - 1, bias=bias)

    def forward(self, x):  # x [B,T,C]
        return F.silu(self.conv(x.transpose(1, 2))[..., : x.shape[1]].transpose(1, 2))


def chunk_delta_rule(q, k, v, beta, chunk=64):
    """q,k,v [B,H,T,K], beta [B,H,T]; the WY-form chunked delta rule (flash-linear-attention's naive chunk)."""
    B, H, T, K = q.shape
    V = v.shape[-1]
    q = q * K ** -0.5
    kb, vb = k * beta[..., None], v * beta[..., None]
    n = T // chunk
    q, k, kb, vb = (x.reshape(B, H, n, chunk, -1) for x in (q, k, kb, vb))
    # WY form: attn = (I + L)^-1 with L = strictly lower tril(β k kᵀ), one triangular solve per chunk
    # (flash-linear-attention's naive chunk builds the same inverse by forward substitution, row by row).
    mask = torch.triu(torch.ones(chunk, chunk, dtype=torch.bool), 0)
    eye = torch.eye(chunk)
    lower = (kb @ k.transpose(-1, -2)).masked_fill(mask, 0)
    attn = torch.linalg.solve_triangular(lower + eye, eye.expand_as(lower), upper=False, unitriangular=True)
    u, w = attn @ vb, attn @ kb
    S = q.new_zeros(B, H, K, V)
    mask2 = torch.triu(torch.ones(chunk, chunk, dtype=torch.bool), 1)
    outs = []
    for i in range(n):
        qi, ki = q[:, :, i], k[:, :, i]
        ai = (qi @ ki.transpose(-1, -2)).masked_fill(mask2, 0)
        ui = u[:, :, i] - w[:, :, i] @ S
        outs.append(qi @ S + ai @ ui)
        S = S + ki.transpose(-1, -2) @ ui
    return torch.stack(outs, 2).reshape(B, H, T, V)


class DeltaNetBlock(nn.Module):
    def __init__(self, d, heads, inner, neg, eps=1e-6):
        super().__init__()
        self.h, self.neg = heads, neg
        self.attn_norm, self.mlp_norm = RMSNorm(d, eps), RMSNorm(d, eps)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.b = nn.Linear(d, heads, bias=False)
        self.cq, self.ck, self.cv = ShortConv(d), ShortConv(d), ShortConv(d)
        self.o_norm = RMSNorm(d // heads, 1e-5)
        self.gate, self.up = nn.Linear(d, inner, bias=False), nn.Linear(d, inner, bias=False)
        self.down = nn.Linear(inner, d, bias=False)

    def forward(self, x):
        B, T, D = x.shape
        u = self.attn_norm(x)
        heads = lambda t: t.reshape(B, T, self.h, -1).transpose(1, 2)
        q = F.normalize(heads(self.cq(self.q(u))), dim=-1, eps=1e-6)
        k = F.normalize(heads(self.ck(self.k(u))), dim=-1, eps=1e-6)
        v = heads(self.cv(self.v(u)))
        beta = torch.sigmoid(self.b(u)).transpose(1, 2) * (2.0 if self.neg else 1.0)
        o = self.o_norm(chunk_delta_rule(q, k, v, beta)).transpose(1, 2).reshape(B, T, D)
        x = x + self.o(o)
        m = self.mlp_norm(x)
        return x + self.down(F.silu(self.gate(m)) * self.up(m))


class MambaBlock(nn.Module):
    def __init__(self, d, n_state, neg, expand=2, eps=1e-5):
        super().__init__()
        di, self.r, self.n, self.neg = expand * d, math.ceil(d / 16), n_state, neg
        self.norm = RMSNorm(d, eps)
        self.in_proj = nn.Linear(d, 2 * di, bias=False)
        self.conv = ShortConv(di, bias=True)
        self.x_proj = nn.Linear(di, self.r + 2 * n_state, bias=False)
        self.dt_proj = nn.Linear(self.r, di, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, n_state + 1, dtype=torch.float32)).repeat(di, 1))
        self.D = nn.Parameter(torch.ones(di))
        self.out_proj = nn.Linear(di, d, bias=False)

    def forward(self, x):
        xz = self.in_proj(self.norm(x))
        xs, z = xz.chunk(2, -1)
        xs = self.conv(xs)
        dt, Bm, Cm = self.x_proj(xs).split([self.r, self.n, self.n], -1)
        delta = F.softplus(self.dt_proj(dt))  # [B,T,di]
        A = -torch.exp(self.A_log)  # [di,N]
        # Sequential scan, one step per token on time-major rows; Ā_t is made per step, never as [B,T,di,N].
        dT, xT, BT, CT = (t.transpose(0, 1).contiguous() for t in (delta, xs, Bm, Cm))
        h = x.new_zeros(x.shape[0], xs.shape[-1], self.n)
        ys = []
        for t in range(x.shape[1]):
            dA = torch.exp(dT[t, :, :, None] * A)
            if self.neg:
                dA = 2 * dA - 1
            h = dA * h + (dT[t] * xT[t])[:, :, None] * BT[t][:, None, :]
            ys.append(torch.bmm(h, CT[t][:, :, None])[..., 0])
        y = (torch.stack(ys, 1) + xs * self.D) * F.silu(z)
        return x + self.out_proj(y)


class LM(nn.Module):
    def __init__(self, blocks, d, vocab, tie, eps):
        super().__init__()
        self.embed, self.blocks, self.norm = nn.Embedding(vocab, d), nn.ModuleList(blocks), RMSNorm(d, eps)
        self.head = nn.Linear(d, vocab, bias=False)
        if tie:
            self.head.weight = self.embed.weight

    def forward(self, ids):
        h = self.embed(ids[:, :-1])
        for b in self.blocks:
            h = b(h)
        logits = self.head(self.norm(h))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def build(name, vocab=8192, neg=False):
    if name.startswith("deltanet"):
        return LM([DeltaNetBlock(384, 6, 1024, neg) for _ in range(6)], 384, vocab, tie=False, eps=1e-6)
    return LM([MambaBlock(384, 16, neg) for _ in range(12)], 384, vocab, tie=True, eps=1e-5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="deltanet-small", choices=["deltanet-small", "mamba-small"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    a = ap.parse_args()
    torch.manual_seed(0)
    model = build(a.model, neg="negeig" in a.model)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, betas=(0.9, 0.95), weight_decay=0.1, eps=1e-8)
    ids = torch.randint(0, 8192, (a.batch, a.seq + 1))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()  # warmup
    runs = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        step()
        runs.append((time.perf_counter() - t0) * 1000)
    ms = statistics.median(runs)
    print(json.dumps({"name": f"torch.{a.model}", "value": round(a.batch * a.seq / (ms / 1000), 1), "unit": "tokens/s",
                      "step_ms": round(ms, 1), "batch": f"{a.batch}x{a.seq}", "params": sum(p.numel() for p in model.parameters()),
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
