"""Alembic environment: runs on the connection handed over by ``api.db.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from api.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # plain `alembic` use: read the URL from the settings
    from api.settings import Settings

    engine = create_engine(Settings().database_url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
