"""ComfyUI adapters for inspiration mode: themed prompt batches, the inspiration sampler, and /lantern/inspire.

The logic lives in ``lantern/inspiration`` (tested without ComfyUI). Here: inputs, the user's word-list folder
(``<user dir>/lantern/wordlists``), sampling through ComfyUI's own ``comfy.sample.sample`` with its progress bar
and interrupt checks, and the HTTP route.
"""

from __future__ import annotations

import asyncio
import logging
import os

import folder_paths
from comfy_api.latest import io

from ..lantern.inspiration import (MAX_COUNT, THEME_CHOICES, VARIETY_DEFAULT, VARIETY_MAX, VARIETY_MIN, Pins,
                                   generate)
from ..lantern.inspiration.rng import SEED_MAX
from .sampling_inputs import sampler_inputs

log = logging.getLogger("lantern")

CATEGORY = "Lantern/inspiration"
SAMPLER_MAX_COUNT = 64


def wordlist_dir() -> str:
    return os.path.join(folder_paths.get_user_directory(), "lantern", "wordlists")


def wordlist_fingerprint(word_lists=True, **_) -> str:
    """Changes when a word-list file is added, removed or edited, so ComfyUI re-runs a node that reads them."""
    if not word_lists:
        return "off"
    folder = wordlist_dir()
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return "none"
    return ";".join(f"{e.name}:{e.stat().st_size}:{e.stat().st_mtime_ns}" for e in entries if e.is_file())


def _guard(theme_check: bool, notes: list[str]):
    if not theme_check:
        return None
    from ..lantern.inspiration.coherence import ThemeGuard
    from ..lantern import semantic

    guard = ThemeGuard.create()
    if guard is None:
        notes.append(f"theme check skipped: {semantic.unavailable_reason()}")
    return guard


def make_batch(theme, count, seed, variety, theme_check=True, word_lists=True, subject="", style="", palette="",
               medium=""):
    """Generate a batch the way every Lantern entry point does; returns (batch, notes)."""
    notes: list[str] = []
    guard = _guard(theme_check, notes)
    batch = generate(theme, count, seed=seed, variety=variety,
                     pins=Pins(subject=subject or "", style=style or "", palette=palette or "", medium=medium or ""),
                     wordlist_dir=wordlist_dir() if word_lists else None, guard=guard)
    notes += batch.warnings
    for note in notes:
        log.warning("Lantern inspiration: %s", note)
    return batch, notes


def report(batch, notes) -> str:
    head = (f"theme {batch.theme} | seed {batch.seed} | variety {batch.variety} | vocabulary {batch.vocab_source} | "
            f"theme check {'on (MiniLM)' if batch.theme_check else 'off'}")
    lines = [head]
    if batch.wordlists_used:
        lines.append("word lists: " + ", ".join(batch.wordlists_used))
    lines += notes
    lines += [f"{i.index + 1}. [{i.theme}, seed {i.seed}] {i.prompt}" for i in batch.items]
    return "\n".join(lines)


def _common_inputs(max_count: int, default_count: int) -> list:
    return [
        io.Combo.Input("theme", options=list(THEME_CHOICES), default="any",
                       tooltip="What the prompts are about; 'any' picks a theme per prompt."),
        io.Int.Input("count", default=default_count, min=1, max=max_count,
                     tooltip="How many distinct prompts (and images) to make."),
        io.Int.Input("seed", default=0, min=0, max=SEED_MAX, control_after_generate=True,
                     tooltip="Same seed and inputs give the same prompts on every run and release; "
                             "each image's sampler seed is derived from it."),
        io.Int.Input("variety", default=VARIETY_DEFAULT, min=VARIETY_MIN, max=VARIETY_MAX,
                     tooltip="0 keeps to the theme's own look; 10 adds more adjectives, details and moods and draws "
                             "styles, mediums and light from the whole vocabulary."),
        io.Boolean.Input("theme_check", default=True,
                         tooltip="With MiniLM installed, redraw prompts that read closer to another theme than their "
                                 "own. Without MiniLM this is skipped (and the report says so)."),
        io.Boolean.Input("word_lists", default=True,
                         tooltip="Also use your word lists from <ComfyUI user folder>/lantern/wordlists "
                                 "(<slot>.txt or <theme>.<slot>.txt); broken files are reported and skipped."),
        io.String.Input("subject", default="", optional=True,
                        tooltip="Pin the subject of every prompt (e.g. 'a red fox'); empty = drawn from the theme."),
        io.String.Input("style", default="", optional=True,
                        tooltip="Pin the style (e.g. 'art nouveau'); empty = drawn."),
        io.String.Input("palette", default="", optional=True,
                        tooltip="Pin the palette: colours ('teal, amber') or a kind ('pastel'); empty = drawn."),
        io.String.Input("medium", default="", optional=True,
                        tooltip="Pin the medium (e.g. 'oil painting'); empty = drawn."),
    ]


class LanternInspiration(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LanternInspiration",
            display_name="Lantern Inspiration",
            category=CATEGORY,
            description="Makes N distinct, well-formed prompts (with negatives) for a theme: subject, setting, "
                        "medium, style, light, palette and framing. Reproducible from the seed; offline.",
            inputs=_common_inputs(MAX_COUNT, 4),
            outputs=[
                io.String.Output("prompts", display_name="prompts", is_output_list=True,
                                 tooltip="The prompts as a list: downstream nodes run once per prompt."),
                io.String.Output("negatives", display_name="negatives", is_output_list=True,
                                 tooltip="The negative prompt for each prompt (same order)."),
                io.Int.Output("seeds", display_name="seeds", is_output_list=True,
                              tooltip="A sampler seed for each prompt, derived from the seed."),
                io.String.Output("text", display_name="text", tooltip="All prompts in one string, one per line."),
                io.String.Output("report", display_name="report", tooltip="Settings, word lists used or skipped, and the numbered prompts."),
            ],
            is_output_node=True,  # queue it alone and read the prompts on the node / in the history
        )

    @classmethod
    def fingerprint_inputs(cls, **kwargs):
        return wordlist_fingerprint(**kwargs)

    @classmethod
    def execute(cls, theme, count, seed, variety, theme_check, word_lists, subject="", style="", palette="",
                medium="") -> io.NodeOutput:
        batch, notes = make_batch(theme, count, seed, variety, theme_check, word_lists, subject, style, palette, medium)
        text = report(batch, notes)
        return io.NodeOutput(batch.prompts, batch.negatives, batch.seeds, "\n".join(batch.prompts), text,
                             ui={"text": [text], "prompts": batch.prompts})


class LanternInspirationSampler(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LanternInspirationSampler",
            display_name="Lantern Inspiration Sampler",
            category=CATEGORY,
            description="Makes N themed prompts and samples one image for each (its own seed, ComfyUI's sampler, "
                        "progress bar and Cancel), plus a captioned contact sheet to choose from.",
            inputs=[
                io.Model.Input("model", tooltip="The diffusion model to sample with."),
                io.Clip.Input("clip", tooltip="The text encoder that encodes each prompt."),
                io.Vae.Input("vae", tooltip="The VAE that decodes each image."),
                *_common_inputs(SAMPLER_MAX_COUNT, 4)[:4],
                *sampler_inputs("Sampling steps per image."),
                io.Int.Input("width", default=512, min=64, max=4096, step=8, tooltip="Image width in pixels."),
                io.Int.Input("height", default=512, min=64, max=4096, step=8, tooltip="Image height in pixels."),
                io.Int.Input("columns", default=0, min=0, max=64,
                             tooltip="Contact sheet columns; 0 = ceil(sqrt(N))."),
                *_common_inputs(SAMPLER_MAX_COUNT, 4)[4:],
            ],
            outputs=[
                io.Image.Output("images", display_name="images", tooltip="The N images, in prompt order."),
                io.String.Output("prompts", display_name="prompts", tooltip="The N prompts, one per line, in image order."),
                io.Image.Output("contact_sheet", display_name="contact_sheet",
                                tooltip="All images in a grid, each captioned with its number and prompt."),
            ],
        )

    @classmethod
    def fingerprint_inputs(cls, **kwargs):
        return wordlist_fingerprint(**kwargs)

    @classmethod
    def execute(cls, model, clip, vae, theme, count, seed, variety, steps, cfg, sampler_name, scheduler, width,
                height, columns, theme_check, word_lists, subject="", style="", palette="",
                medium="") -> io.NodeOutput:
        import numpy as np
        import torch

        import comfy.model_management as mm
        import comfy.sample
        import comfy.utils

        from ..lantern.inspiration.contact_sheet import contact_sheet

        if clip is None:
            raise ValueError("clip: no text encoder connected; use a checkpoint that contains one")
        batch, notes = make_batch(theme, count, seed, variety, theme_check, word_lists, subject, style, palette, medium)
        total = len(batch.items) * steps
        pbar = comfy.utils.ProgressBar(total)
        negatives: dict[str, object] = {}
        images = []
        for k, item in enumerate(batch.items):
            mm.throw_exception_if_processing_interrupted()
            positive = clip.encode_from_tokens_scheduled(clip.tokenize(item.prompt))
            if item.negative not in negatives:
                negatives[item.negative] = clip.encode_from_tokens_scheduled(clip.tokenize(item.negative))
            latent = torch.zeros([1, 4, height // 8, width // 8], device=mm.intermediate_device())
            latent = comfy.sample.fix_empty_latent_channels(model, latent)
            noise = comfy.sample.prepare_noise(latent, item.seed)

            def on_step(step, x0, x, total_steps, _k=k):
                mm.throw_exception_if_processing_interrupted()
                pbar.update_absolute(_k * steps + step + 1, total)

            samples = comfy.sample.sample(model, noise, steps, cfg, sampler_name, scheduler, positive,
                                          negatives[item.negative], latent, denoise=1.0, callback=on_step,
                                          disable_pbar=True, seed=item.seed)
            decoded = vae.decode(samples)
            if decoded.ndim == 5:
                decoded = decoded.reshape(-1, *decoded.shape[-3:])
            images.append(decoded[:1].float().cpu())
        images_t = torch.cat(images, dim=0)
        sheet = contact_sheet([im.numpy() for im in images_t], batch.prompts, columns=columns,
                              font_size=max(10, min(24, images_t.shape[2] // 20)))
        sheet_t = torch.from_numpy(np.asarray(sheet, dtype=np.float32) / 255.0)[None]
        return io.NodeOutput(images_t, "\n".join(batch.prompts), sheet_t,
                             ui={"text": [report(batch, notes)], "prompts": batch.prompts})


NODES = [LanternInspiration, LanternInspirationSampler]


# ---------------------------------------------------------------- GET /lantern/inspire

ROUTE_PARAMS = ("theme", "n", "seed", "variety", "check", "wordlists", "subject", "style", "palette", "medium")


def parse_inspire_query(query) -> dict:
    """Validate the query of /lantern/inspire; raises ValueError with a message for the 400 answer."""
    unknown = sorted(set(query) - set(ROUTE_PARAMS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; use {', '.join(ROUTE_PARAMS)}")

    def integer(name, default, lo, hi):
        raw = query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"{name}: {raw!r} is not a whole number; give an integer from {lo} to {hi}") from None
        if not lo <= value <= hi:
            raise ValueError(f"{name}: {value} is out of range; give an integer from {lo} to {hi}")
        return value

    def flag(name, default):
        raw = query.get(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{name}: {raw!r} is not a yes/no value; use 1 or 0")

    theme = query.get("theme", "any")
    from ..lantern.inspiration import validate_theme

    return {
        "theme": validate_theme(theme),
        "count": integer("n", 8, 1, MAX_COUNT),
        "seed": integer("seed", 0, 0, SEED_MAX),
        "variety": integer("variety", VARIETY_DEFAULT, VARIETY_MIN, VARIETY_MAX),
        "theme_check": flag("check", True),
        "word_lists": flag("wordlists", True),
        **{k: query.get(k, "") for k in ("subject", "style", "palette", "medium")},
    }


def register_routes(routes) -> None:
    from aiohttp import web

    @routes.get("/lantern/inspire")
    async def inspire(request: web.Request) -> web.Response:
        try:
            params = parse_inspire_query(request.query)
            batch, notes = await asyncio.get_running_loop().run_in_executor(None, lambda: make_batch(**params))
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=400)
        except ImportError as error:  # a missing library is the server's problem, said plainly
            return web.json_response({"error": f"{error}; pip install {error.name or 'inflect'}"}, status=503)
        body = batch.to_dict()
        body["notes"] = notes
        return web.json_response(body)
