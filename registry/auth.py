"""Who may do what: actors, permissions, the access rules, passwords and API tokens.

Rules (architecture.md, "Access"): manufacturers see and write their own devices; reviewers and
auditors see the devices granted to their organisation; hospitals see the devices deployed at
their sites; authorities and admins read everything; anyone sees a published device. What an
actor may not see answers 404; what they see but may not change answers 403.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from registry.errors import NotAuthenticatedError, NotFoundError, PermissionDeniedError
from registry.models import AccessGrant, ApiToken, Deployment, Device, Role, User


class Permission(StrEnum):
    ALERT_MANAGE = "alert:manage"
    ARTIFACT_READ = "artifact:read"
    ARTIFACT_UPLOAD = "artifact:upload"
    AUDIT_EXPORT = "audit:export"
    AUDIT_READ = "audit:read"
    DEPLOYMENT_CREATE = "deployment:create"
    DEVICE_CREATE = "device:create"
    DEVICE_PUBLISH = "device:publish"
    DEVICE_READ = "device:read"
    DEVICE_TRANSITION = "device:transition"
    DEVICE_UPDATE = "device:update"
    DOSSIER_BUILD = "dossier:build"
    DOSSIER_READ = "dossier:read"
    ENERGY_DECLARE = "energy:declare"
    ETHICS_ANSWER = "ethics:answer"
    ETHICS_READ = "ethics:read"
    ETHICS_REVIEW = "ethics:review"
    ETHICS_SUBMIT = "ethics:submit"
    EVALUATION_SUBMIT = "evaluation:submit"
    EVIDENCE_ATTACH = "evidence:attach"
    GATE_WAIVE = "gate:waive"
    GRANT_MANAGE = "grant:manage"
    INCIDENT_REPORT = "incident:report"
    JOB_READ = "job:read"
    MODEL_VERSION_CREATE = "model_version:create"
    MONITORING_CONFIGURE = "monitoring:configure"
    MONITORING_READ = "monitoring:read"
    MONITORING_UPLOAD = "monitoring:upload"
    NATIONAL_READ = "national:read"
    ORGANISATION_MANAGE = "organisation:manage"
    PROBLEM_REPORT_HANDLE = "problem_report:handle"
    PROBLEM_REPORT_READ = "problem_report:read"
    REVIEW_ASSESS = "review:assess"
    REVIEW_READ = "review:read"
    REVIEW_SUBMIT = "review:submit"
    USE_CASE_WRITE = "use_case:write"
    USER_MANAGE = "user:manage"


class Scope(StrEnum):
    ANY = "any"  # no ownership condition beyond being able to see the target
    OWN = "own"  # the target device belongs to the actor's organisation


P = Permission
_MANUFACTURER_WRITES = {
    P.DEPLOYMENT_CREATE, P.DEVICE_PUBLISH, P.DEVICE_TRANSITION, P.DEVICE_UPDATE,
    P.ENERGY_DECLARE, P.EVIDENCE_ATTACH, P.GRANT_MANAGE, P.MODEL_VERSION_CREATE,
    P.ETHICS_ANSWER, P.ETHICS_SUBMIT,
}

RULES: dict[Role, dict[Permission, Scope]] = {
    Role.admin: {
        P.ARTIFACT_READ: Scope.ANY, P.AUDIT_EXPORT: Scope.ANY, P.AUDIT_READ: Scope.ANY,
        P.DEVICE_READ: Scope.ANY, P.JOB_READ: Scope.ANY, P.ORGANISATION_MANAGE: Scope.ANY,
        P.USER_MANAGE: Scope.ANY,
        P.ETHICS_READ: Scope.ANY,
    },
    Role.manufacturer: {
        P.ARTIFACT_READ: Scope.OWN, P.ARTIFACT_UPLOAD: Scope.OWN, P.AUDIT_READ: Scope.OWN,
        P.DEVICE_CREATE: Scope.OWN, P.DEVICE_READ: Scope.ANY, P.JOB_READ: Scope.OWN,
        P.ETHICS_READ: Scope.ANY,
        **{p: Scope.OWN for p in _MANUFACTURER_WRITES},
    },
    Role.reviewer: {
        P.ARTIFACT_READ: Scope.ANY, P.AUDIT_READ: Scope.ANY, P.DEVICE_READ: Scope.ANY,
        P.GATE_WAIVE: Scope.ANY, P.JOB_READ: Scope.OWN,
        P.ETHICS_READ: Scope.ANY, P.ETHICS_REVIEW: Scope.ANY,
    },
    Role.hospital: {P.DEVICE_READ: Scope.ANY, P.JOB_READ: Scope.OWN, P.ETHICS_READ: Scope.ANY},
    Role.auditor: {
        P.ARTIFACT_READ: Scope.ANY, P.AUDIT_EXPORT: Scope.ANY, P.AUDIT_READ: Scope.ANY,
        P.DEVICE_READ: Scope.ANY, P.JOB_READ: Scope.OWN,
        P.ETHICS_READ: Scope.ANY,
    },
    Role.authority: {P.AUDIT_READ: Scope.ANY, P.DEVICE_READ: Scope.ANY, P.JOB_READ: Scope.OWN,
                     P.ETHICS_READ: Scope.ANY},
}

# Catalogue (#10): the national view and use-case prioritisation are the authority's (the admin
# reads them); problem reports go to the device's manufacturer and to the authority.
RULES[Role.admin].update({P.NATIONAL_READ: Scope.ANY, P.PROBLEM_REPORT_READ: Scope.ANY})
RULES[Role.authority].update({
    P.NATIONAL_READ: Scope.ANY, P.PROBLEM_REPORT_HANDLE: Scope.ANY,
    P.PROBLEM_REPORT_READ: Scope.ANY, P.USE_CASE_WRITE: Scope.ANY,
})
RULES[Role.manufacturer].update({P.PROBLEM_REPORT_HANDLE: Scope.OWN,
                                 P.PROBLEM_REPORT_READ: Scope.OWN})

# Post-market monitoring (#7): the manufacturer configures and follows its deployments; the
# hospital of a deployment uploads its batches and handles its alerts and incidents (the
# monitoring service checks that the deployment is the hospital's); whoever sees a device reads
# its monitoring.
for _role, _granted in {
    Role.admin: {P.MONITORING_READ: Scope.ANY},
    Role.manufacturer: {P.ALERT_MANAGE: Scope.OWN, P.INCIDENT_REPORT: Scope.OWN,
                        P.MONITORING_CONFIGURE: Scope.OWN, P.MONITORING_READ: Scope.OWN},
    Role.reviewer: {P.MONITORING_READ: Scope.ANY},
    Role.hospital: {P.ALERT_MANAGE: Scope.ANY, P.INCIDENT_REPORT: Scope.ANY,
                    P.MONITORING_READ: Scope.ANY, P.MONITORING_UPLOAD: Scope.ANY},
    Role.auditor: {P.MONITORING_READ: Scope.ANY},
    Role.authority: {P.MONITORING_READ: Scope.ANY},
}.items():
    RULES[_role].update(_granted)

# Reviews (#5): the manufacturer submits its own devices; a reviewer assesses and signs only
# what was submitted to its organisation, never its own organisation's device (the reviews
# service checks both); auditors, the authority and the admin read submissions and opinions.
RULES[Role.admin].update({P.REVIEW_READ: Scope.ANY})
RULES[Role.manufacturer].update({P.REVIEW_READ: Scope.OWN, P.REVIEW_SUBMIT: Scope.OWN})
RULES[Role.reviewer].update({P.REVIEW_ASSESS: Scope.ANY, P.REVIEW_READ: Scope.ANY})
RULES[Role.auditor].update({P.REVIEW_READ: Scope.ANY})
RULES[Role.authority].update({P.REVIEW_READ: Scope.ANY})

# Evaluations (#4): the manufacturer uploads validation results for its own devices; whoever
# sees a device reads its evaluations.
RULES[Role.manufacturer].update({P.EVALUATION_SUBMIT: Scope.OWN})

# Dossiers (#9): the device's manufacturer, the admin and the authority build and download
# dossiers; an auditor too, but only for a device granted to its organisation (the dossiers
# service checks the grant: a published device is not enough).
for _role, _scope in ((Role.admin, Scope.ANY), (Role.authority, Scope.ANY),
                      (Role.auditor, Scope.ANY), (Role.manufacturer, Scope.OWN)):
    RULES[_role].update({P.DOSSIER_BUILD: _scope, P.DOSSIER_READ: _scope})

# A token may hold these for one deployment only ("monitoring:upload:12"): the machine at a
# hospital site that pushes batches needs nothing more. The monitoring service checks the id.
DEPLOYMENT_SCOPED = frozenset({P.MONITORING_READ, P.MONITORING_UPLOAD})


def token_grants(scopes: frozenset[str], permission: Permission) -> bool:
    """Whether token ``scopes`` hold ``permission``, whole or narrowed to deployments."""
    return permission.value in scopes or (
        permission in DEPLOYMENT_SCOPED
        and any(s.startswith(permission.value + ":") for s in scopes)
    )


def deployment_scope(actor: Actor, permission: Permission) -> set[int] | None:
    """The deployment ids a token narrowed ``permission`` to; None when it is not narrowed."""
    if actor.scopes is None or permission.value in actor.scopes:
        return None
    prefix = permission.value + ":"
    return {int(s[len(prefix):]) for s in actor.scopes
            if s.startswith(prefix) and s[len(prefix):].isdigit()}


# Roles that read every device, published or not.
SEES_ALL = {Role.admin, Role.authority}


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    email: str
    name: str
    role: Role | None
    organisation_id: int | None
    # None for a web session (all of the role's permissions); a token narrows them.
    scopes: frozenset[str] | None = None

    @property
    def is_anonymous(self) -> bool:
        # No role, no rights. The command line acts with a role but no user row (user_id None).
        return self.role is None

    @classmethod
    def from_user(cls, user: User, scopes: frozenset[str] | None = None) -> Actor:
        return cls(user.id, user.email, user.name, Role(user.role), user.organisation_id, scopes)


ANONYMOUS = Actor(None, "anonymous", "Anonymous", None, None, frozenset())
SYSTEM = Actor(None, "system", "DMD Registry", None, None)


def allows(actor: Actor, permission: Permission) -> bool:
    """Whether the actor's role (and token scopes) grant ``permission`` at all."""
    if actor.role is None or permission not in RULES[actor.role]:
        return False
    return actor.scopes is None or token_grants(actor.scopes, permission)


def require(actor: Actor, permission: Permission, device: Device | None = None) -> None:
    """Raise unless the actor may do ``permission`` (on ``device``, obtained via ``visible``).

    Raises NotAuthenticatedError for an anonymous actor, PermissionDeniedError otherwise.
    """
    if actor.is_anonymous:
        raise NotAuthenticatedError("sign in or send an API token (Authorization: Bearer ...)")
    if actor.role is None or permission not in RULES[actor.role]:
        raise PermissionDeniedError(f"role '{actor.role}' may not {permission.value}")
    if actor.scopes is not None and not token_grants(actor.scopes, permission):
        raise PermissionDeniedError(
            f"this API token lacks the scope '{permission.value}'; create a token with it"
        )
    if device is not None and RULES[actor.role][permission] is Scope.OWN:
        if device.manufacturer_id != actor.organisation_id:
            raise PermissionDeniedError(
                f"device {device.code} belongs to another organisation; only its manufacturer "
                f"may {permission.value}"
            )


def can_see(session: Session, actor: Actor, device: Device) -> bool:
    if device.is_published or actor.role in SEES_ALL:
        return True
    if actor.is_anonymous:
        return False
    if actor.role is Role.manufacturer:
        return device.manufacturer_id == actor.organisation_id
    if actor.role in (Role.reviewer, Role.auditor):
        return session.exec(
            select(AccessGrant.id).where(
                AccessGrant.device_id == device.id,
                AccessGrant.organisation_id == actor.organisation_id,
            )
        ).first() is not None
    if actor.role is Role.hospital:
        return session.exec(
            select(Deployment.id).where(
                Deployment.device_id == device.id,
                Deployment.hospital_id == actor.organisation_id,
            )
        ).first() is not None
    return False


def visible(session: Session, actor: Actor, device: Device | None, ref: object) -> Device:
    """Return the device if the actor may see it; otherwise 404, never 403 (no existence leak)."""
    if device is None or not can_see(session, actor, device):
        raise NotFoundError(f"device {ref} not found (or not visible to you)")
    return device


def visible_devices_clause(actor: Actor):
    """A SQL condition selecting the devices ``actor`` may see (for lists)."""
    from sqlalchemy import or_, true

    if actor.role in SEES_ALL:
        return true()
    published = Device.is_published.is_(True)
    if actor.is_anonymous or actor.role is None:
        return published
    if actor.role is Role.manufacturer:
        return or_(published, Device.manufacturer_id == actor.organisation_id)
    if actor.role in (Role.reviewer, Role.auditor):
        granted = select(AccessGrant.device_id).where(
            AccessGrant.organisation_id == actor.organisation_id
        )
        return or_(published, Device.id.in_(granted))
    deployed = select(Deployment.device_id).where(Deployment.hospital_id == actor.organisation_id)
    return or_(published, Device.id.in_(deployed))


# --- passwords --------------------------------------------------------------------------------

# Argon2id with the library's RFC 9106 low-memory profile defaults.
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- API tokens -------------------------------------------------------------------------------

TOKEN_PREFIX = "dmd_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(
    user: User, name: str, scopes: list[str], lifetime: timedelta
) -> tuple[str, ApiToken]:
    """Create a token row; the clear token is returned once and never stored."""
    prefix = secrets.token_hex(6)
    clear = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=prefix,
        token_hash=_digest(clear),
        scopes=sorted(scopes),
        expires_at=datetime.now(UTC) + lifetime,
    )
    return clear, row


TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def actor_for_token(session: Session, clear: str) -> Actor:
    """Resolve a bearer token to its actor, or raise NotAuthenticatedError saying why."""
    parts = clear.split("_")
    if not clear.startswith(TOKEN_PREFIX) or len(parts) < 3:
        raise NotAuthenticatedError("malformed API token; expected 'dmd_<prefix>_<secret>'")
    row = session.exec(select(ApiToken).where(ApiToken.prefix == parts[1])).first()
    if row is None or not hmac.compare_digest(row.token_hash, _digest(clear)):
        raise NotAuthenticatedError("unknown API token")
    now = datetime.now(UTC)
    if row.revoked_at is not None:
        raise NotAuthenticatedError(f"API token '{row.name}' was revoked; create a new one")
    if row.expires_at <= now:
        raise NotAuthenticatedError(f"API token '{row.name}' expired; create a new one")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise NotAuthenticatedError("the token's user is deactivated")
    # "Last used" to the minute is all an admin needs to spot a dead token; writing it on every
    # request would turn each API read into a write transaction.
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        row.last_used_at = now
        session.add(row)
    return Actor.from_user(user, frozenset(row.scopes))
