from __future__ import annotations

import importlib
import pkgutil

from alembic import context

import pressroom.db
from pressroom.db.models import Base
from pressroom.db.session import build_engine

# Tables live in pressroom/db/models.py and pressroom/db/models_<area>.py: import them all so that
# autogenerate sees every table.
for module in pkgutil.iter_modules(pressroom.db.__path__):
    if module.name.startswith("models"):
        importlib.import_module(f"pressroom.db.{module.name}")

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
