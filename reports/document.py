"""From a snapshot to HTML (Jinja, templates/dossier/) and from HTML to PDF (WeasyPrint)."""

from __future__ import annotations

import base64
import logging
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from reports import charts

# WeasyPrint logs every layout step at INFO; a dossier build should not flood the registry's log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "dossier"
CHART_KINDS = {
    "roc": charts.roc,
    "calibration": charts.calibration,
    "class_calibration": charts.class_calibration,
    "subgroups": charts.subgroups,
    "decision_curve": charts.decision_curve,
    "series": charts.series,
}


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    env.filters["ci"] = _ci
    env.filters["day"] = lambda v: (v or "")[:10]
    env.filters["when"] = lambda v: (v or "")[:16].replace("T", " ") + (" UTC" if v else "")
    return env


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _ci(interval: dict[str, Any] | None, digits: int = 3) -> str:
    if not interval or interval.get("lower") is None:
        return "no interval"
    return f"{interval['lower']:.{digits}f} to {interval['upper']:.{digits}f}"


def chart_specs(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """Every chart block of every section ({"type": "chart", "id", "kind", "args"}), in order."""
    return [block for section in snapshot["sections"] for block in section["blocks"]
            if block["type"] == "chart"]


def draw_charts(snapshot: dict[str, Any]) -> dict[str, str]:
    return {spec["id"]: CHART_KINDS[spec["kind"]](**spec["args"])
            for spec in chart_specs(snapshot)}


def render_html(snapshot: dict[str, Any], svgs: dict[str, str]) -> str:
    template = environment().get_template("dossier.html")
    return template.render(
        snapshot=snapshot,
        sections=snapshot["sections"],
        charts={name: _image(svg) for name, svg in svgs.items()},
        css=Markup((TEMPLATES / "dossier.css").read_text()),
    )


def _image(svg: str) -> Markup:
    # As an image, not inline: each chart keeps its own SVG id space (matplotlib reuses ids such
    # as "legend_1" and glyph names in every figure); WeasyPrint still draws it as vectors.
    data = base64.b64encode(svg.encode()).decode()
    return Markup(f'<img class="chart" alt="" src="data:image/svg+xml;base64,{data}">')


def render_pdf(html: str, attachments: dict[str, bytes] | None = None,
               identifier: str = "") -> bytes:
    """PDF/A-3b (the variant that allows arbitrary embedded files such as the manifest)."""
    from weasyprint import HTML, Attachment

    files = [Attachment(string=content, name=name, relationship="Data")
             for name, content in (attachments or {}).items()]
    with warnings.catch_warnings():
        # WeasyPrint 70 leaves its sRGB profile file open with PDF/A; harmless, and not ours.
        warnings.simplefilter("ignore", ResourceWarning)
        return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
            attachments=files,
            pdf_variant="pdf/a-3b",
            pdf_identifier=identifier.encode() or None,
            custom_metadata=True,
        )
