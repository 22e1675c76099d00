"""Signing keys: the one that signs new tokens and the set that may verify them.

Every token names its key in the `kid` header, and the kid is only ever looked up
in the set built here from the settings: it is never a path, a URL or a query.
Header fields that point at keys elsewhere (`jku`, `x5u`, an embedded `jwk`) are
never read, so a token can only be verified by a key the operator configured.

HS256 keys come from `AETHERFLOW_JWT_SECRET` (kid derived from the secret) and
`AETHERFLOW_JWT_KEYS`; the last one, or `AETHERFLOW_JWT_SIGNING_KID`, signs.
EdDSA and RS256 sign with `AETHERFLOW_JWT_PRIVATE_KEY_FILE` and verify with its
public half plus any `AETHERFLOW_JWT_PUBLIC_KEY_FILES`; their kids are RFC 7638
thumbprints, so every service that holds the public key derives the same kid.
"""

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)

from aetherflow_gateway.core.settings import ConfigurationError, Settings

PrivateKey = Ed25519PrivateKey | RSAPrivateKey
PublicKey = Ed25519PublicKey | RSAPublicKey
SigningKey = str | PrivateKey
VerifyingKey = str | PublicKey

MIN_RSA_BITS = 2048
# RFC 7638 §3.2: the members that make up a key's thumbprint.
_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}
_KEY_TYPES: dict[str, tuple[type[PrivateKey], type[PublicKey]]] = {
    "EdDSA": (Ed25519PrivateKey, Ed25519PublicKey),
    "RS256": (RSAPrivateKey, RSAPublicKey),
}


@dataclass(frozen=True)
class KeySet:
    algorithm: str
    signing_kid: str
    signing_key: SigningKey
    verifying: Mapping[str, VerifyingKey]

    def verifying_key(self, kid: object) -> VerifyingKey | None:
        if not isinstance(kid, str):
            return None
        return self.verifying.get(kid)

    def public_jwks(self) -> list[dict[str, str]]:
        """The public verification keys as JWKs; empty for HMAC keys."""
        return [
            {**public_members(key, self.algorithm), "kid": kid, "alg": self.algorithm}
            for kid, key in self.verifying.items()
            if not isinstance(key, str)
        ]


def load_key_set(settings: Settings) -> KeySet:
    """Build the key set, reading key files; a bad file stops start-up."""
    if settings.jwt_algorithm == "HS256":
        return _hmac_key_set(settings)
    return _asymmetric_key_set(settings)


def _hmac_key_set(settings: Settings) -> KeySet:
    keys = settings.hmac_keys
    kid = settings.jwt_signing_kid or list(keys)[-1]
    return KeySet("HS256", kid, keys[kid], keys)


def _asymmetric_key_set(settings: Settings) -> KeySet:
    assert settings.jwt_private_key_file is not None
    algorithm = settings.jwt_algorithm
    private_key = _read_private_key(settings.jwt_private_key_file, algorithm)
    public_keys = [private_key.public_key()] + [
        _read_public_key(path, algorithm) for path in settings.jwt_public_key_files
    ]

    verifying: dict[str, VerifyingKey] = {
        thumbprint(key, algorithm): key for key in public_keys
    }
    signing_kid = thumbprint(private_key.public_key(), algorithm)
    return KeySet(algorithm, signing_kid, private_key, verifying)


def _read_private_key(path: Path, algorithm: str) -> PrivateKey:
    variable = "AETHERFLOW_JWT_PRIVATE_KEY_FILE"
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"{variable}: not a readable PEM private key") from exc

    expected, _ = _KEY_TYPES[algorithm]
    if not isinstance(key, expected):
        raise ConfigurationError(f"{variable}: not a {algorithm} private key")
    _check_strength(key, variable)
    return key


def _read_public_key(path: Path, algorithm: str) -> PublicKey:
    variable = "AETHERFLOW_JWT_PUBLIC_KEY_FILES"
    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"{variable}: {path.name} is not a PEM public key"
        ) from exc

    _, expected = _KEY_TYPES[algorithm]
    if not isinstance(key, expected):
        raise ConfigurationError(f"{variable}: {path.name} is not a {algorithm} key")
    _check_strength(key, variable)
    return key


def _check_strength(key: PrivateKey | PublicKey, variable: str) -> None:
    if isinstance(key, RSAPrivateKey | RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ConfigurationError(f"{variable}: RSA keys need {MIN_RSA_BITS} bits")


def public_members(key: PublicKey, algorithm: str) -> dict[str, str]:
    """The members that define a public key as a JWK (RFC 7638 §3.2), and `use`."""
    jwk = jwt.get_algorithm_by_name(algorithm).to_jwk(key, as_dict=True)
    members = {name: str(jwk[name]) for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    return {**members, "use": "sig"}


def thumbprint(key: PublicKey, algorithm: str) -> str:
    """The key's RFC 7638 JWK thumbprint (SHA-256, base64url)."""
    members = public_members(key, algorithm)
    del members["use"]
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
