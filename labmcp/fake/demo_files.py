"""Small, valid binary files for the demo lab, generated in code: PNG images, PDFs (text and scanned),
CSV/TSV/JSON data and a legacy Excel header."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable

Pixel = tuple[int, int, int]


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An 8-bit RGB PNG whose colour at (x, y) is ``pixel(x, y)``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def gel_image(width: int = 160, height: int = 120, lanes: int = 6) -> bytes:
    """An agarose gel: dark background, bright bands at lane-dependent heights."""
    lane_width = width // lanes

    def pixel(x: int, y: int) -> Pixel:
        lane, offset = divmod(x, lane_width)
        if 3 <= offset < lane_width - 3:
            for band in (20 + lane * 9, 60 + (lane * 17) % 40):
                if abs(y - band) <= 2:
                    return (230, 240, 230)
        return (18, 22, 30)

    return png(width, height, pixel)


def heatmap(width: int = 48, height: int = 32) -> bytes:
    """A small 96-well-style heat map used as a plate reader figure and as an inline data: image."""
    return png(width, height, lambda x, y: ((x * 5) % 256, (y * 8) % 256, 120))


def minimal_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF 1.4 with Helvetica text and a correct xref table."""
    return pdf([(title, lines)])


def pdf(pages: list[tuple[str, list[str]]]) -> bytes:
    """A PDF 1.4 of Helvetica text pages (a title and lines each) with a correct xref table."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for title, lines in pages:
        text_ops = ["BT /F1 16 Tf 72 740 Td (" + _pdf_escape(title) + ") Tj ET"]
        for i, line in enumerate(lines):
            text_ops.append(f"BT /F1 11 Tf 72 {710 - 16 * i} Td ({_pdf_escape(line)}) Tj ET")
        stream = "\n".join(text_ops).encode("latin-1", "replace")
        objects.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
        content = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents "
            + f"{content} 0 R".encode()
            + b" /Resources << /Font << /F1 3 0 R >> >> >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    return pdf_file(objects)


def scanned_pdf(width: int = 160, height: int = 120) -> bytes:
    """A one-page PDF whose page is only an image (a gel photo), as a scanner makes it: no text layer."""
    rows = b"".join(
        bytes((230, 240, 230) if (x // 26) % 2 and abs(y - 40 - (x // 26) * 9) <= 2 else (18, 22, 30))
        for y in range(height)
        for x in range(width)
    )
    image = zlib.compress(rows, 9)
    draw = f"q {width * 3} 0 0 {height * 3} 72 400 cm /Im1 Do Q".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /XObject << /Im1 5 0 R >> >> >>",
        b"<< /Length " + str(len(draw)).encode() + b" >>\nstream\n" + draw + b"\nendstream",
        f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceRGB "
        f"/BitsPerComponent 8 /Filter /FlateDecode /Length {len(image)} >>\nstream\n".encode()
        + image
        + b"\nendstream",
    ]
    return pdf_file(objects)


def pdf_file(objects: list[bytes]) -> bytes:
    """A PDF 1.4 file of these numbered objects (1 is the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def plate_reader_csv() -> bytes:
    """A 96-well absorbance export (A450) as a plate reader writes it."""
    lines = ["Plate reader export,SpectraMax iD5", "Read,Absorbance 450 nm", "", "Well,Row,Column,A450,Sample"]
    for r, row in enumerate("ABCDEFGH"):
        for col in range(1, 13):
            value = 0.05 + ((r * 12 + col) * 37 % 211) / 100
            sample = "blank" if col == 12 else f"std {col}" if r == 0 else f"S{r:02d}-{col:02d}"
            lines.append(f"{row}{col},{row},{col},{value:.3f},{sample}")
    return ("\r\n".join(lines) + "\r\n").encode()


def qpcr_tsv() -> bytes:
    """Ct values of a qPCR run, tab separated."""
    rows = ["Well\tTarget\tSample\tCt"]
    for i, (target, sample) in enumerate((t, s) for t in ("GAPDH", "TP53", "CDKN1A") for s in ("WT", "KO-1", "KO-2")):
        rows.append(f"{'ABC'[i // 3]}{i % 3 + 1}\t{target}\t{sample}\t{18.2 + (i * 1.37) % 9:.2f}")
    return ("\n".join(rows) + "\n").encode()


def sample_manifest_json() -> bytes:
    manifest = {
        "study": "TP53 knock-out in HEK293T",
        "samples": [{"id": f"S{i:02d}", "clone": f"KO-{i % 3 + 1}", "passage": 10 + i} for i in range(1, 9)],
        "freezer": {"rack": "B3", "box": 14},
    }
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()


def legacy_xls_header() -> bytes:
    """The first sector of a legacy (OLE2 compound file) Excel workbook: the kind labmcp does not read."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
