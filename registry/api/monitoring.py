"""API routes: post-market monitoring of deployments, alerts, incidents, the inbox (#7)."""

from __future__ import annotations

from flask import url_for
from werkzeug.datastructures import FileStorage

from registry.api import bp
from registry.api.routing import api_route
from registry.api.views import many, out
from registry.auth import Permission as P
from registry.db import unit_of_work
from registry.identity import current_actor
from registry.schemas.monitoring import (
    AlertActionIn,
    AlertFilter,
    AlertOut,
    BatchDetailOut,
    BatchIn,
    BatchOut,
    DeploymentMonitoringOut,
    IncidentIn,
    IncidentOut,
    IncidentUpdate,
    MonitoringConfigIn,
    MonitoringConfigOut,
    NotificationOut,
    PostmarketStatusOut,
)
from registry.services import alerts, devices, incidents, notifications
from registry.services import monitoring as service

TAG = "monitoring"


@api_route(bp, "GET", "/monitoring/deployments", summary="Deployments you follow, with their "
           "monitoring state", permission=P.MONITORING_READ,
           response=list[DeploymentMonitoringOut], tag=TAG)
def monitoring_overview():
    with unit_of_work() as session:
        # Through the model: Flask would write the datetimes as HTTP dates, not ISO 8601.
        return many(DeploymentMonitoringOut, service.deployments_overview(
            session, current_actor(session)))


@api_route(bp, "GET", "/deployments/<int:deployment_id>/monitoring",
           summary="A deployment's monitoring configuration", permission=P.MONITORING_READ,
           response=MonitoringConfigOut, tag=TAG)
def get_monitoring_config(deployment_id: int):
    with unit_of_work() as session:
        return out(MonitoringConfigOut,
                   service.get_config(session, current_actor(session), deployment_id))


@api_route(bp, "PUT", "/deployments/<int:deployment_id>/monitoring",
           summary="Configure how a deployment is monitored (schema, reference, rules)",
           permission=P.MONITORING_CONFIGURE, body=MonitoringConfigIn,
           response=MonitoringConfigOut, tag=TAG)
def configure_monitoring(deployment_id: int, data: MonitoringConfigIn):
    with unit_of_work() as session:
        return out(MonitoringConfigOut, service.configure_monitoring(
            session, current_actor(session), deployment_id, data))


@api_route(bp, "GET", "/deployments/<int:deployment_id>/batches",
           summary="A deployment's batches in time order", permission=P.MONITORING_READ,
           response=list[BatchOut], tag=TAG)
def list_batches(deployment_id: int):
    with unit_of_work() as session:
        return many(BatchOut, service.list_batches(session, current_actor(session),
                                                   deployment_id))


@api_route(bp, "POST", "/deployments/<int:deployment_id>/batches",
           summary="Upload a batch (multipart 'file': CSV or Parquet; optional 'period_start', "
           "'period_end'); it is validated, stored and analysed as a job",
           permission=P.MONITORING_UPLOAD, response=BatchOut, status=202, tag=TAG,
           form=BatchIn)
def upload_batch(deployment_id: int, data: BatchIn, upload: FileStorage):
    with unit_of_work() as session:
        batch = service.upload_batch(session, current_actor(session), deployment_id,
                                     upload.stream, upload.filename or "batch.csv", data)
        body = out(BatchOut, batch)
    return body, 202, {"Location": url_for(".get_batch", batch_id=body["id"])}


@api_route(bp, "GET", "/batches/<int:batch_id>", summary="A batch with its analysis",
           permission=P.MONITORING_READ, response=BatchDetailOut, tag=TAG)
def get_batch(batch_id: int):
    with unit_of_work() as session:
        return out(BatchDetailOut, service.get_batch(session, current_actor(session), batch_id))


@api_route(bp, "POST", "/batches/<int:batch_id>/labels",
           summary="Upload the labels of a batch (multipart 'file' with the record id column "
           "and 'y_true'); measured performance replaces the estimate",
           permission=P.MONITORING_UPLOAD, response=BatchOut, status=202, tag=TAG,
           multipart=True)
def upload_labels(batch_id: int, upload: FileStorage):
    with unit_of_work() as session:
        batch = service.upload_labels(session, current_actor(session), batch_id, upload.stream,
                                      upload.filename or "labels.csv")
        return out(BatchOut, batch), 202


@api_route(bp, "GET", "/alerts", summary="Alerts on the deployments you follow",
           permission=P.MONITORING_READ, query=AlertFilter, response=list[AlertOut], tag=TAG)
def list_alerts(data: AlertFilter):
    with unit_of_work() as session:
        return many(AlertOut, alerts.list_alerts(session, current_actor(session),
                                                 status=data.status))


@api_route(bp, "GET", "/deployments/<int:deployment_id>/alerts",
           summary="A deployment's alerts", permission=P.MONITORING_READ, query=AlertFilter,
           response=list[AlertOut], tag=TAG)
def list_deployment_alerts(deployment_id: int, data: AlertFilter):
    with unit_of_work() as session:
        return many(AlertOut, alerts.list_alerts(session, current_actor(session),
                                                 deployment_id=deployment_id,
                                                 status=data.status))


@api_route(bp, "POST", "/alerts/<int:alert_id>/acknowledge",
           summary="Acknowledge an open alert, with a comment", permission=P.ALERT_MANAGE,
           body=AlertActionIn, response=AlertOut, tag=TAG)
def acknowledge_alert(alert_id: int, data: AlertActionIn):
    with unit_of_work() as session:
        return out(AlertOut, alerts.acknowledge_alert(session, current_actor(session), alert_id,
                                                      data.comment))


@api_route(bp, "POST", "/alerts/<int:alert_id>/resolve",
           summary="Resolve an alert, saying what was done", permission=P.ALERT_MANAGE,
           body=AlertActionIn, response=AlertOut, tag=TAG)
def resolve_alert(alert_id: int, data: AlertActionIn):
    with unit_of_work() as session:
        return out(AlertOut, alerts.resolve_alert(session, current_actor(session), alert_id,
                                                  data.comment))


@api_route(bp, "GET", "/devices/<code>/incidents", summary="A device's incidents, with the "
           "reporting countdown", permission=P.MONITORING_READ, response=list[IncidentOut],
           tag=TAG)
def list_incidents(code: str):
    with unit_of_work() as session:
        actor = current_actor(session)
        device = devices.get_device(session, actor, code)
        return [out(IncidentOut, incidents.incident_view(i))
                for i in incidents.list_incidents(session, actor, device)]


@api_route(bp, "POST", "/devices/<code>/incidents", summary="Report an incident (a serious one "
           "gets its MDR / AI Act reporting deadline)", permission=P.INCIDENT_REPORT,
           body=IncidentIn, response=IncidentOut, status=201, tag=TAG)
def report_incident(code: str, data: IncidentIn):
    with unit_of_work() as session:
        incident = incidents.report_incident(session, current_actor(session), code, data)
        body = out(IncidentOut, incidents.incident_view(incident))
    return body, 201, {"Location": url_for(".get_incident", incident_id=body["id"])}


@api_route(bp, "GET", "/incidents/<int:incident_id>", summary="One incident",
           permission=P.MONITORING_READ, response=IncidentOut, tag=TAG)
def get_incident(incident_id: int):
    with unit_of_work() as session:
        return out(IncidentOut, incidents.incident_view(
            incidents.get_incident(session, current_actor(session), incident_id)))


@api_route(bp, "PATCH", "/incidents/<int:incident_id>", summary="Mark an incident reported "
           "or closed, with a comment", permission=P.INCIDENT_REPORT, body=IncidentUpdate,
           response=IncidentOut, tag=TAG)
def update_incident(incident_id: int, data: IncidentUpdate):
    with unit_of_work() as session:
        return out(IncidentOut, incidents.incident_view(incidents.update_incident(
            session, current_actor(session), incident_id, data)))


@api_route(bp, "GET", "/devices/<code>/postmarket", summary="A device's post-market status "
           "(ok, watch, action needed) and periodic report schedule",
           permission=P.MONITORING_READ, response=PostmarketStatusOut, tag=TAG)
def postmarket_status(code: str):
    with unit_of_work() as session:
        return service.get_status(session, current_actor(session), code)


@api_route(bp, "GET", "/notifications", summary="Your organisation's inbox, newest first",
           permission=None, response=list[NotificationOut], tag=TAG)
def list_notifications():
    with unit_of_work() as session:
        return many(NotificationOut, notifications.list_notifications(
            session, current_actor(session)))


@api_route(bp, "POST", "/notifications/<int:notification_id>/read",
           summary="Mark a message of your inbox read", permission=None,
           response=NotificationOut, tag=TAG)
def read_notification(notification_id: int):
    with unit_of_work() as session:
        return out(NotificationOut, notifications.mark_read(session, current_actor(session),
                                                            notification_id))
