"""API routes: Issued PDF dossiers and their integrity records (issue #9)."""

from __future__ import annotations

from flask import Response, url_for
from werkzeug.datastructures import FileStorage

from registry import auth
from registry.api import bp
from registry.api.routing import api_route
from registry.auth import Permission as P
from registry.db import unit_of_work
from registry.identity import current_actor
from registry.schemas import JobOut
from registry.schemas.dossiers import DossierOut, VerificationOut
from registry.services import dossiers


@api_route(bp, "POST", "/devices/<code>/dossiers", summary="Build a dossier (a job)",
           permission=P.DOSSIER_BUILD, response=JobOut, status=202, tag="dossiers")
def build_dossier(code: str):
    with unit_of_work() as session:
        job = dossiers.request_build(session, current_actor(session), code)
        body = JobOut.model_validate(job).model_dump(mode="json")
    return body, 202, {"Location": url_for(".get_job", job_id=job.id)}


@api_route(bp, "GET", "/devices/<code>/dossiers", summary="Dossiers issued for a device",
           permission=P.DOSSIER_READ, response=list[DossierOut], tag="dossiers")
def list_dossiers(code: str):
    with unit_of_work() as session:
        rows = dossiers.dossiers_of(session, current_actor(session), code)
        return [DossierOut.model_validate(r).model_dump(mode="json") for r in rows]


@api_route(bp, "GET", "/dossiers/<dossier_id>", summary="One issued dossier's integrity record",
           permission=P.DOSSIER_READ, response=DossierOut, tag="dossiers")
def get_dossier(dossier_id: str):
    with unit_of_work() as session:
        row = dossiers.get_dossier(session, current_actor(session), dossier_id)
        return DossierOut.model_validate(row).model_dump(mode="json")


@api_route(bp, "GET", "/dossiers/<dossier_id>/pdf", summary="Download a dossier (audited)",
           permission=P.DOSSIER_READ, tag="dossiers")
def download_dossier(dossier_id: str):
    with unit_of_work() as session:
        row, data = dossiers.download(session, current_actor(session), dossier_id)
        code = dossiers.device_code(session, row)
    return pdf_response(data, f"dossier-{code}-{row.dossier_id[:8]}.pdf", row.pdf_sha256)


@api_route(bp, "POST", "/dossiers/verify",
           summary="Verify an uploaded dossier (multipart field 'file'): seal, manifest, hash, "
                   "issue and audit chain (the web page /dossiers/verify is open to anyone)",
           permission=P.DOSSIER_READ, response=VerificationOut, tag="dossiers", multipart=True)
def verify_dossier(upload: FileStorage):
    with unit_of_work() as session:
        auth.require(current_actor(session), P.DOSSIER_READ)
    with unit_of_work() as session:
        result = dossiers.verify_file(session, upload.read())
    return result.to_dict()


def pdf_response(data: bytes, filename: str, sha256: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["ETag"] = f'"{sha256}"'
    # The hash the registry recorded, so a client can check the bytes it received.
    response.headers["X-Dossier-SHA256"] = sha256
    return response
