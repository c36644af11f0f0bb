"""Request and response models (pydantic) shared by the API and the web forms.

The core lives in ``core``; each area keeps its own in ``registry/schemas/<area>.py``.
"""

from registry.schemas.core import *  # noqa: F403
