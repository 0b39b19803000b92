"""A local emulator of OTC's IAM token API and the CTS v1.0 and v3 APIs (trackers, key-event notifications,
traces, quotas), with a control API for tests.

Run it with `python -m pulumi_cts.emulator`, or in-process with `Emulator(...)`; pass an `ssl.SSLContext`
(e.g. from `server_ssl_context`) to serve HTTPS.
"""

from pulumi_cts.emulator.control import EmulatorControl
from pulumi_cts.emulator.server import Emulator, EmulatorBindError, server_ssl_context

__all__ = ["Emulator", "EmulatorBindError", "EmulatorControl", "server_ssl_context"]
