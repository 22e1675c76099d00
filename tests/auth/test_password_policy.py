"""The password policy: long passwords, nothing guessable, no composition rules."""

import httpx
import pytest

from aetherflow_gateway.auth.password_policy import COMMON_PASSWORDS, weakness
from tests.support.builders import unique_email
from tests.support.problems import assert_problem

GUESSABLE = {
    "a famous passphrase": "correct horse battery staple",
    "a common password with digits": "password12345678",
    "a common password in leetspeak": "P@ssw0rd12345678!",
    "common passwords end to end": "iloveyou-sunshine-dragon",
    "a common password twice": "letmeinletmeinletmein",
    "one character repeated": "aaaaaaaaaaaaaaaaaaaa",
    "a short piece repeated": "abc123abc123abc123",
    "the alphabet": "abcdefghijklmnopq",
    "the alphabet backwards": "zyxwvutsrqponmlkj",
    "digits in a row": "123456789012345678",
    "a keyboard row": "qwertyuiopasdfghj",
    "a keyboard column walk": "1qaz2wsx3edc4rfv",
}
ACCEPTABLE = {
    "a random-looking passphrase": "amber lattice quietly folds forty kites",
    "a sentence with a common word inside": "my dragon collects violet umbrellas",
    "no composition rule: lower case only": "violetumbrellasfoldquietly",
    "a long random string": "kq7Z!vR2p#Lw9sXe4Tb",
    "non-ASCII": "zwölf boxkämpfer jagen viktor quer",
}


class TestWeakness:
    @pytest.mark.parametrize("password", GUESSABLE.values(), ids=GUESSABLE.keys())
    def test_a_guessable_password_is_refused(self, password: str) -> None:
        assert weakness(password) is not None

    @pytest.mark.parametrize("password", ACCEPTABLE.values(), ids=ACCEPTABLE.keys())
    def test_an_unguessable_password_is_accepted(self, password: str) -> None:
        assert weakness(password) is None

    def test_a_password_containing_the_email_name_is_refused(self) -> None:
        reason = weakness(
            "margaret.hamilton flies apollo", "Margaret.Hamilton@nasa.gov"
        )

        assert reason == "it contains your email address"

    def test_a_very_short_email_name_does_not_forbid_its_letters(self) -> None:
        assert weakness("amber lattice quietly folds", "al@example.com") is None

    def test_the_bundled_list_is_small_and_normalized(self) -> None:
        assert 200 <= len(COMMON_PASSWORDS) <= 5000
        assert all(entry == entry.casefold() for entry in COMMON_PASSWORDS)
        assert not [entry for entry in COMMON_PASSWORDS if " " in entry]


class TestRegistration:
    async def test_a_common_password_is_refused_with_a_reason(
        self, client: httpx.AsyncClient
    ) -> None:
        body = {
            "email": unique_email(),
            "password": "correct horse battery staple",
            "department": "Sales",
        }

        response = await client.post("/auth/register", json=body)

        problem = assert_problem(response, 422)
        [error] = problem["errors"]
        assert error["loc"] == ["body", "password"]
        assert "common password" in error["msg"]
        assert body["password"] not in response.text

    async def test_a_password_made_of_the_email_is_refused(
        self, client: httpx.AsyncClient
    ) -> None:
        email = unique_email("grace-hopper")
        body = {
            "email": email,
            "password": f"{email.split('@')[0]} is my password",
            "department": "Supply",
        }

        response = await client.post("/auth/register", json=body)

        assert_problem(response, 422)

    async def test_mass_assignment_in_a_registration_is_refused(
        self, client: httpx.AsyncClient, subtests: pytest.Subtests
    ) -> None:
        for field, value in {"role": "admin", "is_admin": True, "id": "x"}.items():
            with subtests.test(field=field):
                body = {
                    "email": unique_email(),
                    "password": "amber lattice quietly folds forty kites",
                    "department": "Sales",
                    field: value,
                }

                response = await client.post("/auth/register", json=body)

                assert_problem(response, 422)
