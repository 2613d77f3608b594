"""Where a URL really goes, decided the way requests/urllib3 will connect, and whether a bearer
token may go there.

`urlsplit` and urllib3 disagree on tricky URLs (`http://10.0.0.1\\@127.0.0.1`: urlsplit sees
127.0.0.1, urllib3 connects to 10.0.0.1), so a check made with one and a connection made with the
other can send a token in clear to another machine. Here a URL is accepted only when both parsers
agree on scheme, host and port and nothing in it could be read two ways; plain http only to a
loopback address (an IP literal, or `localhost` resolving to loopback only).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..config import is_loopback_address
from ..errors import ServiceError, ValidationError

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Whitespace, control characters, backslashes and anything not ASCII: each is read differently
# by some parser (urlsplit drops tabs, urllib3 turns `\` into a path, IDNA maps `。` to `.`).
_AMBIGUOUS_CHARS = re.compile(r"[\x00-\x20\x7f\\]|[^\x00-\x7f]")
_USE_HTTPS = (
    "use https: plain http is allowed only to a loopback address (127.0.0.1, [::1], localhost)"
)


@dataclass(frozen=True)
class Origin:
    """Scheme, host and port: what decides which machine a request reaches."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def _shown(url: str) -> str:
    """The URL for a message: no query (may hold a SAS), no password, unprintable characters
    escaped (`\\t`, `\\u3002`) so the trick is visible."""
    text = url.split("?", 1)[0].split("#", 1)[0]
    scheme, sep, rest = text.partition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        authority = f"{user}{colon}{'***' if colon else ''}@{host}"
    shown = f"{scheme}{sep}{authority}{slash}{path}"[:200]
    return "".join(c if " " <= c <= "~" else _escaped(c) for c in shown)


def _escaped(char: str) -> str:
    return char.encode("unicode_escape").decode("ascii")


def _refuse(url: str, why: str, what: str) -> ValidationError:
    return ValidationError(f"Refusing {what} '{_shown(url)}': {why}.")


def _odd_character(url: str) -> str | None:
    """What, in `url`, parsers read differently, said plainly."""
    found = _AMBIGUOUS_CHARS.search(url)
    if found is None:
        return None
    char = found.group()
    if char == "\\":
        return "a backslash"
    if char == " ":
        return "a space"
    if ord(char) < 0x80:
        return f"a control character ({_escaped(char)})"
    return f"the non-ASCII character {_escaped(char)} (host names go in their punycode form)"


def _resolves_to_loopback_only(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(is_loopback_address(a.split("%", 1)[0]) for a in addresses)


def origin_of(url: str, *, what: str = "URL") -> Origin:
    """The origin requests will connect to for `url`, or a ValidationError when the URL could
    be read two ways or would send a token in clear to another machine."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    if not isinstance(url, str) or not url:
        raise ValidationError(f"Refusing {what}: it is empty or not text.")
    odd = _odd_character(url)
    if odd:
        raise _refuse(url, f"it contains {odd}: URL parsers read that differently", what)
    try:
        split = urlsplit(url)
        split_port = split.port
        ours = parse_url(url)
    except (ValueError, LocationParseError):
        raise _refuse(url, "it is not a well-formed URL", what) from None
    scheme = (split.scheme or "").lower()
    if scheme not in _DEFAULT_PORTS or (ours.scheme or "").lower() != scheme:
        raise _refuse(url, _USE_HTTPS, what)
    if "@" in split.netloc or ours.auth is not None:
        raise _refuse(url, "it carries a user name or password (user@host); remove them", what)
    if "#" in url:
        raise _refuse(url, "it has a #fragment, which no endpoint needs; remove it", what)
    if "%" in split.netloc:
        raise _refuse(url, "its host is percent-encoded; write it plainly", what)
    host = (ours.host or "").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or host != (split.hostname or "").lower() or ours.port != split_port:
        raise _refuse(url, "its host or port can be read two ways", what)
    if not is_loopback_address(host) and _is_loose_ipv4(host):
        raise _refuse(url, "write an IP address in its usual dotted form (e.g. 127.0.0.1)", what)
    port = split_port if split_port is not None else _DEFAULT_PORTS[scheme]
    origin = Origin(scheme, host, port)
    if scheme == "http" and not _plain_http_allowed(host, port):
        raise _refuse(url, _USE_HTTPS, what)
    return origin


def _is_loose_ipv4(host: str) -> bool:
    """`0x7f.1`, `127.1`, `2130706433`, `0177.0.0.1`: the C resolver reads them as addresses,
    ipaddress does not; such a host means different machines to different readers."""
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def _plain_http_allowed(host: str, port: int) -> bool:
    if is_loopback_address(host):
        return True
    # Only `localhost` by name: another name could resolve to loopback now and elsewhere at
    # connect time (DNS rebinding).
    return host == "localhost" and _resolves_to_loopback_only(host, port)


def ensure_secure(url: str, *, what: str = "URL") -> Origin:
    """Refuse a URL a token must not be sent to; its origin otherwise."""
    return origin_of(url, what=what)


def ensure_same_origin(url: str, expected: Origin, *, what: str) -> Origin:
    """Refuse a link from the service (nextLink, Location, Azure-AsyncOperation) that leads to
    another origin than the plane's: following it would hand the token to that host."""
    try:
        origin = origin_of(url, what=what)
    except ValidationError as exc:  # the service's link, not the user's input
        raise ServiceError(exc.message) from None
    if origin != expected:
        raise ServiceError(
            f"Refusing {what} {_shown(url)!r}: it leads to {origin}, not to {expected} where "
            "this request was sent, and the access token goes only there. The service (or "
            "something between) answered with a foreign link; check the endpoint."
        )
    return origin


# Azure ML's operations host: createAsync's Location points there on Azure, and azd polls it
# with the project plane's ai.azure.com token (EVIDENCE.md §1, azd custom_create.go:291).
AZURE_ML_OPERATIONS_DOMAIN = "api.azureml.ms"


def may_follow_operation(url: str, plane: Origin) -> bool:
    """Whether the plane's token may go to an operation's Location: the plane's own origin, or
    https (port 443) to `api.azureml.ms` or one of its subdomains, decided by `origin_of`'s
    rules (no user info, no host two parsers read differently). Anything else: False."""
    try:
        origin = origin_of(url, what="Location")
    except ValidationError:
        return False
    if origin == plane:
        return True
    host = origin.host
    return (
        origin.scheme == "https"
        and origin.port == 443
        and (host == AZURE_ML_OPERATIONS_DOMAIN or host.endswith("." + AZURE_ML_OPERATIONS_DOMAIN))
    )
