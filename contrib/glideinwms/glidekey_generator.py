"""GlideinWMS credential generator that takes the frontend's SciTokens from glidekey.

Name it in frontend.xml as a credential's generator (see glidekey's README, "Adopting glidekey in
an existing GlideinWMS", step 2):

    <credential generator="glidekey_generator" absfname="glidekey_generator"
                type="scitoken" trust_domain="OSG" security_class="frontend"/>

For each factory entry of that trust domain, the frontend calls
get_credential(log, group, entry, trust_domain); this module asks glidekey
(POST /api/v1/gwms/credentials/scitoken, with an API key of the credential-reader role) for the
stored SciToken that matches the entry and returns (token, lifetime_seconds). It raises KeyError
when information is missing (no configuration, an entry without name or gatekeeper, no SciToken
for the entry) and ValueError when no token could be had (glidekey unreachable, TLS failure, a
refused API key, a 5xx, an answer that is not one). GlideinWMS logs the exception's message and
skips the credential, so messages never hold the token or the API key.

Configuration, from the frontend process's environment, or from a JSON file named by
GLIDEKEY_GENERATOR_CONFIG (keys url, api_key_file, ca_bundle, allow_http, timeout_seconds); an
environment variable wins over the file:

    GLIDEKEY_URL            https://glidekey.example.org:8443 (plain http only to loopback)
    GLIDEKEY_API_KEY_FILE   a file holding the credential-reader key: a regular file of the
                            frontend user's, mode 0600 (no group or other bits)
    GLIDEKEY_CA_BUNDLE      PEM CA bundle that verifies glidekey's certificate (default: the system's)
    GLIDEKEY_ALLOW_HTTP     1: allow plain http to another host (tests only: the key would travel in clear)
    GLIDEKEY_TIMEOUT_SECONDS  per request (default 5)

Standard library only; Python 3.9 or later.
"""

import http.client
import ipaddress
import json
import logging
import os
import re
import socket
import ssl
import stat
import threading
import time
import urllib.parse

__all__ = ["get_credential"]

API_PATH = "/api/v1/gwms/credentials/scitoken"
API_KEY = re.compile(r"^gk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$")
JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
DEFAULT_TIMEOUT = 5.0
MAX_ANSWER = 1 << 20

# GlideinWMS runs each group's iteration in a new process and calls the generator once per entry:
# many entries share a CE, so one answer serves them for the rest of the iteration (and at most
# CACHE_SECONDS, and never closer than CACHE_MARGIN_SECONDS to the token's expiry).
CACHE_SECONDS = 300
CACHE_MARGIN_SECONDS = 60
# When glidekey cannot be reached, the other entries of this iteration do not each wait for a
# timeout: they fail at once for this long.
DOWN_SECONDS = 60

_lock = threading.Lock()
_cache = {}
_down = {"until": 0.0, "why": ""}


def _logger(log):
    """GlideinWMS passes its logSupport module (whose .log is the logger); accept a logger too."""
    inner = getattr(log, "log", None)
    if inner is not None and hasattr(inner, "debug"):
        return inner
    if log is not None and hasattr(log, "debug") and hasattr(log, "warning"):
        return log
    return logging.getLogger("glidekey_generator")


def _setting(file_settings, env, key):
    value = os.environ.get(env)
    if value is not None and value != "":
        return value
    return file_settings.get(key)


def _config():
    """The settings, checked; KeyError when one is missing, ValueError when one is unusable."""
    file_settings = {}
    path = os.environ.get("GLIDEKEY_GENERATOR_CONFIG")
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                file_settings = json.load(f)
        except OSError as err:
            raise KeyError(f"glidekey generator: cannot read GLIDEKEY_GENERATOR_CONFIG {path}: {err.strerror}") from None
        except ValueError:
            raise ValueError(f"glidekey generator: GLIDEKEY_GENERATOR_CONFIG {path} is not JSON") from None
        if not isinstance(file_settings, dict):
            raise ValueError(f"glidekey generator: GLIDEKEY_GENERATOR_CONFIG {path} must hold a JSON object")
    url = _setting(file_settings, "GLIDEKEY_URL", "url")
    key_file = _setting(file_settings, "GLIDEKEY_API_KEY_FILE", "api_key_file")
    if not url:
        raise KeyError("glidekey generator: GLIDEKEY_URL is not set (environment or GLIDEKEY_GENERATOR_CONFIG url)")
    if not key_file:
        raise KeyError("glidekey generator: GLIDEKEY_API_KEY_FILE is not set (environment or GLIDEKEY_GENERATOR_CONFIG api_key_file)")
    allow_http = str(_setting(file_settings, "GLIDEKEY_ALLOW_HTTP", "allow_http") or "").lower() in ("1", "true", "yes")
    timeout = _setting(file_settings, "GLIDEKEY_TIMEOUT_SECONDS", "timeout_seconds")
    try:
        timeout = DEFAULT_TIMEOUT if timeout in (None, "") else float(timeout)
    except (TypeError, ValueError):
        raise ValueError("glidekey generator: GLIDEKEY_TIMEOUT_SECONDS must be a number of seconds") from None
    if not 0 < timeout <= 300:
        raise ValueError("glidekey generator: GLIDEKEY_TIMEOUT_SECONDS must be between 0 and 300")
    return {
        "url": _base_url(str(url), allow_http),
        "key_file": str(key_file),
        "ca_bundle": _setting(file_settings, "GLIDEKEY_CA_BUNDLE", "ca_bundle"),
        "timeout": timeout,
    }


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url(url, allow_http):
    """The service's base URL, refused when the API key would cross the network in clear."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError("glidekey generator: GLIDEKEY_URL must start with https:// (or http:// on loopback)")
    if u.username or u.password or u.query or u.fragment:
        raise ValueError("glidekey generator: GLIDEKEY_URL must be a base URL without credentials, query or fragment")
    if u.scheme == "http" and not _loopback(u.hostname) and not allow_http:
        raise ValueError(
            f"glidekey generator: GLIDEKEY_URL {u.scheme}://{u.netloc} is plain http to another host: "
            "the API key would cross the network in clear; use https:// (GLIDEKEY_ALLOW_HTTP=1 only for tests)"
        )
    try:
        port = u.port
    except ValueError:
        raise ValueError("glidekey generator: GLIDEKEY_URL has a bad port") from None
    return {"scheme": u.scheme, "host": u.hostname, "port": port, "path": u.path.rstrip("/")}


def _read_api_key(path):
    """The API key from a regular 0600 file of this user's, as glidekey's CLI reads it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        raise KeyError(f"glidekey generator: cannot read the API key file {path}: {err.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"glidekey generator: the API key file {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise ValueError(
                f"glidekey generator: the API key file {path} is open to group or others (mode {mode:04o}): "
                f"refusing to use it; chmod 600 {path}"
            )
        uid = os.getuid()
        if uid != 0 and st.st_uid != uid:
            raise ValueError(f"glidekey generator: the API key file {path} is not owned by this user: refusing to use it")
        with os.fdopen(fd, "r", encoding="utf-8", closefd=False) as f:
            key = f.read(4096).strip()
    finally:
        os.close(fd)
    if not API_KEY.match(key):
        raise ValueError(f"glidekey generator: the API key file {path} does not hold a glidekey API key")
    return key


def _connection(cfg):
    base = cfg["url"]
    if base["scheme"] == "https":
        try:
            ctx = ssl.create_default_context(cafile=cfg["ca_bundle"] or None)
        except (OSError, ssl.SSLError) as err:
            raise ValueError(f"glidekey generator: cannot load the CA bundle {cfg['ca_bundle']}: {getattr(err, 'strerror', None) or err}") from None
        return http.client.HTTPSConnection(base["host"], base["port"], timeout=cfg["timeout"], context=ctx)
    return http.client.HTTPConnection(base["host"], base["port"], timeout=cfg["timeout"])


def _origin(cfg):
    base = cfg["url"]
    return f"{base['scheme']}://{base['host']}" + (f":{base['port']}" if base["port"] else "")


def _ask(cfg, api_key, body):
    """One POST; (status, parsed JSON or None). ValueError when glidekey cannot be reached."""
    payload = json.dumps(body).encode("utf-8")
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": "glidekey_generator",
    }
    conn = _connection(cfg)
    try:
        conn.request("POST", cfg["url"]["path"] + API_PATH, body=payload, headers=headers)
        res = conn.getresponse()
        raw = res.read(MAX_ANSWER + 1)
        status = res.status
    except ssl.SSLError as err:
        raise ValueError(f"glidekey generator: TLS with {_origin(cfg)} failed: {err.reason or type(err).__name__}") from None
    except (OSError, http.client.HTTPException) as err:
        why = type(err).__name__ if isinstance(err, (socket.timeout, http.client.HTTPException)) else (err.strerror or type(err).__name__)
        _mark_down(f"cannot reach glidekey at {_origin(cfg)}: {why}")
        raise ValueError(f"glidekey generator: {_down['why']}") from None
    finally:
        conn.close()
    if len(raw) > MAX_ANSWER:
        raise ValueError(f"glidekey generator: the answer from {_origin(cfg)} is too large")
    try:
        return status, json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        return status, None


def _mark_down(why):
    with _lock:
        _down["until"] = time.monotonic() + DOWN_SECONDS
        _down["why"] = why


def _error_of(answer):
    err = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(err, dict) and isinstance(err.get("code"), str):
        return err["code"], str(err.get("message", ""))[:500]
    return None, ""


def _entry_field(entry, name):
    value = entry.get(name) if isinstance(entry, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise KeyError(f"glidekey generator: the entry has no {name}")
    return value


def get_credential(log, group, entry, trust_domain):
    """GlideinWMS's credential generator call: (SciToken, seconds it has left) for this entry.

    Raises KeyError when information is missing (configuration, the entry's name or gatekeeper,
    no stored SciToken matches the entry) and ValueError when no token could be had.
    """
    logger = _logger(log)
    name = _entry_field(entry, "name")
    gatekeeper = _entry_field(entry, "gatekeeper")
    if not isinstance(trust_domain, str) or not trust_domain:
        raise KeyError("glidekey generator: no trust domain")
    cache_key = (trust_domain, gatekeeper)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(cache_key)
        if hit and now < hit["until"]:
            lifetime = int(hit["expires"] - time.time())
            logger.debug(f"glidekey generator: SciToken {hit['name']} for entry {name} (cached, {lifetime} s left)")
            return hit["token"], lifetime
        if now < _down["until"]:
            raise ValueError(f"glidekey generator: {_down['why']} (not retried for {DOWN_SECONDS} s)")
    cfg = _config()
    api_key = _read_api_key(cfg["key_file"])
    body = {"group": str(group), "entry": {"name": name, "gatekeeper": gatekeeper}, "trustDomain": trust_domain}
    if isinstance(entry.get("factory"), str) and entry["factory"]:
        body["entry"]["factory"] = entry["factory"]
    status, answer = _ask(cfg, api_key, body)
    code, message = _error_of(answer)
    if status == 404 and code == "CREDENTIAL_NO_MATCH":
        raise KeyError(f"glidekey generator: no SciToken for entry {name} (gatekeeper {gatekeeper}, trust domain {trust_domain}): {message}")
    if status == 400:
        raise KeyError(f"glidekey generator: glidekey refused the request for entry {name}: {code or 'HTTP 400'}: {message}")
    if status in (401, 403):
        raise ValueError(
            f"glidekey generator: glidekey refused the API key in {cfg['key_file']} ({status} {code or 'no code'}): "
            "it must be a live key of the credential-reader role"
        )
    if status != 200:
        if status >= 500:
            _mark_down(f"glidekey at {_origin(cfg)} failed: {status} {code or ''}".rstrip())
        raise ValueError(f"glidekey generator: glidekey answered {status} {code or ''}: {message}".rstrip(": "))
    token = answer.get("token") if isinstance(answer, dict) else None
    lifetime = answer.get("lifetimeSeconds") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not JWT.match(token) or not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        raise ValueError(f"glidekey generator: glidekey at {_origin(cfg)} sent an answer that is not a SciToken and its lifetime")
    token_name = str(answer.get("name", "?"))
    with _lock:
        _cache[cache_key] = {
            "token": token,
            "name": token_name,
            "expires": time.time() + lifetime,
            "until": now + min(CACHE_SECONDS, lifetime - CACHE_MARGIN_SECONDS),
        }
    logger.debug(f"glidekey generator: SciToken {token_name} for entry {name} ({lifetime} s left)")
    return token, lifetime
