"""Tables of the registry (SQLModel): the core in ``core``, each area in its own module.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic needs them all).
"""

from registry.models import (  # noqa: E402,F401  (area tables)
    catalogue,
    dossiers,
    energy,
    ethics,
    evaluations,
    monitoring,
    reviews,
)
from registry.models.core import *  # noqa: F403
from registry.models.core import _enum, _json  # noqa: F401  (area modules store values the same way)
