"""Inspiration mode: themed, reproducible, varied prompts and a contact sheet (issue 4).

Plain Python; no ComfyUI imports. Public API:

- ``generate(theme, count, seed, variety, pins, wordlist_dir) -> Batch``
- ``Pins``, ``Batch``, ``Inspiration``, ``THEME_CHOICES``, ``image_seed``
- ``contact_sheet(images, captions, ...)`` and ``sheet_layout(...)`` (see contact_sheet.py)
"""
from .generator import MAX_COUNT, VARIETY_DEFAULT, VARIETY_MAX, VARIETY_MIN, Batch, Inspiration, Pins, generate, validate_theme
from .rng import ALGORITHM, image_seed
from .themes import ANY, THEME_CHOICES, THEME_ORDER, builtin_themes

__all__ = [
    "ALGORITHM", "ANY", "MAX_COUNT", "THEME_CHOICES", "THEME_ORDER", "VARIETY_DEFAULT", "VARIETY_MAX", "VARIETY_MIN",
    "Batch", "Inspiration", "Pins", "builtin_themes", "generate", "image_seed", "validate_theme",
]
