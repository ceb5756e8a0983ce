"""Who may call the server over HTTP: the bearer-token verifier that the settings ask for.

Two kinds, one at a time: static tokens read from a file (``auth_tokens_file``), each
standing for a named principal, or JWTs checked against a public key or a JWKS URL
(``auth_jwt_*``). Either is one of FastMCP's own verifiers; FastMCP's middleware then answers
a request without a valid token with HTTP 401 and a ``WWW-Authenticate: Bearer`` challenge.
Over stdio FastMCP checks no token: the client started the server itself.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastmcp.server.auth import TokenVerifier
from fastmcp.server.auth.providers.jwt import JWTVerifier, StaticTokenVerifier

from logpager.errors import SettingsError
from logpager.settings import Settings

__all__ = ["MIN_TOKEN_LENGTH", "build_auth_provider", "read_tokens_file"]

logger = logging.getLogger(__name__)

MIN_TOKEN_LENGTH = 16
"""Shortest static token accepted. A floor against guessable tokens rather than a tunable:
16 random URL-safe characters hold 96 bits (``python -c 'import secrets;
print(secrets.token_urlsafe(32))'`` makes 43)."""

_DEFAULT_JWT_ALGORITHM = "RS256"

# The public key classes each JWT algorithm family verifies with (as FastMCP's JWTVerifier
# maps them); a key of another kind would make every token fail, so it is refused up front.
_KEY_CLASSES: dict[str, tuple[type, ...]] = {
    "RS": (rsa.RSAPublicKey,),
    "PS": (rsa.RSAPublicKey,),
    "ES": (ec.EllipticCurvePublicKey,),
    "Ed": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}


def read_tokens_file(path: Path) -> dict[str, str]:
    """
    Reads the static bearer tokens of ``auth_tokens_file``.

    One ``PRINCIPAL TOKEN`` pair a line, separated by spaces or tabs; a line whose first
    non-blank character is ``#`` is a comment, and blank lines are ignored. A principal may
    have several tokens (to rotate them); a token stands for one principal only.

    :param path: The file.
    :return: Principal of each token.
    :raise SettingsError: If the file cannot be read or is not UTF-8, a line is not a pair, a
        token is shorter than :data:`MIN_TOKEN_LENGTH` or appears twice, or the file holds no
        token. The message names the file and the line, never a token.
    """
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        msg = f"cannot read the auth tokens file {path}: {exc.strerror or exc}"
        raise SettingsError(msg) from exc
    if mode & 0o077:
        # As ssh does for private keys: a token other users can read is theirs to use.
        logger.warning(
            "auth tokens file %s is open to other users (mode %o): chmod 600 it", path, mode & 0o777
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        msg = f"auth tokens file {path}, line {line}: not UTF-8 text"
        raise SettingsError(msg) from exc
    principals: dict[str, str] = {}
    first_line: dict[str, int] = {}
    # Split on newlines only, as editors number lines; row.split() drops a CRLF line's CR.
    for number, row in enumerate(text.split("\n"), start=1):
        fields = row.split()
        if not fields or fields[0].startswith("#"):
            continue
        where = f"auth tokens file {path}, line {number}"
        if len(fields) != 2:
            msg = f"{where}: expected 'PRINCIPAL TOKEN', found {len(fields)} field(s)"
            raise SettingsError(msg)
        principal, token = fields
        if len(token) < MIN_TOKEN_LENGTH:
            msg = (
                f"{where}: the token of {principal!r} has {len(token)} characters; at least "
                f"{MIN_TOKEN_LENGTH} are needed"
            )
            raise SettingsError(msg)
        if token in principals:
            msg = f"{where}: the token of {principal!r} is the same as on line {first_line[token]}"
            raise SettingsError(msg)
        principals[token] = principal
        first_line[token] = number
    if not principals:
        msg = f"auth tokens file {path} holds no 'PRINCIPAL TOKEN' line"
        raise SettingsError(msg)
    return principals


def build_auth_provider(settings: Settings) -> TokenVerifier | None:
    """
    Builds the verifier of HTTP bearer tokens that ``settings`` ask for.

    A static token's verified access token has ``client_id`` set to its principal, which
    :func:`logpager.server.principal.current_principal` returns; a JWT's principal is its
    issuer and subject.

    :param settings: Settings: ``auth_tokens_file``, or ``auth_jwt_public_key_file`` /
        ``auth_jwt_jwks_uri`` with ``auth_jwt_issuer``, ``auth_jwt_audience`` and
        ``auth_jwt_algorithm``.
    :return: A :class:`StaticTokenVerifier` or a :class:`JWTVerifier`; ``None`` when no
        authentication is configured.
    :raise SettingsError: If both kinds are configured, JWT options are given without a key
        source (or with both), or the tokens file or the key cannot be used.
    """
    jwt_options = _jwt_options_given(settings)
    if settings.auth_tokens_file is not None:
        if jwt_options:
            msg = (
                "auth_tokens_file (--auth-tokens-file) and JWT verification "
                f"({', '.join(jwt_options)}) are both set; configure one kind of authentication"
            )
            raise SettingsError(msg)
        principals = read_tokens_file(settings.auth_tokens_file)
        return StaticTokenVerifier(
            {token: {"client_id": who, "scopes": []} for token, who in principals.items()}
        )
    if not jwt_options:
        return None
    return _jwt_verifier(settings, jwt_options)


def _jwt_options_given(settings: Settings) -> list[str]:
    """:return: Names of the ``auth_jwt_*`` settings that are set (the algorithm if changed)."""
    given = [
        name
        for name in (
            "auth_jwt_public_key_file",
            "auth_jwt_jwks_uri",
            "auth_jwt_issuer",
            "auth_jwt_audience",
        )
        if getattr(settings, name) is not None
    ]
    if settings.auth_jwt_algorithm != _DEFAULT_JWT_ALGORITHM:
        given.append("auth_jwt_algorithm")
    return given


def _jwt_verifier(settings: Settings, options: list[str]) -> JWTVerifier:
    """
    :param settings: Settings with at least one ``auth_jwt_*`` option set.
    :param options: Those options' names, for the messages.
    :return: The verifier of JWTs signed by the configured key or JWKS.
    :raise SettingsError: If there is no key source or two, or the key cannot verify the
        algorithm.
    """
    key_file = settings.auth_jwt_public_key_file
    jwks_uri = settings.auth_jwt_jwks_uri
    if key_file is None and jwks_uri is None:
        msg = (
            f"JWT options are set ({', '.join(options)}) but no key to verify tokens with: set "
            "auth_jwt_public_key_file (--jwt-public-key) or auth_jwt_jwks_uri (--jwt-jwks-uri)"
        )
        raise SettingsError(msg)
    if key_file is not None and jwks_uri is not None:
        msg = (
            "auth_jwt_public_key_file (--jwt-public-key) and auth_jwt_jwks_uri (--jwt-jwks-uri) "
            "are both set; give one key source"
        )
        raise SettingsError(msg)
    algorithm = settings.auth_jwt_algorithm
    public_key = _read_public_key(key_file, algorithm) if key_file is not None else None
    if jwks_uri is not None:
        parts = urlsplit(jwks_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            msg = f"auth_jwt_jwks_uri must be an http(s) URL, got {jwks_uri!r}"
            raise SettingsError(msg)
    if settings.auth_jwt_audience is None:
        # Legal, but a token the same issuer made for any other service gets in too.
        logger.warning("JWTs are accepted for any audience: set auth_jwt_audience to bind them")
    try:
        return JWTVerifier(
            public_key=public_key,
            jwks_uri=jwks_uri,
            issuer=settings.auth_jwt_issuer,
            audience=settings.auth_jwt_audience,
            algorithm=algorithm,
        )
    except ValueError as exc:
        msg = f"cannot verify JWTs with these settings: {exc}"
        raise SettingsError(msg) from exc


def _read_public_key(path: Path, algorithm: str) -> bytes:
    """
    :param path: ``auth_jwt_public_key_file``.
    :param algorithm: ``auth_jwt_algorithm``.
    :return: The file's PEM bytes, once they are known to hold a public key for ``algorithm``.
    :raise SettingsError: If the file cannot be read, holds no PEM public key (a private key
        is refused too: it does not belong on the server), or holds a key of another kind.
    """
    try:
        pem = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read the JWT public key file {path}: {exc.strerror or exc}"
        raise SettingsError(msg) from exc
    try:
        key = load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        msg = f"the JWT public key file {path} holds no PEM public key"
        raise SettingsError(msg) from exc
    expected = _KEY_CLASSES.get(algorithm[:2])
    if expected is not None and not isinstance(key, expected):
        msg = (
            f"the JWT public key file {path} holds a {type(key).__name__}, which "
            f"cannot verify {algorithm} signatures"
        )
        raise SettingsError(msg)
    return pem
