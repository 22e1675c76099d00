"""Small builders for test data: users, tokens, CSV files and uploads."""

import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "amber lattice quietly folds forty kites"


@dataclass(frozen=True)
class Account:
    email: str
    department: str
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str | bytes]:
        return {"Authorization": f"Bearer {self.token}"}


def unique_email(prefix: str = "analyst") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


async def register(
    client: httpx.AsyncClient, department: str, email: str | None = None
) -> httpx.Response:
    body = {
        "email": email or unique_email(),
        "password": PASSWORD,
        "department": department,
    }
    return await client.post("/auth/register", json=body)


async def account(client: httpx.AsyncClient, department: str) -> Account:
    """A registered, logged-in user of `department`."""
    email = unique_email(department.lower())
    registered = await register(client, department, email)
    assert registered.status_code == 201, registered.text

    login = await client.post(
        "/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    return Account(
        email=email,
        department=department,
        user_id=registered.json()["id"],
        token=login.json()["access_token"],
    )


def csv_file(rows: int = 3, header: str = "region,amount") -> bytes:
    lines = [header, *(f"north,{index}" for index in range(rows))]
    return ("\n".join(lines) + "\n").encode()


async def upload(
    client: httpx.AsyncClient,
    who: Account,
    content: bytes,
    filename: str = "sales.csv",
    content_type: str = "text/csv",
    data: dict[str, str] | None = None,
    headers: dict[str, str | bytes] | None = None,
) -> httpx.Response:
    return await client.post(
        "/datasets/upload",
        files={"file": (filename, content, content_type)},
        data=data or {},
        headers={**who.headers, **(headers or {})},
    )


def raw_multipart(
    parts: list[tuple[bytes, bytes]], boundary: bytes = b"aetherflow-test-boundary"
) -> tuple[bytes, dict[str, str]]:
    """A hand-made multipart body: (part headers, part content) pairs, byte for byte.

    HTTP clients escape odd bytes in file names; a hostile client does not.
    """
    body = b""
    for headers, content in parts:
        body += b"--" + boundary + b"\r\n" + headers + b"\r\n\r\n" + content + b"\r\n"
    body += b"--" + boundary + b"--\r\n"
    content_type = f"multipart/form-data; boundary={boundary.decode()}"
    return body, {"Content-Type": content_type}
