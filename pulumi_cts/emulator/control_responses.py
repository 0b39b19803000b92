"""Handlers of the emulator's control API under `/_emulator/` (reset, faults, tokens, request log, seed data,
config). `control_client.EmulatorControl` is the client that drives it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.backend import RESPONSE_SHAPES, Backend, RequestLog
from pulumi_cts.emulator.common import decode_json, json_response
from pulumi_cts.emulator.faults import FaultRule, FaultRules
from pulumi_cts.emulator.models import is_valid_bucket_name


def _json(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        return decode_json(raw)
    except ValueError as e:
        raise exceptions.ControlError(f"body is not valid JSON: {e}") from e


def _body(request: Request) -> dict[str, Any]:
    data = _json(request)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise exceptions.ControlError("body must be a JSON object")
    return data


class ControlResponse:
    """Handles the control routes; none of them needs auth, is logged, or is subject to faults."""

    def __init__(self, backend: Backend, faults: FaultRules, request_log: RequestLog) -> None:
        self.backend = backend
        self.faults = faults
        self.request_log = request_log

    def reset(self, request: Request) -> Response:
        self.backend.reset()
        self.faults.clear()
        self.request_log.clear()
        return json_response({"reset": True})

    def list_faults(self, request: Request) -> Response:
        return json_response({"faults": [rule.as_dict() for rule in self.faults.list()]})

    def add_fault(self, request: Request) -> Response:
        try:
            rule = FaultRule.from_dict(_body(request))
        except ValueError as e:
            raise exceptions.ControlError(str(e)) from e
        self.faults.add(rule)
        return json_response({"id": rule.id, "fault": rule.as_dict()}, 201)

    def clear_faults(self, request: Request) -> Response:
        self.faults.clear()
        return Response(status=204)

    def remove_fault(self, request: Request, fault_id: str) -> Response:
        if not self.faults.remove(fault_id):
            raise exceptions.ControlNotFound(f"no fault rule {fault_id}")
        return Response(status=204)

    def expire_tokens(self, request: Request) -> Response:
        return json_response({"expired": self.backend.expire_tokens()})

    def list_requests(self, request: Request) -> Response:
        service = request.args.get("service") or None
        return json_response({"requests": [r.as_dict() for r in self.request_log.entries(service)]})

    def clear_requests(self, request: Request) -> Response:
        self.request_log.clear()
        return Response(status=204)

    def add_bucket(self, request: Request, name: str) -> Response:
        if not is_valid_bucket_name(name):
            raise exceptions.ControlError(f"{name!r} is not a valid OBS bucket name")
        location = _body(request).get("location") or "eu-de"
        if not isinstance(location, str):
            raise exceptions.ControlError("location must be a string")
        created = self.backend.add_bucket(name, location)
        return json_response({"name": name, "created": created}, 201 if created else 200)

    def remove_bucket(self, request: Request, name: str) -> Response:
        if not self.backend.remove_bucket(name):
            raise exceptions.ControlNotFound(f"no bucket {name}")
        return Response(status=204)

    def add_kms_key(self, request: Request, key_id: str) -> Response:
        created = self.backend.add_kms_key(key_id)
        return json_response({"id": key_id, "created": created}, 201 if created else 200)

    def remove_kms_key(self, request: Request, key_id: str) -> Response:
        if not self.backend.remove_kms_key(key_id):
            raise exceptions.ControlNotFound(f"no KMS key {key_id}")
        return Response(status=204)

    def get_config(self, request: Request) -> Response:
        return json_response(dataclasses.asdict(self.backend.config))

    def set_config(self, request: Request) -> Response:
        body = _body(request)
        unknown = set(body) - {"response_shape", "put_body"}
        if unknown:
            raise exceptions.ControlError(f"unknown config fields: {sorted(unknown)}")
        shape = body.get("response_shape")
        if shape is not None and shape not in RESPONSE_SHAPES:
            raise exceptions.ControlError(f"response_shape must be one of {RESPONSE_SHAPES}")
        put_body = body.get("put_body")
        if put_body is not None and not isinstance(put_body, bool):
            raise exceptions.ControlError("put_body must be a boolean")
        return json_response(dataclasses.asdict(self.backend.configure(shape, put_body)))

    def get_state(self, request: Request) -> Response:
        return json_response(self.backend.snapshot())

    def seed_traces(self, request: Request) -> Response:
        """Store traces given as a JSON list (or `{"traces": [...]}`) of partial trace objects."""
        data = _json(request)
        if isinstance(data, dict):
            data = data.get("traces")
        if not isinstance(data, list):
            raise exceptions.ControlError('body must be a list of trace objects or {"traces": [...]}')
        try:
            ids = self.backend.seed_traces(data)
        except ValueError as e:
            raise exceptions.ControlError(str(e)) from e
        return json_response({"trace_ids": ids}, 201)
