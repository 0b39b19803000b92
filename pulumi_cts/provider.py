"""The check / diff / create / read / update / delete logic the Pulumi engine runs inside the provider
process: `TrackerProvider`, `DataTrackerProvider`, `NotificationProvider`. Field rules live in the
`*_schema` modules, HTTP in `client`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, ClassVar

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

from . import data_tracker_schema, notification_schema, tracker_schema
from .checks import PROVIDER_KEY, Failure
from .client import CtsClient, CtsClientFactory, shared_factory
from .errors import (
    ApiError,
    ConfigurationError,
    NotFoundError,
    NotificationNotFoundError,
    TrackerExistsError,
    TrackerNotFoundError,
)
from .fields import ResourceSchema
from .scope import (
    DECLARED_SCOPE,
    SCOPE_FIELDS,
    Scope,
    declared_scope,
    declared_scope_of_state,
    name_of_id,
    project_of_id,
    replaced_scope_fields,
    resource_id,
    resource_scope,
)
from .settings import ConfigLookup, Settings, resolve
from .tracker_schema import TRACKER_NAME

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
            return self.settings.get("api_version") or tracker_schema.DEFAULT_API_VERSION
        except ConfigurationError:
            return tracker_schema.DEFAULT_API_VERSION


class _ScopedProvider(ResourceProvider):
    """What every pulumi-cts provider shares: no state when pickled, settings from `configure()`,
    the project an existing resource lives in, and check / diff / read / delete through the
    resource's schema. `create` and `update` differ for real and stay with each resource."""

    # The blob is a reference to the class and nothing else, so it need not be encrypted.
    serialize_as_secret_always = False
    schema: ClassVar[ResourceSchema]
    noun: ClassVar[str]
    not_found: ClassVar[type[NotFoundError]] = TrackerNotFoundError
    delete_before_replace: ClassVar[bool] = False

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

    # -- the shared lifecycle ---------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(f.field, f.reason) for f in self._validate(news)]
        return CheckResult(self._with_defaults(news), failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = self.schema.changed_fields(olds, news)
        replaces = self.schema.replaced_fields(olds, news)
        replaces += replaced_scope_fields(olds, news, self.runtime.default_scope())
        return DiffResult(
            changes=bool(changed or replaces),
            replaces=replaces,
            stables=[],
            delete_before_replace=self.delete_before_replace,
        )

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        client, scope = self._client_for_existing(id_, props)
        old_inputs = self._with_defaults(self._declared(props))
        name = self._name(id_, props)
        current = self._find(client, old_inputs, name)
        if current is None:
            return ReadResult(id_="", outs={})
        state = self._with_tags(client, old_inputs, self.schema.state_from_answer(current))
        declared = declared_scope_of_state(props)
        # Scope and provider switches are carried over (CTS does not report them), the scope only as
        # far as the program declared it: the outputs also hold the project and region it resolved to.
        carried = {k: v for k, v in old_inputs.items() if k not in SCOPE_FIELDS or k in declared}
        return ReadResult(
            id_=resource_id(client.project_id, name),
            outs=self._outputs(old_inputs, state, client, scope, declared),
            inputs=self.schema.inputs_from_state(state, carried),
        )

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        client, _scope = self._client_for_existing(id_, props)
        if not self._remove(client, self._with_defaults(self._declared(props)), self._name(id_, props)):
            log.info("%s %s was already gone", self.noun, id_)

    # -- what each resource fills in --------------------------------------------------------------

    def _validate(self, news: Mapping[str, Any]) -> list[Failure]:
        return self.schema.validate(news)

    def _with_defaults(self, news: Mapping[str, Any]) -> dict[str, Any]:
        return self.schema.with_defaults(news)

    def _find(self, client: CtsClient, inputs: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        """The resource as CTS answers it, or None when it is gone."""
        raise NotImplementedError

    def _remove(self, client: CtsClient, inputs: Mapping[str, Any], name: str) -> bool:
        """Delete the resource; False when it was already gone."""
        raise NotImplementedError

    # -- tags (trackers of both kinds, CTS v3) ------------------------------------------------------

    def _with_tags(self, client: CtsClient, inputs: Mapping[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        """The state plus the resource's tags, read only when the program manages them (declares `tags`):
        a program that leaves tags alone never calls the tag API, which OTC does not offer."""
        if inputs.get("tags") is None or not state.get("tracker_id"):
            return state
        return {**state, "tags": client.get_tags(str(state["tracker_id"]))}

    def _apply_tags(
        self,
        client: CtsClient,
        inputs: Mapping[str, Any],
        state: dict[str, Any],
        current: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Bring the resource's tags to the declared ones, when declared: remove what is not declared,
        add what is missing or different. `current`: the tags it has now, when known without a GET."""
        desired = inputs.get("tags")
        if desired is None:
            return state
        if not state.get("tracker_id"):
            # Some answers carry no id: the tag API addresses the tracker by it.
            found = self._read_back(client, inputs, self._name("", inputs), "Reading the tracker to tag it")
            state = {**state, "tracker_id": found["tracker_id"]}
        tracker_id = str(state.get("tracker_id") or "")
        if not tracker_id:
            raise self.not_found(
                "Tagging the tracker",
                status=404,
                target=f"{self.noun} in project {client.project_id}",
                error_msg="CTS reported no tracker id to tag",
            )
        before = client.get_tags(tracker_id) if current is None else current
        client.change_tags(tracker_id, *tracker_schema.tag_changes(before, desired))
        return {**state, "tags": dict(desired)}

    # -- helpers ----------------------------------------------------------------------------------

    def _read_back(self, client: CtsClient, inputs: Mapping[str, Any], name: str, operation: str) -> dict[str, Any]:
        """The state after a write, read with one GET: the resource must be there."""
        answer = self._find(client, inputs, name)
        if answer is None:
            raise self.not_found(
                operation,
                status=404,
                target=f"{self.noun} '{name}' in project {client.project_id}",
                error_msg=f"the {self.noun} is not there right after it was written",
            )
        return self.schema.state_from_answer(answer)

    def _declared(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs of a property bag, without the engine's `__provider` and read-only fields."""
        return self.schema.FIELDS.declared(props)

    def _name(self, id_: str, props: Mapping[str, Any]) -> str:
        """The name part of an existing resource's id: from its properties, else from the id."""
        return self.schema.resource_name(props) or name_of_id(id_)

    def _client_for_new(self, inputs: Mapping[str, Any]) -> tuple[CtsClient, Scope]:
        scope = resource_scope(inputs, self.runtime.settings.default_scope())
        return self.runtime.factory.client_for(scope), scope

    def _client_for_existing(self, id_: str, props: Mapping[str, Any]) -> tuple[CtsClient, Scope]:
        """An existing resource is addressed by the project in its id, whatever the program says now."""
        project_id = project_of_id(id_) or props.get("project_id")
        default = self.runtime.settings.default_scope()
        region = props.get("region") if isinstance(props.get("region"), str) else None
        if project_id:
            scope = Scope(region=region or default.region, project_id=str(project_id))
        else:
            scope = resource_scope(props, default)
        return self.runtime.factory.client_for(scope), scope

    @staticmethod
    def _outputs(
        inputs: Mapping[str, Any],
        state: Mapping[str, Any],
        client: CtsClient,
        scope: Scope,
        declared: list[str] | None = None,
    ) -> dict[str, Any]:
        """Declared inputs, then what CTS reports, then where the resource really lives and which of
        that the program declared (`declared` defaults to the scope fields `inputs` set)."""
        outs: dict[str, Any] = {
            **inputs,
            **state,
            "project_id": client.project_id,
            "project_name": client.project_name or scope.project_name,
            "region": scope.region,
            DECLARED_SCOPE: declared_scope(inputs) if declared is None else declared,
        }
        outs.pop(PROVIDER_KEY, None)
        return outs


class TrackerProvider(_ScopedProvider):
    """Manages the CTS management tracker (`system`) of a project, through API v1.0 or v3.

    Takes no arguments and pickles to a tiny blob: credentials and HTTP sessions are built from
    the stack configuration in `configure()` or on first use, inside the provider process.
    """

    schema: ClassVar[ResourceSchema] = tracker_schema
    noun = "tracker"

    def _validate(self, news: Mapping[str, Any]) -> list[Failure]:
        return tracker_schema.validate(news, self.runtime.default_api_version())

    def _with_defaults(self, news: Mapping[str, Any]) -> dict[str, Any]:
        return tracker_schema.with_defaults(news, self.runtime.default_api_version())

    def _find(self, client: CtsClient, inputs: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        return client.get_tracker(inputs["api_version"])

    def _remove(self, client: CtsClient, inputs: Mapping[str, Any], name: str) -> bool:
        return client.delete_tracker(inputs["api_version"])

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self._declared(props)
        client, scope = self._client_for_new(inputs)
        version = inputs["api_version"]
        if inputs["adopt_existing"]:
            current = client.get_tracker(version)
            if current is not None:
                return self._adopt(client, inputs, current, scope)
        try:
            answer = self._created(client, inputs, scope)
        except TrackerExistsError:
            if not inputs["adopt_existing"]:
                raise
            return self._adopt(client, inputs, client.get_tracker(version) or {}, scope)
        state = tracker_schema.state_from_answer(answer)
        if inputs["status"] == "disabled" and state["status"] != "disabled":
            state = self._put(client, inputs, state, before=answer)
        # A tracker just created has no tags of its own yet.
        state = self._apply_tags(client, inputs, state, current={})
        return CreateResult(tracker_schema.resource_id(client.project_id), self._outputs(inputs, state, client, scope))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = self._declared(news)
        client, scope = self._client_for_existing(id_, olds)
        try:
            state = self._put_over(client, inputs, olds)
        except TrackerNotFoundError:
            # Deleted behind the stack's back: bring it back as declared.
            state = tracker_schema.state_from_answer(self._created(client, inputs, scope))
            if inputs["status"] == "disabled" and state["status"] != "disabled":
                state = self._put(client, inputs, state)
            state = self._apply_tags(client, inputs, state, current={})
            return UpdateResult(self._outputs(inputs, state, client, scope))
        if inputs.get("tags") is not None and inputs["tags"] != olds.get("tags"):
            state = self._apply_tags(client, inputs, state)
        return UpdateResult(self._outputs(inputs, state, client, scope))

    def _put_over(self, client: CtsClient, inputs: Mapping[str, Any], olds: Mapping[str, Any]) -> dict[str, Any]:
        """The update's PUT. Settings the program leaves to the service go into it as the tracker has
        them now, read with one GET first (which then also stands for the read-back)."""
        if not tracker_schema.carries_current_settings(inputs):
            return self._put(client, inputs, olds)
        before = client.get_tracker(inputs["api_version"])
        if before is None:
            raise TrackerNotFoundError(
                "Updating the CTS tracker",
                status=404,
                target=f"tracker in project {client.project_id}",
                error_msg="the tracker is gone",
            )
        return self._put(client, inputs, tracker_schema.state_from_answer(before), before=before)

    def _create_once(self, client: CtsClient, inputs: Mapping[str, Any], scope: Scope) -> dict[str, Any] | None:
        """POST the tracker exactly once, even when the answer to the POST is lost.

        Returns the created tracker, or None when only a later GET can tell what it looks like.
        """
        version = inputs["api_version"]
        body = tracker_schema.desired_body(inputs, create_bucket=True)

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
            if current is None or _same_destination(tracker_schema.state_from_answer(current), inputs):
                return current
            raise TrackerExistsError(
                "Creating the CTS tracker",
                status=409,
                error_msg="the create answer was lost and the project now has a tracker with other settings",
                target=f"tracker in {scope.describe()}",
                hint="set adopt_existing=True to take it over",
            )

        answer = client.create_once(create, find)
        if not answer:
            return None
        if answer.get("bucket_name") or answer.get("obs_info"):
            return answer
        # An answer without the settings (some versions answer only ids): the sent body is the truth.
        return {**body, **answer}

    def _created(self, client: CtsClient, inputs: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
        """The tracker after creating it once; read back when the create answered nothing usable."""
        answer = self._create_once(client, inputs, scope)
        if answer is not None:
            return answer
        current = client.get_tracker(inputs["api_version"])
        if current is None:
            raise TrackerNotFoundError(
                "Reading the CTS tracker after creating it",
                status=404,
                target=f"project {client.project_id}",
                error_msg="CTS accepted the tracker but does not list it",
            )
        return current

    def _adopt(
        self, client: CtsClient, inputs: Mapping[str, Any], current: Mapping[str, Any], scope: Scope
    ) -> CreateResult:
        """Bring an existing tracker to the declared settings and manage it from now on."""
        state = self._put(client, inputs, tracker_schema.state_from_answer(current), before=current or None)
        state = self._apply_tags(client, inputs, state)
        return CreateResult(tracker_schema.resource_id(client.project_id), self._outputs(inputs, state, client, scope))

    def _put(
        self,
        client: CtsClient,
        inputs: Mapping[str, Any],
        current: Mapping[str, Any],
        before: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One PUT of the complete desired state; `current` is the tracker's state now.

        When the PUT answers without a body (as documented), the state is read back with one GET,
        unless `before` is CTS's answer from just before the PUT (a create's answer, or the GET an
        update made to carry undeclared settings): then that answer plus the sent body is the state.
        """
        version = inputs["api_version"]
        body = tracker_schema.update_body(inputs, current)
        try:
            answer = client.update_tracker(body, version)
        except ApiError as error:
            # Moving back to a bucket CTS created earlier: it exists now, so just use it.
            if error.error_code != "CTS.0215" or not tracker_schema.asks_to_create_bucket(body):
                raise
            body = tracker_schema.update_body(inputs, current, create_bucket=False)
            answer = client.update_tracker(body, version)
        if (answer is None or not (answer.get("bucket_name") or answer.get("obs_info"))) and before:
            answer = tracker_schema.answer_after_put(before, body)
        if answer is None or not (answer.get("bucket_name") or answer.get("obs_info")):
            return self._read_back(client, inputs, TRACKER_NAME, "Reading the CTS tracker after the update")
        return tracker_schema.state_from_answer(answer)


def _same_destination(state: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
    return bool(
        state.get("bucket_name") == inputs.get("bucket_name")
        and (state.get("file_prefix_name") or "") == (inputs.get("file_prefix_name") or "")
    )


class DataTrackerProvider(_ScopedProvider):
    """Manages a CTS data tracker (v3, `tracker_type=data`): OBS data events of one bucket."""

    schema: ClassVar[ResourceSchema] = data_tracker_schema
    noun = "data tracker"
    delete_before_replace = True

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self._declared(props)
        client, scope = self._client_for_new(inputs)
        name = inputs["tracker_name"]
        body = data_tracker_schema.desired_body(inputs, create_bucket=True, with_status=False)
        client.create_once(lambda: client.create_tracker(body, "v3") or body, lambda: self._find(client, inputs, name))
        if inputs["status"] == "disabled":
            client.update_tracker(data_tracker_schema.desired_body(inputs, create_bucket=False, with_status=True), "v3")
        state = self._read_back(client, inputs, name, "Reading the data tracker")
        # A tracker just created has no tags of its own yet.
        state = self._apply_tags(client, inputs, state, current={})
        return CreateResult(resource_id(client.project_id, name), self._outputs(inputs, state, client, scope))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = self._declared(news)
        client, scope = self._client_for_existing(id_, olds)
        moving = inputs.get("bucket_name") != olds.get("bucket_name")
        body = data_tracker_schema.desired_body(inputs, create_bucket=moving, with_status=True, current=olds)
        client.update_tracker(body, "v3")
        state = self._read_back(client, inputs, inputs["tracker_name"], "Reading the data tracker")
        if inputs.get("tags") is not None and inputs["tags"] != olds.get("tags"):
            state = self._apply_tags(client, inputs, state)
        return UpdateResult(self._outputs(inputs, state, client, scope))

    def _find(self, client: CtsClient, inputs: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        return client.get_tracker("v3", name, "data")

    def _remove(self, client: CtsClient, inputs: Mapping[str, Any], name: str) -> bool:
        return client.delete_tracker("v3", name, "data")


class NotificationProvider(_ScopedProvider):
    """Manages a key-event notification (v3 `/notifications`): SMN messages for chosen operations."""

    schema: ClassVar[ResourceSchema] = notification_schema
    noun = "notification"
    not_found = NotificationNotFoundError

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = self._declared(props)
        client, scope = self._client_for_new(inputs)
        body = notification_schema.desired_body(inputs)
        # Names are unique per project: the name tells whether a lost POST took effect.
        answer = client.create_once(
            lambda: client.create_notification(body),
            lambda: client.find_notification(name=inputs["notification_name"]),
        )
        if not (answer and answer.get("notification_id")):
            answer = client.find_notification(name=inputs["notification_name"])
        if not (answer and answer.get("notification_id")):
            # An id built from nothing would point refresh and delete at no notification at all.
            raise ApiError(
                "Creating the key-event notification",
                status=201,
                target=f"notification '{inputs['notification_name']}' in project {client.project_id}",
                error_msg="CTS accepted the notification, but neither its answer nor a lookup by name gives its id",
                hint=(
                    f"look for notification '{inputs['notification_name']}' in the CTS console and delete it, "
                    "then run the update again"
                ),
            )
        state = notification_schema.state_from_answer(answer)
        notification_id = str(answer["notification_id"])
        if state["status"] != inputs["status"]:
            state = self._put(client, inputs, notification_id, state)
        outputs = self._outputs(inputs, state, client, scope)
        return CreateResult(resource_id(client.project_id, notification_id), outputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = self._declared(news)
        client, scope = self._client_for_existing(id_, olds)
        notification_id = self._name(id_, olds)
        current: dict[str, Any] | None = None
        if notification_schema.FIELDS.undeclared_kept(inputs):
            # Settings the program leaves to the service go into the PUT as the notification has them now.
            found = client.find_notification(notification_id=notification_id)
            current = notification_schema.state_from_answer(found) if found else None
        state = self._put(client, inputs, notification_id, current)
        return UpdateResult(self._outputs(inputs, state, client, scope))

    def _find(self, client: CtsClient, inputs: Mapping[str, Any], name: str) -> dict[str, Any] | None:
        return client.find_notification(notification_id=name)

    def _remove(self, client: CtsClient, inputs: Mapping[str, Any], name: str) -> bool:
        return client.delete_notification(name)

    def _put(
        self,
        client: CtsClient,
        inputs: Mapping[str, Any],
        notification_id: str,
        current: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = notification_schema.desired_body(inputs, notification_id=notification_id, current=current)
        answer = client.update_notification(body)
        if answer and answer.get("notification_id"):
            return notification_schema.state_from_answer(answer)
        return self._read_back(client, inputs, notification_id, "Updating the key-event notification")
