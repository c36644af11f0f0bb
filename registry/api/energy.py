"""API routes: energy and carbon footprints (issue #8)."""

from __future__ import annotations

from werkzeug.datastructures import FileStorage

from registry.api import bp
from registry.api.routing import api_route
from registry.api.views import many, out
from registry.auth import Permission as P
from registry.db import unit_of_work
from registry.identity import current_actor
from registry.schemas.energy import (
    DeviceFootprintOut,
    EnergyRecordOut,
    FootprintImportIn,
    FootprintIn,
    OrganisationFootprintOut,
)
from registry.services import energy


@api_route(bp, "GET", "/devices/<code>/energy", summary="A device's footprint: phases, model "
           "versions, sites and inference at the deployed volume", permission=P.DEVICE_READ,
           response=DeviceFootprintOut, tag="energy")
def device_footprint(code: str):
    with unit_of_work() as session:
        return energy.device_footprint(session, current_actor(session), code).model_dump(
            mode="json")


@api_route(bp, "GET", "/devices/<code>/energy/records", summary="Every energy record of a device",
           permission=P.DEVICE_READ, response=list[EnergyRecordOut], tag="energy")
def device_energy_records(code: str):
    with unit_of_work() as session:
        return many(EnergyRecordOut, energy.device_records(session, current_actor(session), code))


@api_route(bp, "POST", "/devices/<code>/versions/<int:version_id>/energy",
           summary="Declare a training or inference footprint of a model version",
           permission=P.ENERGY_DECLARE, body=FootprintIn, response=EnergyRecordOut, status=201,
           tag="energy")
def declare_footprint(code: str, version_id: int, data: FootprintIn):
    with unit_of_work() as session:
        row = energy.declare_footprint(session, current_actor(session), code, version_id, data)
        return out(EnergyRecordOut, row), 201


@api_route(bp, "POST", "/devices/<code>/versions/<int:version_id>/energy/import",
           summary="Import a CodeCarbon emissions.csv (multipart: file, phase, predictions)",
           permission=P.ENERGY_DECLARE, response=list[EnergyRecordOut], status=201, tag="energy",
           form=FootprintImportIn)
def import_footprint(code: str, version_id: int, data: FootprintImportIn, upload: FileStorage):
    with unit_of_work() as session:
        rows = energy.import_codecarbon(session, current_actor(session), code, version_id,
                                        upload.stream, upload.filename or "", data)
        return many(EnergyRecordOut, rows), 201


@api_route(bp, "GET", "/organisations/<int:organisation_id>/energy",
           summary="Footprint totals of an organisation, per device and phase",
           permission=P.DEVICE_READ, response=OrganisationFootprintOut, tag="energy")
def organisation_footprint(organisation_id: int):
    with unit_of_work() as session:
        return energy.organisation_footprint(session, current_actor(session),
                                             organisation_id).model_dump(mode="json")
