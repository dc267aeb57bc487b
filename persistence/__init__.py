"""All SQL lives here: tables (SQLAlchemy 2 typed models) and the repositories that query them."""

from persistence import accounts, ai, analytics, audit, partner, publishing, user, video  # noqa: F401  (register tables)
from persistence.base import Base

metadata = Base.metadata
