"""Channel pruning with torch-pruning (DepGraph), its repair by data-free distillation, and unstructured pruning.

``prune_structured`` returns a NEW module whose conv/linear/norm tensors are physically smaller (real channels
removed; DepGraph keeps coupled layers — convs, norms, skip connections, time-embedding projections — consistent).
``heal`` distils the pruned student toward the unpruned teacher on random inputs (no data set needed): the teacher's
predictions are the targets. ``prune_unstructured`` zeroes the smallest weights in place of a copy: the model is no
smaller and no faster on dense kernels, and says so.
"""
from __future__ import annotations

import copy
import fnmatch
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import torch
from torch import nn

from .metrics import rel_error

# Layers whose channel count must not change: the attention projections (their width fixes heads × head size)
# and the final convolution (its outputs are the latent channels).
UNET_IGNORED = ("*.to_q", "*.to_k", "*.to_v", "*.to_out.0", "out.2")
TRANSFORMER_IGNORED = ("*.query", "*.key", "*.value", "*.attention.output.dense", "*q_proj", "*k_proj", "*v_proj",
                       "*out_proj")


@dataclass
class PruneResult:
    module: nn.Module
    ratio: float
    mode: str
    params_before: int
    params_after: int
    macs_before: int | None = None
    macs_after: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def param_ratio(self) -> float:
        return self.params_after / max(1, self.params_before)

    def summary(self) -> str:
        s = (f"{self.mode} pruning at ratio {self.ratio:.2f}: parameters {self.params_before / 1e6:,.1f} M -> "
             f"{self.params_after / 1e6:,.1f} M ({self.param_ratio:.1%})")
        if self.macs_before and self.macs_after:
            s += f", MACs {self.macs_before / 1e9:,.2f} G -> {self.macs_after / 1e9:,.2f} G"
        return s


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def match_layers(model: nn.Module, patterns: Iterable[str]) -> list[nn.Module]:
    pats = list(patterns)
    return [m for n, m in model.named_modules()
            if n and any(fnmatch.fnmatchcase(n, p) for p in pats)]


def fix_channel_attributes(model: nn.Module) -> int:
    """Re-sync ``channels``/``out_channels``-style attributes of wrapper blocks with their (pruned) convolutions.

    ComfyUI's Upsample/Downsample assert ``x.shape[1] == self.channels``; after pruning, the numbers stored at
    construction time are stale. Returns how many attributes changed.
    """
    changed = 0
    for m in model.modules():
        conv = None
        for attr in ("conv", "op"):
            c = getattr(m, attr, None)
            if isinstance(c, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                conv = c
        if conv is None:
            continue
        for attr, value in (("channels", conv.in_channels), ("out_channels", conv.out_channels)):
            if isinstance(getattr(m, attr, None), int) and getattr(m, attr) != value:
                setattr(m, attr, value)
                changed += 1
    # ResBlock-style blocks keep the numbers too (unused in forward, but reports and later passes read them).
    for m in model.modules():
        layers = getattr(m, "in_layers", None)
        if isinstance(layers, nn.Sequential) and isinstance(getattr(m, "channels", None), int):
            convs = [c for c in layers if isinstance(c, nn.Conv2d)]
            if convs and m.channels != convs[0].in_channels:
                m.channels = convs[0].in_channels
                changed += 1
        out_layers = getattr(m, "out_layers", None)
        if isinstance(out_layers, nn.Sequential) and isinstance(getattr(m, "out_channels", None), int):
            convs = [c for c in out_layers if isinstance(c, nn.Conv2d)]
            if convs and m.out_channels != convs[-1].out_channels:
                m.out_channels = convs[-1].out_channels
                changed += 1
    return changed


def count_macs(model: nn.Module, example_inputs, forward_fn: Callable | None = None) -> tuple[int, int]:
    """(MACs, parameters) of one forward pass: multiply-accumulates of every Conv/Linear layer (by isinstance, so
    subclasses such as ComfyUI's ops count too); attention's matrix products are not included."""
    macs = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Linear):
            macs[0] += out.numel() * mod.in_features
        else:
            k = math.prod(mod.kernel_size)
            macs[0] += out.numel() * (mod.in_channels // mod.groups) * k

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
    try:
        with torch.no_grad():
            if forward_fn is not None:
                forward_fn(model, example_inputs)
            elif isinstance(example_inputs, dict):
                model(**example_inputs)
            elif isinstance(example_inputs, (tuple, list)):
                model(*example_inputs)
            else:
                model(example_inputs)
    finally:
        for h in handles:
            h.remove()
    return int(macs[0]), _count(model)


class _ForwardWrapper(nn.Module):
    def __init__(self, model, forward_fn):
        super().__init__()
        self.model = model
        self.forward_fn = forward_fn

    def forward(self, *inputs):
        inputs = inputs[0] if len(inputs) == 1 and isinstance(inputs[0], (tuple, list)) else inputs
        return self.forward_fn(self.model, inputs)


def prune_structured(model: nn.Module, example_inputs, ratio: float = 0.25,
                     forward_fn: Callable[[nn.Module, object], torch.Tensor] | None = None,
                     ignored: Sequence[str] = UNET_IGNORED, round_to: int | None = None,
                     count_ops: bool = True) -> PruneResult:
    """Remove ``ratio`` of the prunable channels of a copy of ``model``, ranked by group weight magnitude (L2)."""
    import torch_pruning as tp
    if not 0.0 <= ratio <= 0.5:
        raise ValueError(f"ratio: {ratio} is outside 0-0.5; choose a pruning ratio between 0 and 0.5")
    # DepGraph traces autograd: leave any surrounding inference mode (ComfyUI runs nodes in one) and copy the
    # weights into ordinary tensors
    with torch.inference_mode(False):
        return _prune_structured(model, example_inputs, ratio, forward_fn, ignored, round_to, count_ops)


def _prune_structured(model, example_inputs, ratio, forward_fn, ignored, round_to, count_ops) -> PruneResult:
    import torch_pruning as tp
    m = copy.deepcopy(model).float().eval()
    for mod in m.modules():
        for name, p in list(mod.named_parameters(recurse=False)):
            if p.is_inference():
                setattr(mod, name, nn.Parameter(p.detach().clone(), requires_grad=False))
        for name, b in list(mod.named_buffers(recurse=False)):
            if b is not None and b.is_inference():
                setattr(mod, name, b.clone())
    example_inputs = _clone_inputs(example_inputs)
    params_before = _count(m)
    macs_before = count_macs(m, example_inputs, forward_fn)[0] if count_ops else None
    if ratio == 0.0:
        return PruneResult(m, ratio, "structured", params_before, params_before, macs_before, macs_before,
                           ["ratio 0: nothing removed"])
    ignored_layers = match_layers(m, ignored)
    with torch.enable_grad():  # DepGraph traces the autograd graph
        for p in m.parameters():
            p.requires_grad_(True)
        pruner = tp.pruner.BasePruner(
            m, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=ratio,
            ignored_layers=ignored_layers, round_to=round_to, forward_fn=forward_fn)
        pruner.step()
    m.requires_grad_(False)
    fix_channel_attributes(m)
    params_after = _count(m)
    macs_after = count_macs(m, example_inputs, forward_fn)[0] if count_ops else None
    notes = [f"{len(ignored_layers)} layers kept at full width"]
    return PruneResult(m, ratio, "structured", params_before, params_after, macs_before, macs_after, notes)


def _clone_inputs(x):
    if isinstance(x, torch.Tensor):
        return x.clone() if x.is_inference() else x
    if isinstance(x, (tuple, list)):
        return type(x)(_clone_inputs(v) for v in x)
    if isinstance(x, dict):
        return {k: _clone_inputs(v) for k, v in x.items()}
    return x


def prune_unstructured(model: nn.Module, ratio: float = 0.25, ignored: Sequence[str] = ()) -> PruneResult:
    """Zero the ``ratio`` smallest-magnitude weights of each Linear/Conv layer of a copy (dense storage kept)."""
    if not 0.0 <= ratio <= 0.5:
        raise ValueError(f"ratio: {ratio} is outside 0-0.5; choose a pruning ratio between 0 and 0.5")
    m = copy.deepcopy(model)
    skip = set(map(id, match_layers(m, ignored)))
    n = _count(m)
    zeroed = 0
    with torch.no_grad():
        for layer in m.modules():
            if isinstance(layer, (nn.Linear, nn.Conv2d)) and id(layer) not in skip:
                w = layer.weight
                k = int(w.numel() * ratio)
                if k == 0:
                    continue
                thresh = w.abs().flatten().kthvalue(k).values
                mask = w.abs() > thresh
                zeroed += int((~mask).sum())
                w.mul_(mask)
    notes = [f"unstructured: {zeroed:,} weights set to zero; tensors keep their dense size, so memory and step "
             "time do not change without sparse kernels"]
    return PruneResult(m, ratio, "unstructured", n, n, None, None, notes)


@dataclass
class HealResult:
    steps: int
    error_before: float
    error_after: float
    history: list[tuple[int, float]]
    seconds: float

    def summary(self) -> str:
        return (f"healing {self.steps} steps in {self.seconds:.0f} s: relative error {self.error_before:.1%} -> "
                f"{self.error_after:.1%}")


def evaluate(student: nn.Module, teacher: nn.Module, batches: Sequence, forward_fn: Callable) -> float:
    """Mean relative error of the student's predictions against the teacher's over fixed input batches."""
    errs = []
    with torch.no_grad():
        for b in batches:
            errs.append(rel_error(forward_fn(student, b), forward_fn(teacher, b)))
    return float(sum(errs) / len(errs))


def heal(student: nn.Module, teacher: nn.Module, make_inputs: Callable[[torch.Generator], object],
         forward_fn: Callable[[nn.Module, object], torch.Tensor], steps: int = 50, lr: float = 1e-4,
         eval_batches: int = 2, eval_every: int = 0, seed: int = 0,
         progress: Callable[[int, int, float], None] | None = None,
         should_stop: Callable[[], None] | None = None) -> HealResult:
    """Data-free distillation: train ``student`` (in place) to reproduce ``teacher`` on random inputs.

    ``make_inputs(generator)`` draws one batch (random latents, timesteps, conditioning); ``forward_fn(model,
    batch)`` runs a model. Loss: MSE between the predictions. ``progress(step, steps, loss)`` is called each step;
    ``should_stop()`` may raise to cancel. The error before/after is measured on held-out batches.
    """
    with torch.inference_mode(False):
        return _heal(student, teacher, make_inputs, forward_fn, steps, lr, eval_batches, eval_every, seed, progress,
                     should_stop)


def _heal(student, teacher, make_inputs, forward_fn, steps, lr, eval_batches, eval_every, seed, progress,
          should_stop) -> HealResult:
    g = torch.Generator().manual_seed(seed)
    held = [make_inputs(torch.Generator().manual_seed(seed + 10_000 + i)) for i in range(eval_batches)]
    teacher.eval().requires_grad_(False)
    before = evaluate(student, teacher, held, forward_fn)
    history = [(0, before)]
    if steps <= 0:
        return HealResult(0, before, before, history, 0.0)
    t0 = time.perf_counter()
    student.train()
    params = [p for p in student.parameters() if p.is_floating_point()]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr * 0.1)
    for step in range(1, steps + 1):
        if should_stop is not None:
            should_stop()
        batch = _clone_inputs(make_inputs(g))
        with torch.no_grad():
            target = forward_fn(teacher, batch).float()
        with torch.enable_grad():
            pred = forward_fn(student, batch).float()
            loss = torch.nn.functional.mse_loss(pred, target) / target.pow(2).mean().clamp_min(1e-12)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
        if progress is not None:
            progress(step, steps, float(loss.detach()))
        if eval_every and step % eval_every == 0 and step != steps:
            student.eval()
            history.append((step, evaluate(student, teacher, held, forward_fn)))
            student.train()
    student.eval().requires_grad_(False)
    after = evaluate(student, teacher, held, forward_fn)
    history.append((steps, after))
    return HealResult(steps, before, after, history, time.perf_counter() - t0)


def is_finite_module(model: nn.Module) -> bool:
    return all(torch.isfinite(p).all() for p in model.parameters() if p.is_floating_point())


__all__ = ["PruneResult", "HealResult", "prune_structured", "prune_unstructured", "heal", "evaluate",
           "fix_channel_attributes", "count_macs", "UNET_IGNORED", "TRANSFORMER_IGNORED", "math"]
