"""What a PDF draws, for comparing a page drawn with fpdf2's `text()` against fpdf2's own cells and tables:
every text's position, font and colour (`drawn`, `assert_drawn_alike`), and the pages as pixels (`pixels`)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader


def drawn(pdf: bytes) -> list[tuple[int, str, float, float, str, float, tuple[float, ...]]]:
    """Every text shown in the PDF, in order: page, text, x, y, font, size and fill colour in effect."""
    from pypdf.generic import ContentStream

    reader = PdfReader(io.BytesIO(pdf))
    out = []
    for n, page in enumerate(reader.pages):
        state: dict[str, Any] = {"font": "", "size": 0.0, "rgb": (0.0,)}
        stack = []
        x = y = 0.0
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op == b"q":
                stack.append(dict(state))
            elif op == b"Q":
                state = stack.pop()
            elif op == b"rg":
                state["rgb"] = tuple(float(v) for v in operands)
            elif op == b"g":
                state["rgb"] = (float(operands[0]),)
            elif op == b"Tf":
                state["font"], state["size"] = str(operands[0]), float(operands[1])
            elif op == b"Td":
                x, y = float(operands[0]), float(operands[1])
            elif op == b"Tj":
                out.append((n, str(operands[0]), x, y, state["font"], state["size"], state["rgb"]))
    return out


def assert_drawn_alike(fast: bytes, reference: bytes) -> None:
    """The same texts on the same pages, in the same order, font, size and colour, within 0.011 pt."""
    got, want = drawn(fast), drawn(reference)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g[0], g[1], g[4], g[5], g[6]) == (w[0], w[1], w[4], w[5], w[6]), (g, w)
        assert g[2] == pytest.approx(w[2], abs=0.011) and g[3] == pytest.approx(w[3], abs=0.011), (g, w)


def pixels(pdf: bytes, dpi: int = 150) -> list[bytes]:
    """Every page rendered in colour by poppler's `pdftoppm` (Debian's poppler-utils), as PPM bytes."""
    tool = shutil.which("pdftoppm")
    assert tool is not None, "pdftoppm (Debian package poppler-utils) is needed: scripts/test installs it"
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "document.pdf"
        source.write_bytes(pdf)
        subprocess.run([tool, "-r", str(dpi), str(source), str(Path(folder) / "page")], check=True, timeout=120)
        return [page.read_bytes() for page in sorted(Path(folder).glob("page-*.ppm"))]
