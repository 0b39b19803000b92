"""The ResourceMonitor and Engine gRPC services the program talks to, served on 127.0.0.1.

Only the `secrets` feature is announced, so the SDK sends plain input values with dependency lists
and wrapped secrets; every registration goes to the `Deployment`.
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, resource_pb2, resource_pb2_grpc

from .deployment import Deployment, Registration, StepFailed
from .provider_process import empty_message
from .wire import from_struct, to_struct

SUPPORTED_FEATURES = {"secrets"}
_SEVERITIES = {
    engine_pb2.DEBUG: "debug",
    engine_pb2.INFO: "info",
    engine_pb2.WARNING: "warning",
    engine_pb2.ERROR: "error",
}


@dataclass(frozen=True)
class LogMessage:
    severity: str
    message: str
    urn: str


def _abort(context: Any, deployment: Deployment, error: Exception) -> NoReturn:
    if isinstance(error, StepFailed):
        message = str(error)
    else:
        message = f"the local runner failed: {type(error).__name__}: {error}"
        if deployment.failure is None:
            deployment.failure = StepFailed(message)
    context.abort(grpc.StatusCode.UNKNOWN, message)
    raise AssertionError("unreachable")  # context.abort raises


class MonitorService(resource_pb2_grpc.ResourceMonitorServicer):
    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def SupportsFeature(self, request: Any, context: Any) -> Any:
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in SUPPORTED_FEATURES)

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:
        return resource_pb2.DeploymentInfo(supportedFeatures=[resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS])

    def RegisterResource(self, request: Any, context: Any) -> Any:
        try:
            dependencies = list(request.dependencies)
            for urns in request.propertyDependencies.values():
                dependencies.extend(urn for urn in urns.urns if urn not in dependencies)
            registered = self.deployment.register(
                Registration(
                    type=request.type,
                    name=request.name,
                    custom=bool(request.custom),
                    parent=request.parent,
                    inputs=from_struct(request.object),
                    dependencies=tuple(dependencies),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    ignore_changes=tuple(request.ignoreChanges),
                    additional_secret_outputs=tuple(request.additionalSecretOutputs),
                )
            )
            return resource_pb2.RegisterResourceResponse(
                urn=registered.urn, id=registered.id, object=to_struct(registered.outputs)
            )
        except Exception as error:
            _abort(context, self.deployment, error)

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:
        try:
            self.deployment.register_outputs(request.urn, from_struct(request.outputs))
            return empty_message()
        except Exception as error:
            _abort(context, self.deployment, error)

    def ReadResource(self, request: Any, context: Any) -> Any:
        try:
            registered = self.deployment.read(
                request.type, request.name, request.parent, request.id, from_struct(request.properties)
            )
            return resource_pb2.ReadResourceResponse(urn=registered.urn, properties=to_struct(registered.outputs))
        except Exception as error:
            _abort(context, self.deployment, error)

    def _unsupported(self, what: str, context: Any) -> NoReturn:
        _abort(
            context,
            self.deployment,
            self.deployment.fail(f"{what} needs the Pulumi CLI: the local runner serves resource registrations only"),
        )

    def Invoke(self, request: Any, context: Any) -> Any:
        self._unsupported(f"the function call (invoke) {request.tok}", context)

    def Call(self, request: Any, context: Any) -> Any:
        self._unsupported(f"the method call {request.tok}", context)

    def RegisterPackage(self, request: Any, context: Any) -> Any:
        self._unsupported(f"the package {request.name}", context)

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:
        return empty_message()


class EngineService(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.root_urn = ""
        self.messages: list[LogMessage] = []
        self._lock = threading.Lock()

    def Log(self, request: Any, context: Any) -> Any:
        if request.severity == engine_pb2.DEBUG:
            return empty_message()
        with self._lock:
            self.messages.append(LogMessage(_SEVERITIES.get(request.severity, "info"), request.message, request.urn))
        return empty_message()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn=self.root_urn)

    def SetRootResource(self, request: Any, context: Any) -> Any:
        self.root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()


class Services:
    """Both services on one gRPC server at 127.0.0.1 on a free port."""

    def __init__(self, deployment: Deployment) -> None:
        self.monitor = MonitorService(deployment)
        self.engine = EngineService()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(self.monitor, self._server)
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"

    def __enter__(self) -> Services:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)
