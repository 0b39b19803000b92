"""A local emulator of OTC's IAM token API and the CTS v1.0 and v3 APIs (trackers, key-event notifications,
traces, quotas), with a control API for tests.

Run it with `python -m pulumi_cts.emulator`, or in-process with `Emulator(...)`; pass an `ssl.SSLContext`
(e.g. from `server_ssl_context`) to serve HTTPS.

Layout, as moto lays out a service: `models` and `backend` (state and CTS rules), `exceptions` (one class per
error answer), `urls` (routes), `gateway` (who the caller is, which project it may touch), handlers per API
(`iam_responses`, `cts_v1_responses`, `cts_v3_responses`) with what they share in `common`, the control API
(`control_responses` serves it, `control_client` drives it), `faults`, and `server` (WSGI app and HTTP server).
"""

from pulumi_cts.emulator.control_client import EmulatorControl
from pulumi_cts.emulator.server import Emulator, EmulatorBindError, server_ssl_context

__all__ = ["Emulator", "EmulatorBindError", "EmulatorControl", "server_ssl_context"]
