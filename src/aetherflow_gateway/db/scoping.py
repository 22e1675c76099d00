"""Department scoping, applied to every ORM statement in one place.

A transaction is opened for a `Scope`: either a department (the caller's) or the
explicit `SYSTEM` scope that background work and authentication use. Two session
hooks enforce it:

- every SELECT, UPDATE and DELETE that touches a `DepartmentOwned` table gets
  `department = :scope` added to its criteria, joins and subqueries included;
- every new or changed `DepartmentOwned` row must carry the scope's department.

A statement on a departmental table in a session with no scope at all is refused,
so a new endpoint cannot forget to pass the caller's department.

SQLAlchemy adds loader criteria only where a mapped entity or its columns are
selected: `select(func.count()).select_from(Dataset)`, or a join or subquery on a
departmental table whose columns are not selected, would go unfiltered. Such a
SELECT is refused; count a column instead (`func.count(Dataset.id)`), or select
from each departmental table you join.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from aetherflow_gateway.db.base import Base, DepartmentOwned

SCOPE_KEY = "aetherflow.scope"


@dataclass(frozen=True)
class Scope:
    department: str | None

    @property
    def is_system(self) -> bool:
        return self.department is None


SYSTEM = Scope(department=None)


def department_scope(department: str) -> Scope:
    return Scope(department=department)


class ScopeViolation(RuntimeError):
    """A statement or row that would cross the transaction's department."""


def _scope_of(session: Session) -> Scope:
    scope = session.info.get(SCOPE_KEY)
    if not isinstance(scope, Scope):
        raise ScopeViolation("departmental tables need a transaction with a scope")
    return scope


def _departmental_tables(state: ORMExecuteState) -> set[str]:
    statement = state.statement
    assert isinstance(statement, ClauseElement)
    found = find_tables(
        statement, include_joins=True, include_aliases=True, include_crud=True
    )
    names = {str(getattr(table, "name", "")) for table in found}
    return names & departmental_table_names()


def departmental_table_names() -> set[str]:
    return {
        mapper.local_table.name  # type: ignore[attr-defined]
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, DepartmentOwned)
    }


@event.listens_for(Session, "do_orm_execute")
def _filter_by_department(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tables = _departmental_tables(state)
    if not tables:
        return

    scope = _scope_of(state.session)
    if scope.is_system:
        return

    if state.is_select:
        _refuse_unfilterable_select(state, tables)
    department = scope.department
    state.statement = state.statement.options(
        with_loader_criteria(
            DepartmentOwned,
            lambda cls: cls.department == department,
            include_aliases=True,
        )
    )


def _refuse_unfilterable_select(state: ORMExecuteState, tables: set[str]) -> None:
    # Loader criteria reach only the entities whose rows or columns are selected.
    selected = {mapper.local_table.name for mapper in state.all_mappers}  # type: ignore[attr-defined]
    unfiltered = tables - selected
    if unfiltered:
        raise ScopeViolation(
            f"select the entities of {sorted(unfiltered)} (or their columns) so "
            "that the department filter can apply"
        )


@event.listens_for(Session, "before_flush")
def _rows_stay_in_department(session: Session, context: Any, instances: Any) -> None:
    rows = [
        row
        for row in (*session.new, *session.dirty)
        if isinstance(row, DepartmentOwned)
    ]
    if not rows:
        return

    scope = _scope_of(session)
    if scope.is_system:
        return
    for row in rows:
        if row.department != scope.department:
            raise ScopeViolation("a row may only be written in its own department")
