"""Checks the shims in shims.py and the strict layer in strict.py against a real serve.py
process, through boto3.

    .venv/bin/python tests/emulator/test_shims.py        (from the repository root)

Starts tests/emulator/serve.py on a free port (strict layer on), runs the tests, stops the
server. Needs only what `scripts/emulator install` puts in .venv (moto[server] brings boto3).
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
ENDPOINT = ""
_server: "subprocess.Popen[bytes] | None" = None


def start_server(strict: bool = True) -> "tuple[subprocess.Popen[bytes], str]":
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env["TENANTCTL_EMULATOR_STRICT"] = "1" if strict else "0"
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "serve.py"), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError("serve.py exited:\n" + server.stderr.read().decode())
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            return server, endpoint
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("serve.py did not become healthy in 30s")


def stop_server(server: "subprocess.Popen[bytes]") -> None:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if server.stderr is not None:
        server.stderr.close()


def setUpModule() -> None:
    global ENDPOINT, _server
    _server, ENDPOINT = start_server(strict=True)


def tearDownModule() -> None:
    if _server is not None:
        stop_server(_server)


def client(service: str, endpoint: str = "", validate: bool = True):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=endpoint or ENDPOINT,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # A missing operation answers 500 and throttling 400: fail at once instead of retrying.
        # validate=False sends values boto3 itself would refuse (the Rust SDK does not check
        # ranges), so the server's answer can be tested.
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=validate),
    )


# A Lambda authorizer's URI (a function that does not need to exist for these tests).
AUTH_URI = ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:us-east-1:123456789012:function:auth/invocations")


class ErrorCode:
    def assertError(self, code: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self.assertRaises(ClientError) as ctx:  # type: ignore[attr-defined]
            fn(*args, **kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code)  # type: ignore[attr-defined]
        return ctx.exception


class CognitoResourceServer(ErrorCode, unittest.TestCase):
    def setUp(self) -> None:
        self.idp = client("cognito-idp")
        self.pool_id = self.idp.create_user_pool(PoolName="rs")["UserPool"]["Id"]
        self.idp.create_resource_server(
            UserPoolId=self.pool_id,
            Identifier="https://api.example",
            Name="api",
            Scopes=[{"ScopeName": "orders.read", "ScopeDescription": "Read orders"}],
        )

    def test_update_replaces_name_and_scopes(self) -> None:
        scopes = [
            {"ScopeName": "orders.read", "ScopeDescription": "Read orders"},
            {"ScopeName": "orders.write", "ScopeDescription": "Write orders"},
        ]
        out = self.idp.update_resource_server(
            UserPoolId=self.pool_id, Identifier="https://api.example", Name="api2", Scopes=scopes
        )["ResourceServer"]
        self.assertEqual(
            out,
            {"UserPoolId": self.pool_id, "Identifier": "https://api.example", "Name": "api2", "Scopes": scopes},
        )
        got = self.idp.describe_resource_server(UserPoolId=self.pool_id, Identifier="https://api.example")
        self.assertEqual(got["ResourceServer"], out)

    def test_update_without_scopes_clears_them(self) -> None:
        self.idp.update_resource_server(UserPoolId=self.pool_id, Identifier="https://api.example", Name="api")
        got = self.idp.describe_resource_server(UserPoolId=self.pool_id, Identifier="https://api.example")
        self.assertEqual(got["ResourceServer"].get("Scopes", []), [])

    def test_unknown_server_and_pool(self) -> None:
        self.assertError(
            "ResourceNotFoundException",
            self.idp.update_resource_server,
            UserPoolId=self.pool_id,
            Identifier="https://nope.example",
            Name="x",
        )
        self.assertError(
            "ResourceNotFoundException",
            self.idp.update_resource_server,
            UserPoolId="us-east-1_doesnotexist",
            Identifier="https://api.example",
            Name="x",
        )

    def test_delete_removes_only_that_server(self) -> None:
        self.idp.create_resource_server(UserPoolId=self.pool_id, Identifier="https://other.example", Name="other")
        out = self.idp.delete_resource_server(UserPoolId=self.pool_id, Identifier="https://api.example")
        self.assertEqual({k: v for k, v in out.items() if k != "ResponseMetadata"}, {})
        self.assertError(
            "ResourceNotFoundException",
            self.idp.describe_resource_server,
            UserPoolId=self.pool_id,
            Identifier="https://api.example",
        )
        listed = self.idp.list_resource_servers(UserPoolId=self.pool_id, MaxResults=50)["ResourceServers"]
        self.assertEqual([rs["Identifier"] for rs in listed], ["https://other.example"])
        # The identifier is free again: it can be created anew.
        self.idp.create_resource_server(UserPoolId=self.pool_id, Identifier="https://api.example", Name="api")

    def test_delete_unknown_server_and_pool(self) -> None:
        self.idp.delete_resource_server(UserPoolId=self.pool_id, Identifier="https://api.example")
        self.assertError(
            "ResourceNotFoundException",
            self.idp.delete_resource_server,
            UserPoolId=self.pool_id,
            Identifier="https://api.example",
        )
        self.assertError(
            "ResourceNotFoundException",
            self.idp.delete_resource_server,
            UserPoolId="us-east-1_doesnotexist",
            Identifier="https://api.example",
        )


class CognitoClientDates(ErrorCode, unittest.TestCase):
    """UserPoolClientType's CreationDate and LastModifiedDate (moto 5.2.5 returns neither)."""

    def test_create_describe_and_update_return_the_dates(self) -> None:
        cg = client("cognito-idp")
        pool = cg.create_user_pool(PoolName=f"dates-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
        first = cg.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]
        time.sleep(0.05)
        second = cg.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"]
        self.assertLess(first["CreationDate"], second["CreationDate"])
        self.assertEqual(first["CreationDate"], first["LastModifiedDate"])
        described = cg.describe_user_pool_client(UserPoolId=pool, ClientId=first["ClientId"])["UserPoolClient"]
        self.assertEqual(described["CreationDate"], first["CreationDate"])
        time.sleep(0.05)
        updated = cg.update_user_pool_client(UserPoolId=pool, ClientId=first["ClientId"], ClientName="web")
        updated = updated["UserPoolClient"]
        self.assertEqual(updated["CreationDate"], first["CreationDate"])
        self.assertGreater(updated["LastModifiedDate"], first["LastModifiedDate"])
        listed = cg.list_user_pool_clients(UserPoolId=pool, MaxResults=10)["UserPoolClients"]
        self.assertNotIn("CreationDate", listed[0])


class CognitoPoolKey(ErrorCode, unittest.TestCase):
    """The signing key parsed once (shims.py, speed only): two new pools still sign their
    tokens with moto's bundled key, which the JWKS moto serves verifies."""

    def test_pools_sign_with_the_key_their_jwks_serves(self) -> None:
        from joserfc import jwt
        from joserfc.jwk import KeySet

        cg = client("cognito-idp")
        for n in range(2):
            pool = cg.create_user_pool(PoolName=f"key-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
            app = cg.create_user_pool_client(UserPoolId=pool, ClientName="c",
                                             ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH",
                                                                "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
            cg.admin_create_user(UserPoolId=pool, Username="u", TemporaryPassword="Temp-pass-1234!",
                                 MessageAction="SUPPRESS")
            cg.admin_set_user_password(UserPoolId=pool, Username="u", Password="Pass-word-1234!", Permanent=True)
            auth = cg.admin_initiate_auth(UserPoolId=pool, ClientId=app, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                          AuthParameters={"USERNAME": "u", "PASSWORD": "Pass-word-1234!"})
            token = auth["AuthenticationResult"]["IdToken"]
            keys = json.loads(urllib.request.urlopen(f"{ENDPOINT}/{pool}/.well-known/jwks.json").read())
            claims = jwt.decode(token, KeySet.import_key_set(keys)).claims
            self.assertTrue(claims["iss"].endswith(pool), claims)


class CognitoTags(ErrorCode, unittest.TestCase):
    def setUp(self) -> None:
        self.idp = client("cognito-idp")
        pool = self.idp.create_user_pool(PoolName="tags", UserPoolTags={"owner": "platform", "env": "dev"})
        self.pool_id, self.arn = pool["UserPool"]["Id"], pool["UserPool"]["Arn"]

    def tags_both_ways(self) -> dict:
        listed = self.idp.list_tags_for_resource(ResourceArn=self.arn)["Tags"]
        described = self.idp.describe_user_pool(UserPoolId=self.pool_id)["UserPool"].get("UserPoolTags", {})
        self.assertEqual(listed, described)
        return listed

    def test_list_shows_create_tags(self) -> None:
        self.assertEqual(self.tags_both_ways(), {"owner": "platform", "env": "dev"})

    def test_tag_merges_and_overwrites(self) -> None:
        self.idp.tag_resource(ResourceArn=self.arn, Tags={"env": "prod", "tenant": "acme"})
        self.assertEqual(self.tags_both_ways(), {"owner": "platform", "env": "prod", "tenant": "acme"})

    def test_untag_removes_only_named_keys(self) -> None:
        self.idp.untag_resource(ResourceArn=self.arn, TagKeys=["env", "absent"])
        self.assertEqual(self.tags_both_ways(), {"owner": "platform"})
        self.idp.untag_resource(ResourceArn=self.arn, TagKeys=["owner"])
        self.assertEqual(self.tags_both_ways(), {})

    def test_unknown_pool_arn(self) -> None:
        missing = self.arn.rsplit("/", 1)[0] + "/us-east-1_doesnotexist"
        for fn, kwargs in (
            (self.idp.list_tags_for_resource, {}),
            (self.idp.tag_resource, {"Tags": {"a": "b"}}),
            (self.idp.untag_resource, {"TagKeys": ["a"]}),
        ):
            self.assertError("ResourceNotFoundException", fn, ResourceArn=missing, **kwargs)

    def test_malformed_arn(self) -> None:
        self.assertError("InvalidParameterException", self.idp.list_tags_for_resource, ResourceArn="arn:aws:s3:::tenantctl-bucket")


class ApiGatewayUpdateMethod(ErrorCode, unittest.TestCase):
    def setUp(self) -> None:
        self.apigw = client("apigateway")
        self.api = self.apigw.create_rest_api(name="api")["id"]
        self.root = self.apigw.get_resources(restApiId=self.api)["items"][0]["id"]
        self.apigw.put_method(restApiId=self.api, resourceId=self.root, httpMethod="GET", authorizationType="NONE")
        self.token_auth = self.apigw.create_authorizer(
            restApiId=self.api,
            name="lambda",
            type="TOKEN",
            authorizerUri=AUTH_URI,
            identitySource="method.request.header.Authorization",
        )["id"]
        self.pool_auth = self.apigw.create_authorizer(
            restApiId=self.api,
            name="cognito",
            type="COGNITO_USER_POOLS",
            providerARNs=["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"],
            identitySource="method.request.header.Authorization",
        )["id"]

    def update(self, *ops):  # type: ignore[no-untyped-def]
        return self.apigw.update_method(
            restApiId=self.api,
            resourceId=self.root,
            httpMethod="GET",
            patchOperations=[dict(zip(("op", "path", "value"), op)) for op in ops],
        )

    def get(self) -> dict:
        return self.apigw.get_method(restApiId=self.api, resourceId=self.root, httpMethod="GET")

    def test_set_custom_authorizer(self) -> None:
        out = self.update(("replace", "/authorizationType", "CUSTOM"), ("replace", "/authorizerId", self.token_auth))
        self.assertEqual((out["authorizationType"], out["authorizerId"]), ("CUSTOM", self.token_auth))
        got = self.get()
        self.assertEqual((got["authorizationType"], got["authorizerId"]), ("CUSTOM", self.token_auth))

    def test_cognito_authorizer_with_scopes(self) -> None:
        self.update(
            ("replace", "/authorizationType", "COGNITO_USER_POOLS"),
            ("replace", "/authorizerId", self.pool_auth),
            ("add", "/authorizationScopes", "https://api.example/orders.read"),
            ("add", "/authorizationScopes", "https://api.example/orders.write"),
        )
        self.assertEqual(
            self.get()["authorizationScopes"],
            ["https://api.example/orders.read", "https://api.example/orders.write"],
        )
        self.update(("remove", "/authorizationScopes", "https://api.example/orders.read"))
        self.assertEqual(self.get()["authorizationScopes"], ["https://api.example/orders.write"])

    def test_api_key_required(self) -> None:
        self.assertIs(self.update(("replace", "/apiKeyRequired", "true"))["apiKeyRequired"], True)
        self.assertIs(self.get()["apiKeyRequired"], True)
        self.assertIs(self.update(("replace", "/apiKeyRequired", "false"))["apiKeyRequired"], False)

    def test_custom_needs_existing_authorizer(self) -> None:
        self.assertError("BadRequestException", self.update, ("replace", "/authorizationType", "CUSTOM"))
        self.assertError(
            "BadRequestException",
            self.update,
            ("replace", "/authorizationType", "CUSTOM"),
            ("replace", "/authorizerId", "nope00"),
        )
        self.assertEqual(self.get()["authorizationType"], "NONE")

    def test_rejected_paths_and_ops(self) -> None:
        self.assertError("BadRequestException", self.update, ("replace", "/authorizationScopes", "a,b"))
        self.assertError("BadRequestException", self.update, ("replace", "/httpMethod", "POST"))

    def test_unknown_method_resource_api(self) -> None:
        ops = [{"op": "replace", "path": "/apiKeyRequired", "value": "true"}]
        for kwargs in (
            {"restApiId": self.api, "resourceId": self.root, "httpMethod": "POST"},
            {"restApiId": self.api, "resourceId": "nope00", "httpMethod": "GET"},
            {"restApiId": "nope000000", "resourceId": self.root, "httpMethod": "GET"},
        ):
            self.assertError("NotFoundException", self.apigw.update_method, patchOperations=ops, **kwargs)


class ApiGatewayTags(ErrorCode, unittest.TestCase):
    def setUp(self) -> None:
        self.apigw = client("apigateway")
        self.api = self.apigw.create_rest_api(name="tagged", tags={"owner": "platform"})["id"]
        self.arn = f"arn:aws:apigateway:{REGION}::/restapis/{self.api}"

    def test_get_tag_untag(self) -> None:
        self.assertEqual(self.apigw.get_tags(resourceArn=self.arn)["tags"], {"owner": "platform"})
        self.apigw.tag_resource(resourceArn=self.arn, tags={"env": "dev"})
        self.assertEqual(self.apigw.get_tags(resourceArn=self.arn)["tags"], {"owner": "platform", "env": "dev"})
        self.apigw.untag_resource(resourceArn=self.arn, tagKeys=["owner"])
        self.assertEqual(self.apigw.get_tags(resourceArn=self.arn)["tags"], {"env": "dev"})
        self.assertEqual(self.apigw.get_rest_api(restApiId=self.api)["tags"], {"env": "dev"})

    def test_unknown_api(self) -> None:
        self.assertError("NotFoundException", self.apigw.get_tags, resourceArn=f"arn:aws:apigateway:{REGION}::/restapis/nope000000")


# --------------------------------------------------------------------------- strict.py


def control(path: str, body: "dict | None" = None, endpoint: str = "") -> "tuple[int, dict]":
    """A strict-layer test control: GET without body, POST with one."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request((endpoint or ENDPOINT) + path, data=data, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        body = err.read()
        err.close()
        try:
            return err.code, json.loads(body or b"{}")
        except ValueError:
            return err.code, {"raw": body.decode(errors="replace")}


def burst(calls: list) -> "tuple[list, float]":
    """Runs the calls at once from threads; returns each outcome (None or the ClientError) and
    the wall time from the first start to the last answer."""
    outcomes: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        try:
            calls[i]()
        except ClientError as err:
            outcomes[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.monotonic() - started


def throttled(outcomes: list) -> int:
    return sum(1 for o in outcomes if o is not None and o.response["Error"]["Code"] == "TooManyRequestsException")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class StrictRatePerPool(ErrorCode, unittest.TestCase):
    """Rule 1: 5 requests per second per user pool and category, token bucket of 5."""

    def setUp(self) -> None:
        self.idp = client("cognito-idp")
        self.pool = self.idp.create_user_pool(PoolName=unique("rate"))["UserPool"]["Id"]

    def assertBucket(self, outcomes: list, elapsed: float) -> None:
        ok = sum(1 for o in outcomes if o is None)
        # At most the bucket plus what refilled during the burst, and everything else throttled.
        self.assertLessEqual(ok, 5 + 5 * elapsed + 1e-9, (ok, elapsed))
        self.assertEqual(ok + throttled(outcomes), len(outcomes), [o for o in outcomes if o is not None][:1])
        self.assertGreaterEqual(throttled(outcomes), 1)

    def test_update_category_throttles_past_five(self) -> None:
        calls = [lambda i=i: self.idp.create_group(UserPoolId=self.pool, GroupName=f"g{i}") for i in range(20)]
        outcomes, elapsed = burst(calls)
        self.assertBucket(outcomes, elapsed)
        err = next(o for o in outcomes if o is not None)
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(err.response["Error"], {"Code": "TooManyRequestsException", "Message": "Too many requests"})

    def test_throttled_request_is_not_executed_and_bucket_refills(self) -> None:
        outcomes, _ = burst([lambda i=i: self.idp.create_group(UserPoolId=self.pool, GroupName=f"g{i}") for i in range(20)])
        created = {g["GroupName"] for g in self.idp.list_groups(UserPoolId=self.pool, Limit=60)["Groups"]}
        self.assertEqual(created, {f"g{i}" for i, o in enumerate(outcomes) if o is None})
        time.sleep(1.1)  # >= 5 tokens again
        self.idp.create_group(UserPoolId=self.pool, GroupName="after")

    def test_pools_and_categories_have_separate_buckets(self) -> None:
        other = self.idp.create_user_pool(PoolName=unique("rate"))["UserPool"]["Id"]
        outcomes, elapsed = burst([lambda i=i: self.idp.create_group(UserPoolId=self.pool, GroupName=f"g{i}") for i in range(20)])
        self.assertBucket(outcomes, elapsed)
        # Another pool, and another category of the same pool, are untouched.
        self.idp.create_group(UserPoolId=other, GroupName="g")
        self.idp.list_groups(UserPoolId=self.pool)
        self.idp.create_user_pool_client(UserPoolId=self.pool, ClientName="c")

    def test_read_category(self) -> None:
        outcomes, elapsed = burst([lambda: self.idp.list_groups(UserPoolId=self.pool) for _ in range(20)])
        self.assertBucket(outcomes, elapsed)

    def test_client_categories(self) -> None:
        cid = self.idp.create_user_pool_client(UserPoolId=self.pool, ClientName="c")["UserPoolClient"]["ClientId"]
        outcomes, elapsed = burst(
            [lambda: self.idp.describe_user_pool_client(UserPoolId=self.pool, ClientId=cid) for _ in range(20)]
        )
        self.assertBucket(outcomes, elapsed)
        outcomes, elapsed = burst(
            [lambda i=i: self.idp.update_user_pool_client(UserPoolId=self.pool, ClientId=cid, ClientName=f"c{i}") for i in range(20)]
        )
        self.assertBucket(outcomes, elapsed)

    def test_pool_named_by_arn(self) -> None:
        arn = self.idp.describe_user_pool(UserPoolId=self.pool)["UserPool"]["Arn"]
        outcomes, elapsed = burst([lambda i=i: self.idp.tag_resource(ResourceArn=arn, Tags={f"k{i}": "v"}) for i in range(20)])
        self.assertBucket(outcomes, elapsed)

    def test_user_pool_category_is_not_limited_per_pool(self) -> None:
        # DescribeUserPool is UserPoolRead: account-wide 15 RPS only, no per-pool limit.
        outcomes, _ = burst([lambda: self.idp.describe_user_pool(UserPoolId=self.pool) for _ in range(20)])
        self.assertEqual(throttled(outcomes), 0)


class StrictLog(ErrorCode, unittest.TestCase):
    """Rule 10: GET /_tenantctl/strict/log, POST /_tenantctl/strict/reset."""

    def test_log_records_cognito_requests_and_reset_clears(self) -> None:
        idp = client("cognito-idp")
        pool = idp.create_user_pool(PoolName=unique("log"))["UserPool"]["Id"]
        before = time.time()
        self.assertEqual(control("/_tenantctl/strict/reset", {})[0], 200)
        idp.create_group(UserPoolId=pool, GroupName="g")
        outcomes, _ = burst([lambda: idp.list_groups(UserPoolId=pool) for _ in range(10)])
        self.assertError("InvalidParameterException", idp.create_user_pool_client, UserPoolId=pool, ClientName="c",
                         ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"])
        status, log = control("/_tenantctl/strict/log")
        self.assertEqual(status, 200)
        mine = [r for r in log["requests"] if r["pool"] == pool]
        self.assertEqual(mine[0]["operation"], "CreateGroup")
        self.assertEqual(set(mine[0]), {"t", "operation", "category", "pool", "throttled"})
        self.assertEqual(mine[0]["category"], "UserPoolResourceUpdate")
        self.assertIs(mine[0]["throttled"], False)
        self.assertGreaterEqual(mine[0]["t"], before)
        lists = [r for r in mine if r["operation"] == "ListGroups"]
        self.assertEqual(len(lists), 10)
        self.assertEqual(sum(r["throttled"] for r in lists), throttled(outcomes))
        self.assertEqual(log["refusals"].get("rate-per-pool"), throttled(outcomes))
        self.assertEqual(log["refusals"].get("refresh-token-auth"), 1)
        status, log = control("/_tenantctl/strict/reset", {})
        self.assertEqual((status, log["requests"], log["refusals"]), (200, [], {}))
        self.assertEqual(control("/_tenantctl/strict/log")[1]["requests"], [])


class StrictAppClients(ErrorCode, unittest.TestCase):
    """Rules 2, 3, 4, 8 and 13 on CreateUserPoolClient / UpdateUserPoolClient."""

    def setUp(self) -> None:
        self.idp = client("cognito-idp")
        self.pool = self.idp.create_user_pool(
            PoolName=unique("clients"),
            Schema=[
                {"Name": "email", "AttributeDataType": "String", "Mutable": True},
                {"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False},
                {"Name": "plan", "AttributeDataType": "String", "Mutable": True},
            ],
        )["UserPool"]["Id"]

    def describe(self, cid: str) -> dict:
        return self.idp.describe_user_pool_client(UserPoolId=self.pool, ClientId=cid)["UserPoolClient"]

    def test_default_auth_flows_stored(self) -> None:
        out = self.idp.create_user_pool_client(UserPoolId=self.pool, ClientName="c")["UserPoolClient"]
        default = ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"]
        self.assertEqual(out["ExplicitAuthFlows"], default)
        self.assertEqual(self.describe(out["ClientId"])["ExplicitAuthFlows"], default)
        # UpdateUserPoolClient without ExplicitAuthFlows resets them to the default too.
        self.idp.update_user_pool_client(UserPoolId=self.pool, ClientId=out["ClientId"], ClientName="c",
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
        self.idp.update_user_pool_client(UserPoolId=self.pool, ClientId=out["ClientId"], ClientName="c")
        self.assertEqual(self.describe(out["ClientId"])["ExplicitAuthFlows"], default)

    def test_refresh_token_auth_required(self) -> None:
        err = self.assertError("InvalidParameterException", self.idp.create_user_pool_client, UserPoolId=self.pool,
                               ClientName="c", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"])
        self.assertEqual(err.response["Error"]["Message"], "REFRESH_TOKEN_AUTH should always be allowed.")
        self.assertEqual(self.idp.list_user_pool_clients(UserPoolId=self.pool, MaxResults=10)["UserPoolClients"], [])
        cid = self.idp.create_user_pool_client(UserPoolId=self.pool, ClientName="c",
                                               ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
        self.assertError("InvalidParameterException", self.idp.update_user_pool_client, UserPoolId=self.pool,
                         ClientId=cid, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
        self.assertEqual(self.describe(cid)["ExplicitAuthFlows"], ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
        # Legacy (non-ALLOW_) values always allow refresh: accepted.
        self.idp.create_user_pool_client(UserPoolId=self.pool, ClientName="legacy", ExplicitAuthFlows=["USER_PASSWORD_AUTH"])

    def test_default_redirect_uri_in_callback_urls(self) -> None:
        kwargs = {"UserPoolId": self.pool, "ClientName": "c", "CallbackURLs": ["https://app.example/cb"]}
        self.assertError("InvalidParameterException", self.idp.create_user_pool_client,
                         DefaultRedirectURI="https://app.example/other", **kwargs)
        self.assertError("InvalidParameterException", self.idp.create_user_pool_client, UserPoolId=self.pool,
                         ClientName="c", DefaultRedirectURI="https://app.example/cb")
        cid = self.idp.create_user_pool_client(DefaultRedirectURI="https://app.example/cb", **kwargs)["UserPoolClient"]["ClientId"]
        # On update the request's CallbackURLs count (an omitted list is reset, not kept).
        self.assertError("InvalidParameterException", self.idp.update_user_pool_client, UserPoolId=self.pool,
                         ClientId=cid, DefaultRedirectURI="https://app.example/cb")
        self.idp.update_user_pool_client(UserPoolId=self.pool, ClientId=cid, DefaultRedirectURI="https://app.example/cb",
                                         CallbackURLs=["https://app.example/cb"])

    def test_write_immutable_custom_attribute_accepted(self) -> None:
        # AWS accepts it (sign-up through a client needs write access to immutable attributes;
        # aws/aws-cdk#7407), so the strict layer must not refuse it.
        self.idp.create_user_pool_client(UserPoolId=self.pool, ClientName="c", WriteAttributes=["email", "custom:tenant_id"])

    def test_unknown_attributes_refused(self) -> None:
        err = self.assertError("InvalidParameterException", self.idp.create_user_pool_client, UserPoolId=self.pool,
                               ClientName="c", ReadAttributes=["email", "custom:nope"])
        self.assertEqual(err.response["Error"]["Message"], "Invalid read attributes specified while creating a client")
        self.assertError("InvalidParameterException", self.idp.create_user_pool_client, UserPoolId=self.pool,
                         ClientName="c", WriteAttributes=["custom:nope"])
        self.assertError("InvalidParameterException", self.idp.create_user_pool_client, UserPoolId=self.pool,
                         ClientName="c", ReadAttributes=["tenant_id"])  # custom attributes need their prefix
        # Standard attributes count even when the pool's Schema did not list them.
        self.idp.create_user_pool_client(UserPoolId=self.pool, ClientName="c", ReadAttributes=["email", "name", "email_verified"],
                                         WriteAttributes=["name", "custom:plan"])

    def test_supported_providers_must_exist_in_the_pool(self) -> None:
        # Rule 13.
        err = self.assertError("InvalidParameterException", self.idp.create_user_pool_client, UserPoolId=self.pool,
                               ClientName="c", SupportedIdentityProviders=["COGNITO", "acme-okta"])
        self.assertEqual(err.response["Error"]["Message"], f"The provider acme-okta does not exist for User Pool {self.pool}.")
        cid = self.idp.create_user_pool_client(UserPoolId=self.pool, ClientName="c",
                                               SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]["ClientId"]
        self.assertError("InvalidParameterException", self.idp.update_user_pool_client, UserPoolId=self.pool,
                         ClientId=cid, SupportedIdentityProviders=["acme-okta"])
        self.idp.create_identity_provider(UserPoolId=self.pool, ProviderName="acme-okta", ProviderType="OIDC",
                                          ProviderDetails={"client_id": "c", "oidc_issuer": "https://acme.example",
                                                           "authorize_scopes": "openid", "attributes_request_method": "GET"})
        self.idp.update_user_pool_client(UserPoolId=self.pool, ClientId=cid, SupportedIdentityProviders=["acme-okta"])
        self.assertEqual(self.describe(cid)["SupportedIdentityProviders"], ["acme-okta"])

    def test_unknown_pool_or_client_is_not_found(self) -> None:
        self.assertError("ResourceNotFoundException", self.idp.create_user_pool_client,
                         UserPoolId="us-east-1_doesnotexist", ClientName="c", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"])
        self.assertError("ResourceNotFoundException", self.idp.update_user_pool_client, UserPoolId=self.pool,
                         ClientId="doesnotexist", ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH"])


class StrictGroups(ErrorCode, unittest.TestCase):
    """Rule 5: Precedence >= 0."""

    def test_negative_precedence_refused(self) -> None:
        idp = client("cognito-idp", validate=False)
        pool = idp.create_user_pool(PoolName=unique("groups"))["UserPool"]["Id"]
        err = self.assertError("InvalidParameterException", idp.create_group, UserPoolId=pool, GroupName="g", Precedence=-1)
        self.assertEqual(
            err.response["Error"]["Message"],
            "1 validation error detected: Value '-1' at 'precedence' failed to satisfy constraint: "
            "Member must have value greater than or equal to 0",
        )
        self.assertEqual(idp.list_groups(UserPoolId=pool)["Groups"], [])
        self.assertEqual(idp.create_group(UserPoolId=pool, GroupName="g", Precedence=0)["Group"]["Precedence"], 0)
        self.assertError("InvalidParameterException", idp.update_group, UserPoolId=pool, GroupName="g", Precedence=-5)
        self.assertEqual(idp.get_group(UserPoolId=pool, GroupName="g")["Group"]["Precedence"], 0)


class StrictDeleteUserPool(ErrorCode, unittest.TestCase):
    """Rule 6: deletion protection and a configured domain block DeleteUserPool."""

    def setUp(self) -> None:
        self.idp = client("cognito-idp")

    def test_deletion_protection(self) -> None:
        pool = self.idp.create_user_pool(PoolName=unique("protected"), DeletionProtection="ACTIVE")["UserPool"]["Id"]
        err = self.assertError("InvalidParameterException", self.idp.delete_user_pool, UserPoolId=pool)
        self.assertEqual(
            err.response["Error"]["Message"],
            "The user pool cannot be deleted because deletion protection is activated. "
            "Deletion protection must be inactivated first.",
        )
        self.idp.describe_user_pool(UserPoolId=pool)
        self.idp.update_user_pool(UserPoolId=pool, DeletionProtection="INACTIVE")
        self.idp.delete_user_pool(UserPoolId=pool)
        self.assertError("ResourceNotFoundException", self.idp.describe_user_pool, UserPoolId=pool)

    def test_pool_with_domain(self) -> None:
        pool = self.idp.create_user_pool(PoolName=unique("domain"))["UserPool"]["Id"]
        domain = unique("tenantctl-strict")
        self.idp.create_user_pool_domain(UserPoolId=pool, Domain=domain)
        err = self.assertError("InvalidParameterException", self.idp.delete_user_pool, UserPoolId=pool)
        self.assertEqual(
            err.response["Error"]["Message"],
            "User pool cannot be deleted. It has a domain configured that should be deleted first.",
        )
        self.idp.delete_user_pool_domain(UserPoolId=pool, Domain=domain)
        self.idp.delete_user_pool(UserPoolId=pool)

    def test_domain_prefix_unique_and_one_per_pool(self) -> None:
        a = self.idp.create_user_pool(PoolName=unique("dom-a"))["UserPool"]["Id"]
        b = self.idp.create_user_pool(PoolName=unique("dom-b"))["UserPool"]["Id"]
        domain = unique("tenantctl-strict")
        self.idp.create_user_pool_domain(UserPoolId=a, Domain=domain)
        err = self.assertError("InvalidParameterException", self.idp.create_user_pool_domain, UserPoolId=b, Domain=domain)
        self.assertEqual(err.response["Error"]["Message"], "Domain already exists.")
        self.assertEqual(self.idp.describe_user_pool_domain(Domain=domain)["DomainDescription"]["UserPoolId"], a)
        err = self.assertError(
            "InvalidParameterException", self.idp.create_user_pool_domain, UserPoolId=a, Domain=unique("tenantctl-second")
        )
        self.assertEqual(err.response["Error"]["Message"], "User pool already has a domain configured.")
        # Renaming is delete, then create.
        self.idp.delete_user_pool_domain(UserPoolId=a, Domain=domain)
        self.idp.create_user_pool_domain(UserPoolId=a, Domain=unique("tenantctl-renamed"))

    def test_unknown_pool(self) -> None:
        self.assertError("ResourceNotFoundException", self.idp.delete_user_pool, UserPoolId="us-east-1_doesnotexist")


class StrictFeaturePlan(ErrorCode, unittest.TestCase):
    """Rule 10: UserPoolTier defaults to ESSENTIALS; threat protection needs PLUS."""

    def setUp(self) -> None:
        self.idp = client("cognito-idp")

    def test_tier_default_and_threat_protection_needs_plus(self) -> None:
        pool = self.idp.create_user_pool(PoolName=unique("tier"))["UserPool"]["Id"]
        self.assertEqual(self.idp.describe_user_pool(UserPoolId=pool)["UserPool"]["UserPoolTier"], "ESSENTIALS")
        audit = {"AdvancedSecurityMode": "AUDIT"}
        err = self.assertError("FeatureUnavailableInTierException", self.idp.update_user_pool, UserPoolId=pool, UserPoolAddOns=audit)
        self.assertIn("Plus", err.response["Error"]["Message"])
        self.assertError("FeatureUnavailableInTierException", self.idp.create_user_pool, PoolName=unique("tier"), UserPoolAddOns=audit)
        self.idp.update_user_pool(UserPoolId=pool, UserPoolTier="PLUS", UserPoolAddOns=audit)
        live = self.idp.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertEqual((live["UserPoolTier"], live["UserPoolAddOns"]["AdvancedSecurityMode"]), ("PLUS", "AUDIT"))
        # An update that leaves the tier out sets it back to the default, as AWS does.
        self.assertError("FeatureUnavailableInTierException", self.idp.update_user_pool, UserPoolId=pool, UserPoolAddOns=audit)
        self.idp.update_user_pool(UserPoolId=pool)
        self.assertEqual(self.idp.describe_user_pool(UserPoolId=pool)["UserPool"]["UserPoolTier"], "ESSENTIALS")
        self.idp.delete_user_pool(UserPoolId=pool)


class StrictImmutability(ErrorCode, unittest.TestCase):
    """Rule 7: custom attributes are add-only; creation-only pool settings survive UpdateUserPool."""

    def setUp(self) -> None:
        self.idp = client("cognito-idp")

    def test_add_existing_custom_attribute_refused(self) -> None:
        pool = self.idp.create_user_pool(
            PoolName=unique("attrs"), Schema=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": False}]
        )["UserPool"]["Id"]
        err = self.assertError("InvalidParameterException", self.idp.add_custom_attributes, UserPoolId=pool,
                               CustomAttributes=[{"Name": "tenant_id", "AttributeDataType": "String", "Mutable": True}])
        self.assertEqual(err.response["Error"]["Message"], "custom:tenant_id: Existing attribute already has name custom:tenant_id.")
        # The same new name twice in one request: nothing is added.
        self.assertError("InvalidParameterException", self.idp.add_custom_attributes, UserPoolId=pool,
                         CustomAttributes=[{"Name": "plan", "AttributeDataType": "String"},
                                           {"Name": "plan", "AttributeDataType": "Number"}])
        schema = self.idp.describe_user_pool(UserPoolId=pool)["UserPool"]["SchemaAttributes"]
        self.assertEqual([a["Name"] for a in schema], ["custom:tenant_id"])
        self.assertIs(schema[0]["Mutable"], False)

    def test_creation_only_settings_survive_update(self) -> None:
        pool = self.idp.create_user_pool(PoolName=unique("username"), UsernameAttributes=["email"],
                                          UsernameConfiguration={"CaseSensitive": False})["UserPool"]["Id"]
        alias = self.idp.create_user_pool(PoolName=unique("alias"), AliasAttributes=["email", "preferred_username"])["UserPool"]["Id"]
        for pid in (pool, alias):
            self.idp.update_user_pool(UserPoolId=pid, MfaConfiguration="OFF", UserPoolTags={"k": "v"})
        got = self.idp.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertEqual((got["UsernameAttributes"], got["UsernameConfiguration"]), (["email"], {"CaseSensitive": False}))
        self.assertEqual(got["UserPoolTags"], {"k": "v"})
        self.assertEqual(self.idp.describe_user_pool(UserPoolId=alias)["UserPool"]["AliasAttributes"], ["email", "preferred_username"])

    def test_update_cannot_set_creation_only_settings(self) -> None:
        # boto3 (like every SDK) has no such UpdateUserPool members; sent raw, they are ignored.
        raw = client("cognito-idp", validate=False)
        pool = self.idp.create_user_pool(PoolName=unique("raw"), UsernameConfiguration={"CaseSensitive": True})["UserPool"]["Id"]
        raw.meta.events.register(
            "before-sign.cognito-idp.UpdateUserPool",
            lambda request, **_: setattr(request, "data", json.dumps(
                {**json.loads(request.data), "UsernameConfiguration": {"CaseSensitive": False}, "AliasAttributes": ["email"]}
            ).encode()),
        )
        raw.update_user_pool(UserPoolId=pool)
        got = self.idp.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertEqual(got["UsernameConfiguration"], {"CaseSensitive": True})
        self.assertNotIn("AliasAttributes", got)


class StrictRolesQuota(ErrorCode, unittest.TestCase):
    """Rule 9: CreateRole past RolesQuota -> 409 LimitExceeded; POST /_tenantctl/strict sets it."""

    def setUp(self) -> None:
        self.iam = client("iam")
        self.addCleanup(control, "/_tenantctl/strict", {"roles_quota": None})

    def summary(self) -> dict:
        return self.iam.get_account_summary()["SummaryMap"]

    def create(self, name: str) -> dict:
        return self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                      "Action": "sts:AssumeRole"}]}))

    def test_default_quota_is_aws_default(self) -> None:
        self.assertEqual(control("/_tenantctl/strict")[1]["roles_quota"], 1000)
        self.assertEqual(self.summary()["RolesQuota"], 1000)

    def test_create_role_past_quota(self) -> None:
        quota = self.summary()["Roles"] + 2
        status, settings = control("/_tenantctl/strict", {"roles_quota": quota})
        self.assertEqual((status, settings["roles_quota"]), (200, quota))
        self.assertEqual(self.summary()["RolesQuota"], quota)
        self.create(unique("r"))
        self.create(unique("r"))
        raw: dict = {}
        self.iam.meta.events.register("after-call.iam.CreateRole", lambda http_response, **_: raw.update(body=http_response.content))
        name = unique("r")
        err = self.assertError("LimitExceeded", self.create, name)
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 409)
        self.assertEqual(err.response["Error"]["Message"], f"Cannot exceed quota for RolesPerAccount: {quota}")
        self.assertEqual(err.response["Error"]["Type"], "Sender")
        self.assertIn(b"<ErrorResponse", raw["body"])
        self.assertIn(b"<Code>LimitExceeded</Code>", raw["body"])
        self.assertError("NoSuchEntity", self.iam.get_role, RoleName=name)
        summary = self.summary()
        self.assertEqual((summary["Roles"], summary["RolesQuota"]), (quota, quota))
        # Deleting a role frees a place.
        listed = self.iam.list_roles(MaxItems=1000)["Roles"]
        self.iam.delete_role(RoleName=listed[-1]["RoleName"])
        self.create(name)

    def test_concurrent_creates_never_pass_quota(self) -> None:
        quota = self.summary()["Roles"] + 3
        control("/_tenantctl/strict", {"roles_quota": quota})
        outcomes, _ = burst([lambda: self.create(unique("c")) for _ in range(10)])
        self.assertEqual(sum(1 for o in outcomes if o is None), 3)
        self.assertEqual(self.summary()["Roles"], quota)

    def test_control_rejects_bad_values(self) -> None:
        for body in ({"roles_quota": -1}, {"roles_quota": "5"}, {"roles_quota": True}, {"other": 1}):
            self.assertEqual(control("/_tenantctl/strict", body)[0], 400, body)
        self.assertEqual(control("/_tenantctl/strict/nope")[0], 404)


def lambda_role() -> str:
    iam = client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                                  "Action": "sts:AssumeRole"}]})
    try:
        return iam.create_role(RoleName="strict-lambda", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    except ClientError:
        return iam.get_role(RoleName="strict-lambda")["Role"]["Arn"]


def bootstrap_zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    return buf.getvalue()


class StrictLambdaEnvironment(ErrorCode, unittest.TestCase):
    """Rule 14: Lambda environment variables over 4 KB, measured as compact JSON."""

    def setUp(self) -> None:
        self.lam = client("lambda")
        self.role = lambda_role()

    def create(self, name: str, variables: dict) -> dict:
        return self.lam.create_function(
            FunctionName=name, Runtime="provided.al2023", Role=self.role, Handler="bootstrap",
            Code={"ZipFile": bootstrap_zip()}, Environment={"Variables": variables},
        )

    def variables(self, name: str) -> dict:
        return self.lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]

    def test_create_at_and_over_the_limit(self) -> None:
        # {"A":"<v>"} is 8 bytes plus the value: 4,088 characters make exactly 4,096 bytes.
        exact = {"A": "x" * 4088}
        self.assertEqual(len(json.dumps(exact, separators=(",", ":"))), 4096)
        self.create(unique("env"), exact)
        name = unique("env")
        err = self.assertError("InvalidParameterValueException", self.create, name, {"A": "x" * 4089})
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertIn("exceeded the 4KB limit. String measured: {\"A\":\"xxx", err.response["Error"]["Message"])
        self.assertError("ResourceNotFoundException", self.lam.get_function, FunctionName=name)
        # Names count too, and so do the JSON quotes and separators of every variable.
        many = {f"V{i:02}": "y" * 30 for i in range(100)}  # 100 * ("V00":"<30>" = 5 + 1 + 32) + 99 + 2
        self.assertEqual(len(json.dumps(many, separators=(",", ":"))), 3901)
        self.create(unique("env"), many)
        many = {f"V{i:02}": "y" * 32 for i in range(100)}  # the same with 2 more per value: 4,101
        self.assertError("InvalidParameterValueException", self.create, unique("env"), many)

    def test_non_ascii_counts_its_utf8_bytes(self) -> None:
        # "é" is 2 bytes in UTF-8: 2,044 of them plus {"A":""} make 4,096 bytes.
        self.create(unique("env"), {"A": "é" * 2044})
        self.assertError("InvalidParameterValueException", self.create, unique("env"), {"A": "é" * 2045})

    def test_update_over_the_limit_keeps_the_variables(self) -> None:
        name = unique("env")
        self.create(name, {"A": "1"})
        self.assertError(
            "InvalidParameterValueException", self.lam.update_function_configuration,
            FunctionName=name, Environment={"Variables": {"A": "x" * 5000}},
        )
        self.assertEqual(self.variables(name), {"A": "1"})
        self.lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"B": "x" * 4088}})
        self.assertEqual(self.variables(name), {"B": "x" * 4088})
        # Without Environment nothing is measured and the variables stay.
        self.lam.update_function_configuration(FunctionName=name, Timeout=10)
        self.assertEqual(self.variables(name), {"B": "x" * 4088})
        log = control("/_tenantctl/strict/log")[1]
        self.assertGreaterEqual(log["refusals"].get("lambda-environment-size", 0), 1)


class StrictLambdaPermissions(ErrorCode, unittest.TestCase):
    """Rules 15 and 16: AddPermission of a Sid the policy holds (409 ResourceConflictException) and
    a policy over 20,480 bytes (PolicyLengthExceededException)."""

    def setUp(self) -> None:
        self.lam = client("lambda")
        self.name = unique("perm")
        self.lam.create_function(
            FunctionName=self.name, Runtime="provided.al2023", Role=lambda_role(), Handler="bootstrap",
            Code={"ZipFile": bootstrap_zip()},
        )

    def add(self, sid: str, source: str = "arn:aws:execute-api:us-east-1:123456789012:abcdefghij/*") -> dict:
        return self.lam.add_permission(
            FunctionName=self.name, StatementId=sid, Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com", SourceArn=source,
        )

    def policy(self) -> "tuple[list, str]":
        out = self.lam.get_policy(FunctionName=self.name)
        return json.loads(out["Policy"])["Statement"], out["RevisionId"]

    def test_duplicate_statement_id_refused(self) -> None:
        self.add("tenantctl-api")
        before = self.policy()
        err = self.assertError("ResourceConflictException", self.add, "tenantctl-api", "arn:aws:execute-api:us-east-1:123456789012:other/*")
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 409)
        self.assertEqual(
            err.response["Error"]["Message"],
            "The statement id (tenantctl-api) provided already exists. Please provide a new statement id, "
            "or remove the existing statement.",
        )
        self.assertEqual(self.policy(), before)
        # Removed, the Sid can be added again.
        self.lam.remove_permission(FunctionName=self.name, StatementId="tenantctl-api")
        self.add("tenantctl-api")
        self.assertEqual([s["Sid"] for s in self.policy()[0]], ["tenantctl-api"])

    def test_concurrent_duplicates_leave_one_statement(self) -> None:
        outcomes, _ = burst([lambda: self.add("same") for _ in range(8)])
        codes = sorted(o.response["Error"]["Code"] if o is not None else "ok" for o in outcomes)
        self.assertEqual(codes, ["ResourceConflictException"] * 7 + ["ok"])
        self.assertEqual([s["Sid"] for s in self.policy()[0]], ["same"])

    def test_policy_over_20_kb_refused(self) -> None:
        added = 0
        while True:
            source = f"arn:aws:execute-api:us-east-1:123456789012:{added:010d}/*/*/" + "p" * 200
            try:
                self.add(f"s{added:03}", source)
            except ClientError as err:
                self.assertEqual(err.response["Error"]["Code"], "PolicyLengthExceededException")
                self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 400)
                refused = err.response["Error"]["Message"]
                break
            added += 1
            self.assertLess(added, 200, "no refusal")
        statements, revision = self.policy()
        self.assertEqual(len(statements), added)
        compact = lambda st: len(json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": st}, separators=(",", ":")))
        kept = compact(statements)
        self.assertLessEqual(kept, 20480)
        size = int(refused.split("(")[1].split(")")[0])
        self.assertGreater(size, 20480)
        self.assertEqual(refused, f"The final policy size ({size}) is bigger than the limit (20480).")
        # The refused statement is not in the policy, and its revision did not move.
        self.assertEqual(self.policy(), (statements, revision))
        # A short statement still fits when there is room, and removing one makes room.
        self.lam.remove_permission(FunctionName=self.name, StatementId="s000")
        self.add("again", f"arn:aws:execute-api:us-east-1:123456789012:{0:010d}/*/*/" + "p" * 200)


class StrictApiKeysQuota(ErrorCode, unittest.TestCase):
    """Rule 17: CreateApiKey past api_keys_quota (AWS: 10,000) -> 429 LimitExceededException."""

    def setUp(self) -> None:
        self.apigw = client("apigateway")
        self.addCleanup(control, "/_tenantctl/strict", {"api_keys_quota": None})

    def count(self) -> int:
        return len(self.apigw.get_api_keys(limit=500)["items"])

    def test_default_is_aws_quota(self) -> None:
        self.assertEqual(control("/_tenantctl/strict")[1]["api_keys_quota"], 10000)

    def test_create_past_quota(self) -> None:
        quota = self.count() + 2
        status, settings = control("/_tenantctl/strict", {"api_keys_quota": quota})
        self.assertEqual((status, settings["api_keys_quota"]), (200, quota))
        self.apigw.create_api_key(name=unique("k"), enabled=True)
        doomed = self.apigw.create_api_key(name=unique("k"), enabled=True)["id"]
        err = self.assertError("LimitExceededException", self.apigw.create_api_key, name="over", enabled=True)
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 429)
        self.assertEqual(self.count(), quota)
        self.apigw.delete_api_key(apiKey=doomed)
        self.apigw.create_api_key(name=unique("k"), enabled=True)

    def test_concurrent_creates_never_pass_quota(self) -> None:
        quota = self.count() + 3
        control("/_tenantctl/strict", {"api_keys_quota": quota})
        outcomes, _ = burst([lambda: self.apigw.create_api_key(name=unique("c")) for _ in range(8)])
        self.assertEqual(sum(1 for o in outcomes if o is None), 3)
        self.assertEqual(self.count(), quota)

    def test_control_rejects_bad_values_and_sets_nothing(self) -> None:
        for body in ({"api_keys_quota": -1}, {"api_keys_quota": "5"}, {"roles_quota": 5, "api_keys_quota": False}):
            self.assertEqual(control("/_tenantctl/strict", body)[0], 400, body)
        settings = control("/_tenantctl/strict")[1]
        self.assertEqual((settings["roles_quota"], settings["api_keys_quota"]), (1000, 10000))


def as_key(service: str, key: str):  # type: ignore[no-untyped-def]
    """A boto3 client signing with the access key `key`."""
    return boto3.client(
        service, endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id=key, aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def iam_policy(key: str, policy, arn: "str | None" = None) -> "tuple[int, dict]":  # type: ignore[no-untyped-def]
    body = {"access_key": key, "policy": policy}
    if arn:
        body["arn"] = arn
    return control("/_tenantctl/strict/iam", body)


def allow(*actions: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}


class StrictIamActions(ErrorCode, unittest.TestCase):
    """Rule 18: identity policies enforced by IAM action for the access keys a test registers,
    with each service's AccessDenied shape; resources and conditions are not evaluated."""

    def setUp(self) -> None:
        control("/_tenantctl/strict/iam/reset", {})
        self.addCleanup(control, "/_tenantctl/strict/iam/reset", {})
        self.key = "AKIA" + uuid.uuid4().hex[:16].upper()

    def denied(self, code: str, status: int, action: str, fn, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
        err = self.assertError(code, fn, *args, **kwargs)
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], status)
        message = err.response["Error"]["Message"]
        self.assertIn(f"is not authorized to perform: {action}", message)
        return message

    def log(self) -> dict:
        status, out = control(f"/_tenantctl/strict/iam?access_key={self.key}")
        self.assertEqual(status, 200)
        return out["keys"][self.key]

    def test_read_only_policy_in_every_service(self) -> None:
        arn = "arn:aws:sts::123456789012:assumed-role/ci-plan/run"
        policy = allow("cognito-idp:List*", "cognito-idp:Describe*", "iam:Get*", "iam:List*", "lambda:Get*",
                       "apigateway:GET", "cloudwatch:Describe*", "sts:GetCallerIdentity")
        self.assertEqual(iam_policy(self.key, policy, arn)[0], 200)
        idp, iam, sts = as_key("cognito-idp", self.key), as_key("iam", self.key), as_key("sts", self.key)
        lam, apigw, cw = as_key("lambda", self.key), as_key("apigateway", self.key), as_key("cloudwatch", self.key)
        # Allowed: moto answers (an unknown function is moto's ResourceNotFoundException).
        idp.list_user_pools(MaxResults=10)
        iam.get_account_summary()
        sts.get_caller_identity()
        apigw.get_rest_apis()
        cw.describe_alarms()
        self.assertError("ResourceNotFoundException", lam.get_function, FunctionName="nope")
        # Refused, each in its service's shape.
        message = self.denied("AccessDeniedException", 400, "cognito-idp:CreateUserPool", idp.create_user_pool, PoolName="x")
        self.assertEqual(
            message,
            f"User: {arn} is not authorized to perform: cognito-idp:CreateUserPool because no identity-based "
            "policy allows the cognito-idp:CreateUserPool action",
        )
        raw: dict = {}
        iam.meta.events.register("after-call.iam.CreateRole", lambda http_response, **_: raw.update(body=http_response.content))
        err_message = self.denied("AccessDenied", 403, "iam:CreateRole", iam.create_role, RoleName="x", AssumeRolePolicyDocument="{}")
        self.assertIn(b"<ErrorResponse", raw["body"])
        self.assertIn(b"<Type>Sender</Type><Code>AccessDenied</Code>", raw["body"])
        self.assertIn("iam:CreateRole", err_message)
        self.denied("AccessDenied", 403, "sts:AssumeRole", sts.assume_role, RoleArn="arn:aws:iam::123456789012:role/x", RoleSessionName="session")
        self.denied("AccessDeniedException", 403, "lambda:ListFunctions", lam.list_functions)
        self.denied("AccessDeniedException", 403, "lambda:AddPermission", lam.add_permission, FunctionName="f",
                    StatementId="s", Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com")
        self.denied("AccessDeniedException", 403, "apigateway:POST", apigw.create_rest_api, name="x")
        self.denied("AccessDeniedException", 403, "apigateway:PATCH", apigw.update_rest_api, restApiId="x", patchOperations=[])
        # CloudWatch over CBOR (boto3's first protocol for it, as aws-sdk-cloudwatch's): the
        # query-compatible code AccessDenied.
        self.denied("AccessDenied", 403, "cloudwatch:PutMetricAlarm", cw.put_metric_alarm, AlarmName="a",
                    MetricName="m", Namespace="n", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
                    ComparisonOperator="GreaterThanThreshold")
        log = self.log()
        self.assertTrue(log["enforced"])
        self.assertEqual(log["actions"]["cognito-idp:ListUserPools"], 1)
        self.assertEqual(log["actions"]["lambda:GetFunction"], 1)
        self.assertEqual(log["actions"]["cloudwatch:DescribeAlarms"], 1)
        self.assertEqual(log["actions"]["apigateway:GET"], 1)
        self.assertEqual(
            sorted(log["denied"]),
            ["apigateway:PATCH", "apigateway:POST", "cloudwatch:PutMetricAlarm", "cognito-idp:CreateUserPool",
             "iam:CreateRole", "lambda:AddPermission", "lambda:ListFunctions", "sts:AssumeRole"],
        )
        # Nothing refused was executed.
        self.assertNotIn("x", [p["Name"] for p in client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]])

    def test_explicit_deny_wins_and_get_caller_identity_always_passes(self) -> None:
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": ["iam:CreateRole", "sts:*"], "Resource": "*"},
        ]}
        iam_policy(self.key, policy)
        iam, sts = as_key("iam", self.key), as_key("sts", self.key)
        message = self.denied("AccessDenied", 403, "iam:CreateRole", iam.create_role, RoleName="x", AssumeRolePolicyDocument="{}")
        self.assertTrue(message.endswith("iam:CreateRole with an explicit deny in an identity-based policy"), message)
        iam.list_roles()
        # STS API reference, GetCallerIdentity: no permissions are required, even under a Deny.
        sts.get_caller_identity()
        self.denied("AccessDenied", 403, "sts:AssumeRole", sts.assume_role, RoleArn="arn:aws:iam::123456789012:role/x", RoleSessionName="session")

    def test_not_action_wildcards_and_case(self) -> None:
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "cognito-idp:Delete*"], "Resource": "*"},
            {"Effect": "Allow", "Action": "IAM:list?oles", "Resource": "*"},
        ]}
        iam_policy(self.key, policy)
        idp, iam = as_key("cognito-idp", self.key), as_key("iam", self.key)
        pool = idp.create_user_pool(PoolName=unique("iam"))["UserPool"]["Id"]
        self.denied("AccessDeniedException", 400, "cognito-idp:DeleteUserPool", idp.delete_user_pool, UserPoolId=pool)
        iam.list_roles()
        self.denied("AccessDenied", 403, "iam:ListUsers", iam.list_users)

    def test_lambda_operations_and_pass_role(self) -> None:
        role = lambda_role()
        iam_policy(self.key, allow("lambda:CreateFunction", "lambda:GetFunctionConfiguration"))
        lam = as_key("lambda", self.key)
        name = unique("iamfn")
        spec = dict(FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap", Code={"ZipFile": bootstrap_zip()})
        # CreateFunction with a Role also needs iam:PassRole.
        self.denied("AccessDeniedException", 403, "iam:PassRole", lam.create_function, **spec)
        iam_policy(self.key, allow("lambda:CreateFunction", "lambda:GetFunctionConfiguration", "lambda:*Permission",
                                   "lambda:GetPolicy", "iam:PassRole"))
        lam.create_function(**spec)
        lam.get_function_configuration(FunctionName=name)
        lam.add_permission(FunctionName=name, StatementId="s", Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com")
        lam.get_policy(FunctionName=name)
        lam.remove_permission(FunctionName=name, StatementId="s")
        self.denied("AccessDeniedException", 403, "lambda:UpdateFunctionConfiguration", lam.update_function_configuration,
                    FunctionName=name, Timeout=9)
        self.denied("AccessDeniedException", 403, "lambda:UpdateFunctionCode", lam.update_function_code,
                    FunctionName=name, ZipFile=bootstrap_zip())
        self.denied("AccessDeniedException", 403, "lambda:TagResource", lam.tag_resource,
                    Resource=f"arn:aws:lambda:us-east-1:123456789012:function:{name}", Tags={"a": "b"})
        self.denied("AccessDeniedException", 403, "lambda:InvokeFunction", lam.invoke, FunctionName=name)
        self.denied("AccessDeniedException", 403, "lambda:DeleteFunction", lam.delete_function, FunctionName=name)
        actions = self.log()["actions"]
        for action in ("lambda:CreateFunction", "iam:PassRole", "lambda:AddPermission", "lambda:GetPolicy",
                       "lambda:RemovePermission", "lambda:GetFunctionConfiguration"):
            self.assertIn(action, actions)
        self.assertEqual(actions["iam:PassRole"], 2)

    def test_cloudwatch_query_and_json_protocols(self) -> None:
        iam_policy(self.key, allow("cloudwatch:Describe*"))
        scope = f"Credential={self.key}/20260101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=00"
        auth = {"Authorization": "AWS4-HMAC-SHA256 " + scope}

        def send(body: bytes, headers: dict) -> "tuple[int, dict, bytes]":
            request = urllib.request.Request(ENDPOINT + "/", data=body, headers={**auth, **headers}, method="POST")
            try:
                with urllib.request.urlopen(request) as r:
                    return r.status, dict(r.headers), r.read()
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), e.read()

        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, body = send(b"Action=DescribeAlarms&Version=2010-08-01", form)
        self.assertEqual(status, 200, body)
        status, _, body = send(b"Action=DeleteAlarms&Version=2010-08-01&AlarmNames.member.1=a", form)
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        json_headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "GraniteServiceVersion20100801.DeleteAlarms"}
        status, headers, body = send(b'{"AlarmNames": ["a"]}', json_headers)
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body)["__type"], "AccessDeniedException")
        self.assertEqual(headers.get("x-amzn-query-error"), "AccessDenied;Sender")

    def test_unregistered_keys_pass_and_are_logged_and_reset_forgets(self) -> None:
        idp = as_key("cognito-idp", self.key)
        idp.list_user_pools(MaxResults=10)
        log = self.log()
        self.assertEqual((log["enforced"], log["actions"], log["denied"]), (False, {"cognito-idp:ListUserPools": 1}, {}))
        iam_policy(self.key, allow("iam:*"))
        self.denied("AccessDeniedException", 400, "cognito-idp:ListUserPools", idp.list_user_pools, MaxResults=10)
        # policy null: no longer enforced.
        self.assertEqual(iam_policy(self.key, None)[1]["keys"][self.key]["enforced"], False)
        idp.list_user_pools(MaxResults=10)
        self.assertEqual(self.log()["actions"], {"cognito-idp:ListUserPools": 3})
        # Another key is logged on its own; unsigned requests are not attributed to any key.
        as_key("cognito-idp", "AKIAOTHERKEY0000000").list_user_pools(MaxResults=10)
        urllib.request.urlopen(ENDPOINT + "/us-east-1_none/.well-known/jwks.json").read()
        keys = control("/_tenantctl/strict/iam")[1]["keys"]
        self.assertEqual(set(keys), {self.key, "AKIAOTHERKEY0000000"})
        control("/_tenantctl/strict/iam/reset", {})
        self.assertEqual(control("/_tenantctl/strict/iam")[1], {"keys": {}})

    def test_control_rejects_bad_requests(self) -> None:
        for body in (
            {"policy": allow("iam:*")},
            {"access_key": self.key},
            {"access_key": self.key, "policy": {"Statement": [{"Effect": "Maybe", "Action": "*"}]}},
            {"access_key": self.key, "policy": {"Statement": [{"Effect": "Allow"}]}},
            {"access_key": self.key, "policy": {"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x"}]}},
            {"access_key": self.key, "policy": {"Version": "2012-10-17"}},
            {"access_key": self.key, "policy": allow(), "other": 1},
        ):
            self.assertEqual(control("/_tenantctl/strict/iam", body)[0], 400, body)
        self.assertEqual(control("/_tenantctl/strict/iam/nope", {})[0], 404)
        # A list of documents, and a document given as a JSON string, are accepted.
        status, out = iam_policy(self.key, [allow("iam:*"), json.dumps(allow("sts:*"))])
        self.assertEqual((status, out["keys"][self.key]["enforced"]), (200, True))


class StrictOff(ErrorCode, unittest.TestCase):
    """TENANTCTL_EMULATOR_STRICT=0 starts plain moto + shims (for debugging)."""

    def test_strict_off(self) -> None:
        server, endpoint = start_server(strict=False)
        try:
            idp = client("cognito-idp", endpoint)
            pool = idp.create_user_pool(PoolName="off", DeletionProtection="ACTIVE")["UserPool"]["Id"]
            out = idp.create_user_pool_client(UserPoolId=pool, ClientName="c")["UserPoolClient"]
            self.assertNotIn("ExplicitAuthFlows", out)
            idp.delete_user_pool(UserPoolId=pool)  # moto ignores deletion protection
            self.assertNotEqual(control("/_tenantctl/strict", endpoint=endpoint)[0], 200)
        finally:
            stop_server(server)
class ApiGatewayDeploymentSummary(ErrorCode, unittest.TestCase):
    """GetDeployment with embed=apisummary: what each deployment serves, fixed when it was made."""

    def setUp(self) -> None:
        self.apigw = client("apigateway")
        self.api = self.apigw.create_rest_api(name="deployed")["id"]
        root = self.apigw.get_resources(restApiId=self.api)["items"][0]["id"]
        self.orders = self.apigw.create_resource(restApiId=self.api, parentId=root, pathPart="orders")["id"]
        for verb in ("GET", "POST"):
            self.apigw.put_method(restApiId=self.api, resourceId=self.orders, httpMethod=verb, authorizationType="NONE")
            self.apigw.put_integration(restApiId=self.api, resourceId=self.orders, httpMethod=verb, type="MOCK")
        self.auth = self.apigw.create_authorizer(
            restApiId=self.api,
            name="lambda",
            type="TOKEN",
            authorizerUri=AUTH_URI,
            identitySource="method.request.header.Authorization",
        )["id"]

    def test_authorizer_keeps_identity_validation_expression(self) -> None:
        expr = r"^Bearer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$"
        created = self.apigw.create_authorizer(
            restApiId=self.api,
            name="validated",
            type="TOKEN",
            authorizerUri=AUTH_URI,
            identitySource="method.request.header.Authorization",
            identityValidationExpression=expr,
        )
        self.assertEqual(created["identityValidationExpression"], expr)
        got = self.apigw.get_authorizer(restApiId=self.api, authorizerId=created["id"])
        self.assertEqual(got["identityValidationExpression"], expr)
        # Without one, none is returned.
        self.assertNotIn("identityValidationExpression", self.apigw.get_authorizer(restApiId=self.api, authorizerId=self.auth))

    def summary(self, deployment_id: str) -> dict:
        return self.apigw.get_deployment(restApiId=self.api, deploymentId=deployment_id, embed=["apisummary"])[
            "apiSummary"
        ]

    def test_summary_is_the_methods_at_deployment_time(self) -> None:
        first = self.apigw.create_deployment(restApiId=self.api, stageName="prod")["id"]
        self.apigw.update_method(
            restApiId=self.api,
            resourceId=self.orders,
            httpMethod="GET",
            patchOperations=[
                {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
                {"op": "replace", "path": "/authorizerId", "value": self.auth},
                {"op": "replace", "path": "/apiKeyRequired", "value": "true"},
            ],
        )
        none = {"authorizationType": "NONE", "apiKeyRequired": False}
        # The stage still serves the first deployment: GET unguarded.
        self.assertEqual(self.apigw.get_stage(restApiId=self.api, stageName="prod")["deploymentId"], first)
        self.assertEqual(self.summary(first), {"/orders": {"GET": none, "POST": none}})
        second = self.apigw.create_deployment(restApiId=self.api, stageName="prod")["id"]
        self.assertNotEqual(first, second)
        self.assertEqual(self.apigw.get_stage(restApiId=self.api, stageName="prod")["deploymentId"], second)
        self.assertEqual(
            self.summary(second),
            {"/orders": {"GET": {"authorizationType": "CUSTOM", "apiKeyRequired": True}, "POST": none}},
        )
        self.assertEqual(self.summary(first)["/orders"]["GET"], none)

    def test_without_embed_no_summary(self) -> None:
        dep = self.apigw.create_deployment(restApiId=self.api, stageName="prod")["id"]
        out = self.apigw.get_deployment(restApiId=self.api, deploymentId=dep)
        self.assertNotIn("apiSummary", out)
        self.assertEqual(out["id"], dep)

    def test_unknown_stage(self) -> None:
        self.assertError("NotFoundException", self.apigw.get_stage, restApiId=self.api, stageName="nope")


class LambdaUpdateFunctionCodeArchitectures(ErrorCode, unittest.TestCase):
    """UpdateFunctionCode with Architectures changes the function's architecture."""

    def setUp(self) -> None:
        import io
        import zipfile

        iam = client("iam")
        trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
        try:
            self.role = iam.create_role(RoleName="shim-lambda", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        except ClientError:
            self.role = iam.get_role(RoleName="shim-lambda")["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\n")
        self.zip = buf.getvalue()
        self.lam = client("lambda")
        self.name = f"arch{time.time_ns()}"
        self.lam.create_function(
            FunctionName=self.name,
            Runtime="provided.al2023",
            Role=self.role,
            Handler="bootstrap",
            Code={"ZipFile": self.zip},
        )

    def arch(self) -> list:
        return self.lam.get_function_configuration(FunctionName=self.name)["Architectures"]

    def test_architecture_changes_with_the_code(self) -> None:
        self.assertEqual(self.arch(), ["x86_64"])
        out = self.lam.update_function_code(FunctionName=self.name, ZipFile=self.zip, Architectures=["arm64"])
        self.assertEqual(out["Architectures"], ["arm64"])
        self.assertEqual(self.arch(), ["arm64"])
        # Without Architectures the architecture stays.
        self.lam.update_function_code(FunctionName=self.name, ZipFile=self.zip)
        self.assertEqual(self.arch(), ["arm64"])

    def test_invalid_architecture(self) -> None:
        self.assertError(
            "ValidationException", self.lam.update_function_code, FunctionName=self.name, ZipFile=self.zip, Architectures=["mips"]
        )
        self.assertEqual(self.arch(), ["x86_64"])


class LambdaCodeLocation(ErrorCode, unittest.TestCase):
    """GetFunction's Code.Location downloads the function's current package (shims.py)."""

    def test_location_serves_the_current_package(self) -> None:
        import io
        import urllib.error
        import urllib.request
        import zipfile

        lam = client("lambda")
        name = f"code{time.time_ns()}"
        first = bootstrap_zip()
        lam.create_function(
            FunctionName=name, Runtime="provided.al2023", Role=lambda_role(), Handler="bootstrap", Code={"ZipFile": first}
        )
        location = lam.get_function(FunctionName=name)["Code"]["Location"]
        with urllib.request.urlopen(location) as r:
            self.assertEqual(r.read(), first)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("bootstrap", "#!/bin/sh\necho 2\n")
            z.writestr("tenantctl-authorizer.json", "{}")
        second = buf.getvalue()
        lam.update_function_code(FunctionName=name, ZipFile=second)
        location = lam.get_function(FunctionName=name)["Code"]["Location"]
        with urllib.request.urlopen(location) as r:
            self.assertEqual(r.read(), second)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(location.rsplit("/", 1)[0] + "/nope")
        self.assertEqual(e.exception.code, 404)


class StrictIdentityProviders(ErrorCode, unittest.TestCase):
    """Rule 11: CreateIdentityProvider of an existing name is DuplicateProviderException."""

    def test_duplicate_name_refused_and_provider_kept(self) -> None:
        idp = client("cognito-idp")
        pool = idp.create_user_pool(PoolName=unique("idps"))["UserPool"]["Id"]
        details = {"client_id": "c1", "client_secret": "s1", "authorize_scopes": "openid"}
        idp.create_identity_provider(UserPoolId=pool, ProviderName="Google", ProviderType="Google", ProviderDetails=details)
        self.assertError(
            "DuplicateProviderException", idp.create_identity_provider, UserPoolId=pool, ProviderName="Google",
            ProviderType="Google", ProviderDetails={**details, "client_id": "c2"},
        )
        got = idp.describe_identity_provider(UserPoolId=pool, ProviderName="Google")["IdentityProvider"]
        self.assertEqual(got["ProviderDetails"]["client_id"], "c1")
        # Another pool may use the name.
        other = idp.create_user_pool(PoolName=unique("idps"))["UserPool"]["Id"]
        idp.create_identity_provider(UserPoolId=other, ProviderName="Google", ProviderType="Google", ProviderDetails=details)


class StrictDescribeAlarms(ErrorCode, unittest.TestCase):
    """Rule 12: DescribeAlarms pages by MaxRecords (1..100, default 50) with NextToken."""

    def test_pages_in_name_order(self) -> None:
        cw = client("cloudwatch", validate=False)
        prefix = unique("alarms")
        for i in range(7):
            cw.put_metric_alarm(
                AlarmName=f"{prefix}-{i}", Namespace="AWS/Cognito", MetricName="SignInThrottles", Statistic="Sum",
                Period=300, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
            )
        names, token, pages = [], None, 0
        while True:
            kw = {"AlarmNamePrefix": prefix, "MaxRecords": 3}
            if token:
                kw["NextToken"] = token
            out = cw.describe_alarms(**kw)
            pages += 1
            self.assertLessEqual(len(out["MetricAlarms"]), 3)
            names += [a["AlarmName"] for a in out["MetricAlarms"]]
            token = out.get("NextToken")
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(names, [f"{prefix}-{i}" for i in range(7)])
        self.assertNotIn("NextToken", cw.describe_alarms(AlarmNamePrefix=prefix))
        self.assertError("InvalidParameterValue", cw.describe_alarms, MaxRecords=101)
        self.assertError("InvalidParameterValue", cw.describe_alarms, MaxRecords=0)

    def test_metric_math_alarm_round_trips_with_tags(self) -> None:
        cw = client("cloudwatch")
        name = unique("ratio")
        dims = [{"Name": "UserPool", "Value": "us-east-1_p"}, {"Name": "UserPoolClient", "Value": "c1"}]
        metrics = [
            {"Id": "s0", "MetricStat": {"Metric": {"Namespace": "AWS/Cognito", "MetricName": "SignInSuccesses", "Dimensions": dims}, "Period": 300, "Stat": "Sum"}, "ReturnData": False},
            {"Id": "n0", "MetricStat": {"Metric": {"Namespace": "AWS/Cognito", "MetricName": "SignInSuccesses", "Dimensions": dims}, "Period": 300, "Stat": "SampleCount"}, "ReturnData": False},
            {"Id": "e", "Expression": "1 - SUM([s0]) / SUM([n0])", "Label": "Failed sign-in ratio", "ReturnData": True},
        ]
        cw.put_metric_alarm(
            AlarmName=name, Metrics=metrics, EvaluationPeriods=1, Threshold=0.2, ComparisonOperator="GreaterThanThreshold",
            AlarmActions=["arn:aws:sns:us-east-1:123456789012:alerts"], TreatMissingData="notBreaching",
            Tags=[{"Key": "tenantctl:managed", "Value": "true"}],
        )
        got = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        self.assertEqual([m["Id"] for m in got["Metrics"]], ["s0", "n0", "e"])
        self.assertEqual(got["Metrics"][2]["Expression"], "1 - SUM([s0]) / SUM([n0])")
        self.assertEqual(got["Metrics"][1]["MetricStat"]["Stat"], "SampleCount")
        tags = cw.list_tags_for_resource(ResourceARN=got["AlarmArn"])["Tags"]
        self.assertEqual(tags, [{"Key": "tenantctl:managed", "Value": "true"}])
        cw.untag_resource(ResourceARN=got["AlarmArn"], TagKeys=["tenantctl:managed"])
        self.assertEqual(cw.list_tags_for_resource(ResourceARN=got["AlarmArn"])["Tags"], [])
        cw.delete_alarms(AlarmNames=[name])
        self.assertEqual(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"], [])


class CloudWatchCbor(ErrorCode, unittest.TestCase):
    """The CloudWatch shim: Smithy RPC v2 CBOR requests (aws-sdk-cloudwatch's protocol), made
    and read here with botocore's own CBOR serializer and parser, answered by moto."""

    def call(self, operation: str, params: dict) -> "tuple[int, dict]":  # type: ignore[type-arg]
        import botocore.parsers
        import botocore.serialize
        import botocore.session

        model = botocore.session.get_session().get_service_model("cloudwatch")
        op = model.operation_model(operation)
        req = botocore.serialize.create_serializer("smithy-rpc-v2-cbor", include_validation=False).serialize_to_request(params, op)
        self.assertEqual(req["url_path"], f"/service/GraniteServiceVersion20100801/operation/{operation}")
        headers = dict(req["headers"])
        # moto picks the service from the SigV4 credential scope.
        headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/monitoring/aws4_request, "
            "SignedHeaders=host, Signature=00"
        )
        http = urllib.request.Request(ENDPOINT + req["url_path"], data=req["body"], headers=headers, method="POST")
        try:
            with urllib.request.urlopen(http) as r:
                status, rheaders, body = r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            status, rheaders, body = e.code, dict(e.headers), e.read()
        self.assertEqual(rheaders.get("Content-Type"), "application/cbor")
        self.assertEqual(rheaders.get("smithy-protocol"), "rpc-v2-cbor")
        parser = botocore.parsers.create_parser("smithy-rpc-v2-cbor")
        parsed = parser.parse(
            {"status_code": status, "headers": rheaders, "body": body}, op.output_shape if status < 400 else None
        )
        return status, parsed

    def test_put_describe_tag_delete(self) -> None:
        name = unique("cbor")
        dims = [{"Name": "UserPool", "Value": "us-east-1_p"}, {"Name": "UserPoolClient", "Value": "c1"}]
        status, _ = self.call(
            "PutMetricAlarm",
            {
                "AlarmName": name, "EvaluationPeriods": 1, "Threshold": 10.0,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
                "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alerts"],
                "Metrics": [
                    {"Id": "t0", "MetricStat": {"Metric": {"Namespace": "AWS/Cognito", "MetricName": "SignInThrottles", "Dimensions": dims}, "Period": 300, "Stat": "Sum"}, "ReturnData": False},
                    {"Id": "e", "Expression": "SUM([t0])", "ReturnData": True},
                ],
                "Tags": [{"Key": "tenantctl:managed", "Value": "true"}],
            },
        )
        self.assertEqual(status, 200)
        status, out = self.call("DescribeAlarms", {"AlarmNamePrefix": name, "MaxRecords": 100})
        self.assertEqual(status, 200)
        [alarm] = out["MetricAlarms"]
        self.assertEqual(alarm["AlarmName"], name)
        self.assertEqual(alarm["Threshold"], 10.0)
        self.assertEqual(alarm["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"], dims)
        self.assertEqual(alarm["Metrics"][1]["Expression"], "SUM([t0])")
        # Timestamps travel as CBOR tag 1 and parse back as datetimes.
        self.assertEqual(type(alarm["AlarmConfigurationUpdatedTimestamp"]).__name__, "datetime")
        status, tags = self.call("ListTagsForResource", {"ResourceARN": alarm["AlarmArn"]})
        self.assertEqual(tags["Tags"], [{"Key": "tenantctl:managed", "Value": "true"}])
        self.assertEqual(self.call("DeleteAlarms", {"AlarmNames": [name]})[0], 200)
        self.assertEqual(self.call("DescribeAlarms", {"AlarmNames": [name]})[1]["MetricAlarms"], [])

    def test_errors_are_cbor_with_their_code(self) -> None:
        status, out = self.call("DescribeAlarms", {"MaxRecords": 0})
        self.assertEqual(status, 400)
        self.assertEqual(out["Error"]["Code"], "InvalidParameterValue")


if __name__ == "__main__":
    unittest.main(verbosity=2)
