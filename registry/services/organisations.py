"""Organisations, users and API tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from registry import audit, auth
from registry.auth import Actor, Permission
from registry.errors import ConflictError, InvalidInputError, NotFoundError
from registry.models import ROLE_ORGANISATION_KINDS, ApiToken, Organisation, User
from registry.schemas import OrganisationIn, TokenIn, UserIn
from registry.services.common import snapshot


def create_organisation(session: Session, actor: Actor, data: OrganisationIn) -> Organisation:
    """Create an organisation. Raises ConflictError if the name is taken."""
    auth.require(actor, Permission.ORGANISATION_MANAGE)
    if session.exec(select(Organisation).where(Organisation.name == data.name)).first():
        raise ConflictError(f"an organisation named '{data.name}' already exists")
    org = Organisation(**data.model_dump())
    session.add(org)
    audit.record(session, actor, "organisation.create", org, {"after": snapshot(org)})
    return org


def list_organisations(session: Session, actor: Actor) -> list[Organisation]:
    """Organisations are public knowledge inside the registry (names, kinds, places)."""
    auth.require(actor, Permission.DEVICE_READ)
    return list(session.exec(select(Organisation).order_by(Organisation.name)).all())


def organisation_names(session: Session, actor: Actor,
                       ids: Iterable[int | None] | None = None) -> dict[int, str]:
    """Names by id, of ``ids`` only when given; two columns, not whole rows."""
    auth.require(actor, Permission.DEVICE_READ)
    query = select(Organisation.id, Organisation.name)
    if ids is not None:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        query = query.where(Organisation.id.in_(wanted))
    return dict(session.exec(query).all())


def get_organisation(session: Session, actor: Actor, organisation_id: int) -> Organisation:
    auth.require(actor, Permission.DEVICE_READ)
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFoundError(f"organisation {organisation_id} not found")
    return org


def create_user(session: Session, actor: Actor, data: UserIn) -> User:
    """Create a user whose role fits the organisation's kind."""
    auth.require(actor, Permission.USER_MANAGE)
    org = session.get(Organisation, data.organisation_id)
    if org is None:
        raise InvalidInputError(f"organisation_id {data.organisation_id} does not exist")
    if org.kind not in ROLE_ORGANISATION_KINDS[data.role]:
        kinds = ", ".join(sorted(k.value for k in ROLE_ORGANISATION_KINDS[data.role]))
        raise InvalidInputError(
            f"role '{data.role.value}' belongs to an organisation of kind {kinds}; "
            f"'{org.name}' is a {org.kind.value}"
        )
    email = data.email.lower()
    if session.exec(select(User).where(User.email == email)).first():
        raise ConflictError(f"a user with e-mail {email} already exists")
    user = User(
        email=email,
        name=data.name,
        password_hash=auth.hash_password(data.password),
        organisation_id=org.id,
        role=data.role,
    )
    session.add(user)
    audit.record(session, actor, "user.create", user,
                 {"after": snapshot(user, ["email", "name", "organisation_id", "role"])})
    return user


def list_users(session: Session, actor: Actor) -> list[User]:
    auth.require(actor, Permission.USER_MANAGE)
    return list(session.exec(select(User).order_by(User.email)).all())


def set_user_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    auth.require(actor, Permission.USER_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    if user.id == actor.user_id and not active:
        raise ConflictError("you cannot deactivate your own account")
    before = user.is_active
    user.is_active = active
    session.add(user)
    audit.record(session, actor, "user.activate" if active else "user.deactivate", user,
                 {"before": {"is_active": before}, "after": {"is_active": active}})
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user for these credentials, or None (same answer for unknown e-mail and bad password)."""
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        auth.check_password(_DUMMY_HASH, password)  # equalise timing with the known-user path
        return None
    if not user.is_active or not auth.check_password(user.password_hash, password):
        return None
    return user


_DUMMY_HASH = auth.hash_password("not-a-real-password")


def create_token(
    session: Session, actor: Actor, data: TokenIn, default_lifetime_days: int
) -> tuple[str, ApiToken]:
    """Create an API token for the actor; scopes cannot exceed what the actor's role allows."""
    if actor.is_anonymous or actor.scopes is not None:
        raise InvalidInputError("sign in with a password to create tokens (not with a token)")
    role_permissions = {p.value for p in auth.RULES[actor.role]}
    scopes = set(data.scopes) if data.scopes is not None else role_permissions
    beyond = sorted(scopes - role_permissions)
    if beyond:
        raise InvalidInputError(
            f"scopes not available to role '{actor.role.value}': {', '.join(beyond)}; "
            f"choose among {', '.join(sorted(role_permissions))}"
        )
    user = session.get(User, actor.user_id)
    lifetime = timedelta(days=data.lifetime_days or default_lifetime_days)
    clear, row = auth.new_token(user, data.name, sorted(scopes), lifetime)
    session.add(row)
    audit.record(session, actor, "token.create", row,
                 {"after": snapshot(row, ["name", "prefix", "scopes", "expires_at"])})
    return clear, row


def list_tokens(session: Session, actor: Actor) -> list[ApiToken]:
    return list(session.exec(
        select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id)
    ).all())


def revoke_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != actor.user_id:
        raise NotFoundError(f"token {token_id} not found")
    row.revoked_at = datetime.now(UTC)
    session.add(row)
    audit.record(session, actor, "token.revoke", row, {"after": {"revoked": True}})
    return row
