"""A local emulator of OTC's IAM token API and CTS v1.0 tracker API, with a control API for tests.

Run it with `python -m pulumi_cts.emulator`, or in-process with `Emulator(...)`.
"""

from pulumi_cts.emulator.control import EmulatorControl
from pulumi_cts.emulator.server import Emulator, EmulatorBindError

__all__ = ["Emulator", "EmulatorBindError", "EmulatorControl"]
