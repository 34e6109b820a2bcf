"""Rule 18 of the strict layer: IAM identity policies enforced by action, opt-in per access key.

strict.py calls `evaluate` for every request before moto sees it, and serves the test controls
below through `control`. Nothing is enforced until a test registers a policy for an access key;
requests signed with any other key pass as before (their actions are still logged).

What is evaluated (IAM User Guide, "Policy evaluation logic", identity-based policies of one
account: an explicit Deny wins, else an Allow is needed, else the request is implicitly
denied):
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- the caller: the access key id in the SigV4 `Credential` (the `Authorization` header, or
  `X-Amz-Credential` of a presigned URL); unsigned requests (Cognito's public operations such
  as InitiateAuth, the JWKS) are not evaluated, as on AWS;
- the action: `<service prefix>:<operation>` (IAM's "Actions defined by ..." tables in the
  Service Authorization Reference), derived from the request:
    cognito-idp, CloudWatch JSON   the X-Amz-Target operation (`cognito-idp:CreateUserPool`)
    CloudWatch CBOR                the operation in /service/<svc>/operation/<Op>
    iam, sts, CloudWatch query     the `Action` parameter (`iam:CreateRole`)
    lambda                         the operation of the REST path (LAMBDA_ROUTES); Invoke is
                                   `lambda:InvokeFunction`; CreateFunction and
                                   UpdateFunctionConfiguration naming a `Role` also need
                                   `iam:PassRole` (Lambda developer guide, "Lambda execution
                                   role": "To create a function ... you need iam:PassRole")
    apigateway                     the HTTP method (`apigateway:GET`, `apigateway:POST`, ...):
                                   API Gateway's management actions are its HTTP verbs
                                   (Service Authorization Reference, "Actions defined by Amazon
                                   API Gateway Management")
  CloudWatch's signing name `monitoring` has the IAM prefix `cloudwatch`;
- the policy's statements: `Effect` Allow/Deny, `Action` or `NotAction` (a string or a list),
  with `*` and `?` wildcards, matched case-insensitively (IAM JSON policy reference, "Action"
  and "NotAction").
NOT evaluated: `Resource`/`NotResource` and `Condition` (every statement applies to every
resource, under every condition), permissions boundaries, SCPs, session policies, resource-based
policies. sts:GetCallerIdentity is always allowed ("No permissions are required to perform this
operation", STS API reference, GetCallerIdentity).

Refusals, each service's error shape for an authorization failure:
    cognito-idp (JSON 1.1)         HTTP 400 {"__type": "AccessDeniedException", "message": ...}
    iam, sts (query, XML)          HTTP 403 <ErrorResponse><Error><Type>Sender</Type>
                                   <Code>AccessDenied</Code>...
    lambda (REST-JSON)             HTTP 403 x-amzn-ErrorType AccessDeniedException,
                                   {"Type": "User", "Message": ...}
    apigateway (REST-JSON)         HTTP 403 x-amzn-ErrorType AccessDeniedException, {"message": ...}
    CloudWatch                     HTTP 403 AccessDenied: XML for the query protocol; JSON/CBOR
                                   {"__type": "AccessDeniedException"} with the query-compatible
                                   header x-amzn-query-error: AccessDenied;Sender
The message follows AWS's "User: <arn> is not authorized to perform: <action> because no
identity-based policy allows the <action> action" (or "with an explicit deny in an
identity-based policy"), without AWS's "on resource: ..." part, since resources are not evaluated.

Test controls (not AWS behaviour):
    POST /_tenantctl/strict/iam        {"access_key": K, "policy": <document> | [<documents>] | null,
                                        "arn": <caller ARN for messages, optional>}
                                       enforces the policies for K from now on (null: no longer)
    GET  /_tenantctl/strict/iam        {"keys": {K: {"enforced": bool, "actions": {action: n},
                                        "denied": {action: n}}}}; ?access_key=K for one key
    POST /_tenantctl/strict/iam/reset  forgets every policy and every logged action
"""

import json
import re
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote

DEFAULT_ARN = "arn:aws:iam::123456789012:user/tenantctl-test"
CONTROL = "/_tenantctl/strict/iam"

# ------------------------------------------------------------------------ the caller

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/aws4_request")


def caller(environ: dict[str, Any]) -> "tuple[str, str] | None":
    """(access key id, signing service) of a SigV4-signed request, or None when unsigned."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        return match.group(1), match.group(2)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    credential = (query.get("X-Amz-Credential") or [""])[0]
    parts = credential.split("/")
    if len(parts) == 5 and parts[4] == "aws4_request":
        return parts[0], parts[3]
    return None


# ------------------------------------------------------------------------ the action

# Lambda REST routes (Lambda API reference, each operation's "Request Syntax"): the path after
# the API version, with {f} a function name or ARN, {x} any one segment, and the IAM action.
LAMBDA_ROUTES: list[tuple[str, str, str]] = [
    ("GET", "functions", "ListFunctions"),
    ("POST", "functions", "CreateFunction"),
    ("GET", "functions/{f}", "GetFunction"),
    ("DELETE", "functions/{f}", "DeleteFunction"),
    ("GET", "functions/{f}/configuration", "GetFunctionConfiguration"),
    ("PUT", "functions/{f}/configuration", "UpdateFunctionConfiguration"),
    ("PUT", "functions/{f}/code", "UpdateFunctionCode"),
    ("GET", "functions/{f}/policy", "GetPolicy"),
    ("POST", "functions/{f}/policy", "AddPermission"),
    ("DELETE", "functions/{f}/policy/{x}", "RemovePermission"),
    ("POST", "functions/{f}/invocations", "InvokeFunction"),
    ("POST", "functions/{f}/invoke-async", "InvokeAsync"),
    ("GET", "functions/{f}/versions", "ListVersionsByFunction"),
    ("POST", "functions/{f}/versions", "PublishVersion"),
    ("GET", "functions/{f}/aliases", "ListAliases"),
    ("POST", "functions/{f}/aliases", "CreateAlias"),
    ("GET", "functions/{f}/aliases/{x}", "GetAlias"),
    ("PUT", "functions/{f}/aliases/{x}", "UpdateAlias"),
    ("DELETE", "functions/{f}/aliases/{x}", "DeleteAlias"),
    ("GET", "functions/{f}/concurrency", "GetFunctionConcurrency"),
    ("PUT", "functions/{f}/concurrency", "PutFunctionConcurrency"),
    ("DELETE", "functions/{f}/concurrency", "DeleteFunctionConcurrency"),
    ("GET", "tags/{x}", "ListTags"),
    ("POST", "tags/{x}", "TagResource"),
    ("DELETE", "tags/{x}", "UntagResource"),
]


def _lambda_operation(method: str, path: str) -> str:
    segments = [unquote(s) for s in path.strip("/").split("/")][1:]  # without the API version
    for verb, route, operation in LAMBDA_ROUTES:
        parts = route.split("/")
        if verb == method and len(parts) == len(segments) and all(
            p.startswith("{") or p == s for p, s in zip(parts, segments)
        ):
            return operation
    # Not in the table: logged as is, so a test sees it; only `lambda:*` or `*` allows it.
    return f"{method} {path}"


def actions(environ: dict[str, Any], service: str, body: bytes) -> list[str]:
    """The IAM actions a request needs, or [] for a service this rule does not evaluate."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if service in ("cognito-idp", "monitoring") and target:
        prefix = "cloudwatch" if service == "monitoring" else service
        return [f"{prefix}:{target.rsplit('.', 1)[-1]}"]
    if service == "monitoring" and "/operation/" in path:
        return ["cloudwatch:" + path.rsplit("/", 1)[-1]]
    if service in ("iam", "sts", "monitoring"):
        params = parse_qs(environ.get("QUERY_STRING", ""))
        if body and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            params.update(parse_qs(body.decode("utf-8", "replace")))
        action = (params.get("Action") or ["?"])[0]
        return [("cloudwatch" if service == "monitoring" else service) + ":" + action]
    if service == "lambda":
        operation = _lambda_operation(method, path)
        needed = [f"lambda:{operation}"]
        if operation in ("CreateFunction", "UpdateFunctionConfiguration"):
            try:
                role = json.loads(body or b"{}").get("Role")
            except (ValueError, AttributeError):
                role = None
            if role:
                needed.append("iam:PassRole")
        return needed
    if service == "apigateway":
        return [f"apigateway:{method}"]
    return []


# ------------------------------------------------------------------------ the policy


def _pattern(action: str) -> "re.Pattern[str]":
    return re.compile("^" + re.escape(action).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.IGNORECASE)


class _Statement:
    def __init__(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise ValueError("a statement must be an object")
        self.effect = raw.get("Effect")
        if self.effect not in ("Allow", "Deny"):
            raise ValueError("Effect must be Allow or Deny")
        if ("Action" in raw) == ("NotAction" in raw):
            raise ValueError("a statement needs exactly one of Action and NotAction")
        self.negated = "NotAction" in raw
        listed = raw["NotAction" if self.negated else "Action"]
        listed = [listed] if isinstance(listed, str) else listed
        if not isinstance(listed, list) or not listed or not all(isinstance(a, str) for a in listed):
            raise ValueError("Action/NotAction must be a string or a non-empty list of strings")
        self.patterns = [_pattern(a) for a in listed]

    def applies(self, action: str) -> bool:
        listed = any(p.match(action) for p in self.patterns)
        return listed != self.negated


def parse_policies(raw: Any) -> list[_Statement]:
    documents = raw if isinstance(raw, list) else [raw]
    statements: list[_Statement] = []
    for document in documents:
        if isinstance(document, str):
            document = json.loads(document)
        if not isinstance(document, dict) or "Statement" not in document:
            raise ValueError("a policy must be an object with a Statement")
        listed = document["Statement"]
        for raw_statement in listed if isinstance(listed, list) else [listed]:
            statements.append(_Statement(raw_statement))
    return statements


def decide(statements: list[_Statement], action: str) -> str:
    """'allow', 'explicit' (an explicit Deny) or 'implicit' (no Allow)."""
    if action.lower() == "sts:getcalleridentity":
        return "allow"
    applying = [s for s in statements if s.applies(action)]
    if any(s.effect == "Deny" for s in applying):
        return "explicit"
    return "allow" if any(s.effect == "Allow" for s in applying) else "implicit"


# ------------------------------------------------------------------------ state


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.policies: dict[str, tuple[list[_Statement], str]] = {}  # key -> (statements, arn)
        self.actions: dict[str, dict[str, int]] = {}
        self.denied: dict[str, dict[str, int]] = {}

    def entry(self, key: str) -> dict[str, Any]:
        return {
            "enforced": key in self.policies,
            "actions": dict(self.actions.get(key, {})),
            "denied": dict(self.denied.get(key, {})),
        }

    def snapshot(self, only: "str | None") -> dict[str, Any]:
        with self.lock:
            keys = set(self.policies) | set(self.actions)
            if only is not None:
                keys = {only}
            return {"keys": {key: self.entry(key) for key in sorted(keys)}}


STATE = _State()


def _count(table: dict[str, dict[str, int]], key: str, action: str) -> None:
    per_key = table.setdefault(key, {})
    per_key[action] = per_key.get(action, 0) + 1


# ------------------------------------------------------------------------ refusals


def _message(arn: str, action: str, why: str) -> str:
    reason = (
        "with an explicit deny in an identity-based policy"
        if why == "explicit"
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {arn} is not authorized to perform: {action} {reason}"


_QUERY_NAMESPACES = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "monitoring": "http://monitoring.amazonaws.com/doc/2010-08-01/",
}


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def refusal(environ: dict[str, Any], service: str, message: str) -> "tuple[str, list, bytes]":
    """(status, headers, body) of an authorization failure in the service's protocol."""
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    path = environ.get("PATH_INFO", "")
    if service == "cognito-idp":
        body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
        headers += [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "AccessDeniedException")]
        return "400 Bad Request", headers, body
    if service == "lambda":
        body = json.dumps({"Type": "User", "Message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException")]
        return "403 Forbidden", headers, body
    if service == "apigateway":
        body = json.dumps({"message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException")]
        return "403 Forbidden", headers, body
    if service == "monitoring" and (environ.get("HTTP_X_AMZ_TARGET") or "/operation/" in path):
        error = {"__type": "AccessDeniedException", "message": message}
        headers += [("x-amzn-query-error", "AccessDenied;Sender")]
        if "/operation/" in path:
            from shims import _cbor  # the CBOR encoder of the CloudWatch shim

            headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
            return "403 Forbidden", headers, _cbor(error)
        headers += [("Content-Type", "application/x-amz-json-1.0")]
        return "403 Forbidden", headers, json.dumps(error).encode()
    namespace = _QUERY_NAMESPACES.get(service, "")
    body = (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>AccessDenied</Code>'
        f"<Message>{_xml_escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    headers += [("Content-Type", "text/xml")]
    return "403 Forbidden", headers, body


def evaluate(environ: dict[str, Any], body: bytes) -> "tuple[str, list, bytes] | None":
    """None when the request may go on; else the refusal to answer."""
    who = caller(environ)
    if who is None:
        return None
    key, service = who
    needed = actions(environ, service, body)
    if not needed:
        return None
    with STATE.lock:
        policy = STATE.policies.get(key)
        refused: "tuple[str, str] | None" = None
        for action in needed:
            _count(STATE.actions, key, action)
            if policy is None or refused is not None:
                continue
            why = decide(policy[0], action)
            if why != "allow":
                refused = (action, why)
                _count(STATE.denied, key, action)
    if refused is None or policy is None:
        return None
    return refusal(environ, service, _message(policy[1], refused[0], refused[1]))


# ------------------------------------------------------------------------ controls


def control(method: str, path: str, query: str, body: bytes) -> "tuple[int, dict[str, Any]]":
    if path == CONTROL and method == "GET":
        only = (parse_qs(query).get("access_key") or [None])[0]
        return 200, STATE.snapshot(only)
    if path == CONTROL and method == "POST":
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict) or set(request) - {"access_key", "policy", "arn"}:
                raise ValueError("expected {access_key, policy, arn?}")
            key = request.get("access_key")
            if not isinstance(key, str) or not key or "policy" not in request:
                raise ValueError("access_key (a string) and policy (a document, a list, or null) are required")
            arn = request.get("arn") or DEFAULT_ARN
            statements = None if request["policy"] is None else parse_policies(request["policy"])
        except ValueError as err:
            return 400, {"error": str(err)}
        with STATE.lock:
            if statements is None:
                STATE.policies.pop(key, None)
            else:
                STATE.policies[key] = (statements, str(arn))
        return 200, STATE.snapshot(key)
    if path == CONTROL + "/reset" and method == "POST":
        with STATE.lock:
            STATE.policies.clear()
            STATE.actions.clear()
            STATE.denied.clear()
        return 200, STATE.snapshot(None)
    return 404, {"error": f"no {method} {path}"}
