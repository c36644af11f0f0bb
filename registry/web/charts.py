"""Plotly charts in server-rendered pages, without inline scripts (the CSP forbids them).

``chart(fig, label=...)`` embeds the figure as JSON next to an empty container; ``static/charts.js``
draws every such figure with the Plotly bundle that ships inside the ``plotly`` package, served at
``/vendor/plotly.min.js`` (no CDN: registries run on closed hospital networks). Pages without a
chart never download the bundle.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import plotly
from flask import send_file
from markupsafe import Markup, escape

from registry.web import bp

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@bp.get("/vendor/plotly.min.js")
def plotly_bundle():
    return send_file(PLOTLY_JS, mimetype="text/javascript", max_age=86400)


def chart(fig, *, label: str, height: int = 360) -> Markup:
    """HTML for one figure; ``label`` is what a screen reader announces."""
    fig.update_layout(height=height, margin={"l": 60, "r": 20, "t": 40, "b": 50},
                      template="plotly_white")
    figure_id = f"chart-{uuid.uuid4().hex[:12]}"
    # "</" inside a <script> element would end it early; JSON allows the escaped form.
    payload = fig.to_json().replace("</", "<\\/")
    return Markup(
        f'<figure class="chart" role="img" aria-label="{escape(label)}">'
        f'<div class="plotly-chart" data-figure="{figure_id}" style="min-height:{height}px"></div>'
        f'<script type="application/json" id="{figure_id}">{payload}</script></figure>'
    )
