import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from aetherflow_gateway.auth.dependencies import UNAUTHENTICATED, CurrentUser
from aetherflow_gateway.core.dependencies import DatabaseDep, ServicesDep
from aetherflow_gateway.core.errors import problem_schema
from aetherflow_gateway.datasets import service
from aetherflow_gateway.datasets.schemas import DatasetOut, DatasetPage, UploadAccepted
from aetherflow_gateway.datasets.upload import accept_upload
from aetherflow_gateway.db.pagination import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/datasets", tags=["datasets"])

# The body is streamed by hand (see datasets.upload), so FastAPI cannot derive
# its schema; this declares it for the interactive docs and clients.
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "department": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.post(
    "/upload",
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_UPLOAD_BODY,
    responses={
        **UNAUTHENTICATED,
        400: problem_schema("Malformed multipart body"),
        403: problem_schema("The department differs from the token's"),
        413: problem_schema("The file is larger than the limit"),
        415: problem_schema("Not a CSV file"),
        422: problem_schema("Empty or header-less CSV, or no file"),
        503: problem_schema("A dependency is down; nothing was recorded"),
    },
)
async def upload_dataset(
    request: Request, caller: CurrentUser, services: ServicesDep
) -> UploadAccepted:
    """Upload a CSV file and queue its ETL job."""
    return await accept_upload(services, caller, request)


@router.get(
    "", responses={**UNAUTHENTICATED, 422: problem_schema("Bad limit or cursor")}
)
async def list_datasets(
    caller: CurrentUser,
    database: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> DatasetPage:
    """List your department's datasets, newest first."""
    datasets, next_cursor = await service.list_datasets(database, caller, cursor, limit)
    items = [DatasetOut.model_validate(dataset) for dataset in datasets]
    return DatasetPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{dataset_id}",
    responses={**UNAUTHENTICATED, 404: problem_schema("No such dataset")},
)
async def get_dataset(
    dataset_id: uuid.UUID, caller: CurrentUser, database: DatabaseDep
) -> DatasetOut:
    """Show one of your department's datasets."""
    return DatasetOut.model_validate(
        await service.get_dataset(database, caller, dataset_id)
    )
