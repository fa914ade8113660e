"""The README and docs/ stand alone: no reference points outside the repository, and every link
between them (a file, or a section by its anchor) resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Design documents that live outside the repository (a clone does not have them).
OUTSIDE = re.compile(r"\.\./shared|shared/design|\b(MODEL|ARCHITECTURE|VALIDATION)\.md\b")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`((?:docs|examples)/[\w./-]+\.(?:md|py))`")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+)$", text, flags=re.M)}


def _problems(doc: Path) -> list[str]:
    text = doc.read_text(encoding="utf-8")
    out = [f"{doc.name}:{text[: m.start()].count(chr(10)) + 1}: refers outside the repository: {m.group(0)}"
           for m in OUTSIDE.finditer(text)]
    for m in LINK.finditer(text):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        if ROOT not in dest.parents and dest != ROOT:
            out.append(f"{doc.name}: link outside the repository: {target}")
        elif not dest.exists():
            out.append(f"{doc.name}: link to a missing file: {target}")
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            out.append(f"{doc.name}: link to a missing section: {target}")
    for m in CODE_PATH.finditer(text):
        if not (ROOT / m.group(1)).exists():
            out.append(f"{doc.name}: names a missing file: {m.group(1)}")
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_docs_reference_nothing_outside_the_repository(doc: Path) -> None:
    assert _problems(doc) == []


def test_the_check_finds_what_it_looks_for(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    bad = docs / "bad.md"
    bad.write_text("# Title\n\nSee ../shared/design/MODEL.md and [x](nothere.md) and [y](#nope).\n"
                   "Also [ok](#title).\n", encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = _problems(bad)
    finally:
        ROOT = saved
    assert any("outside the repository: ../shared" in p for p in found)
    assert any("MODEL.md" in p for p in found)
    assert any("missing file: nothere.md" in p for p in found)
    assert any("missing section: #nope" in p for p in found)
    assert not any("#title" in p for p in found)


def test_the_model_doc_has_the_sections_users_are_sent_to() -> None:
    anchors = _anchors(ROOT / "docs" / "model.md")
    for section in ("places", "states", "encounters", "progression", "strains", "movement", "society",
                    "policies", "what-a-run-produces", "engines", "limits", "the-model-as-built"):
        assert section in anchors, section
