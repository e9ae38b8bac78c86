"""Runs the independent `scim2-tester` RFC 7643/7644 checker against a running Warden.

    pip install scim2-tester httpx
    WARDEN_SCIM_API_KEY=k3y warden server --http-address 127.0.0.1:3917 &
    python3 tests/scim/scim2_tester_check.py http://127.0.0.1:3917/scim/v2 k3y

Prints one line per check and a summary; exits non-zero if any check failed.
"""

import sys
import types

import httpx

# scim2-client's sync engine imports its HTTP client under the name `httpx2`; the
# classes it uses are httpx's.
shim = types.ModuleType("httpx2")
for name in ("AsyncClient", "Client", "InvalidURL", "RequestError", "Response"):
    setattr(shim, name, getattr(httpx, name))
sys.modules.setdefault("httpx2", shim)

import scim2_client.engines.httpx2 as engine  # noqa: E402
from scim2_client.engines.httpx2 import SyncSCIMClient  # noqa: E402
from scim2_tester import Status, check_server  # noqa: E402


def _stays_under_base_url(client, endpoint):
    """The engine's same-origin check, with httpx's URL API (no `.origin`)."""
    base = client.base_url
    if not base.is_absolute_url:
        return False
    try:
        url = client.build_request("GET", endpoint).url
    except httpx.InvalidURL:
        return False
    same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
    return same_origin and url.raw_path.startswith(base.raw_path)


engine._stays_under_base_url = _stays_under_base_url


def main() -> int:
    base, key = sys.argv[1], sys.argv[2]
    http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"})
    client = SyncSCIMClient(http)
    results = check_server(client)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.name] = counts.get(r.status.name, 0) + 1
        reason = (r.reason or "").replace("\n", " ")[:300]
        print(f"{r.status.name:8} {r.title}: {reason}")
    print("summary:", counts)
    return 1 if any(r.status == Status.ERROR for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
