"""Optimisation nodes on the real host with the demo checkpoint: images against the unoptimised graph at the same
seed, report numbers, composition with weight patches (LoRA), the original model left untouched."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from lantern.client import ComfyError
from lantern.optimize.metrics import psnr, ssim

from tests.e2e.graphs import DEMO_CHECKPOINT, txt2img

SIZE = 128
STEPS = 4
# fidelity bound for the final image of a 4-step euler run vs the unoptimised run at the same seed
MIN_PSNR = 30.0
MIN_SSIM = 0.95
# bf16 activations round every layer: a looser bound for the final image
MIN_PSNR_BF16 = 25.0


def _opt_graph(opt_nodes: dict, model_ref, seed=3, prefix="lantern_opt", with_reference=True, report=True) -> dict:
    """txt2img where node "3" samples the optimised model ``model_ref``; "13" samples the untouched original
    (same seed, same graph run); "20"/"21" are model reports of the original / the optimised model."""
    g = txt2img(seed=seed, steps=STEPS, size=SIZE, prefix=prefix)
    g.update(opt_nodes)
    g["3"]["inputs"]["model"] = model_ref
    if report:
        g["20"] = {"class_type": "LanternModelReport", "inputs": {"model": ["4", 0], "measure_step": False,
                                                                  "size": 128}}
        g["21"] = {"class_type": "LanternModelReport", "inputs": {"model": model_ref, "measure_step": True,
                                                                  "size": 128}}
    if with_reference:
        g["13"] = dict(g["3"], inputs=dict(g["3"]["inputs"], model=["4", 0]))
        g["18"] = {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0], "vae": ["4", 2]}}
        g["19"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": prefix + "_ref", "images": ["18", 0]}}
    return g


def _img(client, result, node):
    return np.asarray(client.images(result, node)[0].convert("RGB"))


def _text(result, node) -> list[str]:
    return result.outputs[node]["text"]


def _report(result, node) -> dict:
    texts = _text(result, node)
    return json.loads(texts[-1]) if texts[-1].lstrip().startswith("{") else {"text": texts}


def quant(weights="int8", compute="fp32", model=("4", 0)):
    return {"class_type": "LanternQuantizeModel", "inputs": {
        "model": list(model), "weights": weights, "compute_dtype": compute,
        "keep": "time_embed*, label_emb*, *embed*, *norm*", "keep_first_last": True, "fast_attention": True}}


def test_int8_image_within_bound_and_report_consistent(client):
    result = client.run(_opt_graph({"30": quant("int8", "fp32")}, ["30", 0], prefix="lantern_opt_int8"))
    opt, ref = _img(client, result, "9"), _img(client, result, "19")
    assert opt.shape == ref.shape == (SIZE, SIZE, 3)
    p, s = psnr(opt, ref), ssim(opt, ref)
    assert p >= MIN_PSNR and s >= MIN_SSIM, (p, s)
    assert not np.array_equal(opt, ref)  # it really ran quantised
    original, optimised = _report(result, "20"), _report(result, "21")
    assert optimised["weight_bytes"] < 0.45 * original["weight_bytes"]
    assert "int8" in optimised["bytes_by_dtype"]
    assert optimised["parameters"] == original["parameters"]  # quantisation removes no parameter
    assert optimised["step_seconds"] > 0
    assert sum(optimised["bytes_by_dtype"].values()) == optimised["weight_bytes"]
    assert "int8 weights on" in _text(result, "30")[0]


def test_bf16_mixed_image_within_bound(client):
    """bf16 matrix maths with an fp32 stream: same parameters, bf16 weight bytes, image within the bound."""
    result = client.run(_opt_graph({"30": quant("none", "bf16-mixed")}, ["30", 0], seed=7, prefix="lantern_opt_mixed"))
    opt, ref = _img(client, result, "9"), _img(client, result, "19")
    assert psnr(opt, ref) >= MIN_PSNR and ssim(opt, ref) >= MIN_SSIM, (psnr(opt, ref), ssim(opt, ref))
    assert not np.array_equal(opt, ref)
    original, optimised = _report(result, "20"), _report(result, "21")
    assert optimised["parameters"] == original["parameters"]
    assert {"bfloat16", "float32"} <= set(optimised["bytes_by_dtype"])
    assert optimised["weight_bytes"] < original["weight_bytes"]
    assert "bf16 mixed precision" in _text(result, "30")[0]


def test_bf16_mixed_with_quantised_weights_is_refused(client):
    g = _opt_graph({"30": quant("int8", "bf16-mixed")}, ["30", 0], prefix="lantern_opt_mixed_int8",
                   with_reference=False, report=False)
    with pytest.raises(ComfyError, match="LanternQuantizeModel: compute_dtype bf16-mixed applies to unquantised"):
        client.run(g)


def test_quantize_clip_reports_its_layers_and_keeps_the_image_close(client):
    g = txt2img(seed=8, steps=STEPS, size=SIZE, prefix="lantern_opt_clip")
    g["30"] = {"class_type": "LanternQuantizeCLIP", "inputs": {"clip": ["4", 1], "weights": "int8",
                                                               "keep": "*embed*, *norm*"}}
    g["6"]["inputs"]["clip"] = ["30", 0]
    g["7"]["inputs"]["clip"] = ["30", 0]
    result = client.run(g)
    text = _text(result, "30")[0]
    assert text.startswith("LanternQuantizeCLIP:") and "int8 weights on" in text
    stock = _img(client, client.run(txt2img(seed=8, steps=STEPS, size=SIZE, prefix="lantern_opt_clip_ref")), "9")
    opt = _img(client, result, "9")
    assert not np.array_equal(opt, stock)
    assert psnr(opt, stock) >= MIN_PSNR_BF16, psnr(opt, stock)


def test_unstructured_prune_is_labelled_and_keeps_sizes(client):
    g = _opt_graph({"30": {"class_type": "LanternPruneModel", "inputs": {
        "model": ["4", 0], "ratio": 0.1, "mode": "unstructured", "heal_steps": 0, "heal_lr": 1e-4, "heal_size": 64,
        "seed": 0, "fast_attention": True}}}, ["30", 0], prefix="lantern_opt_unstructured", with_reference=False)
    result = client.run(g)
    text = "\n".join(_text(result, "30"))
    assert "weights set to zero" in text and "do not change without sparse kernels" in text
    original, pruned = _report(result, "20"), _report(result, "21")
    assert pruned["parameters"] == original["parameters"]
    assert pruned["weight_bytes"] == original["weight_bytes"]
    assert _img(client, result, "9").shape == (SIZE, SIZE, 3)


def test_original_model_is_not_mutated(client):
    """The stock graph after an optimised run gives exactly the stock image (no leaked patch)."""
    client.run(_opt_graph({"30": quant("int4", "fp32")}, ["30", 0], seed=5, prefix="lantern_opt_mut",
                           with_reference=False, report=False))
    after = _img(client, client.run(txt2img(seed=5, steps=STEPS, size=SIZE, prefix="lantern_opt_stock")), "9")
    client.free()
    fresh = _img(client, client.run(txt2img(seed=5, steps=STEPS, size=SIZE, prefix="lantern_opt_stock2")), "9")
    assert np.array_equal(after, fresh)



def _vae_graph(precision: str, seed: int, prefix: str, remeasure: bool = False) -> dict:
    """txt2img whose latent is decoded twice: node "9" through LanternOptimizeVAE ("30"), "19" by the stock VAE."""
    g = txt2img(seed=seed, steps=STEPS, size=SIZE, prefix=prefix)
    g["30"] = {"class_type": "LanternOptimizeVAE", "inputs": {
        "vae": ["4", 2], "precision": precision, "channels_last": True, "max_rel_error": 0.03,
        "remeasure": remeasure}}
    g["8"]["inputs"]["vae"] = ["30", 0]
    g["18"] = {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}
    g["19"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": prefix + "_ref", "images": ["18", 0]}}
    return g


def test_optimize_vae_bf16_decodes_close_and_leaves_the_stock_vae_exact(client):
    result = client.run(_vae_graph("bf16", seed=11, prefix="lantern_vae_bf16"))
    fast, ref = _img(client, result, "9"), _img(client, result, "19")
    assert not np.array_equal(fast, ref)  # it really decoded in bf16
    assert psnr(fast, ref) >= 35.0 and ssim(fast, ref) >= 0.98, (psnr(fast, ref), ssim(fast, ref))
    text = _text(result, "30")[0]
    assert text.startswith("LanternOptimizeVAE: bf16 as asked (bf16, convolution weights channels-last)"), text
    client.free()  # drop cached outputs: the stock decode below really runs again
    stock = _img(client, client.run(txt2img(seed=11, steps=STEPS, size=SIZE, prefix="lantern_vae_stock")), "9")
    assert np.array_equal(stock, ref)


def test_optimize_vae_fp32_channels_last_is_near_exact(client):
    result = client.run(_vae_graph("fp32", seed=12, prefix="lantern_vae_fp32"))
    fast, ref = _img(client, result, "9"), _img(client, result, "19")
    assert np.abs(fast.astype(int) - ref.astype(int)).max() <= 1
    assert "fp32, convolution weights channels-last" in _text(result, "30")[0]


def test_optimize_vae_encodes_too(client):
    """VAEEncode through the bf16 copy gives latents that the stock VAE decodes to nearly the same image."""
    g = _vae_graph("bf16", seed=14, prefix="lantern_vae_enc")
    g["40"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["18", 0], "vae": ["30", 0]}}
    g["41"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["18", 0], "vae": ["4", 2]}}
    for enc, dec, save in (("40", "42", "43"), ("41", "44", "45")):
        g[dec] = {"class_type": "VAEDecode", "inputs": {"samples": [enc, 0], "vae": ["4", 2]}}
        g[save] = {"class_type": "SaveImage", "inputs": {"filename_prefix": f"lantern_vae_enc_{save}",
                                                         "images": [dec, 0]}}
    result = client.run(g)
    fast, ref = _img(client, result, "43"), _img(client, result, "45")
    assert not np.array_equal(fast, ref)
    assert psnr(fast, ref) >= 35.0, psnr(fast, ref)

def test_optimize_vae_auto_measures_once_then_uses_the_cached_decision(client):
    first = _text(client.run(_vae_graph("auto", seed=13, prefix="lantern_vae_auto", remeasure=True)), "30")[0]
    assert first.startswith("LanternOptimizeVAE: chose ") and "[cached decision]" not in first, first
    assert "fp32 (as loaded): " in first and "fp32+channels-last: " in first
    assert "bf16+channels-last: " in first or "bf16: not tried" in first
    chosen = first.split("chose ", 1)[1].split(":", 1)[0]
    client.free()
    second = _text(client.run(_vae_graph("auto", seed=13, prefix="lantern_vae_auto2")), "30")[0]
    assert second.startswith(f"LanternOptimizeVAE: chose {chosen}:") and "[cached decision]" in second, second


@pytest.fixture(scope="module")
def lora_name(comfy):
    """A small LoRA for the demo checkpoint's attention output projections, written to models/loras."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    ckpt = comfy.server.base_dir / "models" / "checkpoints" / DEMO_CHECKPOINT
    tensors = {}
    g = torch.Generator().manual_seed(0)
    with safe_open(str(ckpt), framework="pt") as f:
        keys = [k for k in f.keys() if k.startswith("model.diffusion_model.") and k.endswith("to_out.0.weight")]
        for k in keys:
            out_f, in_f = f.get_slice(k).get_shape()
            base = k[len("model.diffusion_model."):-len(".weight")].replace(".", "_")
            tensors[f"lora_unet_{base}.lora_down.weight"] = torch.randn(4, in_f, generator=g) * 0.2
            tensors[f"lora_unet_{base}.lora_up.weight"] = torch.randn(out_f, 4, generator=g) * 0.2
    assert keys
    folder = comfy.server.base_dir / "models" / "loras"
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "lantern_test_lora.safetensors"))
    return "lantern_test_lora.safetensors"


def _lora(model_ref, name):
    return {"class_type": "LoraLoaderModelOnly", "inputs": {"model": model_ref, "lora_name": name,
                                                             "strength_model": 1.0}}


def test_lora_before_is_kept(client, lora_name):
    g = _opt_graph({"40": _lora(["4", 0], lora_name), "30": quant("int8", "fp32", model=("40", 0))}, ["30", 0],
                   seed=9, prefix="lantern_opt_lora", report=False)
    g["13"]["inputs"]["model"] = ["40", 0]  # reference: the LoRA'd model, unoptimised
    g["50"] = dict(g["13"], inputs=dict(g["13"]["inputs"], model=["4", 0]))  # no LoRA at all
    g["51"] = {"class_type": "VAEDecode", "inputs": {"samples": ["50", 0], "vae": ["4", 2]}}
    g["52"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": "lantern_opt_nolora", "images": ["51", 0]}}
    result = client.run(g)
    opt, lora_ref, plain = _img(client, result, "9"), _img(client, result, "19"), _img(client, result, "52")
    assert psnr(lora_ref, plain) < psnr(opt, lora_ref) - 5  # the LoRA changes the image; the optimised keeps it
    assert psnr(opt, lora_ref) >= MIN_PSNR


def test_lora_after_is_refused_with_message(client, lora_name):
    g = _opt_graph({"30": quant("int8", "fp32"), "40": _lora(["30", 0], lora_name)}, ["40", 0],
                   prefix="lantern_opt_lora_after", with_reference=False, report=False)
    with pytest.raises(ComfyError, match="AFTER this optimisation node.*Move the LoRA loader before"):
        client.run(g)


def test_prune_with_healing_reports_and_improves(client):
    g = _opt_graph({"30": {"class_type": "LanternPruneModel", "inputs": {
        "model": ["4", 0], "ratio": 0.25, "mode": "structured", "heal_steps": 8, "heal_lr": 1e-4, "heal_size": 64,
        "seed": 0, "fast_attention": True, "positive": ["6", 0], "negative": ["7", 0]}}}, ["30", 0],
        prefix="lantern_opt_prune")
    result = client.run(g)
    text = "\n".join(_text(result, "30"))
    assert "structured pruning at ratio 0.25" in text and "healing 8 steps" in text
    original, pruned = _report(result, "20"), _report(result, "21")
    assert pruned["parameters"] < 0.8 * original["parameters"]
    import re
    before, after = map(float, re.search(r"relative error ([\d.]+)% -> ([\d.]+)%", text).groups())
    assert after < before
    assert _img(client, result, "9").shape == (SIZE, SIZE, 3)


def test_onnxruntime_image_matches_and_second_run_uses_cache(client):
    g = _opt_graph({"30": {"class_type": "LanternOnnxRuntimeModel", "inputs": {"model": ["4", 0],
                                                                               "provider": "cpu"}}},
                   ["30", 0], seed=4, prefix="lantern_opt_onnx", report=False)
    result = client.run(g)
    opt, ref = _img(client, result, "9"), _img(client, result, "19")
    assert psnr(opt, ref) >= 40.0, psnr(opt, ref)
    client.free()
    again = client.run(g)
    assert "loaded from the cache (no export)" in _text(again, "30")[0]


def test_unsupported_family_and_bad_stacking_are_explained(client):
    """ONNX after int8 quantisation is refused by name, with the fix."""
    g = _opt_graph({"30": quant("int8", "fp32"), "31": {"class_type": "LanternOnnxRuntimeModel", "inputs": {
        "model": ["30", 0], "provider": "cpu"}}}, ["31", 0], prefix="lantern_opt_stack", with_reference=False,
        report=False)
    with pytest.raises(ComfyError, match="LanternOnnxRuntimeModel: the input model already runs as int8"):
        client.run(g)


def test_auto_optimize_chooses_within_bound_and_caches(client):
    g = _opt_graph({"30": {"class_type": "LanternAutoOptimize", "inputs": {
        "model": ["4", 0], "max_rel_error": 0.01, "latent": ["5", 0], "positive": ["6", 0], "negative": ["7", 0],
        "try_onnxruntime": False, "remeasure": False}}}, ["30", 0], seed=6, prefix="lantern_opt_auto", report=False)
    result = client.run(g)
    text = _text(result, "30")[0]
    assert text.startswith("LanternAutoOptimize: chose ")
    assert "fp32: " in text and "reference" in text and "[cached decision]" not in text
    opt, ref = _img(client, result, "9"), _img(client, result, "19")
    assert psnr(opt, ref) >= MIN_PSNR
    client.free()
    again = client.run(g)
    assert "[cached decision]" in _text(again, "30")[0]


def test_optimized_checkpoint_loader_caches_weights(client):
    def graph(prefix, fast_attention):
        g = txt2img(seed=2, steps=STEPS, size=SIZE, prefix=prefix)
        g["4"] = {"class_type": "LanternOptimizedCheckpointLoader", "inputs": {
            "ckpt_name": DEMO_CHECKPOINT, "weights": "int8", "compute_dtype": "fp32",
            "fast_attention": fast_attention}}
        return g
    first = client.run(graph("lantern_opt_loader", True))
    client.free()
    # fast_attention is not part of the weights' cache key: flipping it makes ComfyUI run the loader again (its
    # own output cache would otherwise skip it) while the quantised weights must come from the disk cache
    second = client.run(graph("lantern_opt_loader2", False))
    assert "cached in" in _text(first, "4")[0] or "loaded from the cache" in _text(first, "4")[0]
    assert "loaded from the cache" in _text(second, "4")[0]
    assert psnr(_img(client, first, "9"), _img(client, second, "9")) >= 40.0  # same weights; attention kernels differ
    stock = _img(client, client.run(txt2img(seed=2, steps=STEPS, size=SIZE, prefix="lantern_opt_loader_ref")), "9")
    assert psnr(_img(client, second, "9"), stock) >= MIN_PSNR


def test_optimized_txt2img_workflow(client, workflows_dir):
    """The shipped workflow runs; its report is consistent; its image is within the bound of the stock graph."""
    graph = json.loads((workflows_dir / "optimized_txt2img.api.json").read_text())
    assert graph["3"]["inputs"]["model"] == ["11", 0] and graph["11"]["inputs"]["model"] == ["10", 0]
    graph["20"] = {"class_type": "LanternModelReport", "inputs": {"model": ["4", 0], "measure_step": True,
                                                                  "size": 128}}
    stock = copy.deepcopy(graph)
    assert graph["8"]["inputs"]["vae"] == ["12", 0] and graph["12"]["class_type"] == "LanternOptimizeVAE"
    for node in ("10", "11", "12", "20"):
        stock.pop(node)
    stock["3"]["inputs"]["model"] = ["4", 0]
    stock["8"]["inputs"]["vae"] = ["4", 2]
    stock["9"]["inputs"]["filename_prefix"] = "lantern_opt_wf_stock"
    result = client.run(graph)
    ref = _img(client, client.run(stock), "9")
    opt = _img(client, result, "9")
    optimised, original = _report(result, "11"), _report(result, "20")
    assert optimised["weight_bytes"] < 0.45 * original["weight_bytes"]
    assert optimised["bytes_by_dtype"]["int8"] > 0.5 * optimised["weight_bytes"]
    assert optimised["parameters"] == original["parameters"]
    assert optimised["estimated_memory_bytes"] >= optimised["weight_bytes"]
    assert optimised["step_seconds"] > 0 and original["step_seconds"] > 0
    p, s = psnr(opt, ref), ssim(opt, ref)
    assert p >= MIN_PSNR_BF16 and s >= MIN_SSIM, (p, s)
