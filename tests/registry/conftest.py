import pytest

from tests import factories


@pytest.fixture(autouse=True)
def _factories(session):
    factories.bind(session)
