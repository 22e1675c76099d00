"""Signing keys: rotation by kid, asymmetric keys from files, and hostile headers."""

import base64
import builtins
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from pydantic import SecretStr

from aetherflow_gateway.auth.keys import load_key_set, thumbprint
from aetherflow_gateway.core.settings import ConfigurationError, Settings
from tests.support.accounts import session
from tests.support.running import gateway_client
from tests.support.tokens import assert_unauthenticated, bearer, claims

PROTECTED = "/jobs"
OLD_KEY = "old-signing-key-of-the-gateway-0123456789abcdef"
NEW_KEY = "new-signing-key-of-the-gateway-0123456789abcdef"
ATTACKER_KEY = "attacker-chosen-hmac-key-0123456789abcdefghijkl"


def hmac_keys(**keys: str) -> dict[str, SecretStr]:
    return {kid: SecretStr(secret) for kid, secret in keys.items()}


def write_key(path: Path, key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def write_public_key(
    path: Path, key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    return path


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TestHmacRotation:
    async def test_a_token_of_the_previous_key_passes_while_that_key_is_configured(
        self, embedded_settings: Settings
    ) -> None:
        async with gateway_client(
            embedded_settings, jwt_keys=hmac_keys(k1=OLD_KEY)
        ) as old:
            user = await session(old, "Sales")
        rolled = hmac_keys(k1=OLD_KEY, k2=NEW_KEY)

        async with gateway_client(embedded_settings, jwt_keys=rolled) as new:
            response = await new.get(PROTECTED, headers=user.headers)
            fresh = (
                await new.post(
                    "/auth/refresh", json={"refresh_token": user.refresh_token}
                )
            ).json()["access_token"]

        assert response.status_code == 200, response.text
        assert jwt.get_unverified_header(user.access_token)["kid"] == "k1"
        assert jwt.get_unverified_header(fresh)["kid"] == "k2"

    async def test_a_token_of_a_removed_key_is_refused(
        self, embedded_settings: Settings
    ) -> None:
        async with gateway_client(
            embedded_settings, jwt_keys=hmac_keys(k1=OLD_KEY)
        ) as old:
            user = await session(old, "Sales")

        async with gateway_client(
            embedded_settings, jwt_keys=hmac_keys(k2=NEW_KEY)
        ) as new:
            response = await new.get(PROTECTED, headers=user.headers)

        assert_unauthenticated(response)

    async def test_the_configured_signing_kid_signs_even_when_not_last(
        self, embedded_settings: Settings
    ) -> None:
        keys = hmac_keys(k1=OLD_KEY, k2=NEW_KEY)

        async with gateway_client(
            embedded_settings, jwt_keys=keys, jwt_signing_kid="k1"
        ) as client:
            user = await session(client, "Supply")

        assert jwt.get_unverified_header(user.access_token)["kid"] == "k1"

    async def test_a_token_naming_no_key_or_an_unknown_key_is_refused(
        self, embedded_settings: Settings, subtests: pytest.Subtests
    ) -> None:
        payload = claims(embedded_settings)
        cases: dict[str, dict[str, Any]] = {
            "no kid": {},
            "unknown kid": {"kid": "k9"},
            "kid of another case": {"kid": "K1"},
        }

        async with gateway_client(
            embedded_settings, jwt_keys=hmac_keys(k1=OLD_KEY)
        ) as client:
            for case, header in cases.items():
                with subtests.test(case):
                    token = jwt.encode(payload, OLD_KEY, "HS256", headers=header)

                    response = await client.get(PROTECTED, headers=bearer(token))

                    assert_unauthenticated(response)


class TestHostileKids:
    HOSTILE: ClassVar[dict[str, Any]] = {
        "path traversal": "../../etc/passwd",
        "absolute path": "/etc/passwd",
        "file URL": "file:///etc/passwd",
        "SQL": "k1' OR '1'='1",
        "very long": "k" * 6000,
        "NUL byte": "k1\x00",
        "number": 1,
        "list": ["k1"],
        "null": None,
    }

    async def test_hostile_kids_are_refused_without_touching_any_file(
        self,
        embedded_settings: Settings,
        subtests: pytest.Subtests,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        payload = claims(embedded_settings)
        opened: list[object] = []
        real_open, real_os_open = builtins.open, os.open

        async with gateway_client(
            embedded_settings, jwt_keys=hmac_keys(k1=OLD_KEY)
        ) as client:
            monkeypatch.setattr(builtins, "open", recording(real_open, opened))
            monkeypatch.setattr(os, "open", recording(real_os_open, opened))
            for case, kid in self.HOSTILE.items():
                with subtests.test(case):
                    # By hand: PyJWT will not even encode a kid that is no string.
                    token = forge_hs256(payload, OLD_KEY.encode(), {"kid": kid})

                    response = await client.get(PROTECTED, headers=bearer(token))

                    assert_unauthenticated(response)
            monkeypatch.undo()

        # The harness opens its own temporary files; none may come from a kid.
        assert not [path for path in opened if "etc" in str(path) or "k1" in str(path)]


def recording(real: Any, opened: list[object]) -> Any:
    def record(path: object, *args: Any, **kwargs: Any) -> Any:
        opened.append(path)
        return real(path, *args, **kwargs)

    return record


class TestHeadersThatPointElsewhere:
    async def test_jku_x5u_and_jwk_are_ignored_on_a_token_the_gateway_signed(
        self, embedded_settings: Settings
    ) -> None:
        attacker = ed25519.Ed25519PrivateKey.generate()
        header = {
            "kid": "k1",
            "jku": "https://attacker.example/jwks.json",
            "x5u": "https://attacker.example/cert.pem",
            "jwk": jwt.get_algorithm_by_name("EdDSA").to_jwk(
                attacker.public_key(), as_dict=True
            ),
        }
        token = jwt.encode(claims(embedded_settings), OLD_KEY, "HS256", headers=header)

        async with gateway_client(
            embedded_settings, jwt_keys=hmac_keys(k1=OLD_KEY)
        ) as client:
            response = await client.get(PROTECTED, headers=bearer(token))

        assert response.status_code == 200, response.text

    async def test_a_token_signed_by_the_key_its_jwk_header_carries_is_refused(
        self, embedded_settings: Settings, tmp_path: Path, subtests: pytest.Subtests
    ) -> None:
        gateway_key = write_key(
            tmp_path / "gateway.pem", ed25519.Ed25519PrivateKey.generate()
        )
        attacker = ed25519.Ed25519PrivateKey.generate()
        attacker_jwk = jwt.get_algorithm_by_name("EdDSA").to_jwk(
            attacker.public_key(), as_dict=True
        )
        settings = embedded_settings.model_copy(
            update={"jwt_algorithm": "EdDSA", "jwt_private_key_file": gateway_key}
        )
        kids = {
            "the gateway's kid": load_key_set(settings).signing_kid,
            "the attacker's kid": thumbprint(attacker.public_key(), "EdDSA"),
        }

        async with gateway_client(settings) as client:
            for case, kid in kids.items():
                with subtests.test(case):
                    token = jwt.encode(
                        claims(settings),
                        attacker,
                        "EdDSA",
                        headers={"kid": kid, "jwk": attacker_jwk},
                    )

                    response = await client.get(PROTECTED, headers=bearer(token))

                    assert_unauthenticated(response)

    async def test_a_token_signed_with_an_attacker_key_and_a_jku_is_refused(
        self, embedded_settings: Settings
    ) -> None:
        header = {"kid": "k1", "jku": "https://attacker.example/jwks.json"}
        token = jwt.encode(
            claims(embedded_settings), ATTACKER_KEY, "HS256", headers=header
        )

        async with gateway_client(
            embedded_settings, jwt_keys=hmac_keys(k1=OLD_KEY)
        ) as client:
            response = await client.get(PROTECTED, headers=bearer(token))

        assert_unauthenticated(response)


class TestCriticalHeaders:
    async def test_a_token_requiring_an_unknown_extension_is_refused(
        self, embedded_settings: Settings, subtests: pytest.Subtests
    ) -> None:
        cases: dict[str, dict[str, Any]] = {
            "unknown extension": {
                "crit": ["urn:example:policy"],
                "urn:example:policy": 1,
            },
            "registered name": {"crit": ["exp"]},
            "b64 (which we never use)": {"crit": ["b64"], "b64": True},
            "empty list": {"crit": []},
        }

        async with gateway_client(
            embedded_settings, jwt_keys=hmac_keys(k1=OLD_KEY)
        ) as client:
            for case, extra in cases.items():
                with subtests.test(case):
                    header = {"kid": "k1", **extra}
                    token = jwt.encode(
                        claims(embedded_settings), OLD_KEY, "HS256", headers=header
                    )

                    response = await client.get(PROTECTED, headers=bearer(token))

                    assert_unauthenticated(response)


class TestAsymmetricSigning:
    @pytest.mark.parametrize(
        ("algorithm", "make_key"),
        [("EdDSA", ed25519.Ed25519PrivateKey.generate), ("RS256", rsa_key)],
    )
    async def test_tokens_are_signed_with_the_private_key_file_and_verifiable_by_others(
        self,
        embedded_settings: Settings,
        tmp_path: Path,
        algorithm: str,
        make_key: Any,
    ) -> None:
        key = make_key()
        settings = embedded_settings.model_copy(
            update={
                "jwt_algorithm": algorithm,
                "jwt_private_key_file": write_key(tmp_path / "signing.pem", key),
            }
        )

        async with gateway_client(settings) as client:
            user = await session(client, "Finance")
            response = await client.get(PROTECTED, headers=user.headers)
            jwks = (await client.get("/.well-known/jwks.json")).json()

        assert response.status_code == 200, response.text
        header = jwt.get_unverified_header(user.access_token)
        assert header["alg"] == algorithm
        assert header["kid"] == thumbprint(key.public_key(), algorithm)
        verified = jwt.decode(
            user.access_token,
            key.public_key(),
            algorithms=[algorithm],
            audience=settings.jwt_audience,
        )
        assert verified["department"] == "Finance"
        assert [entry["kid"] for entry in jwks["keys"]] == [header["kid"]]
        assert "d" not in jwks["keys"][0], "the JWKS holds no private part"

    async def test_an_hmac_token_keyed_with_the_public_key_is_refused(
        self, embedded_settings: Settings, tmp_path: Path
    ) -> None:
        key = ed25519.Ed25519PrivateKey.generate()
        public_pem = write_public_key(tmp_path / "public.pem", key).read_bytes()
        settings = embedded_settings.model_copy(
            update={
                "jwt_algorithm": "EdDSA",
                "jwt_private_key_file": write_key(tmp_path / "signing.pem", key),
            }
        )
        kid = thumbprint(key.public_key(), "EdDSA")
        # PyJWT refuses a PEM key as an HMAC secret; an attacker would not.
        forged = forge_hs256(claims(settings), public_pem, {"kid": kid})

        async with gateway_client(settings) as client:
            response = await client.get(PROTECTED, headers=bearer(forged))

        assert_unauthenticated(response)

    async def test_a_rolled_private_key_still_verifies_through_its_public_file(
        self, embedded_settings: Settings, tmp_path: Path
    ) -> None:
        old_key, new_key = rsa_key(), rsa_key()
        old = embedded_settings.model_copy(
            update={
                "jwt_algorithm": "RS256",
                "jwt_private_key_file": write_key(tmp_path / "old.pem", old_key),
            }
        )
        async with gateway_client(old) as client:
            user = await session(client, "Sales")
        rolled = {
            "jwt_private_key_file": write_key(tmp_path / "new.pem", new_key),
            "jwt_public_key_files": (write_public_key(tmp_path / "old.pub", old_key),),
        }

        async with gateway_client(old, **rolled) as client:
            kept = await client.get(PROTECTED, headers=user.headers)
        async with gateway_client(
            old, **{**rolled, "jwt_public_key_files": ()}
        ) as client:
            dropped = await client.get(PROTECTED, headers=user.headers)

        assert kept.status_code == 200, kept.text
        assert_unauthenticated(dropped)


def forge_hs256(payload: dict[str, Any], secret: bytes, header: dict[str, Any]) -> str:
    """HS256 by hand, for what PyJWT refuses to produce."""

    def encode(part: bytes) -> str:
        return base64.urlsafe_b64encode(part).rstrip(b"=").decode()

    full_header = {"alg": "HS256", "typ": "JWT", **header}
    signing_input = ".".join(
        encode(json.dumps(part).encode()) for part in (full_header, payload)
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{encode(signature)}"


class TestKeyFiles:
    def test_a_missing_or_unreadable_key_file_stops_start_up(
        self, embedded_settings: Settings, tmp_path: Path
    ) -> None:
        (tmp_path / "garbage.pem").write_text("not a key")
        for path in (tmp_path / "absent.pem", tmp_path / "garbage.pem"):
            settings = embedded_settings.model_copy(
                update={"jwt_algorithm": "EdDSA", "jwt_private_key_file": path}
            )

            with pytest.raises(
                ConfigurationError, match="AETHERFLOW_JWT_PRIVATE_KEY_FILE"
            ):
                load_key_set(settings)

    def test_a_key_of_the_wrong_kind_stops_start_up(
        self, embedded_settings: Settings, tmp_path: Path
    ) -> None:
        rsa_file = write_key(tmp_path / "rsa.pem", rsa_key())
        settings = embedded_settings.model_copy(
            update={"jwt_algorithm": "EdDSA", "jwt_private_key_file": rsa_file}
        )

        with pytest.raises(ConfigurationError, match="not a EdDSA private key"):
            load_key_set(settings)

    def test_a_short_rsa_key_stops_start_up(
        self, embedded_settings: Settings, tmp_path: Path
    ) -> None:
        # A weak key on purpose: the gateway must refuse to start with it.
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
        settings = embedded_settings.model_copy(
            update={
                "jwt_algorithm": "RS256",
                "jwt_private_key_file": write_key(tmp_path / "weak.pem", weak),
            }
        )

        with pytest.raises(ConfigurationError, match="2048 bits"):
            load_key_set(settings)

    def test_a_public_key_file_of_the_wrong_kind_is_named(
        self, embedded_settings: Settings, tmp_path: Path
    ) -> None:
        settings = embedded_settings.model_copy(
            update={
                "jwt_algorithm": "RS256",
                "jwt_private_key_file": write_key(tmp_path / "signing.pem", rsa_key()),
                "jwt_public_key_files": (
                    write_public_key(
                        tmp_path / "odd.pub", ed25519.Ed25519PrivateKey.generate()
                    ),
                ),
            }
        )

        with pytest.raises(ConfigurationError, match="AETHERFLOW_JWT_PUBLIC_KEY_FILES"):
            load_key_set(settings)
