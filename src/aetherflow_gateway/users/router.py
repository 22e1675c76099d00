import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from aetherflow_gateway.auth.dependencies import ADMIN_ONLY, CurrentAdmin
from aetherflow_gateway.core.dependencies import DatabaseDep
from aetherflow_gateway.core.errors import problem_schema
from aetherflow_gateway.db.pagination import DEFAULT_LIMIT, MAX_LIMIT
from aetherflow_gateway.users import service
from aetherflow_gateway.users.schemas import AccountOut, AccountPage, UserChange

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", responses={**ADMIN_ONLY, 422: problem_schema("Bad limit or cursor")})
async def list_users(
    admin: CurrentAdmin,
    database: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AccountPage:
    """List your department's accounts, newest first (admins only)."""
    users, next_cursor = await service.list_accounts(database, admin, cursor, limit)
    return AccountPage(
        items=[AccountOut.model_validate(user) for user in users],
        next_cursor=next_cursor,
    )


@router.patch(
    "/{user_id}",
    responses={
        **ADMIN_ONLY,
        404: problem_schema("No such user in your department"),
        409: problem_schema("An admin cannot change their own account"),
        422: problem_schema("A field that cannot be changed, or nothing to change"),
    },
)
async def change_user(
    user_id: uuid.UUID, body: UserChange, admin: CurrentAdmin, database: DatabaseDep
) -> AccountOut:
    """Change an account's role or active status (admins of its department only)."""
    user = await service.change_account(database, admin, user_id, body)
    return AccountOut.model_validate(user)
