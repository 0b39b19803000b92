"""Runs a Pulumi Python program as the language host does, against the runner's monitor and engine.

`python -m pulumi_cts.local.launcher MONITOR ENGINE PROJECT STACK PROGRAM (preview|update)`, with
the stack config in `PULUMI_CONFIG` / `PULUMI_CONFIG_SECRET_KEYS`. A failure ends the process with
exit code 1 and one line on stderr that starts with `ERROR_PREFIX`.
"""

from __future__ import annotations

import asyncio
import json
import os
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

ERROR_PREFIX = "pulumi-cts-local: program failed: "


def _error_line(error: BaseException) -> str:
    text = str(error).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    message = lines[-1] if lines else ""
    import pulumi

    if isinstance(error, pulumi.RunError):
        return message or "the program reported an error"
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def main(argv: Sequence[str]) -> int:
    monitor, engine, project, stack, program_text, mode = argv
    import pulumi
    import pulumi.runtime

    config = json.loads(os.environ.get("PULUMI_CONFIG", "{}"))
    secret_keys = json.loads(os.environ.get("PULUMI_CONFIG_SECRET_KEYS", "[]"))
    pulumi.runtime.set_all_config(config, secret_keys)
    program = Path(program_text)
    directory = program if program.is_dir() else program.parent
    pulumi.runtime.configure(
        pulumi.runtime.Settings(
            project=project,
            stack=stack,
            monitor=monitor,
            engine=engine,
            parallel=1,
            dry_run=mode == "preview",
            organization="organization",
            root_directory=str(directory),
        )
    )
    sys.argv = [str(program)]
    os.chdir(directory)
    sys.path.insert(0, str(directory))

    def run_program() -> None:
        runpy.run_path(str(program), run_name="__main__")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(run_program))
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        print(ERROR_PREFIX + _error_line(error), file=sys.stderr, flush=True)
        return 1
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
