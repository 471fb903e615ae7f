#!/usr/bin/env python3
"""Strips outputs and execution counts from the notebooks in this folder (or
the ones named), as they are kept in git. Needs nbformat."""

from __future__ import annotations

import pathlib
import sys

import nbformat


def strip(path: pathlib.Path) -> bool:
    """Strips `path` in place; returns whether it changed."""
    book = nbformat.read(path, as_version=4)
    changed = False
    for cell in book.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            cell.outputs, cell.execution_count, changed = [], None, True
        if cell.metadata.pop("execution", None) is not None:
            changed = True
    if changed:
        nbformat.write(book, path)
    return changed


def main(argv: list[str]) -> int:
    paths = [pathlib.Path(a) for a in argv] or sorted(pathlib.Path(__file__).parent.glob("*.ipynb"))
    for path in paths:
        if strip(path):
            print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
