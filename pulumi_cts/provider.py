"""`TrackerProvider`: the check / diff / create / read / update / delete logic the Pulumi engine runs
for a `Tracker`, inside the provider process. Field rules live in `schema`, HTTP in `client`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from . import schema
from .auth import TokenCache
from .client import CtsClient, CtsClientFactory
from .errors import ApiError, ConfigurationError, TrackerExistsError, TrackerNotFoundError
from .schema import PROVIDER_KEY, Scope
from .settings import ConfigLookup, Settings, resolve
from .token_store import FileTokenStore
from .transport import ResponseLostError, Transport

log = logging.getLogger("pulumi_cts")

# A 5xx answer to a POST does not say whether the tracker was created: look before trying again.
_AMBIGUOUS_STATUS = frozenset({500, 502, 503, 504})


def enable_debug_logging() -> None:
    """Log every HTTP call (credentials masked) to stderr, which the engine shows with `-v`/`--logflow`."""
    package_log = logging.getLogger("pulumi_cts")
    if not any(getattr(h, "_pulumi_cts", False) for h in package_log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("pulumi-cts %(levelname)s %(name)s: %(message)s"))
        handler._pulumi_cts = True  # type: ignore[attr-defined]
        package_log.addHandler(handler)
    package_log.setLevel(logging.DEBUG)


def _no_config(_key: str) -> Any:
    return None


class _Runtime:
    """Everything live that the provider needs, built lazily inside the provider process."""

    def __init__(self, config: ConfigLookup) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._factory: CtsClientFactory | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            with self._lock:
                if self._settings is None:
                    self._settings = resolve(self._config)
                    if self._settings.debug:
                        enable_debug_logging()
                    if self._settings.insecure:
                        log.warning(
                            "TLS certificate verification is OFF (insecure is set by %s)",
                            self._settings.source_of("insecure"),
                        )
        return self._settings

    @property
    def factory(self) -> CtsClientFactory:
        if self._factory is None:
            settings = self.settings
            with self._lock:
                if self._factory is None:
                    store = FileTokenStore(settings.get("token_cache") or "") if settings.get("token_cache") else None
                    self._factory = CtsClientFactory(
                        settings, Transport(verify=settings.verify), tokens=TokenCache(store=store)
                    )
        return self._factory

    def default_scope(self) -> Scope | None:
        try:
            return self.settings.default_scope()
        except ConfigurationError:
            return None


def _declared(props: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs of a property bag, without the engine's `__provider` and read-only fields."""
    return {k: v for k, v in props.items() if k in schema.INPUT_FIELDS}


class TrackerProvider(ResourceProvider):
    """Manages the CTS tracker of a project. Takes no arguments and pickles to a tiny blob.

    Credentials and HTTP sessions are never attributes at pickling time: they are built from
    the stack configuration in `configure()` or on first use, inside the provider process.
    """

    # The blob is a reference to this class and nothing else, so it need not be encrypted.
    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()
        self._runtime: _Runtime | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self._runtime = None

    def __repr__(self) -> str:
        return "TrackerProvider()"

    @property
    def runtime(self) -> _Runtime:
        if self._runtime is None:
            self._runtime = _Runtime(_no_config)
        return self._runtime

    def configure(self, req: ConfigureRequest) -> None:
        self._runtime = _Runtime(req.config.get)

    # -- engine calls ---------------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(f.field, f.reason) for f in schema.validate(news)]
        inputs = schema.with_defaults(news)
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = schema.changed_fields(olds, news)
        replaces = schema.replaced_fields(olds, news, self.runtime.default_scope())
        return DiffResult(
            changes=bool(changed or replaces),
            replaces=replaces,
            stables=[],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = schema.with_defaults(_declared(props))
        scope = schema.resource_scope(inputs, self.runtime.settings.default_scope())
        client = self.runtime.factory.client_for(scope)
        if inputs["adopt_existing"]:
            current = client.get_tracker()
            if current is not None:
                return self._adopt(client, inputs, current, scope)
        answer = self._create_once(client, inputs, scope)
        if answer is None:
            return self._adopt(client, inputs, client.get_tracker() or {}, scope)
        state = schema.state_from_answer(answer)
        if inputs["status"] == "disabled" and state["status"] != "disabled":
            state = self._put(client, inputs, state)
        return CreateResult(schema.resource_id(client.project_id), self._outputs(inputs, state, client, scope))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        scope = self._scope_of_existing(id_, props)
        client = self.runtime.factory.client_for(scope)
        current = client.get_tracker()
        if current is None:
            return ReadResult(id_="", outs={})
        state = schema.state_from_answer(current)
        old_inputs = schema.with_defaults(_declared(props))
        outs = self._outputs(old_inputs, state, client, scope)
        return ReadResult(
            id_=schema.resource_id(client.project_id),
            outs=outs,
            inputs=schema.inputs_from_state(
                state, {k: v for k, v in old_inputs.items() if k not in schema.SCOPE_FIELDS}
            ),
        )

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = schema.with_defaults(_declared(news))
        scope = self._scope_of_existing(id_, olds)
        client = self.runtime.factory.client_for(scope)
        try:
            state = self._put(client, inputs, olds)
        except TrackerNotFoundError:
            # Deleted behind the stack's back: bring it back as declared.
            answer = self._create_once(client, inputs, scope)
            state = schema.state_from_answer(answer or {})
            if inputs["status"] == "disabled" and state["status"] != "disabled":
                state = self._put(client, inputs, state)
        return UpdateResult(self._outputs(inputs, state, client, scope))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        scope = self._scope_of_existing(id_, props)
        client = self.runtime.factory.client_for(scope)
        if not client.delete_tracker():
            log.info("tracker %s was already gone", id_)

    # -- helpers --------------------------------------------------------------------------------

    def _scope_of_existing(self, id_: str, props: Mapping[str, Any]) -> Scope:
        """An existing tracker is addressed by the project in its id, whatever the program says now."""
        project_id = schema.project_of_id(id_) or props.get("project_id")
        default = self.runtime.settings.default_scope()
        region = props.get("region") if isinstance(props.get("region"), str) else None
        if project_id:
            return Scope(region=region or default.region, project_id=str(project_id))
        return schema.resource_scope(_declared(props), default)

    def _create_once(self, client: CtsClient, inputs: Mapping[str, Any], scope: Scope) -> dict[str, Any] | None:
        """POST the tracker exactly once, even when the answer to the POST is lost.

        Returns the created tracker, or None when only a later GET can tell what it looks like.
        """
        body = schema.desired_body(inputs, create_bucket=True)
        try:
            answer = client.create_tracker(body)
        except TrackerExistsError as error:
            if inputs.get("adopt_existing"):
                return None
            raise TrackerExistsError(
                error.operation,
                status=error.status,
                error_code=error.error_code,
                error_msg=error.error_msg,
                request_id=error.request_id,
                target=error.target,
                hint=(
                    f"{scope.describe()} already has a tracker. Pulumi cannot import dynamic resources; "
                    "set adopt_existing=True on this Tracker to take it over with the declared settings"
                ),
            ) from None
        except (ResponseLostError, ApiError) as error:
            if isinstance(error, ApiError) and error.status not in _AMBIGUOUS_STATUS:
                raise
            current = client.get_tracker()
            if current is None:
                # The first POST did not take effect, so a second one cannot duplicate anything.
                answer = client.create_tracker(body)
            elif _same_destination(schema.state_from_answer(current), body):
                log.info("the answer to the create was lost; the tracker exists as declared")
                answer = current
            else:
                raise TrackerExistsError(
                    "Creating the CTS tracker",
                    status=409,
                    error_msg="the create answer was lost and the project now has a tracker with other settings",
                    target=f"tracker in {scope.describe()}",
                    hint="set adopt_existing=True to take it over",
                ) from None
        if answer is None:
            return None
        return answer if answer.get("bucket_name") or answer.get("obs_info") else {**body, **answer}

    def _adopt(
        self, client: CtsClient, inputs: Mapping[str, Any], current: Mapping[str, Any], scope: Scope
    ) -> CreateResult:
        """Bring an existing tracker to the declared settings and manage it from now on."""
        state = self._put(client, inputs, schema.state_from_answer(current))
        return CreateResult(schema.resource_id(client.project_id), self._outputs(inputs, state, client, scope))

    def _put(self, client: CtsClient, inputs: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        """One PUT of the complete desired state; a GET only when the PUT answers without a body."""
        body = schema.update_body(inputs, current)
        answer = client.update_tracker(body)
        if answer is None or not (answer.get("bucket_name") or answer.get("obs_info")):
            answer = client.get_tracker()
            if answer is None:
                raise TrackerNotFoundError(
                    "Reading the CTS tracker after the update",
                    status=404,
                    target=f"project {client.project_id}",
                    error_msg="the tracker disappeared right after it was updated",
                )
        return schema.state_from_answer(answer)

    @staticmethod
    def _outputs(
        inputs: Mapping[str, Any], state: Mapping[str, Any], client: CtsClient, scope: Scope
    ) -> dict[str, Any]:
        outs: dict[str, Any] = {**inputs, **state}
        outs.pop(PROVIDER_KEY, None)
        outs["project_id"] = client.project_id
        outs["project_name"] = client.project_name or scope.project_name
        outs["region"] = scope.region
        return outs


def _same_destination(state: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    return bool(
        state.get("bucket_name") == body.get("bucket_name")
        and (state.get("file_prefix_name") or "") == (body.get("file_prefix_name") or "")
    )
