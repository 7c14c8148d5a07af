"""bench/RESULTS.md: each script writes its figures between its own markers; the notes around
them (what the figures say) are written by hand and kept."""

from __future__ import annotations

from pathlib import Path

PATH = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(name: str, lines: list[str]) -> None:
    start, end = f"<!-- {name}: written by bench/{name}.py -->", f"<!-- /{name} -->"
    old = PATH.read_text() if PATH.exists() else "# Benchmark results\n"
    if start in old and end in old:
        before, rest = old.split(start, 1)
        after = rest.split(end, 1)[1]
    else:
        before, after = old.rstrip() + "\n\n", "\n"
    PATH.write_text(before + "\n".join([start, *lines, end]) + after)
    print(f"wrote {PATH.relative_to(PATH.parent.parent)}")
