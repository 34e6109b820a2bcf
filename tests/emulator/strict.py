"""The strict layer: AWS rules tenantctl depends on that moto 5.2.5 does not enforce.

serve.py imports this module (after shims.py) unless TENANTCTL_EMULATOR_STRICT=0; importing it
patches moto in place. The layer may make the emulator STRICTER than moto, never more lenient
than AWS, and is never shaped to make tenantctl look right: every rule below follows the
AWS page cited next to it, and each has its own test in test_shims.py.

Rules (refusal counters in GET /_tenantctl/strict/log use the names in brackets):

 1. [rate-per-pool] UserPoolResourceRead/Update and UserPoolClientRead/Update operations:
    5 requests per second per user pool and category (token bucket, capacity 5). Over it:
    HTTP 400 {"__type": "TooManyRequestsException", "message": "Too many requests"}.
 2. CreateUserPoolClient/UpdateUserPoolClient without ExplicitAuthFlows store AWS's default
    [ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_SRP_AUTH, ALLOW_CUSTOM_AUTH] (counted under
    "defaults_filled", not a refusal).
 3. [refresh-token-auth] ExplicitAuthFlows with ALLOW_* values but without
    ALLOW_REFRESH_TOKEN_AUTH -> InvalidParameterException.
 4. [default-redirect-uri] DefaultRedirectURI not one of CallbackURLs -> InvalidParameterException.
 5. [group-precedence] CreateGroup/UpdateGroup Precedence < 0 -> InvalidParameterException.
 6. [deletion-protection] DeleteUserPool while DeletionProtection is ACTIVE, and
    [pool-has-domain] while the pool has a domain -> InvalidParameterException.
 7. [custom-attribute-exists] AddCustomAttributes of a name the pool already has (or twice in
    one request) -> InvalidParameterException; UpdateUserPool keeps the creation-only
    UsernameConfiguration, UsernameAttributes and AliasAttributes (moto wiped them).
 8. [client-unknown-attribute] Read/WriteAttributes naming an attribute the pool does not have
    -> InvalidParameterException. (An immutable custom attribute in WriteAttributes is
    accepted, as AWS accepts it: sign-up through a client sets immutable attributes, which
    needs write access; aws/aws-cdk#7407. Refusing it would be stricter than AWS.)
 9. [roles-quota] IAM CreateRole when the account already has RolesQuota roles -> HTTP 409
    LimitExceeded; GetAccountSummary reports the same RolesQuota.
10. CreateUserPool/UpdateUserPool without UserPoolTier store AWS's default ESSENTIALS (counted
    under "defaults_filled"); [threat-protection-tier] UserPoolAddOns.AdvancedSecurityMode
    AUDIT or ENFORCED on a pool whose tier is not PLUS -> FeatureUnavailableInTierException.
11. [duplicate-provider] cognito-idp CreateIdentityProvider of a ProviderName the pool already
    has -> DuplicateProviderException (moto silently replaced the provider).
12. CloudWatch DescribeAlarms answers in pages: at most MaxRecords (1..100, default 50)
    alarms, in name order, with NextToken (moto returned every alarm at once); a MaxRecords
    outside 1..100 -> InvalidParameterValue [describe-alarms-max-records].
13. [client-unknown-provider] CreateUserPoolClient/UpdateUserPoolClient whose
    SupportedIdentityProviders names a provider the pool does not have (other than COGNITO)
    -> InvalidParameterException.
14. [lambda-environment-size] Lambda CreateFunction/UpdateFunctionConfiguration whose
    Environment.Variables, as compact JSON, exceed 4,096 bytes -> InvalidParameterValueException.
15. [lambda-statement-id-exists] Lambda AddPermission with a StatementId the function's policy
    already holds -> HTTP 409 ResourceConflictException (moto added a second statement).
16. [lambda-policy-size] Lambda AddPermission that would make the function's policy (compact
    JSON) larger than 20,480 bytes -> PolicyLengthExceededException; the policy is unchanged.
17. [api-keys-quota] API Gateway CreateApiKey when the account and Region have api_keys_quota
    keys (AWS: 10,000) -> HTTP 429 LimitExceededException.
18. IAM identity policies by action, opt-in per access key (strict_iam.py): a request signed
    with a key a test registered a policy for needs its IAM action(s) allowed, else each
    service's AccessDenied answer; resources and conditions are not evaluated.

Test controls (not AWS behaviour; see NOTES.md):
    GET  /_tenantctl/strict          {"strict": true, "roles_quota": N, "api_keys_quota": N,
                                      "per_pool_rate": 5.0, "per_pool_burst": 5.0}
    POST /_tenantctl/strict          {"roles_quota": N, "api_keys_quota": N}  (either or both;
                                      null: back to AWS's default, 1000 and 10000)
    GET  /_tenantctl/strict/log      {"requests": [{"t", "operation", "category", "pool", "throttled"}],
                                      "refusals": {rule: count}, "defaults_filled": {rule: count}}
    POST /_tenantctl/strict/reset    clears requests, refusals and defaults_filled
    /_tenantctl/strict/iam[/reset]   rule 18's policies and action log (strict_iam.py)
"""

import io
import json
import re
import threading
import time
import uuid
from typing import Any, Callable

from moto.cognitoidp.exceptions import InvalidParameterException, ResourceNotFoundError
from moto.core.exceptions import JsonRESTError
from moto.cognitoidp.models import (
    CognitoIdpBackend,
    CognitoIdpUserPoolAttribute,
    cognitoidp_backends,
)
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.iam.exceptions import LimitExceededException
from moto.iam.models import AccountSummary
from moto.iam.responses import IamResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

import strict_iam  # rule 18, IAM actions per access key (next to this file, like shims.py)

# ----------------------------------------------------------------------------- state

# IAM quotas page ("IAM object quotas": Roles in an AWS account, default 1,000):
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
AWS_DEFAULT_ROLES_QUOTA = 1000

# "Quotas for configuring and running a REST API in API Gateway": API keys per account per
# Region, 10000, not adjustable (rule 17):
# https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html
AWS_API_KEYS_QUOTA = 10_000

# Cognito quotas page, footnote 3 of the operation categories table: "Any individual
# operation in this category has a constraint that prevents the operation from being called
# at a rate higher than 5 RPS for a single user pool"; Service Quotas names these "Rate of
# <Category> requests per user pool" (5.0, not adjustable). The bucket is per pool and
# category, which is at least as strict as per pool and operation.
PER_POOL_RATE = 5.0  # tokens per second
PER_POOL_BURST = 5.0  # bucket capacity

MAX_LOG = 200_000  # oldest entries are dropped beyond this (a whole test-suite run is far below)


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.iam_lock = threading.Lock()
        self.lambda_lock = threading.Lock()
        self.apigateway_lock = threading.Lock()
        self.buckets: dict[tuple[str, str], list[float]] = {}  # key -> [tokens, last refill]
        self.requests: list[dict[str, Any]] = []
        self.refusals: dict[str, int] = {}
        self.defaults_filled: dict[str, int] = {}
        self.roles_quota = AWS_DEFAULT_ROLES_QUOTA
        self.api_keys_quota = AWS_API_KEYS_QUOTA

    def take(self, pool: str, category: str) -> bool:
        """One token from the (pool, category) bucket; False when it is empty."""
        now = time.monotonic()
        with self.lock:
            bucket = self.buckets.setdefault((pool, category), [PER_POOL_BURST, now])
            bucket[0] = min(PER_POOL_BURST, bucket[0] + (now - bucket[1]) * PER_POOL_RATE)
            bucket[1] = now
            if bucket[0] >= 1.0:
                bucket[0] -= 1.0
                return True
            return False

    def record(self, operation: str, category: str | None, pool: str | None, throttled: bool) -> None:
        entry = {"t": time.time(), "operation": operation, "category": category, "pool": pool, "throttled": throttled}
        with self.lock:
            self.requests.append(entry)
            if len(self.requests) > MAX_LOG:
                del self.requests[: len(self.requests) - MAX_LOG]
            if throttled:
                self.refusals["rate-per-pool"] = self.refusals.get("rate-per-pool", 0) + 1

    def refused(self, rule: str) -> None:
        with self.lock:
            self.refusals[rule] = self.refusals.get(rule, 0) + 1

    def filled(self, rule: str) -> None:
        with self.lock:
            self.defaults_filled[rule] = self.defaults_filled.get(rule, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": list(self.requests),
                "refusals": dict(self.refusals),
                "defaults_filled": dict(self.defaults_filled),
            }

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.refusals.clear()
            self.defaults_filled.clear()


STATE = _State()


def _refuse(rule: str, exc: Exception) -> None:
    STATE.refused(rule)
    raise exc


# ------------------------------------------------------- rule 1: per-pool request rate

# Operation -> category, from "Amazon Cognito user pools API operation categories and request
# rate quotas" (Cognito developer guide, Quotas in Amazon Cognito):
# https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html#category_operations
# Only the four categories with the per-user-pool limit (footnote 3) are listed.
RATE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "UserPoolResourceRead": (
        "DescribeIdentityProvider", "DescribeResourceServer", "DescribeUserImportJob",
        "DescribeUserPoolDomain", "GetCSVHeader", "GetGroup", "GetSigningCertificate",
        "GetIdentityProviderByIdentifier", "GetUserPoolMfaConfig", "ListGroups",
        "ListIdentityProviders", "ListResourceServers", "ListTagsForResource",
        "ListUserImportJobs", "DescribeRiskConfiguration", "GetUICustomization",
        "DescribeManagedLoginBranding", "DescribeManagedLoginBrandingByClient",
    ),
    "UserPoolResourceUpdate": (
        "AddCustomAttributes", "CreateGroup", "CreateIdentityProvider", "CreateResourceServer",
        "CreateUserImportJob", "CreateUserPoolDomain", "DeleteGroup", "DeleteIdentityProvider",
        "DeleteResourceServer", "DeleteUserPoolDomain", "SetUserPoolMfaConfig",
        "StartUserImportJob", "StopUserImportJob", "UpdateGroup", "UpdateIdentityProvider",
        "UpdateResourceServer", "UpdateUserPoolDomain", "SetRiskConfiguration",
        "SetUICustomization", "TagResource", "UntagResource", "CreateManagedLoginBranding",
        "UpdateManagedLoginBranding", "DeleteManagedLoginBranding",
    ),
    "UserPoolClientRead": ("DescribeUserPoolClient", "ListUserPoolClients"),
    "UserPoolClientUpdate": ("CreateUserPoolClient", "DeleteUserPoolClient", "UpdateUserPoolClient"),
}
OPERATION_CATEGORY = {op: cat for cat, ops in RATE_CATEGORIES.items() for op in ops}

_POOL_ARN = re.compile(r"^arn:[\w-]+:cognito-idp:[a-z0-9-]+:\d{12}:userpool/([\w-]+)$")


def _pool_of(operation: str, params: dict[str, Any]) -> str | None:
    """The user pool a Cognito request addresses, or None when it names none."""
    pool = params.get("UserPoolId")
    if isinstance(pool, str) and pool:
        return pool
    arn = params.get("ResourceArn")
    if isinstance(arn, str):
        match = _POOL_ARN.match(arn)
        return match.group(1) if match else None
    if operation == "DescribeUserPoolDomain":
        # The request names only the domain; find its pool in the backends moto has created.
        domain = params.get("Domain")
        for regions in list(dict.values(cognitoidp_backends)):
            for backend in list(dict.values(regions)):
                found = backend.user_pool_domains.get(domain)
                if found is not None:
                    return found.user_pool_id
    return None


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _respond(start_response: Any, status: str, payload: Any, content_type: str, extra: list | None = None) -> list[bytes]:
    body = json.dumps(payload).encode()
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))] + (extra or [])
    start_response(status, headers)
    return [body]


def _throttled(start_response: Any) -> list[bytes]:
    # Cognito's JSON error shape for throttling (TooManyRequestsException, HTTP 400; API
    # reference, e.g. CreateGroup "Errors").
    return _respond(
        start_response,
        "400 Bad Request",
        {"__type": "TooManyRequestsException", "message": "Too many requests"},
        "application/x-amz-json-1.1",
        [("x-amzn-RequestId", str(uuid.uuid4())), ("x-amzn-ErrorType", "TooManyRequestsException")],
    )


# ------------------------------------------------------------------ control endpoints

CONTROL = "/_tenantctl/strict"
# The quotas a test may lower (or raise) with POST /_tenantctl/strict; null = AWS's default.
QUOTA_DEFAULTS = {"roles_quota": AWS_DEFAULT_ROLES_QUOTA, "api_keys_quota": AWS_API_KEYS_QUOTA}


def _settings() -> dict[str, Any]:
    return {
        "strict": True,
        "roles_quota": STATE.roles_quota,
        "api_keys_quota": STATE.api_keys_quota,
        "per_pool_rate": PER_POOL_RATE,
        "per_pool_burst": PER_POOL_BURST,
    }


def _control(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    path = environ.get("PATH_INFO", "").rstrip("/")
    method = environ.get("REQUEST_METHOD", "GET")
    ok, bad = "200 OK", "400 Bad Request"
    ctype = "application/json"
    if path == CONTROL and method == "GET":
        return _respond(start_response, ok, _settings(), ctype)
    if path == CONTROL and method == "POST":
        try:
            body = json.loads(_read_body(environ) or b"{}")
            if not isinstance(body, dict) or set(body) - set(QUOTA_DEFAULTS):
                raise ValueError("only " + ", ".join(QUOTA_DEFAULTS) + " can be set")
            quotas = {name: QUOTA_DEFAULTS[name] if value is None else value for name, value in body.items()}
            for name, quota in quotas.items():
                if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
                    raise ValueError(f"{name} must be an integer >= 0 or null")
            for name, quota in quotas.items():
                setattr(STATE, name, quota)
        except ValueError as err:
            return _respond(start_response, bad, {"error": str(err)}, ctype)
        return _respond(start_response, ok, _settings(), ctype)
    if path == CONTROL + "/log" and method == "GET":
        return _respond(start_response, ok, STATE.snapshot(), ctype)
    if path == CONTROL + "/reset" and method == "POST":
        STATE.reset()
        return _respond(start_response, ok, STATE.snapshot(), ctype)
    return _respond(start_response, "404 Not Found", {"error": f"no {method} {path}"}, ctype)


# --------------------------------------------------------------------- WSGI middleware

_moto_call = DomainDispatcherApplication.__call__
_COGNITO_TARGET = "AWSCognitoIdentityProviderService."


def _strict_call(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
    path = environ.get("PATH_INFO", "")
    if path == strict_iam.CONTROL or path.startswith(strict_iam.CONTROL + "/"):
        status, payload = strict_iam.control(
            environ.get("REQUEST_METHOD", "GET"), path.rstrip("/"), environ.get("QUERY_STRING", ""), _read_body(environ)
        )
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        return _respond(start_response, f"{status} {reason}", payload, "application/json")
    if path == CONTROL or path.startswith(CONTROL + "/"):
        return _control(environ, start_response)
    # Rule 18 (strict_iam.py): the caller's identity policy, when a test registered one, before
    # anything else looks at the request.
    if strict_iam.caller(environ) is not None:
        denied = strict_iam.evaluate(environ, _read_body(environ))
        if denied is not None:
            status, headers, body = denied
            start_response(status, headers + [("Content-Length", str(len(body)))])
            return [body]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith(_COGNITO_TARGET):
        operation = target[len(_COGNITO_TARGET):]
        try:
            params = json.loads(_read_body(environ) or b"{}")
        except ValueError:
            params = {}
        if not isinstance(params, dict):
            params = {}
        pool = _pool_of(operation, params)
        category = OPERATION_CATEGORY.get(operation)
        # Throttling comes before validation, as on AWS: a refused request still costs a token.
        throttled = bool(category and pool and not STATE.take(pool, category))
        STATE.record(operation, category, pool, throttled)
        if throttled:
            return _throttled(start_response)
    return _moto_call(self, environ, start_response)


DomainDispatcherApplication.__call__ = _strict_call  # type: ignore[method-assign]


# ------------------------------------------------- validation rules on moto's handlers


def _before(cls: Any, name: str) -> Callable[[Callable[[Any], None]], Callable[[Any], None]]:
    """Run `check(self)` before moto's (or the shim's) handler `name` of `cls`."""

    def decorate(check: Callable[[Any], None]) -> Callable[[Any], None]:
        original = getattr(cls, name)

        def handler(self: Any) -> Any:
            check(self)
            return original(self)

        setattr(cls, name, handler)
        return check

    return decorate


def _params(self: CognitoIdpResponse) -> dict[str, Any]:
    try:
        params = json.loads(self.body or "{}")
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


# CreateUserPoolClient / UpdateUserPoolClient, ExplicitAuthFlows: "If you don't specify a value
# for ExplicitAuthFlows, your app client supports ALLOW_REFRESH_TOKEN_AUTH, ALLOW_USER_SRP_AUTH,
# and ALLOW_CUSTOM_AUTH." (API reference, CreateUserPoolClient and UpdateUserPoolClient,
# request parameter ExplicitAuthFlows):
# https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
DEFAULT_AUTH_FLOWS = ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"]


def _check_client(self: CognitoIdpResponse, action: str) -> None:
    params = _params(self)
    # ResourceNotFoundException for an unknown pool or client, before any of the rules.
    pool = self.backend.describe_user_pool(params.get("UserPoolId"))
    if action == "update" and params.get("ClientId") not in pool.clients:
        raise ResourceNotFoundError(str(params.get("ClientId")))

    # Rule 2 (source above). Stored as if sent, so Describe returns it.
    flows = params.get("ExplicitAuthFlows")
    if flows is None:
        params["ExplicitAuthFlows"] = list(DEFAULT_AUTH_FLOWS)
        self.body = json.dumps(params)
        STATE.filled("explicit-auth-flows")
    # Rule 3. AWS answers InvalidParameterException "REFRESH_TOKEN_AUTH should always be
    # allowed." (error text as reported by CloudFormation/CDK users, aws/aws-cdk#7625).
    # The ExplicitAuthFlows reference lists ALLOW_REFRESH_TOKEN_AUTH among the ALLOW_ values
    # and says ALLOW_ values cannot be mixed with the legacy values (ADMIN_NO_SRP_AUTH,
    # CUSTOM_AUTH_FLOW_ONLY, USER_PASSWORD_AUTH), whose clients always allow refresh: the rule
    # therefore applies to lists with ALLOW_ values only.
    elif (
        isinstance(flows, list)
        and any(isinstance(f, str) and f.startswith("ALLOW_") for f in flows)
        and "ALLOW_REFRESH_TOKEN_AUTH" not in flows
    ):
        _refuse("refresh-token-auth", InvalidParameterException("REFRESH_TOKEN_AUTH should always be allowed."))

    # Rule 4. DefaultRedirectURI: "Must be in the CallbackURLs list." (API reference,
    # CreateUserPoolClient/UpdateUserPoolClient, request parameter DefaultRedirectURI). The
    # request's own list counts: UpdateUserPoolClient resets an omitted CallbackURLs.
    redirect = params.get("DefaultRedirectURI")
    if redirect is not None and redirect not in (params.get("CallbackURLs") or []):
        _refuse(
            "default-redirect-uri",
            InvalidParameterException("DefaultRedirectURI must be one of the CallbackURLs."),
        )

    # Rule 8. Read/WriteAttributes name attributes of the pool (AWS answers
    # InvalidParameterException "Invalid write attributes specified while creating a client" /
    # "... while updating a client", as reported in aws/aws-cdk#20760 and aws/aws-sdk-java#1395).
    # A custom attribute's Mutable: "If true, you can grant app clients write access to the
    # attribute value. If false, the attribute value can only be set up on sign-up or
    # administrator creation of users." (API reference, AddCustomAttributes, CustomAttributes):
    # https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AddCustomAttributes.html
    known = set(CognitoIdpUserPoolAttribute.STANDARD_SCHEMA) | set(pool.schema_attributes)
    verb = "creating" if action == "create" else "updating"
    for kind in ("read", "write"):
        names = params.get(kind.capitalize() + "Attributes")
        if not isinstance(names, list):
            continue
        if any(name not in known for name in names):
            _refuse(
                "client-unknown-attribute",
                InvalidParameterException(f"Invalid {kind} attributes specified while {verb} a client"),
            )


    # Rule 13. SupportedIdentityProviders: "A list of provider names for the identity providers
    # (IdPs) that are supported on this client. The following are supported: COGNITO, Facebook,
    # Google, SignInWithApple, and LoginWithAmazon. You can also specify the names that you
    # configured for the SAML and OIDC IdPs in your user pool" (API reference,
    # CreateUserPoolClient/UpdateUserPoolClient, request parameter SupportedIdentityProviders):
    # a name other than COGNITO must be a provider of the pool, or AWS answers
    # InvalidParameterException "The provider X does not exist for User Pool Y." (error text as
    # reported in lgallard/terraform-aws-cognito-user-pool#71).
    # https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
    for name in params.get("SupportedIdentityProviders") or []:
        if name != "COGNITO" and name not in pool.identity_providers:
            _refuse(
                "client-unknown-provider",
                InvalidParameterException(f"The provider {name} does not exist for User Pool {pool.id}."),
            )


@_before(CognitoIdpResponse, "create_user_pool_client")
def _create_user_pool_client(self: CognitoIdpResponse) -> None:
    _check_client(self, "create")


@_before(CognitoIdpResponse, "update_user_pool_client")
def _update_user_pool_client(self: CognitoIdpResponse) -> None:
    _check_client(self, "update")


# Rule 5. CreateGroup / UpdateGroup, Precedence: "Valid Range: Minimum value of 0." (API
# reference, CreateGroup and UpdateGroup request parameters). Cognito reports constraint
# violations as InvalidParameterException "1 validation error detected: ..." (the format AWS
# uses for every member constraint, e.g. aws-cloudformation-user-guide#517).
def _check_precedence(self: CognitoIdpResponse) -> None:
    precedence = _params(self).get("Precedence")
    if isinstance(precedence, int) and not isinstance(precedence, bool) and precedence < 0:
        _refuse(
            "group-precedence",
            InvalidParameterException(
                f"1 validation error detected: Value '{precedence}' at 'precedence' failed to "
                "satisfy constraint: Member must have value greater than or equal to 0"
            ),
        )


_before(CognitoIdpResponse, "create_group")(_check_precedence)
_before(CognitoIdpResponse, "update_group")(_check_precedence)


# Rule 6. DeleteUserPool: "When active, DeletionProtection prevents accidental deletion of your
# user pool. Before you can delete a user pool that you have protected against deletion, you
# must deactivate this feature. When you try to delete a protected user pool in a DeleteUserPool
# API request, Amazon Cognito returns an InvalidParameterException error." (API reference,
# CreateUserPool/UpdateUserPool, request parameter DeletionProtection):
# https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserPool.html
# Error texts as AWS answers them: deletion protection as the AWS CLI prints it
# (localstack/localstack#11947); a configured domain as Terraform and aws-nuke report it
# (hashicorp/terraform-provider-aws#16479, rebuy-de/aws-nuke#330). Which check AWS makes first
# is not documented.
@_before(CognitoIdpResponse, "delete_user_pool")
def _delete_user_pool(self: CognitoIdpResponse) -> None:
    pool = self.backend.describe_user_pool(_params(self).get("UserPoolId"))
    if pool.extended_config.get("DeletionProtection") == "ACTIVE":
        _refuse(
            "deletion-protection",
            InvalidParameterException(
                "The user pool cannot be deleted because deletion protection is activated. "
                "Deletion protection must be inactivated first."
            ),
        )
    if pool.domain is not None:
        _refuse(
            "pool-has-domain",
            InvalidParameterException(
                "User pool cannot be deleted. It has a domain configured that should be deleted first."
            ),
        )


# CreateUserPoolDomain: a prefix domain is unique in the Region ("The domain prefix ... must
# be unique across all of AWS in the Region": developer guide, "Using the Amazon Cognito
# prefix domain"), and a user pool has at most one prefix domain and one custom domain (API
# reference, CreateUserPoolDomain; DescribeUserPool returns one `Domain`). moto silently
# re-points an existing prefix to the new pool and lets a pool hold several prefixes.
# https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolDomain.html
# https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-assign-domain-prefix.html
@_before(CognitoIdpResponse, "create_user_pool_domain")
def _create_user_pool_domain(self: CognitoIdpResponse) -> None:
    params = _params(self)
    domain, pool = params.get("Domain"), params.get("UserPoolId")
    if domain in self.backend.user_pool_domains:
        _refuse("domain-taken", InvalidParameterException("Domain already exists."))
    if not params.get("CustomDomainConfig") and any(
        d.user_pool_id == pool and not d.custom_domain_config for d in self.backend.user_pool_domains.values()
    ):
        _refuse("pool-has-prefix-domain", InvalidParameterException("User pool already has a domain configured."))


# Rule 7a. AddCustomAttributes: custom attributes can be added but not changed or removed
# (developer guide, "Working with user attributes": "you can't change or remove a custom
# attribute"); moto refuses a name the pool has, this also refuses a name given twice in one
# request, with moto's wording.
@_before(CognitoIdpResponse, "add_custom_attributes")
def _add_custom_attributes(self: CognitoIdpResponse) -> None:
    params = _params(self)
    pool = self.backend.describe_user_pool(params.get("UserPoolId"))
    seen: set[str] = set()
    for attribute in params.get("CustomAttributes") or []:
        base = str(attribute.get("Name", ""))
        name = ("dev:" if attribute.get("DeveloperOnlyAttribute") else "") + "custom:" + base
        if name in pool.schema_attributes or name in seen:
            _refuse(
                "custom-attribute-exists",
                InvalidParameterException(f"custom:{base}: Existing attribute already has name {name}."),
            )
        seen.add(name)


# Rule 7b. UsernameConfiguration, UsernameAttributes and AliasAttributes are CreateUserPool
# parameters that UpdateUserPool does not have (API reference, UpdateUserPool request
# parameters; UsernameConfiguration: "This configuration is immutable after you set it"), so
# DescribeUserPool keeps returning the creation values. moto's UpdateUserPool replaced the whole
# configuration and dropped them; keep them, and ignore such keys in an UpdateUserPool request.
CREATION_ONLY = ("UsernameConfiguration", "UsernameAttributes", "AliasAttributes")
_moto_update_user_pool = CognitoIdpBackend.update_user_pool


def _update_user_pool(self: CognitoIdpBackend, user_pool_id: str, extended_config: dict[str, Any]) -> None:
    pool = self.describe_user_pool(user_pool_id)
    kept = {key: pool.extended_config[key] for key in CREATION_ONLY if key in pool.extended_config}
    config = {key: value for key, value in extended_config.items() if key not in CREATION_ONLY}
    _moto_update_user_pool(self, user_pool_id, config)
    pool.extended_config.update(kept)


CognitoIdpBackend.update_user_pool = _update_user_pool  # type: ignore[method-assign]


# Rule 10. Feature plans. UserPoolTier: "The user pool feature plan, or tier. This parameter
# determines the eligibility of the user pool for features like managed login, access-token
# customization, and threat protection. Defaults to ESSENTIALS." (API reference, CreateUserPool
# and UpdateUserPool request parameter UserPoolTier; UpdateUserPool: "If you don't provide a
# value for an attribute, Amazon Cognito sets it to its default value"). UserPoolAddOns: "To
# activate this setting, your user pool must be on the Plus tier." (API reference,
# UserPoolAddOnsType); the refusal is FeatureUnavailableInTierException ("This feature isn't
# available in the tier that your user pool is in", API reference, CreateUserPool errors).
# https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html
# https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UserPoolAddOnsType.html
class FeatureUnavailableInTierException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("FeatureUnavailableInTierException", message)


def _check_tier(self: CognitoIdpResponse) -> None:
    params = _params(self)
    if "UserPoolTier" not in params:
        params["UserPoolTier"] = "ESSENTIALS"
        self.body = json.dumps(params)
        STATE.filled("user-pool-tier")
    mode = (params.get("UserPoolAddOns") or {}).get("AdvancedSecurityMode", "OFF")
    if mode != "OFF" and params["UserPoolTier"] != "PLUS":
        _refuse(
            "threat-protection-tier",
            FeatureUnavailableInTierException(
                "Threat protection requires the Plus feature plan: set UserPoolTier to PLUS."
            ),
        )


@_before(CognitoIdpResponse, "create_user_pool")
def _create_user_pool(self: CognitoIdpResponse) -> None:
    _check_tier(self)


@_before(CognitoIdpResponse, "update_user_pool")
def _update_user_pool_tier(self: CognitoIdpResponse) -> None:
    _check_tier(self)


# --------------------------------------------------------------- rule 9: IAM roles quota

# CreateRole errors: "LimitExceeded: The request was rejected because it attempted to create
# resources beyond the current AWS account limits. ... HTTP Status Code: 409" (API reference,
# CreateRole); the quota is RolesQuota of GetAccountSummary (IAM quotas page: roles per
# account, default 1,000):
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
_moto_create_role = IamResponse.create_role


def _create_role(self: IamResponse) -> Any:
    # One CreateRole at a time, so concurrent requests cannot both take the last place.
    with STATE.iam_lock:
        quota = STATE.roles_quota
        if len(self.backend.roles) >= quota:
            STATE.refused("roles-quota")
            raise LimitExceededException(f"Cannot exceed quota for RolesPerAccount: {quota}")
        return _moto_create_role(self)


IamResponse.create_role = _create_role  # type: ignore[method-assign]

# GetAccountSummary reports the quota CreateRole enforces. moto's AccountSummary assigns
# _roles_quota = 1000 in __init__; the property ignores that and reads the strict state.
AccountSummary._roles_quota = property(  # type: ignore[assignment]
    lambda self: STATE.roles_quota, lambda self, value: None
)


# Rule 11. CreateIdentityProvider, Errors: "DuplicateProviderException: This exception is
# thrown when the provider is already supported by the user pool." (API reference,
# CreateIdentityProvider):
# https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateIdentityProvider.html
from moto.core.exceptions import JsonRESTError  # noqa: E402


class _DuplicateProvider(JsonRESTError):
    def __init__(self, name: str) -> None:
        super().__init__("DuplicateProviderException", f"A provider with the name {name} already exists in this user pool.")


@_before(CognitoIdpResponse, "create_identity_provider")
def _create_identity_provider(self: CognitoIdpResponse) -> None:
    params = _params(self)
    pool = self.backend.describe_user_pool(params.get("UserPoolId"))
    name = params.get("ProviderName")
    if name in pool.identity_providers:
        _refuse("duplicate-provider", _DuplicateProvider(str(name)))


# Rule 12. DescribeAlarms (CloudWatch API reference): "MaxRecords: The maximum number of alarm
# descriptions to retrieve. Valid Range: Minimum value of 1. Maximum value of 100." and
# "NextToken: The token returned by a previous call to indicate that there is more data
# available." Unset MaxRecords: pages of 50 (never a larger page than AWS could answer).
# Name order, so that a token is a position that survives new alarms.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
from moto.cloudwatch.exceptions import InvalidParameterValue  # noqa: E402
from moto.cloudwatch.responses import CloudWatchResponse  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402

_moto_describe_alarms = CloudWatchResponse.describe_alarms


def _describe_alarms(self: CloudWatchResponse) -> ActionResult:
    max_records = self._get_param("MaxRecords")
    token = self._get_param("NextToken")
    limit = 50 if max_records is None else int(max_records)
    if not 1 <= limit <= 100:
        _refuse(
            "describe-alarms-max-records",
            InvalidParameterValue(f"The value {limit} for parameter MaxRecords is not valid: 1 to 100."),
        )
    full = _moto_describe_alarms(self).result  # type: ignore[attr-defined]
    alarms = sorted(list(full.get("MetricAlarms", [])) + list(full.get("CompositeAlarms", [])), key=lambda a: a.name)
    start = 0
    if token:
        start = next((i for i, a in enumerate(alarms) if a.name > token), len(alarms))
    page = alarms[start : start + limit]
    result: dict[str, Any] = {
        "MetricAlarms": [a for a in page if a.rule is None],
        "CompositeAlarms": [a for a in page if a.rule is not None],
    }
    if start + limit < len(alarms):
        result["NextToken"] = page[-1].name
    return ActionResult(result)


CloudWatchResponse.describe_alarms = _describe_alarms  # type: ignore[method-assign]


# ------------------------------------------------------ rules 14-16: Lambda size rules

# Rule 14. Lambda quotas page ("Lambda quotas", function configuration): "Function environment
# variables: 4 KB, for all environment variables associated with the function, in aggregate";
# not adjustable:
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
# Lambda measures the variables map as compact JSON and says so in its refusal:
# "InvalidParameterValueException: Lambda was unable to configure your environment variables
# because the environment variables you have provided exceeded the 4KB limit. String
# measured: {"A":"..."}" (as reported against AWS in
# github-aws-runners/terraform-aws-github-runner#3594; LocalStack measures it the same way,
# json.dumps with separators (",", ":") encoded as UTF-8). Non-ASCII characters are counted as
# their UTF-8 bytes, not as \u escapes (the smaller of the two readings: never stricter than
# AWS). Checked on CreateFunction and on UpdateFunctionConfiguration with an Environment
# (without one the variables are kept and not measured again).
from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError  # noqa: E402
from moto.awslambda.models import LambdaBackend  # noqa: E402
from moto.awslambda.responses import LambdaResponse  # noqa: E402

LAMBDA_ENVIRONMENT_LIMIT = 4 * 1024  # bytes
LAMBDA_POLICY_LIMIT = 20 * 1024  # bytes


def _check_environment(self: LambdaResponse) -> None:
    environment = _params(self).get("Environment")
    if not isinstance(environment, dict):
        return
    variables = environment.get("Variables") or {}
    measured = json.dumps(variables, separators=(",", ":"), ensure_ascii=False)
    if len(measured.encode("utf-8")) > LAMBDA_ENVIRONMENT_LIMIT:
        _refuse(
            "lambda-environment-size",
            InvalidParameterValueException(
                "Lambda was unable to configure your environment variables because the environment "
                f"variables you have provided exceeded the 4KB limit. String measured: {measured}"
            ),
        )


_before(LambdaResponse, "create_function")(_check_environment)
_before(LambdaResponse, "update_function_configuration")(_check_environment)


# Rule 15. AddPermission, Errors: "ResourceConflictException: The resource already exists, or
# another operation is in progress. HTTP Status Code: 409" (API reference, AddPermission); for
# a statement id the policy holds AWS answers "The statement id (X) provided already exists.
# Please provide a new statement id, or remove the existing statement." (as reported in
# hashicorp/terraform-provider-aws#1524 and cargo-lambda/cargo-lambda#261). moto appended a
# second statement with the same Sid.
# https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html
#
# Rule 16. Same page, Errors: "PolicyLengthExceededException: The permissions policy for the
# resource is too large. HTTP Status Code: 400"; the Lambda quotas page: "Function
# resource-based policy: 20 KB". AWS's text: "The final policy size (20749) is bigger than the
# limit (20480)." (adobe/helix-deploy#24, serverless/serverless#5357): the size of the policy
# with the new statement, measured here as its compact JSON (as GetPolicy returns it on AWS).
class _ResourceConflict(LambdaClientError):
    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ResourceConflictException", message)


class _PolicyLengthExceeded(LambdaClientError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("PolicyLengthExceededException", message)


def _policy_size(statements: list[dict[str, Any]]) -> int:
    document = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


_moto_add_permission = LambdaBackend.add_permission


def _add_permission(self: LambdaBackend, function_name: str, qualifier: str, raw: str) -> dict[str, Any]:
    fn = self.get_function(function_name, qualifier)
    try:
        sid = json.loads(raw).get("StatementId")
    except (ValueError, AttributeError):
        sid = None
    # One AddPermission at a time, so two concurrent requests with one Sid cannot both pass.
    with STATE.lambda_lock:
        if sid is not None and any(s.get("Sid") == sid for s in fn.policy.statements):
            _refuse(
                "lambda-statement-id-exists",
                _ResourceConflict(
                    f"The statement id ({sid}) provided already exists. Please provide a new "
                    "statement id, or remove the existing statement."
                ),
            )
        revision = fn.policy.revision
        statement = _moto_add_permission(self, function_name, qualifier, raw)
        size = _policy_size(fn.policy.statements)
        if size > LAMBDA_POLICY_LIMIT:
            # Undo: the refused statement never reaches the policy.
            fn.policy.statements.remove(statement)
            fn.policy.revision = revision
            _refuse(
                "lambda-policy-size",
                _PolicyLengthExceeded(f"The final policy size ({size}) is bigger than the limit ({LAMBDA_POLICY_LIMIT})."),
            )
        return statement


LambdaBackend.add_permission = _add_permission  # type: ignore[method-assign]


# ------------------------------------------------------- rule 17: API keys per account

# Rule 17. AWS_API_KEYS_QUOTA: 10,000 API keys per account and Region (source at the top).
# CreateApiKey, Errors: "LimitExceededException: The request exceeded the rate limit. Retry
# after the specified time period. HTTP Status Code: 429" (API reference, CreateApiKey; the
# only limit error CreateApiKey declares). The message text is not documented (unverified).
# https://docs.aws.amazon.com/apigateway/latest/api/API_CreateApiKey.html
# The quota can be lowered for a test with POST /_tenantctl/strict {"api_keys_quota": N}.
from moto.apigateway.exceptions import ApiGatewayException  # noqa: E402
from moto.apigateway.models import APIGatewayBackend  # noqa: E402


class _ApiKeysLimitExceeded(ApiGatewayException):
    code = 429

    def __init__(self, quota: int) -> None:
        super().__init__("LimitExceededException", f"API keys per account per Region quota exceeded: {quota}")


_moto_create_api_key = APIGatewayBackend.create_api_key


def _create_api_key(self: APIGatewayBackend, payload: dict[str, Any]) -> Any:
    # One CreateApiKey at a time, so concurrent requests cannot both take the last place.
    with STATE.apigateway_lock:
        quota = STATE.api_keys_quota
        if len(self.keys) >= quota:
            _refuse("api-keys-quota", _ApiKeysLimitExceeded(quota))
        return _moto_create_api_key(self, payload)


APIGatewayBackend.create_api_key = _create_api_key  # type: ignore[method-assign]
