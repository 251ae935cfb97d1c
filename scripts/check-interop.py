#!/usr/bin/env python3
"""Interop check: an lrnn checkpoint's NLL in the reference PyTorch code equals `lrnn eval`'s.

Loads CHECKPOINT (a checkpoint folder, or a run folder: its checkpoint-best/, else its newest
checkpoint-<step>/) with the reference library, unedited: Mamba through transformers'
MambaForCausalLM, DeltaNet through fla's DeltaNetForCausalLM. Tokenises --data FILE with the Hugging Face
`tokenizers` library, cuts the stream into exactly the windows `lrnn eval --data FILE` scores (same
--seq-len, --stride, --max-tokens), sums the next-token NLL, runs `lrnn eval --json` on the same file (or
reads its result from --lrnn-json) and prints both sums and their relative difference.

For Mamba with allow_neg_eigval = true, transformers' scan is patched to the [-1,1] map 2*exp(dA) - 1 first
(stock transformers ignores the flag and silently runs exp(dA)); the patch is the one in the README.
DeltaNet needs fla and triton: fla registers its models only when triton imports. On a CUDA GPU fla's
own kernels run (attn_mode fused_recurrent, float32: the chunk kernel takes bf16 only); on a CPU the
triton kernels fla's DeltaNet calls are swapped for torch code (fla's naive delta-rule recurrence and
RMSNorm references, torch conv1d and SwiGLU) under fla's model code. --device picks (default: cuda when
available).

Needs Python >= 3.9 with torch, transformers (4.x or 5.x), safetensors and tokenizers; for DeltaNet also
flash-linear-attention and triton. Make such an environment with
    python3 -m venv .venv && .venv/bin/pip install torch transformers safetensors tokenizers
    .venv/bin/pip install flash-linear-attention triton      # DeltaNet
and run  .venv/bin/python scripts/check-interop.py CHECKPOINT --data FILE  from the repository root.

Exit codes: 0 the numbers agree within --tol, 1 they do not (or an internal failure), 2 bad input or a
missing package.
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class BadInput(Exception):
    """Bad arguments, files or environment: exit 2."""


# ----------------------------------------------------------------------------------------------------------
# Checkpoint and data, as `lrnn eval` reads them (src/eval/evaluate.ts, src/eval/splits.ts)

def resolve_checkpoint(path: Path) -> Path:
    """The folder itself when it has config.json; else checkpoint-best/; else the newest checkpoint-<step>/."""
    if (path / 'config.json').exists():
        return path
    if not path.is_dir():
        raise BadInput(f'{path}: no such folder')
    if (path / 'checkpoint-best' / 'config.json').exists():
        return path / 'checkpoint-best'
    steps = [(int(m.group(1)), p) for p in path.iterdir() if (m := re.fullmatch(r'checkpoint-(\d+)', p.name)) and (p / 'config.json').exists()]
    if not steps:
        raise BadInput(f'{path}: no config.json there, and no checkpoint-best/ or checkpoint-<step>/ folder inside')
    return max(steps)[1]


def default_seq_len(ckpt: Path) -> int:
    """The training seq_len from trainer_state.json (batch.seq_len, else run_config.data.seq_len), else 256."""
    f = ckpt / 'trainer_state.json'
    if f.exists():
        s = json.loads(f.read_text('utf-8'))
        for v in ((s.get('batch') or {}).get('seq_len'), ((s.get('run_config') or {}).get('data') or {}).get('seq_len')):
            if isinstance(v, int) and not isinstance(v, bool):
                return v
    return 256


def read_documents(file: Path) -> list[str]:
    """Documents of a .txt (the whole file, CRLF -> LF) or .jsonl file (non-empty 'text' fields), as lrnn reads them."""
    ext = file.suffix.lower()
    if ext == '.txt':
        try:
            text = file.read_bytes().decode('utf-8')
        except UnicodeDecodeError as e:
            raise BadInput(f'{file}: not valid UTF-8 at byte {e.start}') from e
        text = text.replace('\r\n', '\n')
        return [text] if text else []
    if ext == '.jsonl':
        docs = []
        for n, line in enumerate(file.read_text('utf-8').splitlines(), 1):
            if not line.strip():
                continue
            try:
                t = json.loads(line).get('text')
            except (json.JSONDecodeError, AttributeError) as e:
                raise BadInput(f'{file}: line {n}: malformed JSON or no object ({e})') from e
            if not isinstance(t, str):
                raise BadInput(f"{file}: line {n}: no string 'text' field")
            if t:
                docs.append(t)
        return docs
    raise BadInput(f'{file}: this check reads .txt or .jsonl files (lrnn eval also reads .parquet/.arrow)')


def token_stream(ckpt: Path, docs: list[str]) -> list[int]:
    """doc0 EOS doc1 EOS ...: each document encoded without matching special-token text, then the EOS id."""
    from tokenizers import Tokenizer
    f = ckpt / 'tokenizer.json'
    if not f.exists():
        raise BadInput(f'{f}: not found; the check needs the checkpoint tokenizer')
    j = json.loads(f.read_text('utf-8'))
    added = j.get('added_tokens') or []
    cfg_file = ckpt / 'tokenizer_config.json'
    eos_text = None
    if cfg_file.exists():
        e = json.loads(cfg_file.read_text('utf-8')).get('eos_token')
        eos_text = e.get('content') if isinstance(e, dict) else e
    # lrnn's end-of-text id: <|endoftext|>, else the tokenizer_config eos_token, else an eos-like special token
    by_text = {a['content']: a['id'] for a in added}
    eos = by_text.get('<|endoftext|>', by_text.get(eos_text) if eos_text else None)
    if eos is None:
        eos = next((a['id'] for a in added if re.search(r'endoftext|eos|</s>', a['content'], re.I)), None)
    # lrnn's encodeOrdinary does not turn special-token text inside a document into its id: encode with a
    # copy of the tokenizer that has no added tokens.
    ordinary = Tokenizer.from_str(json.dumps({**j, 'added_tokens': []}))
    ids: list[int] = []
    for d in docs:
        ids.extend(ordinary.encode(d, add_special_tokens=False).ids)
        if eos is not None:
            ids.append(eos)
    return ids


def make_windows(n_tokens: int, seq_len: int, stride: int, max_targets: int | None):
    """(begin, end, score_from) of each window, as makeWindows in src/eval/perplexity.ts."""
    n = n_tokens if max_targets is None else min(n_tokens, max_targets + 1)
    out = []
    if n < 2:
        return out
    scored_end = 1
    b = 0
    while True:
        e = min(b + seq_len + 1, n)
        if e > scored_end:
            out.append((b, e, scored_end - (b + 1)))
            scored_end = e
        if e >= n:
            return out
        b += stride


# ----------------------------------------------------------------------------------------------------------
# The reference models

def use_neg_eigval_map(owner, name: str, old: str, module) -> None:
    """Re-defines owner.name from its own source with the transition exp(...) replaced by 2*exp(...) - 1."""
    fn = getattr(owner, name)
    src = textwrap.dedent(inspect.getsource(fn))
    src = src[src.index('def '):]  # without decorators: they may swap in a CUDA kernel that only knows exp
    if src.count(old) != 1:
        raise RuntimeError(f'{module.__name__}.{name}: the line with {old} is not there; this transformers version '
                           'needs its own allow_neg_eigval patch')
    ns: dict = {}
    exec(src.replace(old, f'(2 * {old} - 1)'), vars(module), ns)
    setattr(owner, name, ns[fn.__name__])


def patch_mamba_neg_eigval():
    """Makes transformers' Mamba use Abar = 2*exp(dt*A) - 1 (allow_neg_eigval = true).

    Returns what was patched and a function that restores the stock code."""
    import transformers.models.mamba.modeling_mamba as mm
    names = [(mm, 'mamba_selective_scan'), (mm, 'mamba_selective_state_update'), (mm, 'mamba_inner_fn'),
             (mm.MambaMixer, 'slow_forward'), (mm.MambaMixer, 'forward')]
    saved = [(o, n, o.__dict__[n]) for o, n in names if n in o.__dict__]

    def restore():
        for o, n, v in saved:
            setattr(o, n, v)

    if hasattr(mm, 'mamba_selective_scan'):  # transformers 5.x: module-level scan and one-token update
        use_neg_eigval_map(mm, 'mamba_selective_scan', 'torch.exp(A[None, :, None, :] * dt[:, :, :, None])', mm)
        use_neg_eigval_map(mm, 'mamba_selective_state_update', 'torch.exp(dt.float()[..., None] * A.float())', mm)
        mm.mamba_inner_fn = lambda *args, **kwargs: None  # the fused training kernel (mamba-ssm) only knows exp
        return 'transformers 5.x: modeling_mamba.mamba_selective_scan, mamba_selective_state_update', restore
    # transformers 4.x: slow_forward holds the scan for whole sequences and single tokens
    use_neg_eigval_map(mm.MambaMixer, 'slow_forward', 'torch.exp(A[None, :, None, :] * discrete_time_step[:, :, :, None])', mm)
    mm.MambaMixer.forward = mm.MambaMixer.slow_forward  # cuda_kernels_forward (mamba-ssm) only knows exp
    return 'transformers 4.x: modeling_mamba.MambaMixer.slow_forward', restore


def use_torch_ops_for_fla() -> str:
    """Runs fla's DeltaNet model code on a CPU: the triton kernels it calls are replaced by torch code, fla's own
    naive references where it ships them (delta_rule_recurrence, rms_norm_ref). Everything else (config,
    weight loading, layer wiring, beta doubling for allow_neg_eigval) stays fla's. Float32 inference only."""
    import torch
    import torch.nn.functional as F
    import fla.layers.delta_net as dn_layer
    from fla.modules import RMSNorm, ShortConvolution
    from fla.modules.layernorm import rms_norm_ref
    from fla.modules.mlp import SwiGLULinear
    from fla.ops.delta_rule.naive import delta_rule_recurrence

    def delta_rule(q, k, v, beta, scale=None, initial_state=None, output_final_state=False, cu_seqlens=None,
                   use_qk_l2norm_in_kernel=False, **kwargs):  # q, k [B,T,H,K]; v [B,T,H,V]; beta [B,T,H]
        if initial_state is not None or cu_seqlens is not None or scale not in (None, q.shape[-1] ** -0.5):
            raise NotImplementedError('torch delta rule: whole sequences from the zero state only')
        if use_qk_l2norm_in_kernel:  # fla's l2norm_fwd: x / sqrt(sum(x^2) + 1e-6)
            q, k = (x.float() / torch.sqrt((x.float() * x.float()).sum(-1, keepdim=True) + 1e-6) for x in (q, k))
        o, state = delta_rule_recurrence(*(x.transpose(1, 2) for x in (q, k, v, beta)), output_final_state=output_final_state)
        return o.transpose(1, 2), state

    def rms_norm(self, x, residual=None, prenorm=False, residual_in_fp32=False):
        return rms_norm_ref(x, self.weight, self.bias, residual=residual, eps=self.eps, prenorm=prenorm, upcast=True)

    def short_conv(self, x, residual=None, mask=None, cache=None, output_final_state=False, cu_seqlens=None, **kwargs):
        if residual is not None or mask is not None or cache is not None or cu_seqlens is not None:
            raise NotImplementedError('torch short convolution: whole sequences only')
        T = x.shape[1]
        y = F.conv1d(x.transpose(1, 2), self.weight, self.bias, padding=self.kernel_size[0] - 1, groups=self.hidden_size)[..., :T]
        y = y.transpose(1, 2)
        return (F.silu(y) if self.activation in ('silu', 'swish') else y), None

    dn_layer.fused_recurrent_delta_rule = delta_rule
    dn_layer.chunk_delta_rule = delta_rule
    RMSNorm.forward = rms_norm
    ShortConvolution.forward = short_conv
    SwiGLULinear.forward = lambda self, x, y, weight, bias: F.linear(F.silu(x) * y, weight, bias)
    return ("fla's model code on CPU with torch ops: fla.ops.delta_rule.naive.delta_rule_recurrence, "
            'fla.modules.layernorm.rms_norm_ref, torch conv1d and SwiGLU')


def load_model(ckpt: Path, config: dict, device: str, patch: bool):
    """(model in eval mode, a note on the patch, a function that undoes the patch)."""
    import torch
    model_type = config.get('model_type')
    note = ''
    restore = lambda: None  # noqa: E731
    if model_type == 'mamba':
        from transformers import MambaForCausalLM
        if config.get('allow_neg_eigval') and patch:
            what, restore = patch_mamba_neg_eigval()
            note = 'allow_neg_eigval patch: ' + what
        cls = MambaForCausalLM
    elif model_type == 'delta_net':
        try:
            import fla  # noqa: F401  (registers fla's models with transformers when triton imports)
            from fla.models import DeltaNetForCausalLM
        except ImportError as e:
            raise BadInput(f'DeltaNet needs flash-linear-attention and triton ({e}); fla registers its models only when '
                           'triton imports (pip install flash-linear-attention triton)') from e
        if device == 'cpu':
            note = use_torch_ops_for_fla()
        cls = DeltaNetForCausalLM
    else:
        raise BadInput(f"{ckpt / 'config.json'}: model_type {model_type!r} (expected 'mamba' or 'delta_net')")
    import transformers
    kw = {'dtype': torch.float32} if int(transformers.__version__.split('.')[0]) >= 5 else {'torch_dtype': torch.float32}
    if model_type == 'delta_net':
        kw['attn_mode'] = 'fused_recurrent'  # fla's chunk kernel refuses float32 (bf16 only); the recurrent one is exact
    model, info = cls.from_pretrained(str(ckpt), output_loading_info=True, **kw)
    bad = {k: v for k, v in info.items() if v and k in ('missing_keys', 'unexpected_keys', 'mismatched_keys', 'error_msgs')}
    if bad:
        raise RuntimeError(f'{ckpt}: from_pretrained loaded with {bad}')
    return model.to(device).eval(), note, restore


def reference_nll(model, stream: list[int], windows, batch_size: int, device: str) -> tuple[float, int]:
    """Summed NLL (float32 log-softmax per target, float64 sum) and targets scored; windows of equal length batched."""
    import torch
    total, count = 0.0, 0
    i = 0
    with torch.no_grad():
        while i < len(windows):
            j = i
            while j < len(windows) and j - i < batch_size and windows[j][1] - windows[j][0] == windows[i][1] - windows[i][0]:
                j += 1
            rows = torch.tensor([stream[b:e] for b, e, _ in windows[i:j]], dtype=torch.long, device=device)
            logits = model(input_ids=rows[:, :-1], use_cache=False).logits.float()
            nll = -torch.log_softmax(logits, dim=-1).gather(-1, rows[:, 1:, None])[..., 0]
            for r, (_, _, score_from) in enumerate(windows[i:j]):
                total += nll[r, score_from:].double().sum().item()
                count += nll.shape[1] - score_from
            i = j
    return total, count


# ----------------------------------------------------------------------------------------------------------

def lrnn_eval(args, ckpt: Path, name: str) -> dict:
    """splits[name] of `lrnn eval --json` on the same file and windows (or of --lrnn-json)."""
    if args.lrnn_json:
        res = json.loads(Path(args.lrnn_json).read_text('utf-8'))
    else:
        cmd = shlex.split(args.lrnn) if args.lrnn else ['node', str(REPO / 'bin' / 'lrnn.js')]
        with tempfile.TemporaryDirectory() as tmp:
            cmd += ['eval', '--checkpoint', str(ckpt), '--data', str(args.data), '--seq-len', str(args.seq_len),
                    '--stride', str(args.stride), '--batch-size', str(args.batch_size), '--json', '--out', os.path.join(tmp, 'eval.json')]
            if args.max_tokens is not None:
                cmd += ['--max-tokens', str(args.max_tokens)]
            print('$ ' + ' '.join(shlex.quote(c) for c in cmd), file=sys.stderr)
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            except FileNotFoundError as e:
                raise BadInput(f'cannot run {cmd[0]} ({e}); pass --lrnn "CMD" or --lrnn-json FILE') from e
            if p.returncode != 0:
                raise BadInput(f'lrnn eval exited {p.returncode}:\n{p.stderr.strip()}')
            res = json.loads(p.stdout)
    splits = res.get('splits') or {}
    if name not in splits:
        if len(splits) != 1:
            raise BadInput(f"lrnn eval result: no split '{name}' (have {', '.join(splits) or 'none'})")
        name = next(iter(splits))
    for key, want in (('seq_len', args.seq_len), ('stride', args.stride)):
        if res.get(key) not in (None, want):
            raise BadInput(f'lrnn eval result: {key} {res.get(key)} but this check uses {want}')
    return splits[name]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog='See the README, "Checkpoints, PyTorch and generation".')
    ap.add_argument('checkpoint', type=Path, help='checkpoint folder, or a run folder')
    ap.add_argument('--data', type=Path, required=True, help='text to score: a .txt file (one document) or .jsonl (a "text" field per line)')
    ap.add_argument('--seq-len', type=int, help='window length (default: the training seq_len, else 256; as lrnn eval)')
    ap.add_argument('--stride', type=int, help='window stride (default: --seq-len)')
    ap.add_argument('--max-tokens', type=int, help='score at most this many targets')
    ap.add_argument('--batch-size', type=int, default=8, help='windows per forward pass (default 8)')
    ap.add_argument('--tol', type=float, default=1e-6, help='largest relative difference of the summed NLL that passes (default 1e-6)')
    ap.add_argument('--device', default=None, help='torch device (default: cuda when available for DeltaNet, else cpu)')
    ap.add_argument('--lrnn', help='command that runs lrnn (default: node bin/lrnn.js of this repository)')
    ap.add_argument('--lrnn-json', help="use this 'lrnn eval --data FILE --json' result instead of running lrnn eval")
    ap.add_argument('--unpatched', action='store_true', help='also report the NLL of stock transformers without the allow_neg_eigval patch (Mamba)')
    args = ap.parse_args()

    try:
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
            import tokenizers  # noqa: F401
            import safetensors  # noqa: F401
        except ImportError as e:
            raise BadInput(f'{e}; install the reference libraries: python3 -m venv .venv && .venv/bin/pip install torch transformers safetensors tokenizers') from e
        import torch
        ckpt = resolve_checkpoint(args.checkpoint)
        if not args.data.is_file():
            raise BadInput(f'--data {args.data}: no such file')
        config = json.loads((ckpt / 'config.json').read_text('utf-8'))
        args.seq_len = args.seq_len or default_seq_len(ckpt)
        args.stride = args.stride or args.seq_len
        if args.seq_len < 1 or not 1 <= args.stride <= args.seq_len:
            raise BadInput(f'--stride {args.stride} must lie in [1, --seq-len {args.seq_len}]')
        device = args.device or ('cuda' if config.get('model_type') == 'delta_net' and torch.cuda.is_available() else 'cpu')

        stream = token_stream(ckpt, read_documents(args.data))
        windows = make_windows(len(stream), args.seq_len, args.stride, args.max_tokens)
        if not windows:
            raise BadInput(f'{args.data}: fewer than 2 tokens, nothing to score')
        if max(stream) >= config['vocab_size']:
            raise BadInput(f"{args.data}: token id {max(stream)} is outside the model's vocabulary {config['vocab_size']}")
        name = re.sub(r'\.(txt|jsonl|parquet|arrows?)$', '', args.data.name, flags=re.I)
        ours = lrnn_eval(args, ckpt, name)

        model, note, restore = load_model(ckpt, config, device, patch=True)
        import transformers as tf
        print(f'checkpoint  {ckpt}  ({config["model_type"]}, allow_neg_eigval={bool(config.get("allow_neg_eigval"))})')
        print(f'reference   {type(model).__name__} from_pretrained, transformers {tf.__version__}, torch {torch.__version__}, {device}')
        if note:
            print(note)
        nll, count = reference_nll(model, stream, windows, args.batch_size, device)
        print(f'windows     {len(windows)} (seq_len {args.seq_len}, stride {args.stride})')
        if count != ours['tokens']:
            print(f"MISMATCH: {count} targets here, {ours['tokens']} in lrnn eval (tokenisation differs)")
            return 1
        rel = abs(nll - ours['nll']) / max(abs(ours['nll']), 1e-300)
        print(f"lrnn eval   nll {ours['nll']:.10f}  tokens {ours['tokens']}  loss {ours['nll'] / count:.10f}")
        print(f'reference   nll {nll:.10f}  tokens {count}  loss {nll / count:.10f}')
        print(f'relative difference {rel:.3e} (tolerance {args.tol:g})')
        if args.unpatched and config.get('model_type') == 'mamba' and config.get('allow_neg_eigval'):
            restore()
            stock, _, _ = load_model(ckpt, config, device, patch=False)
            nll0, _ = reference_nll(stock, stream, windows, args.batch_size, device)
            print(f"unpatched   nll {nll0:.10f}  loss {nll0 / count:.10f}  ({(nll0 - ours['nll']) / ours['nll']:+.3%} vs lrnn: the [0,1] map)")
        if not math.isfinite(rel) or rel > args.tol:
            print('FAIL: the reference NLL differs from lrnn eval by more than the tolerance')
            return 1
        print('OK')
        return 0
    except BadInput as e:
        print(f'check-interop: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
