import pytest

from registry import auth
from registry.schemas import TokenIn
from registry.services import organisations
from tests import factories


@pytest.fixture(autouse=True)
def _factories(session):
    factories.bind(session)


@pytest.fixture
def token_for(session):
    """An API token (all of the role's permissions) for a new user of ``role``."""

    def make(role, organisation_id=None, scopes=None):
        actor = factories.actor_for(role, organisation_id)
        clear, _ = organisations.create_token(session, actor, TokenIn(name="t", scopes=scopes),
                                              default_lifetime_days=1)
        session.flush()
        return {"Authorization": f"Bearer {clear}"}, actor

    return make


__all__ = ["auth"]
