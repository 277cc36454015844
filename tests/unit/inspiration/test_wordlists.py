"""User word lists: loading, theme/global scope, malformed files reported by name and skipped."""
from __future__ import annotations

from pathlib import Path

from lantern.inspiration import builtin_themes, generate
from lantern.inspiration.wordlists import load_wordlists


def _write(folder: Path, name: str, content) -> None:
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    (folder / name).write_bytes(data)


def test_missing_folder_is_empty_without_warnings(tmp_path):
    wl = load_wordlists(tmp_path / "nope")
    assert wl.entries == {} and wl.warnings == [] and wl.loaded == []


def test_theme_subjects_are_used_and_global_styles_apply(tmp_path):
    _write(tmp_path, "nature.subjects.txt", "# my subjects\nglowing moss lantern\n\nsilver birch cathedral\n")
    _write(tmp_path, "styles.txt", "Lantern house style\n")
    n = len(builtin_themes()["nature"].subjects) + 2
    b = generate("nature", n, seed=1, wordlist_dir=tmp_path, variety=10)
    subjects = {i.parts["subject"] for i in b.items}
    assert {"glowing moss lantern", "silver birch cathedral"} <= subjects
    assert b.warnings == []
    assert b.wordlists_used == ["nature.subjects.txt", "styles.txt"]
    many = generate("space", 400, seed=2, wordlist_dir=tmp_path, variety=10)
    assert any("Lantern house style" in p for p in many.prompts)
    # theme-scoped subjects stay in their theme
    assert not any("glowing moss lantern" in p for p in many.prompts)


def test_sci_fi_city_file_name_with_underscore(tmp_path):
    _write(tmp_path, "sci-fi_city.settings.txt", "beneath a violet hover-rail\n")
    wl = load_wordlists(tmp_path)
    assert wl.get("sci-fi city", "settings") == ["beneath a violet hover-rail"]
    assert wl.warnings == []


def test_malformed_files_are_reported_by_name_and_skipped(tmp_path):
    _write(tmp_path, "moods.txt", "bittersweet\n")  # good
    _write(tmp_path, "dinosaurs.subjects.txt", "t-rex\n")  # unknown theme
    _write(tmp_path, "flavours.txt", "umami\n")  # unknown slot
    _write(tmp_path, "a.b.c.txt", "x\n")  # bad name
    _write(tmp_path, "lighting.txt", b"\xff\xfe\x00bad")  # not UTF-8
    _write(tmp_path, "colours.txt", "red\n(blue:1.3)\n")  # prompt syntax -> whole file skipped
    _write(tmp_path, "settings.txt", "# only comments\n\n")  # no entries
    _write(tmp_path, "details.txt", "with " + "very " * 30 + "long detail\n")  # over-long line
    _write(tmp_path, "notes.md", "hello\n")  # not .txt
    (tmp_path / "sub").mkdir()
    _write(tmp_path, ".hidden.txt", "x\n")
    wl = load_wordlists(tmp_path)
    assert wl.loaded == ["moods.txt"]
    assert wl.get(None, "moods") == ["bittersweet"]
    assert wl.get(None, "colours") == []  # nothing from the half-bad file
    by_file = {w.split(" ")[2]: w for w in wl.warnings}
    assert set(by_file) == {"dinosaurs.subjects.txt", "flavours.txt", "a.b.c.txt", "lighting.txt", "colours.txt",
                            "settings.txt", "details.txt", "notes.md"}
    assert "unknown theme 'dinosaurs'" in by_file["dinosaurs.subjects.txt"]
    assert "unknown slot 'flavours'" in by_file["flavours.txt"]
    assert "not UTF-8" in by_file["lighting.txt"]
    assert "line 2 contains '('" in by_file["colours.txt"]
    assert "no entries" in by_file["settings.txt"]
    assert "line 1 is" in by_file["details.txt"]
    # the generator carries the warnings and still works
    b = generate("food", 5, seed=4, wordlist_dir=tmp_path)
    assert b.warnings == wl.warnings and len(b.prompts) == 5


def test_user_lists_change_output_deterministically(tmp_path):
    _write(tmp_path, "lighting.txt", "paper-lantern light\nsodium streetlight glow\n")
    a = generate("any", 80, seed=5, variety=10, wordlist_dir=tmp_path)
    b = generate("any", 80, seed=5, variety=10, wordlist_dir=tmp_path)
    assert a.prompts == b.prompts
    assert any("paper-lantern light" in p or "sodium streetlight glow" in p for p in a.prompts)


def test_negatives_word_list_is_added(tmp_path):
    _write(tmp_path, "negatives.txt", "lens dirt\n")
    _write(tmp_path, "food.negatives.txt", "plastic cutlery\n")
    b = generate("food", 3, seed=1, wordlist_dir=tmp_path)
    assert all(i.negative.split(", ")[-2:] == ["lens dirt", "plastic cutlery"] for i in b.items)
    assert all("plastic cutlery" not in i.negative for i in generate("space", 3, seed=1, wordlist_dir=tmp_path).items)
