"""Fixtures for the conformance tests: two clients nobody on this project wrote, pointed at a fresh emulator.

- `huawei`: Huawei Cloud's official CTS SDK (`huaweicloudsdkcts`) signing every call with AK/SK, against an
  emulator that verifies the signatures; it finds its project id through IAM, as it does in the cloud.
- `otc`: an openstacksdk connection with `otcextensions` loaded, logged in with a password (keystoneauth asks
  the IAM version document first, then takes every CTS endpoint from the token's catalog).

Nothing in either client is patched: a client's own bug shows up as a skip or strict xfail that names it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, cast

import openstack
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkcts.v3 import CtsClient
from otcextensions import sdk as otc_sdk

from pulumi_cts.emulator import Emulator

REGION = "eu-de"
DOMAIN = "OTC-EU-DE-00000000001000000077"
USER = "conformance-user"
BUCKET = "conformance-trail"
OTHER_BUCKET = "conformance-archive"
TRACKED_BUCKET = "conformance-data"
KMS_KEY = "8d0e3a57-6c1b-4f7e-9a32-0b5f4e1d2c3a"
SMN_TOPIC = "urn:smn:eu-de:0123456789abcdef0123456789abcdef:cts_alerts"
FUNCTION_URN = "urn:fss:eu-de:0123456789abcdef0123456789abcdef:function:default:cts_alerts:latest"
TIMEOUT = (5.0, 30.0)


@dataclass(frozen=True)
class AccessKey:
    access_key: str
    secret_key: str


class OtcCloud(Protocol):
    """An openstacksdk connection once otcextensions has added its proxies (at run time, hence untyped)."""

    cts: Any
    ctsv2: Any
    ctsv3: Any

    @property
    def current_project_id(self) -> str: ...

    def endpoint_for(self, service_type: str) -> str | None: ...

    def close(self) -> None: ...


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both clients honour proxy variables: nothing may leave 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


@pytest.fixture
def access_key() -> AccessKey:
    # A fresh key per test: the Huawei SDK caches the project id it looked up per (access key, region).
    return AccessKey("CONF" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30))


@pytest.fixture
def emulator(access_key: AccessKey) -> Iterator[Emulator]:
    """An emulator that verifies AK/SK signatures of `access_key` and accepts any password."""
    with Emulator(
        buckets=(BUCKET, OTHER_BUCKET, TRACKED_BUCKET),
        kms_keys=(KMS_KEY,),
        access_keys={access_key.access_key: access_key.secret_key},
        host="127.0.0.1",
        port=0,
    ) as server:
        yield server


def huawei_client(emulator: Emulator, access_key: AccessKey, project_id: str | None = None) -> CtsClient:
    """The official SDK as a user sets it up, with the emulator as the region's endpoint and IAM."""
    credentials = BasicCredentials(access_key.access_key, access_key.secret_key, project_id).with_iam_endpoint(
        emulator.base_url
    )
    config = HttpConfig.get_default_config()
    config.timeout = TIMEOUT
    return (
        CtsClient.new_builder()
        .with_credentials(credentials)
        .with_region(Region(REGION, emulator.base_url))
        .with_http_config(config)
        .build()
    )


@pytest.fixture
def huawei(emulator: Emulator, access_key: AccessKey) -> CtsClient:
    return huawei_client(emulator, access_key)


def otc_connection(emulator: Emulator, *, project_name: str | None = REGION, project_id: str | None = None) -> OtcCloud:
    """An openstacksdk connection with password login and the OTC extensions registered."""
    scope = {"project_id": project_id} if project_id else {"project_name": project_name}
    conn = openstack.connect(
        auth_url=f"{emulator.base_url}/v3",
        username=USER,
        password="Conformance-Passw0rd",
        user_domain_name=DOMAIN,
        region_name=REGION,
        load_yaml_config=False,
        load_envvars=False,
        api_timeout=TIMEOUT[1],
        **scope,
    )
    otc_sdk.register_otc_extensions(conn)
    return cast(OtcCloud, conn)


@pytest.fixture
def otc(emulator: Emulator) -> Iterator[OtcCloud]:
    conn = otc_connection(emulator)
    yield conn
    conn.close()
