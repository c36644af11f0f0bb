"""API views: parse, call one service function, serialise."""

from __future__ import annotations

from flask import Response, current_app, send_file, url_for
from pydantic import BaseModel
from werkzeug.datastructures import FileStorage

from registry import audit, auth, jobs, lifecycle
from registry.api import bp
from registry.api.openapi import openapi_document
from registry.api.routing import api_route
from registry.auth import Permission as P
from registry.db import unit_of_work
from registry.identity import current_actor
from registry.schemas import (
    ArtifactOut,
    AuditEventOut,
    AuditReportOut,
    ChangeControlPlanIn,
    ChangeControlPlanOut,
    DeploymentIn,
    DeploymentOut,
    DeviceFilter,
    DeviceIn,
    DeviceOut,
    DeviceUpdate,
    EvidenceIn,
    EvidenceOut,
    GateStatusOut,
    GrantIn,
    GrantOut,
    JobIn,
    JobOut,
    KpiIn,
    KpiOut,
    ModelCardUpdate,
    ModelVersionIn,
    ModelVersionOut,
    OrganisationIn,
    OrganisationOut,
    PlannedModificationOut,
    PublishIn,
    SubgroupIn,
    SubgroupOut,
    TokenOut,
    TransitionIn,
    TransitionOut,
    UserIn,
    UserOut,
    WaiverIn,
)
from registry.services import artifacts, devices, organisations


def out(model: type[BaseModel], obj) -> dict:
    return model.model_validate(obj).model_dump(mode="json")


def many(model: type[BaseModel], objs) -> list[dict]:
    return [out(model, o) for o in objs]


def settings():
    return current_app.extensions["dmd"]["settings"]


# --- meta -------------------------------------------------------------------------------------


@api_route(bp, "GET", "/openapi.json", summary="This API's OpenAPI 3.1 document",
           permission=None, public=True, tag="meta")
def openapi():
    return openapi_document()


@api_route(bp, "GET", "/me", summary="The caller", permission=None, response=UserOut, tag="meta")
def me():
    with unit_of_work() as session:
        actor = current_actor(session)
        if actor.is_anonymous:
            raise auth.NotAuthenticatedError("sign in or send an API token")
        from registry.models import User

        return out(UserOut, session.get(User, actor.user_id))


# --- organisations, users, tokens -------------------------------------------------------------


@api_route(bp, "GET", "/organisations", summary="List organisations", permission=P.DEVICE_READ,
           response=list[OrganisationOut], tag="organisations")
def list_organisations():
    with unit_of_work() as session:
        return many(OrganisationOut,
                    organisations.list_organisations(session, current_actor(session)))


@api_route(bp, "POST", "/organisations", summary="Create an organisation",
           permission=P.ORGANISATION_MANAGE, body=OrganisationIn, response=OrganisationOut,
           status=201, tag="organisations")
def create_organisation(data: OrganisationIn):
    with unit_of_work() as session:
        org = organisations.create_organisation(session, current_actor(session), data)
        return out(OrganisationOut, org), 201


@api_route(bp, "GET", "/organisations/<int:organisation_id>", summary="One organisation",
           permission=P.DEVICE_READ, response=OrganisationOut, tag="organisations")
def get_organisation(organisation_id: int):
    with unit_of_work() as session:
        return out(OrganisationOut, organisations.get_organisation(
            session, current_actor(session), organisation_id))


@api_route(bp, "GET", "/users", summary="List users", permission=P.USER_MANAGE,
           response=list[UserOut], tag="organisations")
def list_users():
    with unit_of_work() as session:
        return many(UserOut, organisations.list_users(session, current_actor(session)))


@api_route(bp, "POST", "/users", summary="Create a user", permission=P.USER_MANAGE, body=UserIn,
           response=UserOut, status=201, tag="organisations")
def create_user(data: UserIn):
    with unit_of_work() as session:
        return out(UserOut, organisations.create_user(session, current_actor(session), data)), 201


@api_route(bp, "GET", "/tokens", summary="Your API tokens", permission=None,
           response=list[TokenOut], tag="tokens")
def list_tokens():
    with unit_of_work() as session:
        actor = current_actor(session)
        auth.require(actor, P.JOB_READ)  # any signed-in role
        return many(TokenOut, organisations.list_tokens(session, actor))


@api_route(bp, "DELETE", "/tokens/<int:token_id>", summary="Revoke one of your tokens",
           permission=None, response=TokenOut, tag="tokens")
def revoke_token(token_id: int):
    with unit_of_work() as session:
        actor = current_actor(session)
        auth.require(actor, P.JOB_READ)
        return out(TokenOut, organisations.revoke_token(session, actor, token_id))


# --- devices ----------------------------------------------------------------------------------


@api_route(bp, "GET", "/devices", summary="Devices you can see, filtered", public=True,
           permission=P.DEVICE_READ, query=DeviceFilter, response=list[DeviceOut], tag="devices")
def list_devices(data: DeviceFilter):
    with unit_of_work() as session:
        page, total = devices.list_devices(session, current_actor(session), data)
        return Response(
            _json(many(DeviceOut, page)), mimetype="application/json",
            headers={"X-Total-Count": str(total)},
        )


def _json(value) -> str:
    import json

    return json.dumps(value)


@api_route(bp, "POST", "/devices", summary="Register a device", permission=P.DEVICE_CREATE,
           body=DeviceIn, response=DeviceOut, status=201, tag="devices")
def create_device(data: DeviceIn):
    with unit_of_work() as session:
        device = devices.create_device(session, current_actor(session), data)
        body = out(DeviceOut, device)
    return body, 201, {"Location": url_for(".get_device", code=device.code)}


@api_route(bp, "GET", "/devices/<code>", summary="One device", public=True,
           permission=P.DEVICE_READ, response=DeviceOut, tag="devices")
def get_device(code: str):
    with unit_of_work() as session:
        return out(DeviceOut, devices.get_device(session, current_actor(session), code))


@api_route(bp, "PATCH", "/devices/<code>", summary="Update a device's description",
           permission=P.DEVICE_UPDATE, body=DeviceUpdate, response=DeviceOut, tag="devices")
def update_device(code: str, data: DeviceUpdate):
    with unit_of_work() as session:
        return out(DeviceOut, devices.update_device(session, current_actor(session), code, data))


@api_route(bp, "PUT", "/devices/<code>/published", summary="Publish or unpublish a device",
           permission=P.DEVICE_PUBLISH, body=PublishIn, response=DeviceOut, tag="devices")
def publish_device(code: str, data: PublishIn):
    with unit_of_work() as session:
        return out(DeviceOut, devices.set_published(session, current_actor(session), code,
                                                    data.published))


@api_route(bp, "GET", "/devices/<code>/kpis", summary="Declared KPIs", public=True,
           permission=P.DEVICE_READ, response=list[KpiOut], tag="devices")
def list_kpis(code: str):
    with unit_of_work() as session:
        device = devices.get_device(session, current_actor(session), code)
        return many(KpiOut, devices.kpis_of(session, device))


@api_route(bp, "POST", "/devices/<code>/kpis", summary="Declare a KPI", permission=P.DEVICE_UPDATE,
           body=KpiIn, response=KpiOut, status=201, tag="devices")
def add_kpi(code: str, data: KpiIn):
    with unit_of_work() as session:
        return out(KpiOut, devices.add_kpi(session, current_actor(session), code, data)), 201


@api_route(bp, "DELETE", "/devices/<code>/kpis/<int:kpi_id>", summary="Remove a KPI",
           permission=P.DEVICE_UPDATE, tag="devices", status=204)
def remove_kpi(code: str, kpi_id: int):
    with unit_of_work() as session:
        devices.remove_kpi(session, current_actor(session), code, kpi_id)
    return "", 204


@api_route(bp, "GET", "/devices/<code>/subgroups", summary="Declared subgroup variables",
           public=True, permission=P.DEVICE_READ, response=list[SubgroupOut], tag="devices")
def list_subgroups(code: str):
    with unit_of_work() as session:
        device = devices.get_device(session, current_actor(session), code)
        return many(SubgroupOut, devices.subgroups_of(session, device))


@api_route(bp, "PUT", "/devices/<code>/subgroups", summary="Declare a subgroup variable",
           permission=P.DEVICE_UPDATE, body=SubgroupIn, response=SubgroupOut, tag="devices")
def set_subgroup(code: str, data: SubgroupIn):
    with unit_of_work() as session:
        return out(SubgroupOut, devices.set_subgroup(session, current_actor(session), code, data))


@api_route(bp, "POST", "/devices/<code>/grants", summary="Let a reviewer or auditor see the device",
           permission=P.GRANT_MANAGE, body=GrantIn, response=GrantOut, status=201, tag="devices")
def grant_access(code: str, data: GrantIn):
    with unit_of_work() as session:
        return out(GrantOut, devices.grant_access(session, current_actor(session), code,
                                                  data)), 201


# --- versions, plan, deployments --------------------------------------------------------------


@api_route(bp, "GET", "/devices/<code>/versions", summary="Model versions", public=True,
           permission=P.DEVICE_READ, response=list[ModelVersionOut], tag="versions")
def list_versions(code: str):
    with unit_of_work() as session:
        device = devices.get_device(session, current_actor(session), code)
        return many(ModelVersionOut, devices.versions_of(session, device))


@api_route(bp, "POST", "/devices/<code>/versions", summary="Register a model version",
           permission=P.MODEL_VERSION_CREATE, body=ModelVersionIn, response=ModelVersionOut,
           status=201, tag="versions")
def create_version(code: str, data: ModelVersionIn):
    with unit_of_work() as session:
        version = devices.create_model_version(session, current_actor(session), code, data)
        return out(ModelVersionOut, version), 201


@api_route(bp, "PUT", "/devices/<code>/versions/<int:version_id>/model-card",
           summary="Edit a model card (until the version is evaluated)",
           permission=P.MODEL_VERSION_CREATE, body=ModelCardUpdate, response=ModelVersionOut,
           tag="versions")
def update_model_card(code: str, version_id: int, data: ModelCardUpdate):
    with unit_of_work() as session:
        return out(ModelVersionOut, devices.update_model_card(
            session, current_actor(session), code, version_id, data))


@api_route(bp, "GET", "/devices/<code>/change-control-plan", summary="The device's PCCP",
           public=True, permission=P.DEVICE_READ, response=ChangeControlPlanOut, tag="versions")
def get_change_control_plan(code: str):
    with unit_of_work() as session:
        device = devices.get_device(session, current_actor(session), code)
        plan, mods = devices.change_control_plan_of(session, device)
        if plan is None:
            raise devices.NotFoundError(f"device {code} has no change control plan")
        return _plan_out(plan, mods)


def _plan_out(plan, mods) -> dict:
    body = ChangeControlPlanOut.model_validate(plan)
    body.modifications = [PlannedModificationOut.model_validate(m) for m in mods]
    return body.model_dump(mode="json")


@api_route(bp, "PUT", "/devices/<code>/change-control-plan", summary="Record the device's PCCP",
           permission=P.DEVICE_UPDATE, body=ChangeControlPlanIn, response=ChangeControlPlanOut,
           tag="versions")
def set_change_control_plan(code: str, data: ChangeControlPlanIn):
    with unit_of_work() as session:
        actor = current_actor(session)
        plan = devices.set_change_control_plan(session, actor, code, data)
        device = devices.get_device(session, actor, code)
        _, mods = devices.change_control_plan_of(session, device)
        return _plan_out(plan, mods)


@api_route(bp, "GET", "/devices/<code>/deployments", summary="Deployments at hospital sites",
           public=True, permission=P.DEVICE_READ, response=list[DeploymentOut], tag="versions")
def list_deployments(code: str):
    with unit_of_work() as session:
        device = devices.get_device(session, current_actor(session), code)
        return many(DeploymentOut, devices.deployments_of(session, device))


@api_route(bp, "POST", "/devices/<code>/deployments", summary="Record a deployment",
           permission=P.DEPLOYMENT_CREATE, body=DeploymentIn, response=DeploymentOut, status=201,
           tag="versions")
def create_deployment(code: str, data: DeploymentIn):
    with unit_of_work() as session:
        return out(DeploymentOut, devices.create_deployment(
            session, current_actor(session), code, data)), 201


# --- lifecycle --------------------------------------------------------------------------------


@api_route(bp, "GET", "/devices/<code>/gate", summary="Unmet requirements to leave the stage",
           public=True, permission=P.DEVICE_READ, response=GateStatusOut, tag="lifecycle")
def gate_status(code: str):
    with unit_of_work() as session:
        actor = current_actor(session)
        device = devices.get_device(session, actor, code)
        unmet = devices.gate_status(session, actor, code)
        nxt = lifecycle.next_stage(device.stage)
        return GateStatusOut(stage=device.stage, next_stage=nxt,
                             unmet=[u.to_dict() for u in unmet],
                             may_advance=nxt is not None and not unmet).model_dump(mode="json")


@api_route(bp, "POST", "/devices/<code>/transitions",
           summary="Move the device to another stage (409 with the unmet list when gated)",
           permission=P.DEVICE_TRANSITION, body=TransitionIn, response=DeviceOut, tag="lifecycle")
def transition(code: str, data: TransitionIn):
    with unit_of_work() as session:
        return out(DeviceOut, devices.advance_stage(session, current_actor(session), code, data))


@api_route(bp, "GET", "/devices/<code>/transitions", summary="The device's lifecycle history",
           public=True, permission=P.DEVICE_READ, response=list[TransitionOut], tag="lifecycle")
def list_transitions(code: str):
    with unit_of_work() as session:
        device = devices.get_device(session, current_actor(session), code)
        return many(TransitionOut, devices.transitions_of(session, device))


@api_route(bp, "GET", "/devices/<code>/evidence", summary="Evidence attached to gate items",
           permission=P.DEVICE_READ, response=list[EvidenceOut], tag="lifecycle")
def list_evidence(code: str):
    with unit_of_work() as session:
        actor = current_actor(session)
        auth.require(actor, P.DEVICE_READ)
        device = devices.get_device(session, actor, code)
        return many(EvidenceOut, devices.evidence_of(session, device))


@api_route(bp, "POST", "/devices/<code>/evidence", summary="Attach evidence to a gate item",
           permission=P.EVIDENCE_ATTACH, body=EvidenceIn, response=EvidenceOut, status=201,
           tag="lifecycle")
def attach_evidence(code: str, data: EvidenceIn):
    with unit_of_work() as session:
        return out(EvidenceOut, devices.attach_evidence(
            session, current_actor(session), code, data)), 201


@api_route(bp, "POST", "/devices/<code>/waivers", summary="Waive a gate item (reviewers)",
           permission=P.GATE_WAIVE, body=WaiverIn, response=EvidenceOut, status=201,
           tag="lifecycle")
def waive(code: str, data: WaiverIn):
    with unit_of_work() as session:
        return out(EvidenceOut, devices.waive_gate_item(
            session, current_actor(session), code, data)), 201


# --- artifacts, audit, jobs -------------------------------------------------------------------


@api_route(bp, "POST", "/artifacts", summary="Upload a file (multipart field 'file')",
           permission=P.ARTIFACT_UPLOAD, response=ArtifactOut, status=201, tag="artifacts",
           multipart=True)
def upload_artifact(upload: FileStorage):
    with unit_of_work() as session:
        artifact = artifacts.upload_artifact(session, current_actor(session), upload.stream,
                                             upload.filename or "upload", upload.mimetype)
        return out(ArtifactOut, artifact), 201


@api_route(bp, "GET", "/artifacts/<int:artifact_id>", summary="Download an artifact",
           permission=P.ARTIFACT_READ, tag="artifacts")
def download_artifact(artifact_id: int):
    with unit_of_work() as session:
        artifact = artifacts.get_artifact(session, current_actor(session), artifact_id)
    return send_file(artifacts.open_artifact(artifact), mimetype=artifact.media_type,
                     as_attachment=True, download_name=artifact.filename,
                     etag=artifact.sha256)


@api_route(bp, "GET", "/devices/<code>/audit", summary="Audit events of a device",
           permission=P.AUDIT_READ, response=list[AuditEventOut], tag="audit")
def device_audit(code: str):
    with unit_of_work() as session:
        return many(AuditEventOut, devices.list_device_audit(session, current_actor(session), code))


@api_route(bp, "GET", "/audit/verify", summary="Verify the whole audit chain now",
           permission=P.AUDIT_EXPORT, response=AuditReportOut, tag="audit")
def verify_audit():
    with unit_of_work() as session:
        auth.require(current_actor(session), P.AUDIT_EXPORT)
        report = audit.verify(session)
        return AuditReportOut(ok=report.ok, events=report.events, checkpoints=report.checkpoints,
                              head_hash=report.head_hash,
                              problems=report.problems).model_dump()


@api_route(bp, "GET", "/audit/export", summary="The chain, checkpoints and public key",
           permission=P.AUDIT_EXPORT, tag="audit")
def export_audit():
    with unit_of_work() as session:
        auth.require(current_actor(session), P.AUDIT_EXPORT)
        return audit.export(session)


@api_route(bp, "POST", "/jobs", summary="Submit a job", permission=P.AUDIT_EXPORT, body=JobIn,
           response=JobOut, status=202, tag="jobs")
def submit_job(data: JobIn):
    with unit_of_work() as session:
        actor = current_actor(session)
        auth.require(actor, P.AUDIT_EXPORT)  # the only job exposed so far is audit.verify
        job = jobs.enqueue(session, actor, data.name, data.arguments)
        body = out(JobOut, job)
    return body, 202, {"Location": url_for(".get_job", job_id=job.id)}


@api_route(bp, "GET", "/jobs/<job_id>", summary="A job's status, result or error",
           permission=P.JOB_READ, response=JobOut, tag="jobs")
def get_job(job_id: str):
    with unit_of_work() as session:
        return out(JobOut, jobs.get_job(session, current_actor(session), job_id))


@api_route(bp, "POST", "/jobs/<job_id>/retry", summary="Queue a failed job again",
           permission=P.JOB_READ, response=JobOut, status=202, tag="jobs")
def retry_job(job_id: str):
    with unit_of_work() as session:
        job = jobs.retry(session, current_actor(session), job_id)
        body = out(JobOut, job)
    return body, 202, {"Location": url_for(".get_job", job_id=job_id)}
