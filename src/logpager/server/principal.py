"""Who is calling: the authenticated principal of the current request, when auth is on."""

from __future__ import annotations

from fastmcp.server.dependencies import get_access_token

__all__ = ["current_principal"]


def current_principal() -> str | None:
    """
    Names the principal the current request's access token stands for.

    A JWT's subject is unique only per issuer, so it is qualified by the issuer; a static
    token (and any token without a subject) stands for its client id, which for
    ``--auth-tokens-file`` is the file's ``PRINCIPAL`` column.

    :return: The principal, or ``None`` when the request carries no verified token (stdio,
        or HTTP with auth off).
    """
    token = get_access_token()
    if token is None:
        return None
    subject = token.subject or token.claims.get("sub")
    if subject:
        issuer = token.claims.get("iss")
        return f"{issuer}#{subject}" if issuer else str(subject)
    return token.client_id
