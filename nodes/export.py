"""ComfyUI adapters for exporting: animations (MP4/WebM/GIF/WebP), stills with metadata, palette grade.

Encoding, metadata and grading live in ``lantern/export`` (tested without ComfyUI); this module resolves safe
output paths with ``folder_paths.get_save_image_path`` and reports previews to the editor.
"""

from __future__ import annotations

import os

import comfy.model_management
import comfy.utils
import folder_paths
from comfy.cli_args import args
from comfy_api.latest import io, ui

from ..lantern.export.formats import format_names, get_format
from ..lantern.export.grade import palette_grade, parse_palette
from ..lantern.export.stills import STILL_FORMATS, generation_parameters, save_still
from ..lantern.export.video import encode_animation

CATEGORY = "Lantern/export"


def _output_path(prefix: str, width: int, height: int) -> tuple[str, str, int, str]:
    """(folder, base filename, counter, subfolder) inside the output folder; refuses prefixes that leave it."""
    if not prefix or not prefix.strip():
        raise ValueError("filename_prefix is empty: use a name such as 'lantern/animation'")
    output_dir = folder_paths.get_output_directory()
    try:
        folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(prefix, output_dir, width, height)
    except Exception as error:  # folder_paths raises a bare Exception for paths outside the output folder
        raise ValueError(f"filename_prefix {prefix!r} points outside ComfyUI's output folder; use a relative name "
                         f"such as 'lantern/animation' ({str(error).splitlines()[0].strip('* ')})") from None
    os.makedirs(folder, exist_ok=True)
    return folder, filename, counter, subfolder


def _metadata(cls) -> dict | None:
    if args.disable_metadata:
        return None
    meta = {}
    if cls.hidden.prompt is not None:
        meta["prompt"] = cls.hidden.prompt
    if cls.hidden.extra_pnginfo is not None:
        meta.update(cls.hidden.extra_pnginfo)
    return meta or None


class LanternSaveAnimation(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternSaveAnimation",
            display_name="Lantern Save Animation",
            category=CATEGORY,
            description=(
                "Saves frames as MP4 (H.264), WebM (VP9), GIF (palette-optimised) or animated WebP, streaming one "
                "frame at a time through the ffmpeg bundled with imageio-ffmpeg (no ffmpeg on PATH needed). Writes "
                "to a temporary name and renames on success; stores the prompt and workflow in the file and saves "
                "a first-frame PNG you can drag back into the editor."
            ),
            inputs=[
                io.Image.Input("images", tooltip="The frames to save, in order."),
                io.String.Input("filename_prefix", default="lantern/animation",
                                tooltip="Name (and subfolder) inside ComfyUI's output folder; may use %date:...% "
                                "style variables. Paths leaving the output folder are refused."),
                io.Combo.Input("format", options=format_names(), default="h264-mp4",
                               tooltip="h264-mp4: plays everywhere; vp9-webm: open, smaller; gif: palette-optimised, "
                               "loops; webp: animated WebP, loops, better than GIF."),
                io.Float.Input("fps", default=12.0, min=0.1, max=120.0, step=0.1, tooltip="Frames per second."),
                io.Int.Input("quality", default=-1, min=-1, max=100,
                             tooltip="-1: the format's default. MP4: CRF 0..51, WebM: CRF 0..63 (lower is better); "
                             "WebP: 0..100 (higher is better, 100 lossless); GIF: ignored."),
                io.Int.Input("loop_count", default=0, min=0, max=1000,
                             tooltip="GIF/WebP: how many times the animation plays (0 = forever). Videos ignore it."),
                io.Boolean.Input("pingpong", default=False,
                                 tooltip="Play forward then backward (a seamless loop without a jump)."),
                io.Boolean.Input("save_first_frame", default=True,
                                 tooltip="Also save the first frame as a PNG carrying the workflow (drag it into "
                                 "the editor to get the graph back)."),
            ],
            outputs=[io.String.Output(display_name="filename",
                                      tooltip="Path of the saved file, relative to the output folder.")],
            hidden=[io.Hidden.prompt, io.Hidden.extra_pnginfo],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, images, filename_prefix, format, fps, quality, loop_count, pingpong,
                save_first_frame) -> io.NodeOutput:
        fmt = get_format(format)
        if images is None or int(images.shape[0]) == 0:
            raise ValueError("images is empty: connect the frames to save")
        height, width = int(images.shape[1]), int(images.shape[2])
        folder, filename, counter, subfolder = _output_path(filename_prefix, width, height)
        base = f"{filename}_{counter:05}_"
        meta = _metadata(cls)
        n_out = len(images) if not pingpong or len(images) <= 2 else 2 * len(images) - 2
        pbar = comfy.utils.ProgressBar(n_out)

        def on_frame(count: int) -> None:
            comfy.model_management.throw_exception_if_processing_interrupted()
            pbar.update_absolute(count, n_out)

        result = encode_animation(images, os.path.join(folder, f"{base}.{fmt.extension}"), fmt, fps=fps,
                                  quality=quality, loop_count=loop_count, pingpong=pingpong, metadata=meta,
                                  on_frame=on_frame)
        saved = [ui.SavedResult(os.path.basename(result.path), subfolder, io.FolderType.output)]
        if save_first_frame:
            save_still(images[0], os.path.join(folder, f"{base}.png"), "png", metadata=meta)
        for note in result.notes:
            print(f"[Lantern] {os.path.basename(result.path)}: {note}")
        rel = os.path.join(subfolder, os.path.basename(result.path))
        return io.NodeOutput(rel, ui=ui.PreviewVideo(saved))


class LanternSaveImage(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternSaveImage",
            display_name="Lantern Save Image",
            category=CATEGORY,
            description=(
                "Saves images as PNG, JPEG, WebP or TIFF with the prompt and workflow inside (PNG text chunks, "
                "EXIF/XMP, TIFF description) and a sidecar JSON with the generation parameters for sync folders "
                "and editors; optional resize to a target long side."
            ),
            inputs=[
                io.Image.Input("images", tooltip="The images to save."),
                io.String.Input("filename_prefix", default="lantern/still",
                                tooltip="Name (and subfolder) inside ComfyUI's output folder. Paths leaving the "
                                "output folder are refused."),
                io.Combo.Input("format", options=list(STILL_FORMATS), default="png",
                               tooltip="png: lossless, workflow readable by ComfyUI; jpeg: small; webp: small, "
                               "workflow in EXIF; tiff: lossless, for print and editors."),
                io.Int.Input("quality", default=95, min=1, max=100,
                             tooltip="JPEG/WebP quality (WebP 100 = lossless); PNG and TIFF are lossless."),
                io.Int.Input("long_side", default=0, min=0, max=16384,
                             tooltip="0 keeps the size; otherwise resize (Lanczos) so the longer side is this many "
                             "pixels before saving."),
                io.Boolean.Input("sidecar", default=True,
                                 tooltip="Write <file>.json next to each image with the generation parameters."),
                io.Boolean.Input("embed_metadata", default=True,
                                 tooltip="Embed the prompt and workflow in the image file."),
            ],
            outputs=[io.String.Output(display_name="filenames",
                                      tooltip="Saved paths relative to the output folder, one per line.")],
            hidden=[io.Hidden.prompt, io.Hidden.extra_pnginfo],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, images, filename_prefix, format, quality, long_side, sidecar, embed_metadata) -> io.NodeOutput:
        if images is None or int(images.shape[0]) == 0:
            raise ValueError("images is empty: connect the images to save")
        height, width = int(images.shape[1]), int(images.shape[2])
        folder, filename, counter, subfolder = _output_path(filename_prefix, width, height)
        meta = _metadata(cls)
        params = generation_parameters(cls.hidden.prompt) if sidecar else None
        results, names = [], []
        ext = STILL_FORMATS[format]
        for i, image in enumerate(images):
            comfy.model_management.throw_exception_if_processing_interrupted()
            name = f"{filename}_{counter + i:05}_.{ext}"
            side = dict(params or {}, batch_index=i) if sidecar else None
            saved = save_still(image, os.path.join(folder, name), format, quality=quality, metadata=meta,
                               sidecar=side, long_side=long_side, embed=embed_metadata)
            for note in saved.notes:
                print(f"[Lantern] {name}: {note}")
            results.append(ui.SavedResult(name, subfolder, io.FolderType.output))
            names.append(os.path.join(subfolder, name))
        return io.NodeOutput("\n".join(names), ui=ui.SavedImages(results))


class LanternPaletteGrade(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LanternPaletteGrade",
            display_name="Lantern Palette Grade",
            category=CATEGORY,
            description=(
                "Model-free colour correction toward a palette: moves each image's colour (a*/b* in L*a*b*) toward "
                "the palette's by a strength, keeping every pixel's lightness. Works on single images and frames."
            ),
            inputs=[
                io.Image.Input("images", tooltip="The images or frames to grade."),
                io.String.Input("palette", default="#1f3a5f, #d9a441, #7a9e7e", multiline=True,
                                tooltip="Colours as #rrggbb, #rgb, rgb(r, g, b) or CSS names, separated by commas, "
                                "spaces or lines (e.g. the palette from the prompt interpreter)."),
                io.Float.Input("strength", default=0.5, min=0.0, max=1.0, step=0.05,
                               tooltip="0 leaves the images as they are; 1 takes the palette's colour balance fully."),
            ],
            outputs=[io.Image.Output(display_name="images", tooltip="The graded images (same size, same lightness).")],
        )

    @classmethod
    def execute(cls, images, palette, strength) -> io.NodeOutput:
        try:
            colours = parse_palette(palette)
        except ValueError as error:
            raise ValueError(f"palette input: {error}") from None
        return io.NodeOutput(palette_grade(images, colours, strength))


NODES = [LanternSaveAnimation, LanternSaveImage, LanternPaletteGrade]
