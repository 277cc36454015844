"""Exporters: animations (MP4/WebM/GIF/WebP), stills with metadata, palette grade, file probing."""

from .formats import format_names, get_format
from .grade import palette_grade, parse_palette
from .stills import generation_parameters, save_still
from .video import EncoderError, encode_animation

__all__ = [
    "EncoderError",
    "encode_animation",
    "format_names",
    "generation_parameters",
    "get_format",
    "palette_grade",
    "parse_palette",
    "save_still",
]
