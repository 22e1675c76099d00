"""An unexpected failure answers a bare problem: no trace, no SQL, no path."""

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from aetherflow_gateway.db.scoping import SYSTEM
from tests.support.problems import assert_problem
from tests.support.running import client_for, services_of

# What a leaked exception would show: its SQL, its traceback, files on disk.
LEAKS = ("INSERT", "SELECT", "users", "Traceback", 'File "', ".py", "/work", "/tmp")


def add_failing_routes(app: FastAPI) -> None:
    async def broken_sql() -> None:
        # A constraint violation: a bug on every backend, not an outage.
        async with services_of(app).database.transaction(SYSTEM) as session:
            await session.execute(text("INSERT INTO users (id) VALUES ('x')"))

    async def broken_code() -> None:
        raise RuntimeError(f"cannot open {__file__} with SELECT 1")

    app.add_api_route("/test-only/broken-sql", broken_sql)
    app.add_api_route("/test-only/broken-code", broken_code)


async def test_failures_answer_a_problem_without_internals(app: FastAPI) -> None:
    add_failing_routes(app)

    async with client_for(app) as client:
        responses = [
            await client.get("/test-only/broken-sql"),
            await client.get("/test-only/broken-code"),
        ]

    for response in responses:
        body = assert_problem(response, 500)
        assert body["detail"] == "An unexpected error occurred."
        for leak in LEAKS:
            assert leak not in response.text, leak
        assert response.headers["cache-control"] == "no-store"


async def test_problem_bodies_of_refusals_name_no_internals(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/auth/login",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert 400 <= response.status_code < 500
    for leak in LEAKS:
        assert leak not in response.text, leak
