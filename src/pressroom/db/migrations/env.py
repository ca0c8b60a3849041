from __future__ import annotations

from alembic import context

from pressroom.db.models import Base
from pressroom.db.session import build_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None

engine = build_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
