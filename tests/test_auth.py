"""Authentication over HTTP: the tokens file, JWTs, 401 challenges, and the loopback rule.

The servers are real ``logpager`` processes on loopback ports, configured through
``LOGPAGER_*`` variables, with one extra tool that returns ``current_principal()``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastmcp import Client
from fastmcp.client.transports import StdioTransport
from fastmcp.server.auth.providers.jwt import JWTVerifier, RSAKeyPair, StaticTokenVerifier

from harness.ports import free_port, wait_for_port
from harness.servers import clean_env, run_serve, serve_command
from logpager.errors import ServerStartupError
from logpager.server import INSTRUCTIONS
from logpager.server.auth import MIN_TOKEN_LENGTH, build_auth_provider, read_tokens_file
from logpager.server.run import check_exposure, is_loopback_host
from logpager.settings import Settings, SettingsError
from tests.support.rawhttp import post_jsonrpc

ALICE_TOKEN = "alice-0123456789abcdef"
BOB_TOKEN = "bob-0123456789abcdef-2"
TOKENS_FILE_TEXT = f"""\
# principal  token
alice {ALICE_TOKEN}

  # an indented comment, and a principal with a tab
bob\t{BOB_TOKEN}\r
"""
ISSUER = "https://issuer.example"
AUDIENCE = "logpager-test"
STARTUP_SECONDS = 60  # generous: the suite shares a small machine with other work

# A logpager server as `logpager serve` runs it, plus a tool that says who is calling.
PROBE_SERVER = (
    "from logpager.server import create_server, run_server\n"
    "from logpager.server.principal import current_principal\n"
    "from logpager.settings import load_settings\n"
    "settings = load_settings()\n"
    "server = create_server(settings)\n"
    "server.tool(current_principal, name='whoami')\n"
    "run_server(settings, server=server)\n"
)


@pytest.fixture(scope="module")
def tokens_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "tokens"
    path.write_text(TOKENS_FILE_TEXT, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def key_pair() -> RSAKeyPair:
    return RSAKeyPair.generate()


def _serve(data_dir: Path, **settings: str) -> Iterator[str]:
    """Runs the probe server over HTTP on a free loopback port; yields its MCP URL."""
    port = free_port()
    env = clean_env(data_dir=str(data_dir), transport="http", port=str(port), **settings)
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE_SERVER],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        asyncio.run(wait_for_port(port, lambda: proc.poll() is None, STARTUP_SECONDS))
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=STARTUP_SECONDS)


@pytest.fixture(scope="module")
def tokens_url(loghub_archives: Path, tokens_file: Path) -> Iterator[str]:
    yield from _serve(loghub_archives, auth_tokens_file=str(tokens_file))


@pytest.fixture(scope="module")
def jwt_url(
    loghub_archives: Path, key_pair: RSAKeyPair, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    key_file = tmp_path_factory.mktemp("jwt") / "public.pem"
    key_file.write_text(key_pair.public_key, encoding="ascii")
    yield from _serve(
        loghub_archives,
        auth_jwt_public_key_file=str(key_file),
        auth_jwt_issuer=ISSUER,
        auth_jwt_audience=AUDIENCE,
    )


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _post(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    answer = post_jsonrpc(url, headers)
    return answer.status, answer.headers, answer.body


def _run_http_serve(*args: str) -> tuple[int, list[str]]:
    run = run_serve("--transport", "http", *args, timeout=STARTUP_SECONDS)
    return run.status, run.lines


async def _refused_as_invalid(url: str, token: str) -> None:
    status, headers, body = await asyncio.to_thread(
        _post, url, {"Authorization": f"Bearer {token}"}
    )
    assert status == 401
    assert headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert json.loads(body)["error"] == "invalid_token"


# --- the tokens file -------------------------------------------------------------------------


def test_tokens_file_skips_comments_and_blank_lines(tokens_file: Path) -> None:
    assert read_tokens_file(tokens_file) == {ALICE_TOKEN: "alice", BOB_TOKEN: "bob"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"alice {ALICE_TOKEN}\nbob\n", "line 2: expected 'PRINCIPAL TOKEN', found 1 field(s)"),
        (f"\n\nalice {ALICE_TOKEN} extra\n", "line 3: expected 'PRINCIPAL TOKEN', found 3"),
        (f"alice {ALICE_TOKEN}\n# x\nbob {ALICE_TOKEN}\n", "line 3: the token of 'bob' is the "),
        ("alice short-token\n", f"line 1: the token of 'alice' has 11 characters; at least {16}"),
        ("# nothing but comments\n\n", "holds no 'PRINCIPAL TOKEN' line"),
    ],
    ids=["one-field", "three-fields", "duplicate", "short", "empty"],
)
def test_tokens_file_errors_name_file_and_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "tokens"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as exc:
        read_tokens_file(path)
    message = str(exc.value)
    assert f"auth tokens file {path}" in message
    assert fragment in message
    assert ALICE_TOKEN not in message
    assert "short-token" not in message
    assert MIN_TOKEN_LENGTH == 16


def test_tokens_file_unreadable_or_not_text(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(SettingsError, match=f"cannot read the auth tokens file {missing}: No such"):
        read_tokens_file(missing)
    with pytest.raises(SettingsError, match=f"cannot read the auth tokens file {tmp_path}"):
        read_tokens_file(tmp_path)
    binary = tmp_path / "binary"
    binary.write_bytes(f"alice {ALICE_TOKEN}\n".encode() + b"bob \xff\xfe0123456789abcdef\n")
    with pytest.raises(SettingsError, match=f"auth tokens file {binary}, line 2: not UTF-8"):
        read_tokens_file(binary)


# --- which verifier the settings build ------------------------------------------------------


async def test_no_auth_settings_no_provider(tmp_path: Path) -> None:
    assert build_auth_provider(Settings(data_dir=tmp_path)) is None


async def test_static_tokens_stand_for_their_principal(tokens_file: Path) -> None:
    provider = build_auth_provider(Settings(auth_tokens_file=tokens_file))
    assert isinstance(provider, StaticTokenVerifier)
    token = await provider.verify_token(BOB_TOKEN)
    assert token is not None
    assert token.client_id == "bob"
    assert await provider.verify_token("not-a-token-of-the-file") is None


def _pem(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


def test_jwt_settings_build_a_jwt_verifier(tmp_path: Path, key_pair: RSAKeyPair) -> None:
    key = _pem(tmp_path, "public.pem", key_pair.public_key)
    provider = build_auth_provider(
        Settings(auth_jwt_public_key_file=key, auth_jwt_issuer=ISSUER, auth_jwt_audience=AUDIENCE)
    )
    assert isinstance(provider, JWTVerifier)
    assert (provider.issuer, provider.audience, provider.algorithm) == (ISSUER, AUDIENCE, "RS256")
    jwks = build_auth_provider(Settings(auth_jwt_jwks_uri="https://issuer.example/jwks.json"))
    assert isinstance(jwks, JWTVerifier)
    assert jwks.jwks_uri == "https://issuer.example/jwks.json"


def test_unusable_auth_settings_are_clear_errors(
    tmp_path: Path, tokens_file: Path, key_pair: RSAKeyPair
) -> None:
    key = _pem(tmp_path, "public.pem", key_pair.public_key)
    private = _pem(tmp_path, "private.pem", key_pair.private_key.get_secret_value())
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_pem = ec_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ec_file = _pem(tmp_path, "ec.pem", ec_pem.decode())
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"auth_tokens_file": tokens_file, "auth_jwt_public_key_file": key},
            "are both set; configure one kind of authentication",
        ),
        (
            {"auth_jwt_issuer": ISSUER, "auth_jwt_audience": AUDIENCE},
            "JWT options are set (auth_jwt_issuer, auth_jwt_audience) but no key",
        ),
        (
            {"auth_jwt_public_key_file": key, "auth_jwt_jwks_uri": "https://x.example/jwks"},
            "give one key source",
        ),
        ({"auth_jwt_jwks_uri": "issuer.example/jwks"}, "must be an http(s) URL"),
        ({"auth_jwt_public_key_file": tmp_path / "none.pem"}, "cannot read the JWT public key"),
        ({"auth_jwt_public_key_file": private}, "holds no PEM public key"),
        ({"auth_jwt_public_key_file": ec_file}, "cannot verify RS256 signatures"),
        (
            {"auth_jwt_public_key_file": key, "auth_jwt_algorithm": "HS256"},
            "cannot verify JWTs with these settings",
        ),
    ]
    for values, fragment in cases:
        with pytest.raises(SettingsError) as exc:
            build_auth_provider(Settings(**values))
        assert fragment in str(exc.value), values


# --- static tokens over real HTTP -----------------------------------------------------------


async def test_valid_token_calls_the_tools(tokens_url: str) -> None:
    async with Client(tokens_url, auth=ALICE_TOKEN) as client:
        assert (await client.call_tool("get_instructions", {})).data == INSTRUCTIONS
        page = (await client.call_tool("search_by_kql", {"kql_query": "message: *error*"})).data
        assert page["num_total_matches"] == 947
        assert page["result_handle"]
        assert (await client.call_tool("whoami", {})).data == "alice"
    async with Client(tokens_url, auth=BOB_TOKEN) as client:
        assert (await client.call_tool("whoami", {})).data == "bob"


async def test_missing_or_wrong_token_gets_401(tokens_url: str) -> None:
    status, headers, _body = await asyncio.to_thread(_post, tokens_url, {})
    assert status == 401
    # No error attribute without credentials (RFC 6750 3.1), and no resource_metadata URL:
    # a bare token verifier serves no RFC 9728 document, so none is advertised.
    assert headers["www-authenticate"] == "Bearer"
    await _refused_as_invalid(tokens_url, ALICE_TOKEN[:-1] + "X")
    status, headers, _body = await asyncio.to_thread(
        _post, tokens_url, {"Authorization": f"Basic {ALICE_TOKEN}"}
    )
    assert (status, headers["www-authenticate"]) == (401, "Bearer")
    metadata = tokens_url.removesuffix("/mcp") + "/.well-known/oauth-protected-resource"
    for url in (metadata, metadata + "/mcp"):
        assert await asyncio.to_thread(_get, url) == 404


# --- JWTs over real HTTP --------------------------------------------------------------------


async def test_valid_jwt_calls_the_tools(jwt_url: str, key_pair: RSAKeyPair) -> None:
    token = key_pair.create_token(subject="user-1", issuer=ISSUER, audience=AUDIENCE)
    async with Client(jwt_url, auth=token) as client:
        assert (await client.call_tool("get_instructions", {})).data == INSTRUCTIONS
        assert (await client.call_tool("whoami", {})).data == f"{ISSUER}#user-1"


@pytest.mark.parametrize("problem", ["expired", "audience", "issuer", "key"])
async def test_bad_jwt_gets_401(jwt_url: str, key_pair: RSAKeyPair, problem: str) -> None:
    claims: dict[str, Any] = {"subject": "user-1", "issuer": ISSUER, "audience": AUDIENCE}
    signer = key_pair
    if problem == "expired":
        claims["expires_in_seconds"] = -60
    elif problem == "audience":
        claims["audience"] = "another-service"
    elif problem == "issuer":
        claims["issuer"] = "https://elsewhere.example"
    else:
        signer = RSAKeyPair.generate()
    await _refused_as_invalid(jwt_url, signer.create_token(**claims))


# --- no auth over stdio ---------------------------------------------------------------------


async def test_stdio_checks_no_token(loghub_archives: Path, tokens_file: Path) -> None:
    env = clean_env(
        data_dir=str(loghub_archives), transport="stdio", auth_tokens_file=str(tokens_file)
    )
    transport = StdioTransport(command=sys.executable, args=["-c", PROBE_SERVER], env=env)
    async with Client(transport) as client:
        assert (await client.call_tool("get_instructions", {})).data == INSTRUCTIONS
        assert (await client.call_tool("whoami", {})).data is None


# --- listening beyond loopback --------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.10.0.3", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("0.0.0.0", False),
        ("", False),
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_exposure_needs_auth_or_the_explicit_flag() -> None:
    check_exposure("127.0.0.1", authenticated=False, allow_unauthenticated=False)
    check_exposure("0.0.0.0", authenticated=True, allow_unauthenticated=False)
    check_exposure("0.0.0.0", authenticated=False, allow_unauthenticated=True)
    with pytest.raises(ServerStartupError, match="--allow-unauthenticated"):
        check_exposure("0.0.0.0", authenticated=False, allow_unauthenticated=False)


def test_serve_refuses_a_public_address_without_auth(loghub_archives: Path) -> None:
    # The port is taken on loopback: had the server tried to bind, it would say so instead.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = str(holder.getsockname()[1])
        status, lines = _run_http_serve(
            "--data-dir", str(loghub_archives), "--host", "0.0.0.0", "--port", port
        )
    assert status == 1
    assert lines == [
        "error: Refusing to serve HTTP on 0.0.0.0 without authentication: it is not a loopback "
        "address, so anyone who reaches it could search the logs. Pass --auth-tokens-file FILE, "
        "or --jwt-public-key FILE or --jwt-jwks-uri URL, to require bearer tokens; or "
        "--allow-unauthenticated if a proxy in front authenticates clients."
    ]


async def test_serve_allow_unauthenticated_listens(loghub_archives: Path) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *serve_command(
            "--transport",
            "http",
            "--data-dir",
            str(loghub_archives),
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--allow-unauthenticated",
        ),
        env=clean_env(),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        # Connects on loopback only, then stops it at once.
        await wait_for_port(port, lambda: proc.returncode is None, STARTUP_SECONDS)
    finally:
        proc.terminate()
        status = await proc.wait()
    assert status == 0


def test_serve_auth_flags_reach_the_settings(loghub_archives: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("alice short\n", encoding="utf-8")
    tokens.chmod(0o600)
    data = ["--data-dir", str(loghub_archives), "--port", str(free_port())]
    status, lines = _run_http_serve(*data, "--auth-tokens-file", str(tokens))
    assert (status, lines) == (
        2,
        [
            f"error: auth tokens file {tokens}, line 1: the token of 'alice' has 5 "
            "characters; at least 16 are needed"
        ],
    )
    status, lines = _run_http_serve(*data, "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE)
    assert status == 2
    assert lines == [
        "error: JWT options are set (auth_jwt_issuer, auth_jwt_audience) but no key to verify "
        "tokens with: set auth_jwt_public_key_file (--jwt-public-key) or auth_jwt_jwks_uri "
        "(--jwt-jwks-uri)"
    ]
