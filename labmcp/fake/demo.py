"""The demo lab: three notebooks of realistic (invented) molecular-biology work, built deterministically.

Who sees what: the demo user (``EMAIL``) sees all three notebooks, the default being
"Molecular Biology Lab — 2026"; the colleague (Ana Costa) sees only "Core Facility — Shared
Instruments", where one page ("Billing — restricted") is unreadable for the demo user.

Canary: the string ``CANARY`` ("LB-7F3A-QX91", a lab reference code that reads like data, so the demo
shows no test marker) appears in exactly two places, both outside the scope ``notebook = default
notebook, folder = "Projects"``: the page "Retired samples" in the default notebook's root folder
"Archive (old)", and the page "Booking rules" of the "Core Facility" notebook.
Scope-escape tests assert that no output ever contains it.

Also here on purpose: ids with ``+``/``/``/``=`` (§3), a uid with ``'`` and ``^``, Unicode and ``&``/``<`` in
names, HTML with entities, tables, nested lists, links and inline ``data:`` images, a ~200 KB entry, a
page of 120 entries, an empty page, widget JSON, an Inbox file, and attachments of every kind labmcp reads:
CSV, TSV, JSON, PNG, PDF (text, multi-page, scanned), DOCX, XLSX, PPTX, plus a legacy .xls it does not.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Final

from labmcp.fake import demo_files, demo_office
from labmcp.fake.store import NO_ACCESS, Node, Store
from labmcp.labarchives.models import PART_HEADING, PART_PLAIN_TEXT, PART_TEXT, PART_WIDGET

AKID: Final = "demo-akid"
PASSWORD: Final = "demo-access-password-2f9c"  # noqa: S105  # public demo credentials, by design
EMAIL: Final = "demo@example.org"
TOKEN: Final = "Xq7+demo/APP=token"  # noqa: S105  # public demo credentials, by design
UID: Final = "285489257De'mo9^Lt4116011183268315271"
COLLEAGUE_UID: Final = "233106187ana2,cos5417615158751911759198414"
COLLEAGUE_EMAIL: Final = "ana.costa@example.org"
CANARY: Final = "LB-7F3A-QX91"

DEFAULT_NOTEBOOK: Final = "Molecular Biology Lab — 2026"
_T0 = int(datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp())
_DAY = 86_400


def _data_uri_png() -> str:
    return "data:image/png;base64," + base64.b64encode(demo_files.heatmap(12, 8)).decode("ascii")


PCR_PROTOCOL_HTML: Final = f"""<h2>Standard PCR protocol (Taq, 50&nbsp;µL)</h2>
<p>Use this protocol for colony screens &amp; routine amplicons &lt;&nbsp;3&nbsp;kb. Keep enzymes on ice;
the master mix is stable for 2&nbsp;h at 4&nbsp;°C. Caf&eacute; rule: no food at the bench.</p>
<h3>Reaction mix</h3>
<table border="1">
<thead><tr><th>Component</th><th>Stock</th><th>Volume (µL)</th><th>Final</th></tr></thead>
<tbody>
<tr><td>10&times; buffer</td><td>10&times;</td><td>5.0</td><td>1&times;</td></tr>
<tr><td>dNTPs</td><td>10&nbsp;mM</td><td>1.0</td><td>200&nbsp;µM</td></tr>
<tr><td>Primer F / R</td><td>10&nbsp;µM</td><td>2.5 each</td><td>0.5&nbsp;µM</td></tr>
<tr><td>Taq polymerase</td><td>5&nbsp;U/µL</td><td>0.25</td><td>1.25&nbsp;U</td></tr>
<tr><td>Template</td><td>—</td><td>1.0</td><td>&lt;&nbsp;100&nbsp;ng</td></tr>
<tr><td>Water</td><td>—</td><td>to 50</td><td></td></tr>
</tbody></table>
<h3>Cycling</h3>
<ol>
<li>Initial denaturation: 95&nbsp;°C, 2&nbsp;min</li>
<li>30 cycles of:
  <ul><li>95&nbsp;°C, 30&nbsp;s</li><li>Annealing: T<sub>m</sub>&nbsp;&minus;&nbsp;5&nbsp;°C, 30&nbsp;s
    <ul><li>use the <a href="https://tmcalculator.neb.com/">NEB T<sub>m</sub> calculator</a></li></ul></li>
  <li>72&nbsp;°C, 1&nbsp;min/kb</li></ul></li>
<li>Final extension: 72&nbsp;°C, 5&nbsp;min; hold at 4&nbsp;°C</li>
</ol>
<p>Expected result (example plate layout): <img alt="plate layout" src="{_data_uri_png()}"/></p>
<p><strong>Note:</strong> if bands are faint, add 2&nbsp;mM MgCl<sub>2</sub>; see
<a href="https://www.ncbi.nlm.nih.gov/books/NBK1/">the troubleshooting guide</a>.</p>"""

WESTERN_HTML: Final = """<h2>Western blot — p53 / p21 after KO</h2>
<p>Lysates: RIPA + protease inhibitors, 20&nbsp;µg/lane, 10&nbsp;% SDS-PAGE,
wet transfer 100&nbsp;V for 60&nbsp;min.</p>
<ul><li>Primary: anti-p53 (DO-1) 1:1000, anti-p21 1:500, anti-β-actin 1:5000</li>
<li>Secondary: HRP anti-mouse 1:10&nbsp;000; ECL, 30&nbsp;s exposure</li></ul>
<p>Result: p53 absent in KO-1 and KO-2; p21 reduced &gt;&nbsp;80&nbsp;% (densitometry in the PDF).</p>"""


def _large_report_html() -> str:
    """About 200 KB of imaging results: a long table that forces continuation in readers."""
    rows = "\n".join(
        f"<tr><td>{i:04d}</td><td>Field {i % 36 + 1}</td><td>{(i * 7919) % 1000 / 10:.1f}</td>"
        f"<td>{(i * 104729) % 5000 / 100:.2f}</td><td>{'mitotic' if i % 11 == 0 else 'interphase'}</td>"
        f"<td>nuclei segmented &amp; tracked; QC {'pass' if i % 17 else 'review'}</td></tr>"
        for i in range(1, 1501)
    )
    return (
        "<h2>Live-cell imaging report — H2B-GFP, 48&nbsp;h</h2>\n<p>Automated segmentation of 1500 fields; "
        "columns: id, field, mean intensity (a.u.), area (µm²), phase, notes.</p>\n"
        '<table border="1"><thead><tr><th>#</th><th>Field</th><th>Intensity</th><th>Area</th><th>Phase</th>'
        f"<th>Notes</th></tr></thead><tbody>\n{rows}\n</tbody></table>\n<p>End of report.</p>"
    )


def _widget_json() -> str:
    form = {"operator": "Demo User", "mycoplasma": "negative", "kit": "MycoAlert", "lot": "0423-B", "ratio": 0.61}
    return json.dumps({"form_id": 7, "form_version": 3, "form_data": json.dumps(form)})


def build(now_ms: int) -> Store:
    """The demo store; the app token is valid for an hour from ``now_ms`` (server time)."""
    store = Store()
    store.add_akid(AKID, PASSWORD)
    store.add_user(UID, EMAIL, AKID, "Demo User", orcid="0000-0002-1825-0097")
    store.add_user(COLLEAGUE_UID, COLLEAGUE_EMAIL, AKID, "Ana Costa")
    store.add_token(UID, TOKEN, now_ms)
    lab = store.add_notebook(DEFAULT_NOTEBOOK, [UID], default_for=(UID,)).nbid
    journal = store.add_notebook("Journal Club & <Reading> Notes", [UID]).nbid
    core = store.add_notebook("Core Facility — Shared Instruments", [UID, COLLEAGUE_UID], default_for=(COLLEAGUE_UID,))
    _lab_notebook(store, lab)
    _journal_notebook(store, journal)
    _core_notebook(store, core.nbid)
    store.add_attachment(
        None, "scan_0001.pdf", demo_files.minimal_pdf("Inbox scan", ["Shipping note, 4 boxes"]), "application/pdf",
        owner=UID, at=_T0 + 20 * _DAY, caption="Uploaded from the mobile app",
    )  # fmt: skip
    return store


def _lab_notebook(store: Store, nbid: str) -> None:
    at = _T0
    welcome = store.add_page(nbid, "Welcome")
    store.add_entry(welcome.tree_id, PART_HEADING, "Welcome to the lab notebook", owner=UID, at=at)
    store.add_entry(
        welcome.tree_id, PART_PLAIN_TEXT,
        "Conventions: one page per experiment day; raw data as attachments; protocols live in Protocols/.\n"
        "Sample ids: S<nn>-<well>. Freezer map in the JSON manifest.",
        owner=UID, at=at,
    )  # fmt: skip
    projects = store.add_folder(nbid, "Projects")
    crispr = store.add_folder(nbid, "CRISPR knock-out of TP53", projects.tree_id)
    cloning = store.add_folder(nbid, "Cloning", crispr.tree_id)
    _cloning_pages(store, nbid, cloning)
    western = store.add_page(nbid, "Western blot — p53", crispr.tree_id)
    blot = store.add_entry(western.tree_id, PART_TEXT, WESTERN_HTML, owner=UID, at=at + 9 * _DAY)
    store.add_comment(blot.eid, "Nice clean blot. Quantify p21 with ImageJ?", by=COLLEAGUE_UID, at=at + 10 * _DAY)
    store.add_attachment(
        western.tree_id, "p53_densitometry.pdf",
        demo_files.pdf([
            ("p53 densitometry", ["Band intensity relative to WT (ImageJ, beta-actin normalised)",
                                  "WT 1.00", "KO-1 0.04", "KO-2 0.06"]),
            ("p21 densitometry", ["WT 1.00", "KO-1 0.18", "KO-2 0.22", "Exposure 30 s, ECL"]),
            ("Methods", ["Rolling ball background 50 px; lanes boxed by hand.", "Analysed by Demo User."]),
        ]),
        "application/pdf", owner=UID, at=at + 9 * _DAY, caption="Densitometry (ImageJ) of the p53 blot",
    )  # fmt: skip
    store.add_attachment(
        western.tree_id, "western_blot_report.docx", _western_report(), "application/vnd.openxmlformats-"
        "officedocument.wordprocessingml.document", owner=UID, at=at + 10 * _DAY, caption="Write-up for the PI",
    )  # fmt: skip
    proteins = store.add_folder(nbid, "Protéines — Western blots", projects.tree_id)
    blot_day = store.add_page(nbid, "Blot 2026-01-14", proteins.tree_id)
    store.add_entry(
        blot_day.tree_id, PART_TEXT, "<p>Transfer efficiency checked with Ponceau&nbsp;S: uniform.</p>",
        owner=UID, at=at + 9 * _DAY,
    )  # fmt: skip
    gel = demo_files.gel_image()
    store.add_attachment(
        blot_day.tree_id, "ponceau_é.png", gel, "image/png", owner=UID, at=at + 9 * _DAY,
        caption="Ponceau stain", thumbnail=demo_files.gel_image(40, 30, 6),
    )  # fmt: skip
    store.add_attachment(
        blot_day.tree_id, "ponceau_scan.pdf", demo_files.scanned_pdf(), "application/pdf", owner=UID,
        at=at + 9 * _DAY, caption="Scanned Ponceau notes (no text layer)", thumbnail=demo_files.gel_image(40, 30, 6),
    )  # fmt: skip
    meeting = store.add_page(nbid, "Lab meeting — March", crispr.tree_id)
    store.add_attachment(
        meeting.tree_id, "lab_meeting_2026-03.pptx", _meeting_deck(),
        "application/vnd.openxmlformats-officedocument.presentationml.presentation", owner=UID, at=at + 66 * _DAY,
        caption="Slides for the March lab meeting",
    )  # fmt: skip
    culture = store.add_folder(nbid, "細胞培養", projects.tree_id)
    _passage_log(store, nbid, culture)
    protocols = store.add_folder(nbid, "Protocols")
    pcr = store.add_page(nbid, "Standard PCR protocol", protocols.tree_id)
    store.add_entry(pcr.tree_id, PART_TEXT, PCR_PROTOCOL_HTML, owner=UID, at=at - 30 * _DAY)
    reader = store.add_page(nbid, "Plate reader assay protocol", protocols.tree_id)
    store.add_entry(
        reader.tree_id, PART_TEXT,
        "<h3>ELISA read-out</h3><ol><li>Stop with 50&nbsp;µL 2&nbsp;N H<sub>2</sub>SO<sub>4</sub></li>"
        "<li>Read A450 within 30&nbsp;min</li><li>Export CSV; blank-correct with column 12</li></ol>",
        owner=UID, at=at - 20 * _DAY,
    )  # fmt: skip
    imaging = store.add_page(nbid, "Live-cell imaging report", protocols.tree_id)
    store.add_entry(imaging.tree_id, PART_TEXT, _large_report_html(), owner=UID, at=at + 15 * _DAY)
    store.add_page(nbid, "Empty page")
    archive = store.add_folder(nbid, "Archive (old)")
    retired = store.add_page(nbid, "Retired samples", archive.tree_id)
    store.add_entry(
        retired.tree_id,
        PART_PLAIN_TEXT,
        f"Boxes 1-9 discarded in 2025 (disposal ref {CANARY}).",
        owner=UID,
        at=at - 300 * _DAY,
    )


def _cloning_pages(store: Store, nbid: str, cloning: Node) -> None:
    at = _T0 + _DAY
    design = store.add_page(nbid, "gRNA design & <validation>", cloning.tree_id)
    store.add_entry(design.tree_id, PART_HEADING, "gRNA candidates for TP53 exon 4", owner=UID, at=at)
    store.add_entry(
        design.tree_id, PART_TEXT,
        "<table><tr><th>gRNA</th><th>Sequence (5'→3')</th><th>Score</th></tr>"
        "<tr><td>g1</td><td>CCATTGTTCAATATCGTCCG</td><td>0.71</td></tr>"
        "<tr><td>g2</td><td>GCAGCGCCTCACAACCTCCG</td><td>0.64</td></tr></table>"
        "<p>Chosen: g1 &amp; g2 (off-targets &lt; 3 mismatches: none).</p>",
        owner=UID, at=at,
    )  # fmt: skip
    screen = store.add_page(nbid, "PCR colony screen", cloning.tree_id)
    store.add_entry(
        screen.tree_id, PART_TEXT,
        "<p>Colony PCR of 6 clones with the <a href='#'>standard PCR protocol</a>; expected amplicon 412&nbsp;bp.</p>"
        "<ul><li>Clones 1, 3, 4: single band</li><li>Clone 2: no product<ul><li>repeat with fresh lysate</li></ul></li>"
        "</ul>",
        owner=UID, at=at + _DAY,
    )  # fmt: skip
    store.add_attachment(
        screen.tree_id, "colony_pcr_gel.png", demo_files.gel_image(), "image/png", owner=UID, at=at + _DAY,
        caption="1% agarose, 100 V 40 min", thumbnail=demo_files.gel_image(40, 30, 6),
    )  # fmt: skip
    store.add_attachment(
        screen.tree_id, "plate_reader_A450.csv", demo_files.plate_reader_csv(), "text/csv", owner=UID, at=at + _DAY,
        caption="Plate reader export (A450) for the ELISA of clone supernatants",
    )  # fmt: skip
    store.add_attachment(
        screen.tree_id, "qpcr_ct_values.tsv", demo_files.qpcr_tsv(), "text/tab-separated-values",
        owner=UID, at=at + 2 * _DAY, caption="qPCR Ct values",
    )  # fmt: skip
    store.add_attachment(
        screen.tree_id, "elisa_A450_2026-03-12.xlsx", _elisa_workbook(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", owner=UID, at=_T0 + 66 * _DAY,
        caption="Plate reader export (A450), ELISA of clone supernatants, March",
    )  # fmt: skip
    store.add_attachment(
        screen.tree_id, "plate_map_2019.xls", demo_files.legacy_xls_header(), "application/vnd.ms-excel",
        owner=UID, at=at + 2 * _DAY, caption="Old plate map (legacy Excel)",
    )  # fmt: skip
    store.add_attachment(
        screen.tree_id, "sample_manifest.json", demo_files.sample_manifest_json(), "application/json",
        owner=UID, at=at + 2 * _DAY,
    )  # fmt: skip


def _western_report() -> bytes:
    return demo_office.docx(
        "Western blot — p53 / p21 after TP53 knock-out",
        [
            ("h1", "Summary"),
            ("p", "p53 is absent in both knock-out clones; p21 drops by more than 80 % (densitometry PDF)."),
            ("h1", "Samples"),
            ("bullet", "WT HEK293T, passage 14"),
            ("bullet", "KO-1 and KO-2 (gRNA g1 and g2), passage 16"),
            ("h2", "Antibodies"),
            ("table", [["Target", "Clone", "Dilution"], ["p53", "DO-1", "1:1000"], ["p21", "12D1", "1:500"],
                       ["β-actin", "AC-15", "1:5000"]]),
            ("p", "Next: repeat with MG132 to check p53 stabilisation."),
        ],
    )  # fmt: skip


def _elisa_workbook() -> bytes:
    layout: list[list[demo_office.Cell]] = [["Well", "Sample", "A450", "Blank-corrected"]]
    for n, row in enumerate("ABCDEFGH"):
        for col in (1, 2, 3):
            value = round(0.08 + ((n * 3 + col) * 37 % 101) / 50, 3)
            sample = "blank" if row == "H" else f"KO-{col} sup {n + 1}"
            layout.append([f"{row}{col}", sample, value, (f"=C{len(layout) + 1}-0.08", round(value - 0.08, 3))])
    summary: list[list[demo_office.Cell]] = [
        ["Run", "2026-03-12 ELISA, SpectraMax iD5"], ["Operator", "Demo User"], ["Wells read", len(layout) - 1],
    ]  # fmt: skip
    return demo_office.xlsx([("Plate A450", layout), ("Run info", summary)])


def _meeting_deck() -> bytes:
    return demo_office.pptx(
        [
            ("TP53 knock-out — March update", ["Demo User", "Molecular Biology Lab"], ""),
            ("Results", ["p53 absent in KO-1 and KO-2", "p21 reduced > 80 %", "ELISA: KO supernatants higher A450"],
             "Mention that KO-2 grows slower; show the densitometry PDF."),
            ("Next steps", ["MG132 rescue experiment", "Order new DO-1 lot"], "Ask Ana about confocal time."),
        ]
    )  # fmt: skip


def _passage_log(store: Store, nbid: str, culture: Node) -> None:
    log = store.add_page(nbid, "HEK293T passage log", culture.tree_id)
    for i in range(120):
        at = _T0 + i * _DAY // 2
        if i % 10 == 0:
            store.add_entry(log.tree_id, PART_HEADING, f"Week {i // 10 + 1}", owner=UID, at=at)
        else:
            confluence = 40 + (i * 7) % 55
            text = f"P{12 + i // 3}: {confluence}% confluent; split 1:{6 if confluence > 80 else 4} in DMEM + 10% FBS."
            store.add_entry(log.tree_id, PART_PLAIN_TEXT, text, owner=UID, at=at)
    myco = store.add_page(nbid, "Mycoplasma test", culture.tree_id)
    store.add_entry(myco.tree_id, PART_WIDGET, _widget_json(), owner=UID, at=_T0 + 30 * _DAY)


def _journal_notebook(store: Store, nbid: str) -> None:
    at = _T0 + 3 * _DAY
    papers = store.add_folder(nbid, "2026")
    page = store.add_page(nbid, "Doudna & Charpentier (2014) — Science", papers.tree_id)
    store.add_entry(
        page.tree_id, PART_TEXT,
        "<blockquote>The new frontier of genome engineering with CRISPR-Cas9.</blockquote>"
        "<p>Discussion points: off-target effects; delivery <em>in vivo</em>; ethics &amp; germline editing.</p>",
        owner=UID, at=at,
    )  # fmt: skip
    store.add_entry(page.tree_id, PART_PLAIN_TEXT, "Presenter: Demo User. Next: base editors.", owner=UID, at=at)


def _core_notebook(store: Store, nbid: str) -> None:
    at = _T0 + 2 * _DAY
    rules = store.add_page(nbid, "Booking rules")
    store.add_entry(
        rules.tree_id, PART_TEXT,
        f"<p>Book the confocal at least 24&nbsp;h ahead; max 4&nbsp;h per slot.</p><p>Internal ref: {CANARY}</p>",
        owner=COLLEAGUE_UID, at=at,
    )  # fmt: skip
    instruments = store.add_folder(nbid, "Instruments")
    reader = store.add_page(nbid, "SpectraMax iD5 plate reader", instruments.tree_id)
    store.add_entry(
        reader.tree_id, PART_PLAIN_TEXT, "Service protocol: lamp replaced 2026-01-02. Calibration plate in drawer 3.",
        owner=COLLEAGUE_UID, at=at,
    )  # fmt: skip
    billing = store.add_page(nbid, "Billing — restricted")
    store.add_entry(
        billing.tree_id, PART_PLAIN_TEXT, "Hourly rates per group (confidential).", owner=COLLEAGUE_UID, at=at
    )
    store.set_node_access(billing.tree_id, UID, NO_ACCESS)
