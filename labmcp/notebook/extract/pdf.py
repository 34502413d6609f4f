"""PDF text, page by page, with pypdf (pure Python, so the universal .pyz stays universal).

pypdf's own resource limits (its ``Configuration``) are lowered for the length of one extraction:
stream lengths, decompressed output per filter, decoding work and the page tree are all bounded,
and the external ``jbig2dec`` program is never run. On top, the page count and each page's content
stream size are checked before a page's text is extracted, and ``stop`` is called between pages. An
encrypted PDF is opened with the empty password (owner-only protection); otherwise it is reported as
encrypted. A PDF with pages but no text at all is reported as having no text layer (a scan).
"""

from __future__ import annotations

import io
from typing import Any

from labmcp.errors import ExtractionError
from labmcp.notebook.extract import Document, Limits, Part, Stop
from labmcp.notebook.extract.markup import plain_text


def _configuration(limits: Limits) -> dict[str, Any]:
    stream = limits.max_stream_bytes
    return {
        "disable_legacy_handling": True,
        "jbig2dec_binary": None,
        "maximum_declared_stream_length": stream,
        "array_based_stream_maximum_output_length": stream,
        "zlib_maximum_output_length": stream,
        "lzw_maximum_output_length": stream,
        "run_length_maximum_output_length": stream,
        "brotli_maximum_output_length": stream,
        "jbig2_maximum_output_length": stream,
        "image_maximum_buffer_size": stream,
        "stream_decoding_work_maximum_length": 4 * stream,
        "xfa_decoding_work_maximum_length": stream,
        "page_tree_maximum_entries": 4 * limits.max_pages,
        "page_tree_maximum_page_entries": 64 * limits.max_pages,
        "xform_maximum_invocations_per_extraction": 500,
    }


def read(data: bytes, limits: Limits, stop: Stop) -> Document:
    """Each page's text as a part titled ``Page N``; ExtractionError when malformed or over a limit."""
    import pypdf  # noqa: PLC0415  # lazily: a PDF is the only thing that needs it

    try:
        with pypdf.apply_configuration(**_configuration(limits)):
            return _read(pypdf, data, limits, stop)
    except ExtractionError:
        raise
    except pypdf.errors.LimitReachedError as exc:
        detail = " ".join(str(exc).split())[:200]
        raise ExtractionError(
            f"the PDF goes over a limit while decoding ({detail}); streams are capped at {limits.max_stream_bytes} "
            "bytes decoded"
        ) from None
    except RecursionError:
        raise ExtractionError("the PDF nests objects too deeply to read (recursion limit)") from None
    except MemoryError:
        raise ExtractionError("the PDF needs more memory than allowed to read") from None
    except Exception as exc:  # pypdf raises many kinds on malformed files; all mean "unreadable"
        detail = " ".join(str(exc).split())[:200]
        raise ExtractionError(f"the PDF is malformed and cannot be read ({type(exc).__name__}: {detail})") from None


def _read(pypdf: Any, data: bytes, limits: Limits, stop: Stop) -> Document:
    reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            opened = bool(reader.decrypt(""))
        except pypdf.errors.DependencyError:
            opened = False
        if not opened:
            return Document(
                kind="pdf",
                unit="page",
                parts=(),
                summary=("PDF, encrypted.",),
                notes=("The PDF is encrypted with a password; its text cannot be read.",),
                no_text=True,
                facts={"pages": None, "encrypted": True},
            )
    stop()
    count = len(reader.pages)
    if count > limits.max_pages:
        raise ExtractionError(f"the PDF has {count} pages, over the limit of {limits.max_pages}")
    parts, chars, with_text = [], 0, 0
    notes: list[str] = []
    for n in range(count):
        stop()
        page = reader.pages[n]
        contents = page.get_contents()
        size = len(contents.get_data()) if contents is not None else 0
        if size > limits.max_page_content_bytes:
            cap = limits.max_page_content_bytes
            raise ExtractionError(f"page {n + 1} of the PDF has {size} bytes of content, over the limit of {cap}")
        text = plain_text(page.extract_text() or "")
        if text:
            with_text += 1
        parts.append(Part(f"Page {n + 1}", text or "(no text on this page)"))
        chars += len(text)
        if chars > limits.max_text_chars:
            notes.append(
                f"Pages after {n + 1} were left out (the extraction limit of {limits.max_text_chars} characters)."
            )
            break
    no_text = count > 0 and with_text == 0
    if no_text:
        notes.append("The PDF has no text layer (probably a scan): there is no text to read.")
    return Document(
        kind="pdf",
        unit="page",
        parts=() if no_text else tuple(parts),
        summary=(f"PDF, {count} page(s), {with_text} with text.",),
        notes=tuple(notes),
        no_text=no_text,
        facts={"pages": count, "encrypted": bool(reader.is_encrypted)},
    )
