"""Schemathesis hooks for Warden (run by `cargo xtask schemathesis`).

Every generated request carries a valid credential for the API it addresses: a
session token for Coder's API (signed in afresh when a request answers 401, so a
generated `POST /users/logout` does not end the run's authentication) and the SCIM
bearer key under /scim. Schemathesis still strips or corrupts them itself where a
check needs an unauthenticated request.
"""

import os

import requests
import schemathesis

BASE = os.environ["WARDEN_ST_URL"]
EMAIL = os.environ["WARDEN_ST_EMAIL"]
PASSWORD = os.environ["WARDEN_ST_PASSWORD"]
SCIM_KEY = os.environ["WARDEN_ST_SCIM_KEY"]


def is_scim(case):
    return case.path.startswith("/scim/") or case.path.startswith("/api/v2/scim/")


def credential_kind(case, context):
    return "scim" if is_scim(case) else "session"


@schemathesis.auth(refresh_interval=3600, cache_by_key=credential_kind, retry_on=[401])
class WardenAuth:
    def get(self, case, context):
        if is_scim(case):
            return SCIM_KEY
        reply = requests.post(
            f"{BASE}/api/v2/users/login",
            json={"email": EMAIL, "password": PASSWORD},
            timeout=10,
        )
        reply.raise_for_status()
        return reply.json()["session_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        if is_scim(case):
            case.headers["Authorization"] = f"Bearer {data}"
        else:
            case.headers["Coder-Session-Token"] = data
