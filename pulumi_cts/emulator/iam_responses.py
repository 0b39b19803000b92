"""HTTP handlers of the emulated IAM API: the version document, password tokens (with their service catalog) and
the project list.

Handler names match the `iam.*` endpoints in `urls.py`; errors are raised as `exceptions.IamError` subclasses.
A token scoped to a project leaves a `login` trace there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.backend import Backend
from pulumi_cts.emulator.common import TracedResource, iso_timestamp, json_response, parse_json_body, record_call
from pulumi_cts.emulator.gateway import Authenticator
from pulumi_cts.emulator.models import Project, stable_id

# What the identity version document says, as OTC's IAM answers it.
IDENTITY_VERSION = "v3.6"
IDENTITY_VERSION_UPDATED = "2016-04-04T00:00:00Z"
# Catalog type (and name) of each CTS API version, and the version in its URLs.
CTS_VERSIONS = (("cts", "v1.0"), ("ctsv2", "v2.0"), ("ctsv3", "v3"))


class IamResponse:
    """Handles the IAM token and project calls."""

    def __init__(
        self, backend: Backend, auth: Authenticator, token_ttl: float, users: Mapping[str, str] | None
    ) -> None:
        self.backend = backend
        self.auth = auth
        self.token_ttl = token_ttl
        self.users = dict(users) if users is not None else None

    def create_token(self, request: Request) -> Response:
        body = parse_json_body(request, exceptions.MalformedRequest)
        try:
            auth = body["auth"]
            methods = auth["identity"]["methods"]
            user = auth["identity"]["password"]["user"]
            user_name, password, user_domain = user["name"], user["password"], user["domain"]
            scope = auth["scope"]
        except (KeyError, TypeError) as e:
            raise exceptions.MalformedRequest(f"Request parameter error: missing {e}.") from e
        domain_name = (user_domain.get("name") or user_domain.get("id")) if isinstance(user_domain, dict) else None
        if (
            not isinstance(methods, list)
            or "password" not in methods
            or not isinstance(user_name, str)
            or not user_name
            or not isinstance(password, str)
            or not isinstance(domain_name, str)
            or not isinstance(scope, dict)
        ):
            raise exceptions.MalformedRequest(
                "Request parameter error: auth.identity needs methods ['password'] and "
                "password.user{name, password, domain{name}}; auth.scope is required."
            )
        if self.users is not None and self.users.get(user_name) != password:
            raise exceptions.IncorrectPassword()

        domain_id = stable_id("domain", domain_name)
        project: Project | None = None
        if "project" in scope:
            project = self._scoped_project(scope["project"], domain_id, domain_name)
        elif not isinstance(scope.get("domain"), dict):
            raise exceptions.MalformedRequest("Request parameter error: auth.scope needs project or domain.")

        token = self.backend.issue_token(user_name, domain_name, project, self.token_ttl)
        if project is not None:
            # IAM traces land in the project the token is scoped to; a domain token has none to land in.
            user = TracedResource("user", token.user_id, token.user_name)
            record_call(
                self.backend,
                request,
                project,
                token.caller,
                "login",
                user,
                201,
                "v3",
                service_type="IAM",
                with_request_body=False,
            )
        data: dict[str, Any] = {
            "methods": list(token.methods),
            "expires_at": iso_timestamp(token.expires_at),
            "issued_at": iso_timestamp(token.issued_at),
            "user": {
                "name": token.user_name,
                "id": token.user_id,
                "password_expires_at": "",
                "domain": {"name": token.domain_name, "id": token.domain_id},
            },
            "roles": [{"name": "te_admin", "id": stable_id("role", "te_admin")}],
        }
        if project is not None:
            data["project"] = {
                "name": project.name,
                "id": project.id,
                "domain": {"name": token.domain_name, "id": project.domain_id},
            }
        else:
            data["domain"] = {"name": token.domain_name, "id": token.domain_id}
        if not request.args.get("nocatalog"):
            data["catalog"] = self._catalog(request.host_url.rstrip("/"), project)
        return json_response({"token": data}, 201, {"X-Subject-Token": token.value})

    def _scoped_project(self, scope: Any, domain_id: str, domain_name: str) -> Project:
        if not isinstance(scope, dict):
            raise exceptions.MalformedRequest("Request parameter error: auth.scope.project must be an object.")
        if isinstance(scope.get("id"), str):
            return self.backend.project_by_id(scope["id"], domain_id, domain_name)
        if isinstance(scope.get("name"), str) and scope["name"]:
            return self.backend.project_by_name(scope["name"], domain_id, domain_name)
        raise exceptions.MalformedRequest("Request parameter error: auth.scope.project needs a name or an id.")

    @staticmethod
    def _catalog(base_url: str, project: Project | None) -> list[dict[str, Any]]:
        region = project.region if project else "eu-de"

        def entry(service_type: str, name: str, url: str) -> dict[str, Any]:
            endpoint = {
                "id": stable_id("endpoint", f"{service_type}/{url}"),
                "interface": "public",
                "region": region,
                "region_id": region,
                "url": url,
            }
            return {
                "type": service_type,
                "name": name,
                "id": stable_id("service", service_type),
                "endpoints": [endpoint],
            }

        catalog = [entry("identity", "iam", f"{base_url}/v3")]
        if project is not None:
            # One entry per CTS API version, as OTC's catalog has them (otcextensions looks each one up).
            cts = [(name, f"{base_url}/{version}/{project.id}") for name, version in CTS_VERSIONS]
            catalog[:0] = [entry(name, name, url) for name, url in cts]
        return catalog

    def version(self, request: Request) -> Response:
        """The identity v3 version document (keystoneauth asks it before logging in)."""
        return json_response(
            {
                "version": {
                    "id": IDENTITY_VERSION,
                    "status": "stable",
                    "updated": IDENTITY_VERSION_UPDATED,
                    "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
                    "links": [{"rel": "self", "href": f"{request.host_url.rstrip('/')}/v3/"}],
                }
            }
        )

    def list_projects(self, request: Request) -> Response:
        domain_id: str | None = None
        domain_name: str | None = None
        if self.auth.uses_aksk(request):
            self.auth.signature(request)
        else:
            value = request.headers.get("X-Auth-Token")
            if not value:
                raise exceptions.AuthRequired()
            token = self.backend.get_token(value)
            if token is None:
                raise exceptions.InvalidToken()
            if not token.is_valid(self.backend.clock()):
                raise exceptions.TokenExpired()
            domain_id, domain_name = token.domain_id, token.domain_name
        name = request.args.get("name")
        # Project names are region ids, so any asked-for name exists (with its stable id).
        projects = (
            [self.backend.project_by_name(name, domain_id, domain_name)] if name else self.backend.list_projects()
        )
        return json_response(
            {
                "projects": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "domain_id": p.domain_id,
                        "parent_id": p.domain_id,
                        "enabled": True,
                        "is_domain": False,
                        "description": "",
                    }
                    for p in projects
                ],
                "links": {"self": request.base_url},
            }
        )
