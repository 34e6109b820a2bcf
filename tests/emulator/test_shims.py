"""Checks the shims in shims.py against a real serve.py process, through boto3.

    .venv/bin/python tests/emulator/test_shims.py        (from the repository root)

Starts tests/emulator/serve.py on a free port, runs the tests, stops the server.
Needs only what `scripts/emulator install` puts in .venv (moto[server] brings boto3).
"""

import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
ENDPOINT = ""
_server: "subprocess.Popen[bytes] | None" = None


def setUpModule() -> None:
    global ENDPOINT, _server
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    _server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "serve.py"), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    ENDPOINT = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        if _server.poll() is not None:
            raise RuntimeError("serve.py exited:\n" + _server.stderr.read().decode())
        try:
            urllib.request.urlopen(ENDPOINT + "/moto-api/", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("serve.py did not become healthy in 30s")


def tearDownModule() -> None:
    if _server is not None:
        _server.terminate()
        try:
            _server.wait(10)
        except subprocess.TimeoutExpired:
            _server.kill()
            _server.wait()


def client(service: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # A missing operation answers 500; fail at once instead of retrying.
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


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
            authorizerUri="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:us-east-1:123456789012:function:auth/invocations",
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
            authorizerUri="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:us-east-1:123456789012:function:auth/invocations",
            identitySource="method.request.header.Authorization",
        )["id"]

    def test_authorizer_keeps_identity_validation_expression(self) -> None:
        expr = r"^Bearer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$"
        created = self.apigw.create_authorizer(
            restApiId=self.api,
            name="validated",
            type="TOKEN",
            authorizerUri="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            "arn:aws:lambda:us-east-1:123456789012:function:auth/invocations",
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
