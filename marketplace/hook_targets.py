"""Where an annotation hook points: an HTTPS URL, or a Python function the server allows.

Checked when a job spec is read; nothing is fetched or imported here. Whether a URL's host is a
public address is checked when the hook is called (tasks.hooks), since DNS may change between.
"""

import re
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

MAX_TARGET_CHARS = 1024
_DOTTED_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")


def hook_target_is_url(target: str) -> bool:
    """Whether a checked target is a URL (otherwise it is a dotted path)."""
    return "://" in target


def hook_target_check(value: str) -> str:
    """The target normalised (scheme and host in lower case, no fragment), or ValueError with
    the reason in words a requester can act on."""
    target = value.strip()
    if not target:
        raise ValueError("Give an HTTPS URL or the dotted path of an allowed Python function.")
    if len(target) > MAX_TARGET_CHARS:
        raise ValueError(f"A hook target has at most {MAX_TARGET_CHARS} characters.")
    if hook_target_is_url(target):
        return _url_check(target)
    if not _DOTTED_PATH.fullmatch(target):
        raise ValueError(
            "Give an HTTPS URL (https://...) or the dotted path of an allowed Python function "
            "(module.function)."
        )
    allowed = list(settings.HOOK_ALLOWED_CALLABLES)
    if target not in allowed:
        listed = ", ".join(allowed) if allowed else "none"
        raise ValueError(f"'{target}' is not in the allowed list: {listed}.")
    return target


def _url_check(target: str) -> str:
    if any(character.isspace() or ord(character) < 32 for character in target):
        raise ValueError("A hook URL must not contain spaces or control characters.")
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        raise ValueError("The hook URL is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme == "http" and not settings.HOOKS_ALLOW_HTTP:
        raise ValueError("Use an https:// URL: this server does not call plain http:// hooks.")
    if scheme not in ("https", "http"):
        raise ValueError("A hook URL must start with https://.")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "A hook URL must not contain credentials (user:password@); requests are signed "
            "with your organisation's hook secret instead."
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("The hook URL has no host.")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
