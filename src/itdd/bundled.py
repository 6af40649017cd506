"""The example scenarios that ship inside the package, and how a scenario argument finds them.

One source of truth: the repository's ``examples/`` folder.  ``src/itdd/examples`` is a symbolic
link to it, so a source checkout (editable install) reads ``examples/`` directly and a built wheel
carries real copies under ``itdd/examples/`` (package data).  See docs/install.md.
"""

from __future__ import annotations

from pathlib import Path, PurePath

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def examples() -> list[Path]:
    """The bundled example scenarios, sorted by name."""
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


def example(name: str) -> Path | None:
    """The bundled example called ``name`` (``morphine-90-days`` or ``morphine-90-days.yaml``), if any."""
    stem = name[:-5] if name.endswith(".yaml") else name
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        return None
    path = EXAMPLES_DIR / f"{stem}.yaml"
    return path if path.is_file() else None


def resolve_scenario(text: str) -> str:
    """A scenario argument as a path: an existing file wins; otherwise a bundled example's name.

    ``examples/NAME.yaml`` (as the README writes it), ``NAME.yaml`` and ``NAME`` name the bundled
    example when no such file exists where the command runs, so every documented command works
    from any folder after ``pip install itdd``.  Anything else is returned unchanged (and the
    loader reports that it cannot be read).
    """
    if Path(text).exists():
        return text
    pure = PurePath(text)
    if len(pure.parts) == 1 or (len(pure.parts) == 2 and pure.parts[0] == "examples"):
        found = example(pure.name)
        if found is not None:
            return str(found)
    return text


__all__ = ["EXAMPLES_DIR", "example", "examples", "resolve_scenario"]
