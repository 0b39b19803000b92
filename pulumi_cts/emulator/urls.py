"""Route table of the emulator: each path and method maps to a handler named `<group>.<method>`.

Groups: `iam`, `cts` (v1.0 trackers, v1.0 and v2.0 trace queries) and `ctsv3` are the emulated APIs; `control`
is the emulator's own API under `/_emulator/`. Both CTS groups are the service `cts` (for faults and the request log).
"""

from __future__ import annotations

from werkzeug.routing import Map, Rule

CONTROL_PREFIX = "/_emulator/"

url_paths: list[tuple[str, str, str]] = [
    # (path, method, endpoint)
    ("/v3", "GET", "iam.version"),
    ("/v3/auth/tokens", "POST", "iam.create_token"),
    ("/v3/projects", "GET", "iam.list_projects"),
    ("/v1.0/<project_id>/tracker", "POST", "cts.create_tracker"),
    ("/v1.0/<project_id>/tracker", "GET", "cts.get_tracker"),
    ("/v1.0/<project_id>/tracker", "DELETE", "cts.delete_tracker"),
    ("/v1.0/<project_id>/tracker/<tracker_name>", "PUT", "cts.update_tracker"),
    ("/v1.0/<project_id>/<tracker_name>/trace", "GET", "cts.list_traces"),
    ("/v2.0/<project_id>/<tracker_name>/trace", "GET", "cts.list_traces_v2"),
    ("/v3/<project_id>/tracker", "POST", "ctsv3.create_tracker"),
    ("/v3/<project_id>/tracker", "PUT", "ctsv3.update_tracker"),
    ("/v3/<project_id>/trackers", "GET", "ctsv3.list_trackers"),
    ("/v3/<project_id>/trackers", "DELETE", "ctsv3.delete_trackers"),
    ("/v3/<project_id>/notifications", "POST", "ctsv3.create_notification"),
    ("/v3/<project_id>/notifications", "PUT", "ctsv3.update_notification"),
    ("/v3/<project_id>/notifications", "DELETE", "ctsv3.delete_notifications"),
    ("/v3/<project_id>/notifications/<notification_type>", "GET", "ctsv3.list_notifications"),
    ("/v3/<project_id>/traces", "GET", "ctsv3.list_traces"),
    ("/v3/<project_id>/quotas", "GET", "ctsv3.get_quotas"),
    ("/v3/<project_id>/operations", "GET", "ctsv3.list_operations"),
    ("/v3/<project_id>/user-resources", "GET", "ctsv3.list_user_resources"),
    ("/v3/<project_id>/<resource_type>/<resource_id>/tags", "GET", "ctsv3.list_tags"),
    ("/v3/<project_id>/<resource_type>/<resource_id>/tags/create", "POST", "ctsv3.create_tags"),
    ("/v3/<project_id>/<resource_type>/<resource_id>/tags/delete", "DELETE", "ctsv3.delete_tags"),
    # Account-level calls: the path names the account (domain) id.
    ("/v3/<domain_id>/resources", "GET", "ctsv3.list_trace_resources"),
    ("/v3/<domain_id>/checkbucket", "POST", "ctsv3.check_buckets"),
    ("/_emulator/reset", "POST", "control.reset"),
    ("/_emulator/faults", "GET", "control.list_faults"),
    ("/_emulator/faults", "POST", "control.add_fault"),
    ("/_emulator/faults", "DELETE", "control.clear_faults"),
    ("/_emulator/faults/<fault_id>", "DELETE", "control.remove_fault"),
    ("/_emulator/tokens/expire", "POST", "control.expire_tokens"),
    ("/_emulator/requests", "GET", "control.list_requests"),
    ("/_emulator/requests", "DELETE", "control.clear_requests"),
    ("/_emulator/buckets/<name>", "POST", "control.add_bucket"),
    ("/_emulator/buckets/<name>", "DELETE", "control.remove_bucket"),
    ("/_emulator/kms-keys/<key_id>", "POST", "control.add_kms_key"),
    ("/_emulator/kms-keys/<key_id>", "DELETE", "control.remove_kms_key"),
    ("/_emulator/config", "GET", "control.get_config"),
    ("/_emulator/config", "PUT", "control.set_config"),
    ("/_emulator/state", "GET", "control.get_state"),
    ("/_emulator/traces", "POST", "control.seed_traces"),
]

# No redirects: a path with a stray slash is a plain 404, as at the real gateway, not a 308 to follow.
url_map = Map(
    [Rule(path, methods=[method], endpoint=endpoint) for path, method, endpoint in url_paths],
    merge_slashes=False,
    redirect_defaults=False,
)


# Handler groups that are not a service of their own.
_SERVICE_OF_GROUP = {"ctsv3": "cts"}


def service_of(path: str, endpoint: str | None = None) -> str:
    """`iam`, `cts` or `control`: from the matched endpoint, else guessed from the path (for 404s)."""
    if endpoint is not None:
        group = endpoint.split(".", 1)[0]
        return _SERVICE_OF_GROUP.get(group, group)
    if path.startswith(CONTROL_PREFIX):
        return "control"
    if path == "/v3" or path.startswith(("/v3/auth", "/v3/projects")):
        return "iam"
    return "cts"
