"""The command's account and key duties, as an operator runs them: real processes."""

from pathlib import Path

import pytest

from aetherflow_gateway.core.settings import Settings
from tests.support.builders import PASSWORD, unique_email
from tests.support.running import client_for, running_app
from tests.test_cli import clean_env, run


async def test_invite_create_prints_a_code_that_makes_the_first_admin(
    tmp_path: Path,
) -> None:
    assert run(["migrate"], tmp_path).returncode == 0
    created = run(
        ["invite", "create", "--department", "finance", "--role", "admin"], tmp_path
    )
    code = created.stdout.strip()
    settings = Settings(_env_file=None, var_dir=tmp_path / "var", relay_in_serve=False)
    email = unique_email()

    async with running_app(settings) as app, client_for(app) as client:
        registered = await client.post(
            "/auth/register",
            json={"email": email, "password": PASSWORD, "invite_code": code},
        )
        tokens = await client.post(
            "/auth/login", json={"email": email, "password": PASSWORD}
        )
        invite = await client.post(
            "/auth/invites",
            json={},
            headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
        )

    assert created.returncode == 0, created.stderr
    assert code.startswith("afi_")
    assert code not in created.stderr, "the code is shown once, never logged"
    assert registered.status_code == 201, registered.text
    assert registered.json()["department"] == "Finance"
    assert invite.status_code == 201, invite.text


@pytest.mark.parametrize(
    "arguments",
    [
        ["--department", "Marketing"],
        ["--department", "Sales", "--ttl-hours", "0"],
        ["--department", "Sales", "--role", "owner"],
    ],
    ids=["unknown department", "no lifetime", "unknown role"],
)
def test_invite_create_refuses_bad_arguments(
    tmp_path: Path, arguments: list[str]
) -> None:
    result = run(["invite", "create", *arguments], tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""


def test_serve_with_an_unreadable_key_file_stops_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "signing.pem").write_text("not a key")
    env = {
        **clean_env(),
        "AETHERFLOW_JWT_ALGORITHM": "EdDSA",
        "AETHERFLOW_JWT_PRIVATE_KEY_FILE": str(tmp_path / "signing.pem"),
    }

    result = run(["serve"], tmp_path, env)

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "AETHERFLOW_JWT_PRIVATE_KEY_FILE" in result.stderr
