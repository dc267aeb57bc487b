"""All SQL lives here: tables (SQLAlchemy 2 typed models) and the repositories that query them."""

from persistence import ai, analytics, auth, partner, publishing, user, video  # noqa: F401  (register tables)
from persistence.base import Base

metadata = Base.metadata
