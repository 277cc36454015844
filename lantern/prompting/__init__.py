"""Prompt intelligence: reading, diagnosis, reproducible expansion and style stacks (no ComfyUI imports).

- ``read_prompt(text)`` -> the reading dict (schema ``lantern.reading/1``, see ``reading.READING_SCHEMA``);
- ``expand(text, seed)`` -> expanded positive/negative prompts, reproducible from the seed;
- ``get_library()`` / ``apply_stack()`` -> style presets and the weighted style stack;
- ``get_counter()`` -> CLIP token counting and the 77-token window map;
- ``generative.GenerativeExpander`` -> optional constrained GPT-2 expansion from a local model folder.
"""

from .expander import expand
from .reading import READING_SCHEMA, SCHEMA_ID, read_prompt
from .styles import apply_stack, get_library, parse_stack
from .tokens import get_counter

__all__ = ["READING_SCHEMA", "SCHEMA_ID", "apply_stack", "expand", "get_counter", "get_library", "parse_stack",
           "read_prompt"]
