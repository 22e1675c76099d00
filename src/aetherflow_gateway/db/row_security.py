"""Row-level security: PostgreSQL's own copy of the department boundary.

The ORM hooks in `db.scoping` filter every query the gateway writes; this second
layer holds even for a query that escapes them (raw SQL, a forgotten hook, a bug).
Each departmental table carries one policy: a row is visible and writable when its
department is the transaction's `aetherflow.department`, or when the transaction
declared `aetherflow.scope = 'system'`. `declare_scope` sets both at the start of
every transaction with `set_config(..., true)`, which lasts only until that
transaction ends, so a pooled connection never carries one caller's department
into the next. A connection that declared nothing sees no departmental row.

Superusers and roles with BYPASSRLS skip every policy, and a table's owner skips
them unless the table FORCEs row security; the gateway must therefore connect as
a role that is neither (see the README's security model). Migrations create the
policies with `enable_statements`; changing the condition takes a new migration
that re-creates them.
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from aetherflow_gateway.db.scoping import Scope

POLICY_NAME = "department_isolation"
POLICY_CONDITION = (
    "department = current_setting('aetherflow.department', true) "
    "OR current_setting('aetherflow.scope', true) = 'system'"
)

_DECLARE_SCOPE = text(
    "SELECT set_config('aetherflow.department', :department, true), "
    "set_config('aetherflow.scope', :scope, true)"
)


def enable_statements(table: str) -> list[str]:
    """DDL that puts `table` under the department policy, owner included."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} "
        f"USING ({POLICY_CONDITION}) WITH CHECK ({POLICY_CONDITION})",
    ]


def disable_statements(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


async def declare_scope(session: AsyncSession, scope: Scope) -> None:
    """Tell the policies whose transaction this is; call right after it begins."""
    # On the connection, not the session: the statement names no table, and the
    # ORM's scoping hook has nothing to add to it.
    connection = await session.connection()
    await connection.execute(
        _DECLARE_SCOPE,
        {
            "department": scope.department or "",
            "scope": "system" if scope.is_system else "department",
        },
    )
