"""Web pages: the device-page panel (build, download), the download itself and the public
verification page for an uploaded dossier (issue #9)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from registry.api.dossiers import pdf_response
from registry.db import unit_of_work
from registry.errors import NotFoundError, PermissionDeniedError
from registry.identity import current_actor
from registry.services import dossiers
from registry.web import bp
from registry.web.panels import panel


@panel("dossier_panel.html", order=60)
def _device_panel(session, actor, device) -> dict | None:
    if actor.is_anonymous:
        return None
    try:
        rows = dossiers.dossiers_of(session, actor, device.code)
    except (NotFoundError, PermissionDeniedError):
        return None  # roles that may not read dossiers do not see the section at all
    return {
        "code": device.code,
        "dossiers": [{"dossier_id": r.dossier_id, "created_at": r.created_at,
                      "pdf_sha256": r.pdf_sha256, "pages": r.pages, "size_kb":
                      max(1, round(r.size_bytes / 1024))} for r in rows],
        "pending": [{"id": j.id, "status": j.status, "error": j.error.splitlines()[-1:]}
                    for j in dossiers.pending_builds(session, device)],
    }


@bp.post("/devices/<code>/dossiers")
@login_required
def dossier_build(code: str):
    with unit_of_work() as session:
        job = dossiers.request_build(session, current_actor(session), code)
    flash(f"Building the dossier (job {job.id[:8]}); it appears below in a few seconds.",
          "info")
    return redirect(url_for("web.device_detail", code=code) + "#dossiers")


@bp.get("/dossiers/<dossier_id>.pdf")
@login_required
def dossier_download(dossier_id: str):
    with unit_of_work() as session:
        row, data = dossiers.download(session, current_actor(session), dossier_id)
        code = dossiers.device_code(session, row)
    return pdf_response(data, f"dossier-{code}-{row.dossier_id[:8]}.pdf", row.pdf_sha256)


@bp.route("/dossiers/verify", methods=["GET", "POST"])
def dossier_verify():
    """Anyone holding a dossier may check it here: verification reveals nothing new."""
    result, filename, status = None, "", 200
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("Choose the dossier PDF to verify.", "error")
            status = 422
        else:
            filename = upload.filename
            with unit_of_work() as session:
                result = dossiers.verify_file(session, upload.read()).to_dict()
    return render_template("dossier_verify.html", result=result, filename=filename), status
