"""The check / diff / create / read / update / delete logic the Pulumi engine runs inside the provider
process: `TrackerProvider`, `DataTrackerProvider`, `NotificationProvider`. Field rules live in the
`*schema` modules, HTTP in `client`.
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

from . import data_tracker_schema, notification_schema, schema
from .auth import TokenCache
from .client import CtsClient, CtsClientFactory
from .errors import ApiError, ConfigurationError, TrackerExistsError, TrackerNotFoundError
from .schema import PROVIDER_KEY, Scope
from .settings import ConfigLookup, Settings, resolve
from .token_store import FileTokenStore
from .transport import Transport

log = logging.getLogger("pulumi_cts")


def enable_debug_logging() -> None:
    """Log every HTTP call (credentials masked) to stderr, which the engine passes through (pulumi 3.146+)."""
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
            self._factory = shared_factory(self.settings)
        return self._factory

    def default_scope(self) -> Scope | None:
        try:
            return self.settings.default_scope()
        except ConfigurationError:
            return None

    def default_api_version(self) -> str:
        try:
            return self.settings.get("api_version") or schema.DEFAULT_API_VERSION
        except ConfigurationError:
            return schema.DEFAULT_API_VERSION


_FACTORIES: dict[tuple[tuple[str, str], ...], CtsClientFactory] = {}
_FACTORIES_LOCK = threading.Lock()


def shared_factory(settings: Settings) -> CtsClientFactory:
    """One connection pool and token cache per process and settings, shared by every provider class,
    so trackers, data trackers and notifications of one scope cost one IAM call together."""
    key = tuple(sorted(settings.values.items()))
    with _FACTORIES_LOCK:
        factory = _FACTORIES.get(key)
        if factory is None:
            directory = settings.get("token_cache")
            tokens = TokenCache(store=FileTokenStore(directory) if directory else None)
            factory = CtsClientFactory(settings, Transport(verify=settings.verify), tokens=tokens)
            _FACTORIES[key] = factory
        return factory


def forget_shared_connections() -> None:
    """Drop every shared session and cached token of this process (tests, credential rotation)."""
    with _FACTORIES_LOCK:
        for factory in _FACTORIES.values():
            factory.transport.close()
        _FACTORIES.clear()


def _declared(props: Mapping[str, Any], fields: tuple[str, ...] = schema.INPUT_FIELDS) -> dict[str, Any]:
    """The inputs of a property bag, without the engine's `__provider` and read-only fields."""
    return {k: v for k, v in props.items() if k in fields}


class _ScopedProvider(ResourceProvider):
    """What every pulumi-cts provider shares: no state when pickled, settings from `configure()`,
    and the project an existing resource lives in."""

    # The blob is a reference to the class and nothing else, so it need not be encrypted.
    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()
        self._runtime: _Runtime | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self._runtime = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @property
    def runtime(self) -> _Runtime:
        if self._runtime is None:
            self._runtime = _Runtime(_no_config)
        return self._runtime

    def configure(self, req: ConfigureRequest) -> None:
        self._runtime = _Runtime(req.config.get)

    def _client_for_new(self, inputs: Mapping[str, Any]) -> tuple[CtsClient, Scope]:
        scope = schema.resource_scope(inputs, self.runtime.settings.default_scope())
        return self.runtime.factory.client_for(scope), scope

    def _client_for_existing(self, id_: str, props: Mapping[str, Any]) -> tuple[CtsClient, Scope]:
        """An existing resource is addressed by the project in its id, whatever the program says now."""
        project_id = schema.project_of_id(id_) or props.get("project_id")
        default = self.runtime.settings.default_scope()
        region = props.get("region") if isinstance(props.get("region"), str) else None
        if project_id:
            scope = Scope(region=region or default.region, project_id=str(project_id))
        else:
            scope = schema.resource_scope(props, default)
        return self.runtime.factory.client_for(scope), scope

    @staticmethod
    def _outputs(
        inputs: Mapping[str, Any], state: Mapping[str, Any], client: CtsClient, scope: Scope
    ) -> dict[str, Any]:
        """Declared inputs, then what CTS reports, then where the resource really lives."""
        outs: dict[str, Any] = {
            **inputs,
            **state,
            "project_id": client.project_id,
            "project_name": client.project_name or scope.project_name,
            "region": scope.region,
        }
        outs.pop(PROVIDER_KEY, None)
        return outs


class TrackerProvider(_ScopedProvider):
    """Manages the CTS management tracker (`system`) of a project, through API v1.0 or v3.

    Takes no arguments and pickles to a tiny blob: credentials and HTTP sessions are built from
    the stack configuration in `configure()` or on first use, inside the provider process.
    """

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        version = self.runtime.default_api_version()
        failures = [CheckFailure(f.field, f.reason) for f in schema.validate(news, version)]
        return CheckResult(schema.with_defaults(news, version), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = schema.changed_fields(olds, news)
        replaces = schema.replaced_fields(olds, news, self.runtime.default_scope())
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = schema.with_defaults(_declared(props), self.runtime.default_api_version())
        client, scope = self._client_for_new(inputs)
        version = inputs["api_version"]
        if inputs["adopt_existing"]:
            current = client.get_tracker(version)
            if current is not None:
                return self._adopt(client, inputs, current, scope)
        answer = self._create_once(client, inputs, scope)
        if answer is None:
            return self._adopt(client, inputs, client.get_tracker(version) or {}, scope)
        state = schema.state_from_answer(answer)
        if inputs["status"] == "disabled" and state["status"] != "disabled":
            state = self._put(client, inputs, state, just_created=answer)
        return CreateResult(schema.resource_id(client.project_id), self._outputs(inputs, state, client, scope))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client, scope = self._client_for_existing(id_, props)
        old_inputs = schema.with_defaults(_declared(props), self.runtime.default_api_version())
        current = client.get_tracker(old_inputs["api_version"])
        if current is None:
            return ReadResult(id_="", outs={})
        state = schema.state_from_answer(current)
        outs = self._outputs(old_inputs, state, client, scope)
        carried = {k: v for k, v in old_inputs.items() if k not in schema.SCOPE_FIELDS}
        return ReadResult(
            id_=schema.resource_id(client.project_id), outs=outs, inputs=schema.inputs_from_state(state, carried)
        )

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = schema.with_defaults(_declared(news), self.runtime.default_api_version())
        client, scope = self._client_for_existing(id_, olds)
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
        client, _scope = self._client_for_existing(id_, props)
        version = props.get("api_version") or self.runtime.default_api_version()
        if not client.delete_tracker(version):
            log.info("tracker %s was already gone", id_)

    def _create_once(self, client: CtsClient, inputs: Mapping[str, Any], scope: Scope) -> dict[str, Any] | None:
        """POST the tracker exactly once, even when the answer to the POST is lost.

        Returns the created tracker, or None when only a later GET can tell what it looks like.
        """
        version = inputs["api_version"]
        body = schema.desired_body(inputs, create_bucket=True)

        def create() -> dict[str, Any] | None:
            try:
                return client.create_tracker(body, version)
            except TrackerExistsError as error:
                raise error.recast(
                    hint=(
                        f"{scope.describe()} already has a tracker. Pulumi cannot import dynamic resources; "
                        "set adopt_existing=True on this Tracker to take it over with the declared settings"
                    )
                ) from None

        def find() -> dict[str, Any] | None:
            current = client.get_tracker(version)
            if current is None or _same_destination(schema.state_from_answer(current), inputs):
                return current
            raise TrackerExistsError(
                "Creating the CTS tracker",
                status=409,
                error_msg="the create answer was lost and the project now has a tracker with other settings",
                target=f"tracker in {scope.describe()}",
                hint="set adopt_existing=True to take it over",
            )

        try:
            answer = client.transport.post_once(create, find)
        except TrackerExistsError:
            if inputs.get("adopt_existing"):
                return None
            raise
        if answer is None:
            return None
        if answer.get("bucket_name") or answer.get("obs_info"):
            return answer
        # An answer without the settings (some versions answer only ids): the sent body is the truth.
        return {**body, **answer}

    def _adopt(
        self, client: CtsClient, inputs: Mapping[str, Any], current: Mapping[str, Any], scope: Scope
    ) -> CreateResult:
        """Bring an existing tracker to the declared settings and manage it from now on."""
        state = self._put(client, inputs, schema.state_from_answer(current))
        return CreateResult(schema.resource_id(client.project_id), self._outputs(inputs, state, client, scope))

    def _put(
        self,
        client: CtsClient,
        inputs: Mapping[str, Any],
        current: Mapping[str, Any],
        just_created: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One PUT of the complete desired state.

        When the PUT answers without a body (as documented), the state is read back with one GET,
        except right after a create: then the create's answer plus the sent body is the state.
        """
        version = inputs["api_version"]
        body = schema.update_body(inputs, current)
        try:
            answer = client.update_tracker(body, version)
        except ApiError as error:
            # Moving back to a bucket CTS created earlier: it exists now, so just use it.
            if error.error_code != "CTS.0215" or not schema.asks_to_create_bucket(body):
                raise
            body = schema.update_body(inputs, current, create_bucket=False)
            answer = client.update_tracker(body, version)
        if (answer is None or not (answer.get("bucket_name") or answer.get("obs_info"))) and just_created:
            answer = schema.answer_after_put(just_created, body)
        if answer is None or not (answer.get("bucket_name") or answer.get("obs_info")):
            answer = client.get_tracker(version)
            if answer is None:
                raise TrackerNotFoundError(
                    "Reading the CTS tracker after the update",
                    status=404,
                    target=f"project {client.project_id}",
                    error_msg="the tracker disappeared right after it was updated",
                )
        return schema.state_from_answer(answer)


def _same_destination(state: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
    return bool(
        state.get("bucket_name") == inputs.get("bucket_name")
        and (state.get("file_prefix_name") or "") == (inputs.get("file_prefix_name") or "")
    )


class DataTrackerProvider(_ScopedProvider):
    """Manages a CTS data tracker (v3, `tracker_type=data`): OBS data events of one bucket."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(f.field, f.reason) for f in data_tracker_schema.validate(news)]
        return CheckResult(data_tracker_schema.with_defaults(news), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = data_tracker_schema.changed_fields(olds, news)
        replaces = data_tracker_schema.replaced_fields(olds, news)
        replaces += schema.replaced_fields(olds, news, self.runtime.default_scope())
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, stables=[], delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = data_tracker_schema.with_defaults(_declared(props, data_tracker_schema.INPUT_FIELDS))
        client, scope = self._client_for_new(inputs)
        name = inputs["tracker_name"]
        body = data_tracker_schema.desired_body(inputs, create_bucket=True, with_status=False)
        client.transport.post_once(
            lambda: client.create_tracker(body, "v3") or body, lambda: client.get_tracker("v3", name, "data")
        )
        if inputs["status"] == "disabled":
            client.update_tracker(data_tracker_schema.desired_body(inputs, create_bucket=False, with_status=True), "v3")
        state = self._current(client, name)
        return CreateResult(f"{client.project_id}/{name}", self._outputs(inputs, state, client, scope))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client, scope = self._client_for_existing(id_, props)
        name = str(props.get("tracker_name") or id_.partition("/")[2])
        current = client.get_tracker("v3", name, "data")
        if current is None:
            return ReadResult(id_="", outs={})
        state = data_tracker_schema.state_from_answer(current)
        old_inputs = data_tracker_schema.with_defaults(_declared(props, data_tracker_schema.INPUT_FIELDS))
        carried = {k: v for k, v in old_inputs.items() if k not in schema.SCOPE_FIELDS}
        return ReadResult(
            id_=f"{client.project_id}/{name}",
            outs=self._outputs(old_inputs, state, client, scope),
            inputs=data_tracker_schema.inputs_from_state(state, carried),
        )

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = data_tracker_schema.with_defaults(_declared(news, data_tracker_schema.INPUT_FIELDS))
        client, scope = self._client_for_existing(id_, olds)
        moving = inputs.get("bucket_name") != olds.get("bucket_name")
        body = data_tracker_schema.desired_body(inputs, create_bucket=moving, with_status=True)
        client.update_tracker(body, "v3")
        state = self._current(client, inputs["tracker_name"])
        return UpdateResult(self._outputs(inputs, state, client, scope))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client, _scope = self._client_for_existing(id_, props)
        name = str(props.get("tracker_name") or id_.partition("/")[2])
        if not client.delete_tracker("v3", name, "data"):
            log.info("data tracker %s was already gone", id_)

    @staticmethod
    def _current(client: CtsClient, name: str) -> dict[str, Any]:
        """v3 writes answer without the settings, so the state is read back once."""
        answer = client.get_tracker("v3", name, "data")
        if answer is None:
            raise TrackerNotFoundError(
                "Reading the data tracker",
                status=404,
                target=f"data tracker '{name}' in project {client.project_id}",
                error_msg="the tracker is not there right after it was written",
            )
        return data_tracker_schema.state_from_answer(answer)


class NotificationProvider(_ScopedProvider):
    """Manages a key-event notification (v3 `/notifications`): SMN messages for chosen operations."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(f.field, f.reason) for f in notification_schema.validate(news)]
        return CheckResult(notification_schema.with_defaults(news), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = notification_schema.changed_fields(olds, news)
        replaces = schema.replaced_fields(olds, news, self.runtime.default_scope())
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = notification_schema.with_defaults(_declared(props, notification_schema.INPUT_FIELDS))
        client, scope = self._client_for_new(inputs)
        body = notification_schema.desired_body(inputs)
        # Names are unique per project: the name tells whether a lost POST took effect.
        answer = client.transport.post_once(
            lambda: client.create_notification(body),
            lambda: client.find_notification(name=inputs["notification_name"]),
        )
        state = notification_schema.state_from_answer(answer or {})
        if not state["notification_id"]:
            found = client.find_notification(name=inputs["notification_name"])
            state = notification_schema.state_from_answer(found or {})
        if state["status"] != inputs["status"]:
            state = self._put(client, inputs, str(state["notification_id"]))
        return CreateResult(
            f"{client.project_id}/{state['notification_id']}", self._outputs(inputs, state, client, scope)
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client, scope = self._client_for_existing(id_, props)
        notification_id = str(props.get("notification_id") or id_.partition("/")[2])
        current = client.find_notification(notification_id=notification_id)
        if current is None:
            return ReadResult(id_="", outs={})
        state = notification_schema.state_from_answer(current)
        old_inputs = notification_schema.with_defaults(_declared(props, notification_schema.INPUT_FIELDS))
        carried = {k: v for k, v in old_inputs.items() if k not in schema.SCOPE_FIELDS}
        return ReadResult(
            id_=id_,
            outs=self._outputs(old_inputs, state, client, scope),
            inputs=notification_schema.inputs_from_state(state, carried),
        )

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = notification_schema.with_defaults(_declared(news, notification_schema.INPUT_FIELDS))
        client, scope = self._client_for_existing(id_, olds)
        state = self._put(client, inputs, str(olds.get("notification_id") or id_.partition("/")[2]))
        return UpdateResult(self._outputs(inputs, state, client, scope))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client, _scope = self._client_for_existing(id_, props)
        if not client.delete_notification(str(props.get("notification_id") or id_.partition("/")[2])):
            log.info("notification %s was already gone", id_)

    @staticmethod
    def _put(client: CtsClient, inputs: Mapping[str, Any], notification_id: str) -> dict[str, Any]:
        answer = client.update_notification(notification_schema.desired_body(inputs, notification_id=notification_id))
        if not answer or not answer.get("notification_id"):
            answer = client.find_notification(notification_id=notification_id)
        if not answer:
            raise TrackerNotFoundError(
                "Updating the key-event notification",
                status=404,
                target=f"notification {notification_id} in project {client.project_id}",
                error_msg="the notification does not exist",
            )
        return notification_schema.state_from_answer(answer)
