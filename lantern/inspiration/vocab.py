"""General vocabulary (styles, mediums, lighting, colours, palettes, compositions, moods) for inspiration mode.

One adapter: it joins our own lists in ``data/general.toml`` with the canonical words of ``lantern.prompting``'s
vocabularies (styles, mediums with their look, lighting, colours, composition, moods) when that package is
importable, reshaping the few tags that do not fit our sentence frames; without it, our lists alone are used. Lists are sorted and
de-duplicated here so the generator never depends on the order (or set iteration order) of another module's data.
Which source was used is reported in every batch (``Batch.vocab_source``) because it changes the prompts.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from .themes import DATA_DIR

MEDIUM_KINDS = ("photo", "painting", "drawing", "print", "digital", "render", "craft", "other")

# keyword -> kind, for mediums that come from elsewhere (user lists, prompting vocab, pins)
_KIND_KEYWORDS = (
    ("photo", "photo"), ("polaroid", "photo"), ("cyanotype", "photo"),
    ("painting", "painting"), ("fresco", "painting"),
    ("drawing", "drawing"), ("sketch", "drawing"),
    ("print", "print"), ("etching", "print"), ("lithograph", "print"), ("woodcut", "print"),
    ("render", "render"), ("3d", "render"), ("cgi", "render"),
    ("illustration", "digital"), ("pixel", "digital"), ("comic", "digital"), ("anime", "digital"),
    ("poster", "digital"), ("vector", "digital"),
    ("glass", "craft"), ("mosaic", "craft"), ("collage", "craft"), ("tapestry", "craft"), ("sculpture", "craft"),
    ("embroider", "craft"), ("diorama", "craft"), ("origami", "craft"), ("relief", "craft"),
)


def medium_kind(medium: str) -> str:
    m = medium.lower()
    for key, kind in _KIND_KEYWORDS:
        if key in m:
            return kind
    return "other"


@dataclass(frozen=True)
class GeneralVocab:
    styles: tuple[str, ...]
    mediums: tuple[str, ...]
    medium_kinds: dict
    lighting: tuple[str, ...]
    colours: tuple[str, ...]
    palettes: tuple[str, ...]
    compositions: tuple[str, ...]
    moods: tuple[str, ...]
    negatives: dict
    source: str

    def kind_of(self, medium: str) -> str:
        return self.medium_kinds.get(medium) or medium_kind(medium)


def _clean(items) -> tuple[str, ...]:
    out = {" ".join(str(i).split()) for i in items if isinstance(i, str) and i.strip()}
    return tuple(sorted(out, key=lambda s: (s.lower(), s)))


@lru_cache(maxsize=1)
def builtin_vocab() -> GeneralVocab:
    with (DATA_DIR / "general.toml").open("rb") as f:
        d = tomllib.load(f)
    kinds: dict[str, str] = {}
    for kind, items in d["mediums"].items():
        if kind not in MEDIUM_KINDS:
            raise ValueError(f"general.toml: unknown medium kind {kind!r}")
        for m in items:
            kinds[m] = kind
    return GeneralVocab(
        styles=_clean(d["styles"]),
        mediums=_clean(kinds),
        medium_kinds=kinds,
        lighting=_clean(d["lighting"]),
        colours=_clean(d["colours"]),
        palettes=_clean(d["palettes"]),
        compositions=_clean(d["compositions"]),
        moods=_clean(d["moods"]),
        negatives={k: tuple(v) for k, v in d["negatives"].items()},
        source="builtin",
    )


# lantern.prompting's canonical names are tags made for reading prompts; these turn the few that do not fit our
# sentence frames into phrases that do ("in an impressionist style", "rendered as a charcoal drawing",
# "framed as a low-angle shot"). None = not used by the generator.
_STYLE_FORMS = {"impressionism": "impressionist", "post-impressionism": "post-impressionist",
                "expressionism": "expressionist", "cubism": "cubist", "romanticism": "romantic",
                "pointillism": "pointillist", "tenebrism": "tenebrist", "hdr": "HDR", "studio ghibli-like": None}
_MEDIUM_FORMS = {"watercolor": "watercolor painting", "gouache": "gouache painting", "charcoal": "charcoal drawing",
                 "airbrush": "airbrush painting", "stained glass": "stained glass window", "woodcut": "woodcut print",
                 "sumi-e": "sumi-e ink painting", "3d render": "3D render", "illustration": "illustration"}
_LIGHTING_FORMS = {"ambient occlusion": None, "chiaroscuro": "chiaroscuro lighting"}
_COMPOSITION_FORMS = {
    "full body": "full-body shot", "macro": "macro shot", "low angle": "low-angle shot", "high angle": "high-angle shot",
    "eye level": "eye-level shot", "dutch angle": "Dutch-angle shot", "over the shoulder": "over-the-shoulder shot",
    "symmetrical": "symmetrical composition", "rule of thirds": "rule-of-thirds composition",
    "leading lines": "composition with leading lines", "framed": None, "wide-angle lens": "wide-angle shot",
    "telephoto lens": "telephoto shot", "fisheye lens": "fisheye shot", "35mm lens": None, "50mm lens": None,
    "85mm lens": None, "shallow depth of field": "shallow depth-of-field shot", "deep focus": "deep-focus shot",
    "motion blur": None, "sharp focus": None,
}
_LOOK_KIND = {"photo": "photo", "painted": "painting", "drawn": "drawing", "rendered": "render", "graphic": "digital",
              "pixel": "digital", "crafted": "craft"}


def _forms(names, table) -> list[str]:
    out = []
    for n in names:
        form = table.get(n, n)
        if form:
            out.append(form)
    return out


def _prompting_words() -> dict | None:
    """Words from lantern.prompting's vocabularies, shaped for our frames; None when it is not importable."""
    try:
        from ..prompting.vocab import get_vocabulary
    except Exception:
        return None
    try:
        v = get_vocabulary()
        tables = v.tables
        mediums = {}
        for name, data in tables["medium"].items():
            form = _MEDIUM_FORMS.get(name, name)
            if form:
                mediums[form] = _LOOK_KIND.get(data.get("look"), medium_kind(form))
        return {
            "styles": _forms(v.canonical_names("style"), _STYLE_FORMS),
            "mediums": mediums,
            "lighting": _forms(v.canonical_names("lighting"), _LIGHTING_FORMS),
            "colours": [n for n, d in tables["colour"].items() if d.get("family") != "palette"],
            "compositions": _forms(v.canonical_names("composition"), _COMPOSITION_FORMS),
            "moods": list(v.canonical_names("mood")),
        }
    except Exception:  # a changed or broken vocabulary must not break inspiration: fall back to our lists
        return None


@lru_cache(maxsize=1)
def general_vocab() -> GeneralVocab:
    """Our lists joined with lantern.prompting's (when importable); sorted, so order never depends on theirs."""
    base = builtin_vocab()
    words = _prompting_words()
    if not words:
        return base
    kinds = dict(words["mediums"])
    kinds.update(base.medium_kinds)  # our own kind wins for a medium both lists have
    return GeneralVocab(
        styles=_clean(list(base.styles) + words["styles"]),
        mediums=_clean(list(base.mediums) + list(words["mediums"])),
        medium_kinds=kinds,
        lighting=_clean(list(base.lighting) + words["lighting"]),
        colours=_clean(list(base.colours) + words["colours"]),
        palettes=base.palettes,
        compositions=_clean(list(base.compositions) + words["compositions"]),
        moods=_clean(list(base.moods) + words["moods"]),
        negatives=base.negatives,
        source="lantern.prompting+builtin",
    )
