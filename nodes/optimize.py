"""ComfyUI adapters for the optimised model loaders: quantisation, pruning (+healing), ONNX Runtime, auto-tune.

Every node returns a CLONE of its input whose diffusion model (or text encoder) is replaced through an object
patch; the input MODEL/CLIP, which other branches may use, is never touched. Pending weight patches (LoRA applied
before the node) are merged into the optimised copy. Weight patches added AFTER an optimisation node cannot reach
quantised/pruned/exported weights: a guard on the clone refuses them with a message at sampling time instead of
ignoring them. The passes themselves live in ``lantern/optimize`` (tested without ComfyUI).
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import time
import uuid

import torch

import comfy.model_management
import comfy.patcher_extension
import comfy.utils
import folder_paths
from comfy_api.latest import io, ui

from ..lantern.optimize.attention import sdpa_override
from ..lantern.optimize.quantize import DEFAULT_KEEP, WEIGHT_TYPES, parse_keep
from ..lantern.optimize.unet import is_unet

CATEGORY = "Lantern/optimize"
GUARD_KEY = "lantern_optimize_guard"
QUANT_CHOICES = ["none", *WEIGHT_TYPES]          # none = cast to the compute dtype only
COMPUTE_CHOICES = ["auto", "fp32", "bf16", "bf16-mixed", "fp16"]
MIXED = "bf16-mixed"                              # bf16 matrix maths, fp32 stream and sensitive layers


# ----------------------------------------------------------------------------------------------- helpers
def _refuse_mixed_with_quantised(node: str, weights: str, compute_dtype: str) -> None:
    if compute_dtype == MIXED and weights != "none":
        raise ValueError(f"{node}: compute_dtype {MIXED} applies to unquantised weights: set weights to none, or "
                         "pick compute_dtype bf16 or fp32 for quantised weights.")


def cache_root() -> str:
    d = os.path.join(folder_paths.get_user_directory(), "lantern", "optimize-cache")
    os.makedirs(d, exist_ok=True)
    return d


def _interrupt():
    comfy.model_management.throw_exception_if_processing_interrupted()


def _current_unet(model, node: str):
    """The diffusion model the patcher would run, refusing inputs that already went through an export."""
    dm = model.get_model_object("diffusion_model")
    if getattr(dm, "lantern_frozen", None):
        raise ValueError(f"{node}: the input model already runs as {dm.lantern_frozen}; it cannot be optimised "
                         "again. Connect this node before LanternOnnxRuntimeModel / LanternQuantizeModel.")
    return dm


def _merged_module(patcher, prefix: str, base: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``base`` (the module at ``prefix`` in the patcher) with pending weight patches (LoRA) merged.

    Original weights come from the patcher's backup when another clone's patches are currently applied in place,
    so the result depends only on THIS patcher's patch list.
    """
    import comfy.lora
    from ..lantern.optimize.quantize import weightless_copy
    if base is not comfy.utils.get_attr(patcher.model, prefix.rstrip(".")):
        # already replaced by an earlier Lantern node: its patches were merged there; later ones are refused
        late = sorted(k for k in patcher.patches if k.startswith(prefix))
        if late:
            raise ValueError(f"weight patches ({late[0]} ...) were added after an earlier Lantern optimisation "
                             "node; move the LoRA loader before the first optimisation node.")
        return copy.deepcopy(base)
    key_patches = patcher.get_key_patches(prefix)
    sd = {}
    for k, plist in key_patches.items():
        w, convert = plist[0]
        if len(plist) > 1:
            w32 = convert(w.to(torch.float32, copy=True), inplace=True)
            w = comfy.lora.calculate_weight(plist[1:], w32, k).to(w.dtype)
        sd[k[len(prefix):]] = w
    new = weightless_copy(base)
    missing, unexpected = new.load_state_dict(sd, strict=False, assign=True)
    if missing or unexpected:  # the patcher sees another module at that name (e.g. an object patch): copy it
        new = copy.deepcopy(base)
    for name, buf in list(new.named_buffers()):
        if buf.is_meta:
            owner, _, attr = name.rpartition(".")
            mod = new.get_submodule(owner) if owner else new
            src = base.get_submodule(owner) if owner else base
            setattr(mod, attr, getattr(src, attr).clone())
    return new


def _pending_unet_patches(model) -> list[str]:
    return sorted(k for k in model.patches if k.startswith("diffusion_model."))


def _make_guard(node: str):
    def guard(executor, model, noise_shape, conds, model_options=None, **kwargs):
        late = _pending_unet_patches(model)
        if late:
            raise ValueError(
                f"{node}: {len(late)} weight patches (e.g. a LoRA: {late[0]}) were applied AFTER this optimisation "
                "node; they cannot reach its optimised weights and would be silently lost. Move the LoRA loader "
                f"before {node} (its patches are merged into the optimised model).")
        return executor(model, noise_shape, conds, model_options=model_options, **kwargs)
    return guard


def _restore_shared_unet(patcher):
    """After sampling, put the original diffusion model back on the BaseModel all clones share.

    ComfyUI keeps object patches applied while a model stays loaded; every later load re-applies the patches of the
    patcher being loaded (partially_load -> unpatch -> patch), so restoring here is safe. It matters because other
    nodes read the shared BaseModel directly: LoRA loaders map their keys against ``model.model.state_dict()``, and
    against a still-injected quantised module they would silently drop the keys instead of reaching our guard.
    """
    import comfy.utils as cu
    original = patcher.object_patches_backup.get("diffusion_model")
    if original is not None:
        cu.set_attr(patcher.model, "diffusion_model", original)


def _patched_clone(model, new_unet, node: str, sdpa: bool):
    out = model.clone()
    out.add_object_patch("diffusion_model", new_unet)
    out.add_callback_with_key(comfy.patcher_extension.CallbacksMP.ON_CLEANUP, GUARD_KEY, _restore_shared_unet)
    # pending patches were merged into new_unet; later ones are refused by the guard
    out.patches = {k: v for k, v in out.patches.items() if not k.startswith("diffusion_model.")}
    out.patches_uuid = uuid.uuid4()
    comfy.patcher_extension.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.PREPARE_SAMPLING, GUARD_KEY,
                                                 _make_guard(node), out.model_options, is_model_options=True)
    if sdpa:
        out.model_options.setdefault("transformer_options", {})["optimized_attention_override"] = sdpa_override
    return out


def _cond_context(conditioning) -> torch.Tensor | None:
    if not conditioning:
        return None
    return conditioning[0][0]


def _example_inputs(unet, latent=None, positive=None, negative=None, width=256, height=256, batch=2, seed=0):
    """One real step's inputs: latent size from LATENT (else width/height), the graph's conditioning if given."""
    from ..lantern.optimize.unet import example_batch
    if latent is not None:
        h, w = latent["samples"].shape[-2] * 8, latent["samples"].shape[-1] * 8
    else:
        h, w = height, width
    g = torch.Generator().manual_seed(seed)
    b = example_batch(unet, batch=batch, height=h, width=w, generator=g)
    ctxs = [c for c in (_cond_context(positive), _cond_context(negative)) if c is not None]
    if ctxs and all(c.shape[1:] == ctxs[0].shape[1:] for c in ctxs):
        ctx = torch.cat(ctxs)[:batch].float()
        ctx = ctx.repeat((batch + ctx.shape[0] - 1) // ctx.shape[0], 1, 1)[:batch]
        if ctx.shape[-1] == b[2].shape[-1]:
            b = (b[0], b[1], ctx) + tuple(b[3:])
    return b


def _measure(unet, batch, sdpa: bool) -> float:
    from ..lantern.optimize.unet import unet_forward
    with torch.inference_mode():
        unet_forward(unet, batch, sdpa=sdpa)
        t0 = time.perf_counter()
        unet_forward(unet, batch, sdpa=sdpa)
    return time.perf_counter() - t0


def _quantize_unet(base, weights: str, compute: str, keep, keep_first_last: bool, batch, sdpa: bool, ref=None):
    """Quantise (or only cast, weights='none'); compute='auto' times fp32/bf16(/fp16 on GPU) on one step."""
    from ..lantern.optimize.metrics import rel_error
    from ..lantern.optimize.quantize import cast_module, quantize_weights
    from ..lantern.optimize.unet import unet_forward

    def build(dtype_name):
        if dtype_name == MIXED:
            from ..lantern.optimize.precision import MIXED_TAG, mixed_precision
            _refuse_mixed_with_quantised("LanternQuantizeModel", weights, dtype_name)
            m = mixed_precision(base, "bf16")
            return m, getattr(m, MIXED_TAG)
        if weights == "none":
            m = copy.deepcopy(base) if dtype_name == "fp32" else cast_module(copy.deepcopy(base),
                                                                                 {"bf16": torch.bfloat16,
                                                                                  "fp16": torch.float16}[dtype_name])
            return m.eval(), f"weights kept, compute {dtype_name}"
        res = quantize_weights(base, weights, keep=keep, keep_first_last=keep_first_last, compute_dtype=dtype_name)
        return res.module, res.summary()

    if compute != "auto":
        return (*build(compute), [])
    from ..lantern.optimize.quantize import dtype_speed_ratio
    cands, lines = ["fp32"], []
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    for name, dt in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        if name == "fp16" and dev == "cpu":
            continue
        ratio = dtype_speed_ratio(dt, dev)
        if ratio > 1.2:
            lines.append(f"compute {name}: skipped, a probe conv runs {ratio:.1f}x slower than fp32 on this device")
        else:
            cands.append(name)
            if name == "bf16" and weights == "none":
                cands.append(MIXED)
    if ref is None:
        with torch.inference_mode():
            ref = unet_forward(base, batch, sdpa=sdpa)
    best = None
    for c in cands:
        _interrupt()
        m, summ = build(c)
        secs = _measure(m, batch, sdpa)
        with torch.inference_mode():
            err = rel_error(unet_forward(m, batch, sdpa=sdpa), ref)
        lines.append(f"compute {c}: {secs:.3f} s/step, rel. error {err:.3%}")
        if err <= 0.05 and (best is None or secs < best[2]):
            best = (m, summ, secs, c)
        else:
            del m
    lines.append(f"auto compute dtype -> {best[3]} (fastest with error <= 5%)")
    return best[0], best[1], lines


# ----------------------------------------------------------------------------------------------- nodes
class LanternQuantizeModel(io.ComfyNode):
    LANTERN_REQUIRES = {"optimum.quanto": "optimum-quanto"}

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternQuantizeModel",
            display_name="Lantern Quantize Model",
            category=CATEGORY,
            description=(
                "Stores the diffusion model's Linear AND Conv2d weights as int8, int4 or fp8 (optimum-quanto), "
                "keeping the listed layers in full precision, and runs it in the chosen compute dtype. 'none' only "
                "casts (bf16 alone is the fastest option on many CPUs). Returns a patched copy: the input model is "
                "untouched; a LoRA applied before this node is merged in, one applied after is refused."),
            inputs=[
                io.Model.Input("model", tooltip="The diffusion model to quantise (a LoRA already applied is kept)."),
                io.Combo.Input("weights", options=QUANT_CHOICES, default="int8",
                               tooltip="Weight storage: int8 (about 1/4 of fp32 bytes), int4 (about 1/7, grouped "
                               "scales), fp8 e4m3, or none (no quantisation, just the compute dtype)."),
                io.Combo.Input("compute_dtype", options=COMPUTE_CHOICES, default="auto",
                               tooltip="Activations' dtype. bf16-mixed (weights none only): bf16 convolutions and "
                               "linears, fp32 residual stream and precision-sensitive layers: most of bf16's speed "
                               "at about half its error. auto times fp32, bf16 and bf16-mixed (fp16 on a GPU) on one "
                               "real step and keeps the fastest within 5 % of fp32."),
                io.String.Input("keep", default=", ".join(DEFAULT_KEEP), multiline=False,
                                tooltip="Comma-separated layer-name patterns (fnmatch) kept in full precision: "
                                "embeddings and norms by default."),
                io.Boolean.Input("keep_first_last", default=True,
                                 tooltip="Keep the first and last convolution in full precision (they touch the "
                                 "latent directly and are tiny)."),
                io.Boolean.Input("fast_attention", default=True,
                                 tooltip="Use PyTorch's fused scaled-dot-product attention (same result, faster on "
                                 "the CPU than ComfyUI's chunked default)."),
            ],
            outputs=[io.Model.Output(tooltip="Quantised copy of the model, usable by KSampler."),
                     io.String.Output(display_name="report", tooltip="What was quantised and kept.")],
        )

    @classmethod
    def execute(cls, model, weights, compute_dtype, keep, keep_first_last, fast_attention) -> io.NodeOutput:
        node = "LanternQuantizeModel"
        base = _merged_module(model, "diffusion_model.", _current_unet(model, node))
        batch = _example_inputs(base, batch=2, width=256, height=256) if compute_dtype == "auto" else None
        if compute_dtype == "auto" and not is_unet(base):
            compute_dtype = "bf16" if not torch.cuda.is_available() else "fp16"
            batch = None
        new, summary, lines = _quantize_unet(base, weights, compute_dtype, parse_keep(keep), keep_first_last,
                                             batch, fast_attention)
        new.lantern_notes = [summary]
        if weights != "none":
            new.lantern_frozen = f"{weights} quantised weights (LanternQuantizeModel)"
        out = _patched_clone(model, new, node, fast_attention)
        text = "\n".join([f"{node}: {summary}", *lines])
        return io.NodeOutput(out, text, ui=ui.PreviewText(text))


class LanternQuantizeCLIP(io.ComfyNode):
    LANTERN_REQUIRES = {"optimum.quanto": "optimum-quanto"}

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternQuantizeCLIP",
            display_name="Lantern Quantize CLIP",
            category=CATEGORY,
            description=("Quantises the text encoder's Linear layers (int8, int4 or fp8, optimum-quanto); "
                         "embeddings and norms stay full precision. Returns a patched copy of the CLIP."),
            inputs=[
                io.Clip.Input("clip", tooltip="The text encoder to quantise."),
                io.Combo.Input("weights", options=list(WEIGHT_TYPES), default="int8",
                               tooltip="Weight storage: int8, int4 or fp8 (e4m3)."),
                io.String.Input("keep", default=", ".join(DEFAULT_KEEP),
                                tooltip="Comma-separated layer-name patterns kept in full precision."),
            ],
            outputs=[io.Clip.Output(tooltip="Quantised copy of the CLIP."),
                     io.String.Output(display_name="report", tooltip="What was quantised.")],
        )

    @classmethod
    def execute(cls, clip, weights, keep) -> io.NodeOutput:
        from ..lantern.optimize.quantize import quantize_weights
        out = clip.clone()
        patcher = out.patcher
        lines = []
        for name, child in clip.cond_stage_model.named_children():
            tr = getattr(child, "transformer", None)
            if not isinstance(tr, torch.nn.Module):
                continue
            prefix = f"{name}.transformer."
            cur = patcher.get_model_object(f"{name}.transformer")
            base = _merged_module(clip.patcher, prefix, cur)
            res = quantize_weights(base, weights, keep=parse_keep(keep), keep_first_last=False,
                                   compute_dtype="fp32", inplace=True)
            patcher.add_object_patch(f"{name}.transformer", res.module)
            patcher.patches = {k: v for k, v in patcher.patches.items() if not k.startswith(prefix)}
            lines.append(f"{name}: {res.summary()}")
        if not lines:
            raise ValueError("LanternQuantizeCLIP: no text-encoder transformer found in this CLIP "
                             f"({type(clip.cond_stage_model).__name__}); this CLIP type is not supported.")
        patcher.patches_uuid = uuid.uuid4()
        text = "LanternQuantizeCLIP:\n" + "\n".join(lines)
        return io.NodeOutput(out, text, ui=ui.PreviewText(text))


class LanternPruneModel(io.ComfyNode):
    LANTERN_REQUIRES = {"torch_pruning": "torch-pruning"}

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternPruneModel",
            display_name="Lantern Prune Model",
            category=CATEGORY,
            description=(
                "Removes channels from the UNet with torch-pruning (DepGraph keeps coupled convs, norms and skips "
                "consistent; attention projections and the output conv keep their shape), ranked by weight "
                "magnitude. The model becomes genuinely smaller and faster but less faithful; 'heal_steps' "
                "distils it back toward the original on random latents with your conditioning. 'unstructured' "
                "only zeroes weights: no smaller, no faster without sparse kernels."),
            inputs=[
                io.Model.Input("model", tooltip="A UNet model (SD1.x/SD2.x/SDXL)."),
                io.Float.Input("ratio", default=0.25, min=0.0, max=0.5, step=0.05,
                               tooltip="Share of prunable channels removed per layer (0-0.5)."),
                io.Combo.Input("mode", options=["structured", "unstructured"], default="structured",
                               tooltip="structured: remove channels (faster, smaller); unstructured: zero the "
                               "smallest weights (same size and speed; for experiments)."),
                io.Int.Input("heal_steps", default=0, min=0, max=5000,
                             tooltip="Distillation steps toward the original (0 = no healing). Each costs about "
                             "three forward passes."),
                io.Float.Input("heal_lr", default=1e-4, min=1e-6, max=1e-2, step=1e-5,
                               tooltip="Learning rate of the healing optimiser (AdamW, cosine decay)."),
                io.Int.Input("heal_size", default=256, min=64, max=1024, step=64,
                             tooltip="Pixel size of the random latents used for healing."),
                io.Int.Input("seed", default=0, min=0, max=2**31 - 1, tooltip="Seed of the healing inputs."),
                io.Conditioning.Input("positive", optional=True,
                                      tooltip="Text conditioning used as healing input (recommended)."),
                io.Conditioning.Input("negative", optional=True, tooltip="Second conditioning for healing."),
                io.Boolean.Input("fast_attention", default=True, tooltip="Use PyTorch's fused attention."),
            ],
            outputs=[io.Model.Output(tooltip="Pruned (and healed) copy of the model."),
                     io.String.Output(display_name="report",
                                      tooltip="Parameters and MACs before/after, error before/after healing.")],
        )

    @classmethod
    def execute(cls, model, ratio, mode, heal_steps, heal_lr, heal_size, seed, fast_attention,
                positive=None, negative=None) -> io.NodeOutput:
        from ..lantern.optimize.prune import UNET_IGNORED, heal, prune_structured, prune_unstructured
        from ..lantern.optimize.unet import make_heal_inputs, require_unet, unet_forward
        node = "LanternPruneModel"
        cur = _current_unet(model, node)
        require_unet(cur, node, "Use LanternQuantizeModel for this model family (quantisation works on any "
                                "Linear/Conv2d model).")
        base = _merged_module(model, "diffusion_model.", cur).float()
        ex = _example_inputs(base, batch=1, width=64, height=64, seed=seed)

        def fwd(m, b):
            return unet_forward(m, b, sdpa=True)

        if mode == "structured":
            res = prune_structured(base, ex, ratio=ratio, forward_fn=fwd, ignored=UNET_IGNORED)
        elif mode == "unstructured":
            res = prune_unstructured(base, ratio=ratio, ignored=UNET_IGNORED)
        else:
            raise ValueError(f"mode: unknown {mode!r}; use structured or unstructured")
        lines = [f"{node}: {res.summary()}", *res.notes]
        if heal_steps > 0:
            ctxs = [c for c in (_cond_context(positive), _cond_context(negative)) if c is not None]
            ctx = torch.cat(ctxs).float() if ctxs and all(c.shape[1:] == ctxs[0].shape[1:] for c in ctxs) else (
                ctxs[0].float() if ctxs else None)
            pbar = comfy.utils.ProgressBar(heal_steps)
            make = make_heal_inputs(base, ctx, batch=2, height=heal_size, width=heal_size)
            hr = heal(res.module, base, make, fwd, steps=heal_steps, lr=heal_lr, seed=seed,
                      progress=lambda s, n, loss: pbar.update_absolute(s, n), should_stop=_interrupt)
            lines.append(hr.summary())
        del base
        res.module.lantern_notes = lines[:1]
        out = _patched_clone(model, res.module, node, fast_attention)
        text = "\n".join(lines)
        return io.NodeOutput(out, text, ui=ui.PreviewText(text))


class LanternOnnxRuntimeModel(io.ComfyNode):
    LANTERN_REQUIRES = {"onnxruntime": "onnxruntime", "onnx": "onnx"}

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternOnnxRuntimeModel",
            display_name="Lantern ONNX Runtime Model",
            category=CATEGORY,
            description=(
                "Exports the UNet to ONNX (plain attention, dynamic batch/size/token axes) and runs every step "
                "through an onnxruntime session (CPU here; CUDA/TensorRT providers when the onnxruntime-gpu build "
                "has them). The export is cached on disk, keyed by the weights' fingerprint and settings, so the "
                "next run loads it without exporting. ControlNet and attention patches cannot run in the exported "
                "graph and are refused."),
            inputs=[
                io.Model.Input("model", tooltip="A UNet model (SD1.x/SD2.x/SDXL); LoRA applied before is baked in."),
                io.Combo.Input("provider", options=["auto", "cpu", "cuda", "tensorrt"], default="auto",
                               tooltip="Execution provider; auto = TensorRT, then CUDA, then CPU, as available."),
            ],
            outputs=[io.Model.Output(tooltip="Copy of the model whose steps run in onnxruntime."),
                     io.String.Output(display_name="report", tooltip="Export/cache details.")],
        )

    @classmethod
    def execute(cls, model, provider) -> io.NodeOutput:
        from ..lantern.optimize.unet import onnx_unet, require_unet
        node = "LanternOnnxRuntimeModel"
        cur = _current_unet(model, node)
        require_unet(cur, node, "Use LanternQuantizeModel for this model family.")
        base = _merged_module(model, "diffusion_model.", cur).float()
        ort_unet, info = onnx_unet(base, os.path.join(cache_root(), "onnx"), provider=provider, node=node)
        del base
        ort_unet.lantern_frozen = "an ONNX Runtime session (LanternOnnxRuntimeModel)"
        out = _patched_clone(model, ort_unet, node, sdpa=False)
        how = f"exported in {info.seconds:.1f} s" if info.exported else "loaded from the cache (no export)"
        text = (f"{node}: {how}; {info.bytes / 2**20:,.0f} MiB at {info.path}; providers "
                f"{', '.join(ort_unet.ort.session.get_providers())}")
        return io.NodeOutput(out, text, ui=ui.PreviewText(text))


class LanternAutoOptimize(io.ComfyNode):
    LANTERN_REQUIRES = {"optimum.quanto": "optimum-quanto"}

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternAutoOptimize",
            display_name="Lantern Auto Optimize",
            category=CATEGORY,
            description=(
                "Tries candidate configurations (fused attention, bf16/fp16 compute, int8 weights, optionally ONNX "
                "Runtime) on one real step at the graph's size, keeps the fastest whose output stays within the "
                "fidelity bound of the fp32 reference, and caches the decision per machine and model (JSON in the "
                "user folder) so the next run applies it without measuring."),
            inputs=[
                io.Model.Input("model", tooltip="The diffusion model to optimise."),
                io.Float.Input("max_rel_error", default=0.01, min=0.0, max=0.5, step=0.001,
                               tooltip="Fidelity bound: relative L2 error of one step's prediction vs fp32."),
                io.Latent.Input("latent", optional=True, tooltip="The graph's latent: trial step at its size."),
                io.Conditioning.Input("positive", optional=True, tooltip="Conditioning used for the trial step."),
                io.Conditioning.Input("negative", optional=True, tooltip="Second conditioning for the trial step."),
                io.Boolean.Input("try_onnxruntime", default=False,
                                 tooltip="Also try ONNX Runtime (exports the model once; minutes on a CPU)."),
                io.Boolean.Input("remeasure", default=False, tooltip="Ignore the cached decision and measure again."),
            ],
            outputs=[io.Model.Output(tooltip="Copy of the model with the chosen configuration."),
                     io.String.Output(display_name="report", tooltip="What was chosen and why (all measurements).")],
        )

    @classmethod
    def execute(cls, model, max_rel_error, try_onnxruntime, remeasure, latent=None, positive=None,
                negative=None) -> io.NodeOutput:
        from ..lantern.optimize.auto import Candidate, DecisionCache, auto_optimize, decision_key
        from ..lantern.optimize.onnx_rt import tensor_fingerprint
        from ..lantern.optimize.quantize import cast_module, quantize_weights
        from ..lantern.optimize.unet import onnx_unet, unet_forward
        node = "LanternAutoOptimize"
        cur = _current_unet(model, node)
        base = _merged_module(model, "diffusion_model.", cur).float()
        unet = is_unet(base)
        batch = _example_inputs(base, latent, positive, negative) if unet else None
        if not unet:
            raise ValueError(f"{node}: trial steps need a UNet (SD1.x/SD2.x/SDXL); the connected model is a "
                             f"{type(base).__name__}. Use LanternQuantizeModel with a fixed compute_dtype instead.")
        from ..lantern.optimize.quantize import dtype_speed_ratio
        half = torch.float16 if torch.cuda.is_available() else torch.bfloat16
        half_name = "fp16" if half == torch.float16 else "bf16"
        half_ratio = dtype_speed_ratio(half, "cuda" if torch.cuda.is_available() else "cpu")
        built = {}

        def keep(name, module, sdpa):
            built[name] = (module, sdpa)
            return lambda b: unet_forward(module, b, sdpa=sdpa)

        cands = [Candidate("fp32+sdpa", lambda: keep("fp32+sdpa", base, True))]
        if half_ratio <= 1.2:
            from ..lantern.optimize.precision import mixed_precision
            cands += [
                Candidate(f"{half_name}-mixed+sdpa", lambda: keep(f"{half_name}-mixed+sdpa",
                                                                  mixed_precision(base, half_name), True)),
                Candidate(f"{half_name}+sdpa", lambda: keep(f"{half_name}+sdpa",
                                                            cast_module(copy.deepcopy(base), half).eval(), True)),
                Candidate(f"int8/{half_name}+sdpa", lambda: keep(
                    f"int8/{half_name}+sdpa", quantize_weights(base, "int8", compute_dtype=half_name).module, True)),
            ]
            skipped = ""
        else:
            cands.append(Candidate("int8/fp32+sdpa", lambda: keep(
                "int8/fp32+sdpa", quantize_weights(base, "int8", compute_dtype="fp32").module, True)))
            skipped = (f"\n  {half_name}: not tried, a probe conv runs {half_ratio:.1f}x slower than fp32 on this "
                       "device")
        if try_onnxruntime:
            def build_ort():
                m, _ = onnx_unet(base, os.path.join(cache_root(), "onnx"), node=node)
                m.lantern_frozen = "an ONNX Runtime session (LanternAutoOptimize)"
                return keep("onnxruntime", m, False)
            cands.append(Candidate("onnxruntime", build_ort))
        ref = Candidate("fp32", lambda: (lambda b: unet_forward(base, b, sdpa=False)))
        fp = tensor_fingerprint(base)
        key = decision_key(fp, list(batch[0].shape), max_rel_error, [c.name for c in cands])
        cache = DecisionCache(os.path.join(cache_root(), "auto-decisions.json"))
        if remeasure:
            cache_to_use = None
        else:
            cache_to_use = cache
        pbar = comfy.utils.ProgressBar(len(cands) + 1)
        dec = auto_optimize(ref, cands, batch, key, cache=cache_to_use, bound=max_rel_error,
                            progress=lambda i, n, name: pbar.update_absolute(i, n), should_stop=_interrupt)
        if remeasure:
            cache.put(dec)
        choice = dec.choice
        if choice == "fp32":
            new, sdpa = base, False
        elif choice in built:
            new, sdpa = built[choice]
        else:  # cached decision: build only the chosen candidate
            {c.name: c for c in cands}[choice].build()
            new, sdpa = built[choice]
        built.clear()
        new.lantern_notes = [f"auto: {choice}"]
        out = _patched_clone(model, new, node, sdpa)
        text = f"{node}: " + dec.explain() + skipped
        return io.NodeOutput(out, text, ui=ui.PreviewText(text))


def _vae_with_autoencoder(vae, module: torch.nn.Module, dtype: torch.dtype):
    """A shallow copy of ComfyUI's VAE object decoding with ``module`` in ``dtype`` (own ModelPatcher).

    The input VAE, its autoencoder and its patcher stay as they were: other branches keep decoding with them.
    """
    import comfy.model_patcher
    new = copy.copy(vae)
    new.first_stage_model = module
    new.vae_dtype = dtype
    new.patcher = comfy.model_patcher.ModelPatcher(module, load_device=vae.patcher.load_device,
                                                   offload_device=vae.patcher.offload_device)
    new.size = None
    new.model_size()
    return new


class LanternOptimizeVAE(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternOptimizeVAE",
            display_name="Lantern Optimize VAE",
            category=CATEGORY,
            description=(
                "Returns a copy of the VAE that decodes (and encodes) faster: bf16 maths with channels-last "
                "convolution weights, the layout oneDNN / cuDNN compute natively. ComfyUI keeps the VAE in fp32 on "
                "CPUs; on CPUs with native bf16 (AMX / AVX-512-BF16) this decodes ~6x faster at ~49 dB PSNR. "
                "'auto' measures the variants on one small decode, keeps the fastest within the error bound and "
                "caches the decision per machine and VAE. The input VAE is not changed."),
            inputs=[
                io.Vae.Input("vae", tooltip="The VAE to speed up (e.g. from the checkpoint loader)."),
                io.Combo.Input("precision", options=["auto", "bf16", "fp32"], default="auto",
                               tooltip="auto: measure and keep the fastest within max_rel_error (bf16 is skipped "
                                       "where this device emulates it). bf16 / fp32: use that dtype as is."),
                io.Boolean.Input("channels_last", default=True,
                                 tooltip="Store convolution weights channels-last (for bf16 on a CPU most of the "
                                         "gain). auto always measures the channels-last variants."),
                io.Float.Input("max_rel_error", default=0.03, min=0.0, max=0.5, step=0.001,
                               tooltip="auto only: largest relative L2 difference of a decoded image from the VAE "
                                       "as loaded (0.03 is about 45 dB PSNR on typical images)."),
                io.Boolean.Input("remeasure", default=False,
                                 tooltip="auto only: ignore the cached decision and measure again."),
            ],
            outputs=[io.Vae.Output(tooltip="Copy of the VAE with the chosen precision and layout."),
                     io.String.Output(display_name="report", tooltip="What was chosen and why (measurements).")],
        )

    @classmethod
    def execute(cls, vae, precision, channels_last, max_rel_error, remeasure) -> io.NodeOutput:
        from ..lantern.optimize.vae import PRECISIONS, DTYPE_NAMES, describe, vae_variant
        node = "LanternOptimizeVAE"
        vae.throw_exception_if_invalid()
        base = vae.first_stage_model
        loaded = vae.vae_dtype
        offload = vae.patcher.offload_device
        if precision != "auto":
            dtype = PRECISIONS[precision]
            module = vae_variant(base, dtype, channels_last=channels_last, device=offload)
            text = (f"{node}: {precision} as asked ({describe(module)}); loaded as {DTYPE_NAMES.get(loaded, loaded)}")
        else:
            module, dtype, text = cls._auto(vae, base, loaded, max_rel_error, remeasure, node)
        out = vae if module is None else _vae_with_autoencoder(vae, module, dtype)
        return io.NodeOutput(out, text, ui=ui.PreviewText(text))

    @staticmethod
    def _auto(vae, base, loaded, max_rel_error, remeasure, node):
        from ..lantern.optimize.auto import DecisionCache, auto_optimize, decision_key
        from ..lantern.optimize.onnx_rt import tensor_fingerprint
        from ..lantern.optimize.quantize import dtype_speed_ratio
        from ..lantern.optimize.vae import DTYPE_NAMES, decode_candidates, describe
        if getattr(vae, "latent_dim", 2) != 2:
            raise ValueError(f"{node}: precision auto measures image VAEs (2-d latents); this VAE has "
                             f"{vae.latent_dim}-d latents. Pick precision bf16 or fp32 explicitly.")
        device = vae.patcher.load_device
        dev_type = torch.device(device).type
        notes, try_dtypes = [], []
        if loaded != torch.bfloat16:
            ratio = dtype_speed_ratio(torch.bfloat16, device if dev_type == "cuda" else "cpu")
            if ratio > 1.2:
                notes.append(f"  bf16: not tried, a probe conv runs {ratio:.1f}x slower than fp32 on this device")
            else:
                try_dtypes.append(torch.bfloat16)
        built = {}
        ref, cands = decode_candidates(base, loaded, try_dtypes, built, device=device)
        g = torch.Generator().manual_seed(0)
        latent = torch.randn(1, vae.latent_channels, 16, 16, generator=g)
        key = decision_key(tensor_fingerprint(base), list(latent.shape), max_rel_error,
                           [ref.name] + [c.name for c in cands] + [f"vae@{device}"])
        cache = DecisionCache(os.path.join(cache_root(), "vae-decisions.json"))
        dec = auto_optimize(ref, cands, (latent,), key, cache=None if remeasure else cache, bound=max_rel_error,
                            repeats=2, should_stop=_interrupt)
        if remeasure:
            cache.put(dec)
        if dec.choice == ref.name:  # nothing faster within the bound: the VAE as it is
            module, dtype = None, loaded
        else:
            if dec.choice not in built:  # cached decision: build only the chosen variant
                {c.name: c for c in cands}[dec.choice].build()
            module, dtype = built[dec.choice]
            module.to(vae.patcher.offload_device)
        built.clear()
        text = (f"{node}: " + dec.explain().replace("fp32 reference", "VAE as loaded").replace("s/step", "s/decode")
                + "".join("\n" + n for n in notes) + f"\n  result: {describe(module if module is not None else base)} "
                f"(loaded as {DTYPE_NAMES.get(loaded, loaded)})")
        return module, dtype, text


# safetensors dtype names -> torch dtypes (for shape-only placeholders of tensors the fast load never reads)
_ST_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
              "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
              "BOOL": torch.bool, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2}
_SMALL_TENSOR = 1 << 16  # elements; small UNet tensors are read anyway (model-type detection may look at values)


def _load_checkpoint_with_cached_unet(path: str, cached_unet: str, embedding_directory):
    """Load a .safetensors checkpoint's CLIP and VAE, and its model around the cached optimised UNet.

    The checkpoint's own UNet weights are never read: ComfyUI detects the model from shapes, so large UNet tensors
    are given to it as shape-only (meta) placeholders, the BaseModel is built on the meta device and its diffusion
    model is replaced by the cached one. Mirrors comfy.sd.load_state_dict_guess_config for the UNet part.
    Returns (ModelPatcher, CLIP, VAE, the loaded UNet) or None when the file is not a plain .safetensors checkpoint.
    """
    import math
    import safetensors
    import comfy.model_detection
    import comfy.model_patcher
    import comfy.sd
    from ..lantern.optimize.quantize import load_quantized
    if not path.lower().endswith((".safetensors", ".sft")):
        return None
    mm = comfy.model_management
    sd = {}
    with safetensors.safe_open(path, framework="pt", device="cpu") as f:
        keys = list(f.keys())
        prefix = comfy.model_detection.unet_prefix_from_state_dict(dict.fromkeys(keys))
        for k in keys:
            if k.startswith(prefix):
                sl = f.get_slice(k)
                shape = sl.get_shape()
                dtype = _ST_DTYPES.get(sl.get_dtype())
                if dtype is not None and math.prod(shape) > _SMALL_TENSOR:
                    sd[k] = torch.empty(shape, dtype=dtype, device="meta")
                    continue
            sd[k] = f.get_tensor(k)
        metadata = f.metadata()
    config = comfy.model_detection.model_config_from_unet(sd, prefix, metadata=metadata)
    if config is None:
        return None
    parameters = comfy.utils.calculate_parameters(sd, prefix)
    weight_dtype = comfy.utils.weight_dtype(sd, prefix)
    load_device = mm.get_torch_device()
    supported = list(config.supported_inference_dtypes)
    if config.scaled_fp8 is not None:
        weight_dtype = None
    unet_dtype = mm.unet_dtype(model_params=parameters, supported_dtypes=supported, weight_dtype=weight_dtype)
    config.set_inference_dtype(unet_dtype, mm.unet_manual_cast(unet_dtype, load_device, supported))
    base = config.get_model(sd, prefix, device=torch.device("meta"))
    unet = load_quantized(base.diffusion_model, cached_unet)
    base.diffusion_model = unet
    _, clip, vae, _ = comfy.sd.load_state_dict_guess_config(sd, output_model=False, output_vae=True,
                                                            output_clip=True, embedding_directory=embedding_directory,
                                                            metadata=metadata)
    patcher = comfy.model_patcher.ModelPatcher(base, load_device=load_device, offload_device=mm.unet_offload_device())
    return patcher, clip, vae, unet


def _file_identity(path: str) -> str:
    st = os.stat(path)
    return hashlib.sha256(f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


class LanternOptimizedCheckpointLoader(io.ComfyNode):
    LANTERN_REQUIRES = {"optimum.quanto": "optimum-quanto"}

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternOptimizedCheckpointLoader",
            display_name="Lantern Optimized Checkpoint Loader",
            category=CATEGORY,
            description=(
                "Loads a checkpoint and optimises its diffusion model in one step (int8/int4/fp8 weights and/or a "
                "bf16/fp16/fp32 compute dtype, fused attention). Quantised weights are cached on disk (safetensors "
                "+ quantisation map, never pickle) keyed by the checkpoint file and the settings, so the next load "
                "reads them instead of quantising again."),
            inputs=[
                io.Combo.Input("ckpt_name", options=folder_paths.get_filename_list("checkpoints"),
                               tooltip="Checkpoint from models/checkpoints."),
                io.Combo.Input("weights", options=QUANT_CHOICES, default="int8",
                               tooltip="Weight storage of the diffusion model (none = keep, just cast)."),
                io.Combo.Input("compute_dtype", options=["fp32", "bf16", MIXED, "fp16"], default="bf16",
                               tooltip="Activations' dtype (bf16 is fast on recent CPUs; fp16 on GPUs). "
                               f"{MIXED} (weights none only): bf16 convolutions/linears with an fp32 residual "
                               "stream and fp32 sensitive layers, about half of bf16's error."),
                io.Boolean.Input("fast_attention", default=True, tooltip="Use PyTorch's fused attention."),
            ],
            outputs=[io.Model.Output(tooltip="Optimised diffusion model."),
                     io.Clip.Output(tooltip="The checkpoint's text encoder."),
                     io.Vae.Output(tooltip="The checkpoint's VAE."),
                     io.String.Output(display_name="report", tooltip="Load details (cache hit or miss, times).")],
        )

    @classmethod
    def execute(cls, ckpt_name, weights, compute_dtype, fast_attention) -> io.NodeOutput:
        import comfy.sd
        from ..lantern.optimize.quantize import cast_module, load_quantized, quantize_weights, save_quantized
        node = "LanternOptimizedCheckpointLoader"
        _refuse_mixed_with_quantised(node, weights, compute_dtype)
        path = folder_paths.get_full_path_or_raise("checkpoints", ckpt_name)
        embeddings = folder_paths.get_folder_paths("embeddings")
        t0 = time.perf_counter()
        cpath = None
        if weights != "none":
            settings = json.dumps({"w": weights, "c": compute_dtype, "keep": list(DEFAULT_KEEP), "v": 1})
            key = hashlib.sha256(f"{_file_identity(path)}|{settings}".encode()).hexdigest()[:24]
            cpath = os.path.join(cache_root(), "weights", f"{os.path.splitext(os.path.basename(ckpt_name))[0]}-"
                                                          f"{weights}-{compute_dtype}-{key}.safetensors")
            if os.path.isfile(cpath):
                fast = _load_checkpoint_with_cached_unet(path, cpath, embeddings)
                if fast is not None:
                    model, clip, vae, new = fast
                    how = (f"{weights} weights loaded from the cache (the checkpoint's own UNet weights not read) in "
                           f"{time.perf_counter() - t0:.2f} s")
                    new.lantern_notes = [how]
                    out = _patched_clone(model, new, node, fast_attention)
                    text = f"{node}: {how}"
                    return io.NodeOutput(out, clip, vae, text, ui=ui.PreviewText(text))
        model, clip, vae, _ = comfy.sd.load_checkpoint_guess_config(
            path, output_vae=True, output_clip=True, embedding_directory=embeddings)
        t_load = time.perf_counter() - t0
        unet = model.get_model_object("diffusion_model")
        if compute_dtype == MIXED:
            from ..lantern.optimize.precision import MIXED_TAG, mixed_precision
            new = mixed_precision(unet, "bf16")
            how = getattr(new, MIXED_TAG)
        elif weights == "none":
            dt = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[compute_dtype]
            new = unet if dt == torch.float32 else cast_module(copy.deepcopy(unet), dt).eval()
            how = f"cast to {compute_dtype}"
        else:
            t1 = time.perf_counter()
            if os.path.isfile(cpath):
                new = load_quantized(unet, cpath)
                how = f"{weights} weights loaded from the cache in {time.perf_counter() - t1:.2f} s"
            else:
                res = quantize_weights(unet, weights, compute_dtype=compute_dtype)
                save_quantized(res, cpath, extra={"checkpoint": ckpt_name})
                new = res.module
                how = f"{weights} weights quantised and cached in {time.perf_counter() - t1:.2f} s"
        new.lantern_notes = [how]
        out = _patched_clone(model, new, node, fast_attention) if new is not unet or fast_attention else model
        text = f"{node}: checkpoint loaded in {t_load:.2f} s; {how}; total {time.perf_counter() - t0:.2f} s"
        return io.NodeOutput(out, clip, vae, text, ui=ui.PreviewText(text))


class LanternModelReport(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternModelReport",
            display_name="Lantern Model Report",
            category=CATEGORY,
            description=("Reports the diffusion model the sampler will run: parameters, weight bytes by storage "
                         "dtype, estimated memory and (optionally) one measured step's latency and extra RAM. "
                         "Passes the model through unchanged."),
            inputs=[
                io.Model.Input("model", tooltip="Any MODEL (optimised or not)."),
                io.Boolean.Input("measure_step", default=False,
                                 tooltip="Also time one denoising step (batch 2: cond + uncond) at the given size."),
                io.Int.Input("size", default=256, min=64, max=2048, step=64, tooltip="Pixel size of the timed step."),
                io.Latent.Input("latent", optional=True, tooltip="Time the step at this latent's size instead."),
            ],
            outputs=[io.Model.Output(tooltip="The input model, unchanged."),
                     io.String.Output(display_name="report", tooltip="The report as text."),
                     io.String.Output(display_name="json", tooltip="The report as JSON.")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, model, measure_step, size, latent=None) -> io.NodeOutput:
        from ..lantern.optimize.report import build_report
        from ..lantern.optimize.unet import unet_forward
        dm = model.get_model_object("diffusion_model")
        step = None
        if measure_step:
            if not is_unet(dm) and not hasattr(dm, "ort"):
                raise ValueError(f"LanternModelReport: measure_step supports UNet models; this is a "
                                 f"{type(dm).__name__}. Turn measure_step off.")
            sdpa = "optimized_attention_override" in model.model_options.get("transformer_options", {})
            ref_unet = model.model.diffusion_model if not is_unet(dm) else dm
            batch = _example_inputs(ref_unet, latent, width=size, height=size)

            def step():
                with torch.inference_mode():
                    return unet_forward(dm, batch, sdpa=sdpa)
        rep = build_report(dm, label=type(dm).__name__, step=step)
        if model.patches:
            rep.notes.append(f"{len(model.patches)} pending weight patches (LoRA) applied at load time")
        text, js = rep.text(), json.dumps(rep.to_dict())
        return io.NodeOutput(model, text, js, ui={"text": (text, js)})


NODES = [LanternQuantizeModel, LanternQuantizeCLIP, LanternPruneModel, LanternOnnxRuntimeModel,
         LanternAutoOptimize, LanternOptimizedCheckpointLoader, LanternOptimizeVAE, LanternModelReport]
