"""The migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from aetherflow_gateway.db.migrate import alembic_config
from aetherflow_gateway.db.models import Base


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_postgres_schema_matches_the_models(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()

    assert differences == []


def test_migrations_form_one_line() -> None:
    """Two heads would make `migrate` apply them in an order nobody chose."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))

    assert len(scripts.get_heads()) == 1
