"""Operations tenantctl calls that moto 5.2.5 lacks, added by monkeypatching moto.

Importing this module patches moto in place (serve.py imports it before serving).
Every shim follows the AWS API reference for request/response shapes and error codes and
does no more than AWS does; anything moto itself gets wrong stays wrong (see NOTES.md).

cognito-idp (JSON protocol, dispatched by X-Amz-Target to a method of CognitoIdpResponse):
  UpdateResourceServer                 UserPoolId, Identifier, Name, Scopes -> ResourceServer
  DeleteResourceServer                 UserPoolId, Identifier -> {} (ResourceNotFoundException
                                       for an unknown pool or resource server)
  TagResource / UntagResource /        on user pool ARNs; the tags are the pool's
  ListTagsForResource                  UserPoolTags, so DescribeUserPool shows the same set
apigateway (REST protocol, dispatched by method + path to a method of APIGatewayResponse):
  UpdateMethod                         PATCH /restapis/{id}/resources/{rid}/methods/{verb}
  GetTags / TagResource /              /tags/{arn} for REST API ARNs
  UntagResource                        (moto handles only stage ARNs; those still go to moto)
  CreateAuthorizer                     moto drops identityValidationExpression (a misspelt
                                       keyword inside moto); AWS stores and returns it
  GetDeployment ?embed=apisummary      apiSummary: path -> method -> {authorizationType,
                                       apiKeyRequired}, as the methods were when the
                                       deployment was created (CreateDeployment snapshots them)
lambda (REST-JSON protocol):
  UpdateFunctionCode Architectures     moto ignores it; AWS changes the function's architecture
cloudwatch (Smithy RPC v2 CBOR, the protocol aws-sdk-cloudwatch speaks; moto routes only
  its JSON and query protocols):
  POST /service/GraniteServiceVersion20100801/operation/<Op>   translated to AWS JSON 1.0 for
                                       moto and the answer back to CBOR, shape by shape
"""

import json
import re
from typing import Any
from urllib.parse import unquote

from moto.apigateway import urls as apigateway_urls
from moto.apigateway.exceptions import BadRequestException
from moto.awslambda.models import LambdaFunction
from moto.apigateway.models import Authorizer, RestAPI, apigateway_backends
from moto.apigateway.responses import APIGatewayResponse
from moto.cognitoidp.exceptions import InvalidParameterException, ResourceNotFoundError
from moto.cognitoidp.models import cognitoidp_backends
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.responses import ActionResult, EmptyResult

# --------------------------------------------------------------------------- cognito-idp


def _update_resource_server(self: CognitoIdpResponse) -> ActionResult:
    user_pool_id = self._get_param("UserPoolId")
    identifier = self._get_param("Identifier")
    # Raises ResourceNotFoundException for an unknown pool or resource server.
    server = self.backend.describe_resource_server(user_pool_id, identifier)
    # AWS: "If you don't provide a value for an attribute, it is set to the default
    # value" -- omitted Scopes means no scopes.
    server.name = self._get_param("Name")
    server.scopes = self._get_param("Scopes") or []
    return ActionResult({"ResourceServer": server.to_json()})


def _delete_resource_server(self: CognitoIdpResponse) -> ActionResult:
    user_pool_id = self._get_param("UserPoolId")
    identifier = self._get_param("Identifier")
    # Raises ResourceNotFoundException for an unknown pool or resource server.
    self.backend.describe_resource_server(user_pool_id, identifier)
    del self.backend.user_pools[user_pool_id].resource_servers[identifier]
    return EmptyResult()


_POOL_ARN = re.compile(r"^arn:[\w-]+:cognito-idp:([a-z0-9-]+):(\d{12}):userpool/([\w-]+)$")


def _pool_from_arn(self: CognitoIdpResponse, arn: Any) -> Any:
    match = _POOL_ARN.match(arn or "")
    if not match:
        raise InvalidParameterException(f"Invalid ARN: {arn}")
    region, account, pool_id = match.groups()
    backend = cognitoidp_backends[account][region]
    pool = backend.user_pools.get(pool_id)
    if pool is None:
        raise ResourceNotFoundError(f"User pool {pool_id} does not exist.")
    return pool


def _tag_resource(self: CognitoIdpResponse) -> ActionResult:
    pool = _pool_from_arn(self, self._get_param("ResourceArn"))
    tags = dict(pool.extended_config.get("UserPoolTags") or {})
    tags.update(self._get_param("Tags") or {})
    pool.extended_config["UserPoolTags"] = tags
    return EmptyResult()


def _untag_resource(self: CognitoIdpResponse) -> ActionResult:
    pool = _pool_from_arn(self, self._get_param("ResourceArn"))
    tags = dict(pool.extended_config.get("UserPoolTags") or {})
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    pool.extended_config["UserPoolTags"] = tags
    return EmptyResult()


def _list_tags_for_resource(self: CognitoIdpResponse) -> ActionResult:
    pool = _pool_from_arn(self, self._get_param("ResourceArn"))
    return ActionResult({"Tags": dict(pool.extended_config.get("UserPoolTags") or {})})


CognitoIdpResponse.update_resource_server = _update_resource_server
CognitoIdpResponse.delete_resource_server = _delete_resource_server
CognitoIdpResponse.tag_resource = _tag_resource
CognitoIdpResponse.untag_resource = _untag_resource
CognitoIdpResponse.list_tags_for_resource = _list_tags_for_resource

# App client dates (API reference, UserPoolClientType: "CreationDate: The date and time when
# the item was created", "LastModifiedDate: The date and time when the item was modified";
# returned by CreateUserPoolClient, DescribeUserPoolClient and UpdateUserPoolClient, not by
# ListUserPoolClients' UserPoolClientDescription). moto 5.2.5 returns neither. Two runs that
# create a client of one name keep the older one; without dates they could only compare ids,
# and a run that created its client after the other's twin check had ended kept its own.
from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPoolClient  # noqa: E402
from moto.core.utils import utcnow as _utcnow  # noqa: E402

_client_init = CognitoIdpUserPoolClient.__init__
_client_to_json = CognitoIdpUserPoolClient.to_json
_update_client = CognitoIdpBackend.update_user_pool_client


def _client_init_dated(self: Any, *args: Any, **kwargs: Any) -> None:
    _client_init(self, *args, **kwargs)
    self.creation_date = _utcnow()
    self.last_modified_date = self.creation_date


def _client_to_json_dated(self: Any, extended: bool = False) -> Any:
    out = _client_to_json(self, extended)
    if extended:
        out["CreationDate"] = self.creation_date
        out["LastModifiedDate"] = self.last_modified_date
    return out


def _update_client_dated(self: Any, user_pool_id: str, client_id: str, extended_config: Any) -> Any:
    client = _update_client(self, user_pool_id, client_id, extended_config)
    client.last_modified_date = _utcnow()
    return client


CognitoIdpUserPoolClient.__init__ = _client_init_dated  # type: ignore[method-assign]
CognitoIdpUserPoolClient.to_json = _client_to_json_dated  # type: ignore[method-assign]
CognitoIdpBackend.update_user_pool_client = _update_client_dated  # type: ignore[method-assign]


# Speed only, no behaviour change: moto gives every user pool the same signing key, parsed
# in each CognitoIdpUserPool.__init__ from its bundled jwks-private.json by
# joserfc's RSAKey.import_key, which recovers the private key's primes: 0.15-0.4 s of CPU per
# CreateUserPool, one pool at a time under the GIL (300 silo pools: 1-2 minutes of emulator
# time that AWS does not spend). The same file gives the same key: it is parsed once, and
# every pool still holds that key (tokens and JWKS as before; test: CognitoPoolKey).
from joserfc import jwk as _jwk  # noqa: E402

_import_rsa_key = _jwk.RSAKey.import_key
_rsa_keys: dict = {}


def _import_rsa_key_once(value: Any, *args: Any, **kwargs: Any) -> Any:
    if not isinstance(value, dict) or args or kwargs:
        return _import_rsa_key(value, *args, **kwargs)
    key = json.dumps(value, sort_keys=True)
    if key not in _rsa_keys:
        _rsa_keys[key] = _import_rsa_key(value)
    return _rsa_keys[key]


_jwk.RSAKey.import_key = _import_rsa_key_once  # type: ignore[method-assign]


# ---------------------------------------------------------------------------- apigateway

# The UpdateMethod paths/ops tenantctl needs, as AWS accepts them (API Gateway "Patch
# Operations" table for UpdateMethod; the same table LocalStack snapshot-tested against AWS):
# authorizationScopes takes add/remove of one scope per op, never replace. Not shimmed:
# /requestParameters/..., /requestModels/... (AWS has them; they answer BadRequest here).
_METHOD_PATCH = {
    "/authorizationType": {"replace"},
    "/authorizerId": {"replace"},
    "/apiKeyRequired": {"replace"},
    "/operationName": {"replace"},
    "/requestValidatorId": {"replace"},
    "/authorizationScopes": {"add", "remove"},
}
_NEEDS_AUTHORIZER = ("CUSTOM", "COGNITO_USER_POOLS")


def _update_method(self: APIGatewayResponse) -> tuple[int, dict[str, Any], str]:
    parts = self.path.split("/")
    api_id, resource_id, http_method = parts[2], parts[4], parts[6]
    # NotFoundException: unknown API, resource or method.
    api = self.backend.get_rest_api(api_id)
    method = self.backend.get_method(api_id, resource_id, http_method)

    operations = self._get_param("patchOperations") or []
    changes: dict[str, Any] = {}
    scopes = list(method.authorization_scopes or [])
    for operation in operations:
        op, path, value = operation.get("op"), operation.get("path"), operation.get("value")
        if path not in _METHOD_PATCH:
            raise BadRequestException(f"Invalid patch path {path}")
        if op not in _METHOD_PATCH[path]:
            allowed = ", ".join(sorted(_METHOD_PATCH[path]))
            raise BadRequestException(
                f"Invalid patch operation specified. Must be one of: [{allowed}]"
            )
        if path == "/authorizationScopes":
            if op == "add" and value not in scopes:
                scopes.append(value)
            elif op == "remove" and value in scopes:
                scopes.remove(value)
        elif path == "/apiKeyRequired":
            changes["api_key_required"] = str(value).lower() == "true"
        else:
            attr = {
                "/authorizationType": "authorization_type",
                "/authorizerId": "authorizer_id",
                "/operationName": "operation_name",
                "/requestValidatorId": "request_validator_id",
            }[path]
            changes[attr] = value or None

    auth_type = changes.get("authorization_type", method.authorization_type)
    authorizer_id = changes.get("authorizer_id", method.authorizer_id)
    touches_auth = "authorization_type" in changes or "authorizer_id" in changes
    if touches_auth and auth_type in _NEEDS_AUTHORIZER and authorizer_id not in api.authorizers:
        raise BadRequestException(
            "Invalid authorizer ID specified. Setting the authorization type to CUSTOM "
            "or COGNITO_USER_POOLS requires a valid authorizer."
        )
    # Every operation validated: apply them together.
    for attr, value in changes.items():
        setattr(method, attr, value)
    method.authorization_scopes = scopes or None
    return 200, {}, json.dumps(method.to_json())


_RESTAPI_TAGS_ARN = re.compile(r"^arn:[\w-]+:apigateway:([a-z0-9-]+)::/restapis/([^/]+)$")


def _restapi_for_tags(self: APIGatewayResponse) -> Any:
    """The RestAPI a /tags/{arn} request names, or None for other ARNs (left to moto)."""
    arn = unquote(self.path.split("/tags/", 1)[1])
    match = _RESTAPI_TAGS_ARN.match(arn)
    if not match:
        return None
    region, api_id = match.groups()
    return apigateway_backends[self.current_account][region].get_rest_api(api_id)


_moto_get_tags = APIGatewayResponse.get_tags
_moto_tag_resource = APIGatewayResponse.tag_resource
_moto_untag_resource = APIGatewayResponse.untag_resource


def _get_tags(self: APIGatewayResponse) -> Any:
    api = _restapi_for_tags(self)
    if api is None:
        return _moto_get_tags(self)
    return 200, {}, json.dumps({"tags": dict(api.tags or {})})


def _tag_resource_apigw(self: APIGatewayResponse) -> Any:
    api = _restapi_for_tags(self)
    if api is None:
        return _moto_tag_resource(self)
    api.tags = {**(api.tags or {}), **(self._get_param("tags") or {})}
    return 204, {}, ""


def _untag_resource_apigw(self: APIGatewayResponse) -> Any:
    api = _restapi_for_tags(self)
    if api is None:
        return _moto_untag_resource(self)
    keys = self.querystring.get("tagKeys") or []
    api.tags = {k: v for k, v in (api.tags or {}).items() if k not in keys}
    return 204, {}, ""


APIGatewayResponse.update_method = _update_method
APIGatewayResponse.get_tags = _get_tags
APIGatewayResponse.tag_resource = _tag_resource_apigw
APIGatewayResponse.untag_resource = _untag_resource_apigw

# moto routes only stage ARNs under /tags/; add REST API ARNs. The server builds each
# service's routes on its first request, from this dict.
apigateway_urls.url_paths[
    "{0}/tags/arn:(?P<partition>[^/]+):apigateway:(?P<region_name>[^/]+)::/restapis/(?P<function_id>[^/]+)$"
] = APIGatewayResponse.dispatch

# CreateAuthorizer identityValidationExpression (API Gateway API reference, CreateAuthorizer:
# "identityValidationExpression: A validation expression for the incoming identity token",
# returned by GetAuthorizer). moto's backend passes it on as `identiy_validation_expression`
# and the Authorizer reads `identity_validation_expression`, so it is lost; UpdateAuthorizer's
# `/identityValidationExpression` patch works.
_moto_authorizer_init = Authorizer.__init__


def _authorizer_init(self: Authorizer, *args: Any, **kwargs: Any) -> None:
    _moto_authorizer_init(self, *args, **kwargs)
    if self.identity_validation_expression is None:
        self.identity_validation_expression = kwargs.get("identiy_validation_expression")


Authorizer.__init__ = _authorizer_init

# GetDeployment with embed=apisummary (API Gateway API reference, GetDeployment: "this
# request supports only retrieval of the embedded API summary"; response `apiSummary`: a map
# of resource path -> HTTP method -> MethodSnapshot {authorizationType, apiKeyRequired}).
# A deployment is an immutable snapshot of the API, so the summary is taken when the
# deployment is created: later method changes are not served until the next deployment.

_moto_rest_api_create_deployment = RestAPI.create_deployment
_moto_get_deployment = APIGatewayResponse.get_deployment


def _method_summary(api: RestAPI) -> dict[str, dict[str, dict[str, Any]]]:
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for resource in api.resources.values():
        for verb, method in resource.resource_methods.items():
            summary.setdefault(resource.get_path(), {})[verb] = {
                "authorizationType": method.authorization_type or "NONE",
                "apiKeyRequired": bool(method.api_key_required),
            }
    return summary


def _rest_api_create_deployment(self: RestAPI, *args: Any, **kwargs: Any) -> Any:
    deployment = _moto_rest_api_create_deployment(self, *args, **kwargs)
    deployment.api_summary = _method_summary(self)
    return deployment


def _get_deployment(self: APIGatewayResponse) -> Any:
    embed = [e for v in (self.querystring.get("embed") or []) for e in v.split(",") if e]
    if "apisummary" not in embed:
        return _moto_get_deployment(self)
    parts = self.path.split("/")
    api_id, deployment_id = parts[2], parts[4]
    deployment = self.backend.get_deployment(api_id, deployment_id)
    body = deployment.to_json()
    body["apiSummary"] = getattr(deployment, "api_summary", {})
    return 200, {}, json.dumps(body)


RestAPI.create_deployment = _rest_api_create_deployment
APIGatewayResponse.get_deployment = _get_deployment

# ------------------------------------------------------------------------------- lambda

# UpdateFunctionCode `Architectures` (Lambda API reference, UpdateFunctionCode: "The
# instruction set architecture that the function supports ... arm64 or x86_64"; array of
# exactly one). moto's setter validates the value as AWS does (ValidationException).
_moto_update_function_code = LambdaFunction.update_function_code


def _update_function_code(self: LambdaFunction, updated_spec: dict[str, Any]) -> dict[str, Any]:
    if "Architectures" in updated_spec:
        self.architectures = updated_spec["Architectures"]
    return _moto_update_function_code(self, updated_spec)


LambdaFunction.update_function_code = _update_function_code

# GetFunction `Code.Location` (Lambda API reference, GetFunction, FunctionCodeLocation:
# "Location: A presigned URL that you can use to download the deployment package"; valid for
# 10 minutes). moto answers an S3 address that cannot be fetched; the shim answers an address
# on the emulator itself, `<endpoint>/_tenantctl/lambda-code/<account>/<region>/<function>`,
# which serves the function's current package (GET, no signature, as a presigned URL needs
# none). An unknown function there is HTTP 404, as S3 answers an expired or unknown key.
from moto.awslambda.models import lambda_backends  # noqa: E402
from moto.awslambda.responses import LambdaResponse  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: E402
from urllib.parse import quote  # noqa: E402

CODE_PATH = "/_tenantctl/lambda-code/"
_moto_get_function = LambdaResponse.get_function


def _get_function(self: LambdaResponse) -> str:
    body = json.loads(_moto_get_function(self))
    conf = body.get("Configuration") or {}
    arn = conf.get("FunctionArn", "")
    parts = arn.split(":")
    if body.get("Code", {}).get("RepositoryType") == "S3" and len(parts) >= 7:
        region, account, name = parts[3], parts[4], parts[6]
        host = self.headers.get("Host", "127.0.0.1")
        body["Code"]["Location"] = f"http://{host}{CODE_PATH}{account}/{region}/{quote(name)}"
    return json.dumps(body)


LambdaResponse.get_function = _get_function
_moto_dispatch_call = DomainDispatcherApplication.__call__


def _dispatch_call(self: DomainDispatcherApplication, environ: dict, start_response: Any) -> Any:
    path = environ.get("PATH_INFO", "")
    if not path.startswith(CODE_PATH) or environ.get("REQUEST_METHOD") != "GET":
        return _moto_dispatch_call(self, environ, start_response)
    parts = path[len(CODE_PATH):].split("/")
    code = None
    if len(parts) == 3:
        account, region, name = parts[0], parts[1], unquote(parts[2])
        try:
            code = lambda_backends[account][region].get_function(name, None).code_bytes
        except Exception:  # unknown account, region or function
            code = None
    if code is None:
        start_response("404 Not Found", [("Content-Type", "application/xml")])
        return [b"<Error><Code>NoSuchKey</Code></Error>"]
    start_response("200 OK", [("Content-Type", "application/zip"), ("Content-Length", str(len(code)))])
    return [code]


DomainDispatcherApplication.__call__ = _dispatch_call

# ---------------------------------------------------------------------------- cloudwatch

# aws-sdk-cloudwatch (like botocore, but moto's server only routes the other protocols)
# speaks the Smithy RPC v2 CBOR protocol: POST /service/GraniteServiceVersion20100801/
# operation/<Operation>, `smithy-protocol: rpc-v2-cbor`, CBOR bodies (RFC 8949; timestamps as
# tag 1, epoch seconds), errors as a CBOR map with `__type` and `message`
# (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html). CloudWatch also
# serves the AWS JSON 1.0 protocol (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`),
# which moto implements; this middleware translates one into the other, shape by shape from
# botocore's CloudWatch model, so moto's own CloudWatch answers every operation.
import base64  # noqa: E402
import datetime  # noqa: E402
import io  # noqa: E402
import struct  # noqa: E402

from moto.moto_server.werkzeug_app import DomainDispatcherApplication  # noqa: E402

_CW_PREFIX = "/service/GraniteServiceVersion20100801/operation/"
_CW_MODEL = None


def _cw_model():  # type: ignore[no-untyped-def]
    global _CW_MODEL
    if _CW_MODEL is None:
        import botocore.session

        _CW_MODEL = botocore.session.get_session().get_service_model("cloudwatch")
    return _CW_MODEL


class _CborReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def _take(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        if len(out) != n:
            raise ValueError("truncated CBOR")
        self.pos += n
        return out

    def _arg(self, info: int) -> Any:
        if info < 24:
            return info
        if info == 31:
            return None  # indefinite length
        size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        return int.from_bytes(self._take(size), "big")

    def item(self) -> Any:
        first = self._take(1)[0]
        major, info = first >> 5, first & 0x1F
        if major == 0:
            return self._arg(info)
        if major == 1:
            return -1 - self._arg(info)
        if major in (2, 3):
            n = self._arg(info)
            if n is None:
                chunks = []
                while self.data[self.pos] != 0xFF:
                    chunks.append(self.item())
                self.pos += 1
                return b"".join(chunks) if major == 2 else "".join(chunks)
            raw = self._take(n)
            return raw if major == 2 else raw.decode("utf-8")
        if major == 4:
            n = self._arg(info)
            if n is None:
                out = []
                while self.data[self.pos] != 0xFF:
                    out.append(self.item())
                self.pos += 1
                return out
            return [self.item() for _ in range(n)]
        if major == 5:
            n = self._arg(info)
            out: dict[Any, Any] = {}
            if n is None:
                while self.data[self.pos] != 0xFF:
                    k = self.item()
                    out[k] = self.item()
                self.pos += 1
                return out
            for _ in range(n):
                k = self.item()
                out[k] = self.item()
            return out
        if major == 6:
            self._arg(info)  # tag 1 (epoch timestamp) is the only one Smithy uses: keep the number
            return self.item()
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return struct.unpack(">e", self._take(2))[0]
        if info == 26:
            return struct.unpack(">f", self._take(4))[0]
        if info == 27:
            return struct.unpack(">d", self._take(8))[0]
        raise ValueError(f"unsupported CBOR simple value {info}")


def _cbor_head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError("CBOR integer too large")


def _cbor(value: Any, shape: Any = None) -> bytes:
    """Encodes a JSON-protocol value as CBOR, guided by its botocore shape (None: by type)."""
    kind = shape.type_name if shape is not None else None
    if value is None:
        return b"\xf6"
    if kind == "timestamp":
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        return b"\xc1\xfb" + struct.pack(">d", float(value))
    if kind == "blob":
        raw = base64.b64decode(value) if isinstance(value, str) else bytes(value)
        return _cbor_head(2, len(raw)) + raw
    if kind in ("double", "float") or (kind is None and isinstance(value, float)):
        return b"\xfb" + struct.pack(">d", float(value))
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _cbor_head(3, len(raw)) + raw
    if isinstance(value, list):
        member = shape.member if kind == "list" else None
        return _cbor_head(4, len(value)) + b"".join(_cbor(v, member) for v in value)
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if v is None:
                continue
            if kind == "structure":
                sub = shape.members.get(k)
            elif kind == "map":
                sub = shape.value
            else:
                sub = None
            out.append(_cbor(k) + _cbor(v, sub))
        return _cbor_head(5, len(out)) + b"".join(out)
    raise ValueError(f"cannot encode {type(value)} as CBOR")


def _json_ready(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    return value


_moto_wsgi_call = DomainDispatcherApplication.__call__


def _cloudwatch_cbor(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
    path = environ.get("PATH_INFO", "")
    if not path.startswith(_CW_PREFIX):
        return _moto_wsgi_call(self, environ, start_response)
    operation = path[len(_CW_PREFIX) :]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    params = _CborReader(raw).item() if raw else {}
    body = json.dumps(_json_ready(params or {})).encode()
    inner = dict(environ)
    inner.update(
        {
            "PATH_INFO": "/",
            "CONTENT_TYPE": "application/x-amz-json-1.0",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_AMZ_TARGET": f"GraniteServiceVersion20100801.{operation}",
            "wsgi.input": io.BytesIO(body),
        }
    )
    inner.pop("HTTP_SMITHY_PROTOCOL", None)
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list, exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    chunks = _moto_wsgi_call(self, inner, capture)
    answer = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    status = captured.get("status", "500 INTERNAL SERVER ERROR")
    try:
        payload = json.loads(answer or b"{}")
    except ValueError:
        payload = {"__type": "InternalFailure", "message": answer.decode("utf-8", "replace")}
    if int(status.split()[0]) < 400:
        try:
            shape = _cw_model().operation_model(operation).output_shape
        except Exception:  # noqa: BLE001
            shape = None
        out = _cbor(payload, shape)
    else:
        out = _cbor({k: v for k, v in payload.items() if isinstance(v, str)})
    headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() not in ("content-type", "content-length")]
    headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"), ("Content-Length", str(len(out)))]
    start_response(status, headers)
    return [out]


DomainDispatcherApplication.__call__ = _cloudwatch_cbor  # type: ignore[method-assign]
