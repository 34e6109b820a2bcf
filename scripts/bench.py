"""Driver of scripts/bench (see there). Starts its own emulator on a free port."""
import json, os, platform, re, shutil, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TENANTCTL_BIN", "")  # unset for cold-start (the authorizer only)
ENV = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1", NO_COLOR="1")
ENV.pop("AWS_PROFILE", None)


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


# The account the size runs model: IAM's roles quota raised to 5,000, the most Service Quotas
# grants ("Roles per account", IAM quotas page). 1,000 pooled tenants x 2 roles need 2,001
# roles, over AWS's default 1,000; `plan` refuses them before any write (RolesQuota of
# GetAccountSummary), as it must. Everything else stays as strict as the strict layer is.
BENCH_ROLES_QUOTA = 5000


def start_emulator(strict, roles_quota=None):
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "tests/emulator"), TENANTCTL_EMULATOR_STRICT="1" if strict else "0")
    proc = subprocess.Popen([os.path.join(ROOT, ".venv/bin/python"), os.path.join(ROOT, "tests/emulator/serve.py"),
                             "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except Exception:
            time.sleep(0.2)
    else:
        proc.terminate()
        raise SystemExit("emulator did not start")
    if roles_quota is not None:
        # The strict layer's test control (tests/emulator/strict.py): CreateRole and
        # GetAccountSummary then both use this quota.
        settings = strict_control(url, "", {"roles_quota": roles_quota})
        if settings.get("roles_quota") != roles_quota:
            proc.terminate()
            raise SystemExit(f"emulator did not take roles_quota {roles_quota}: {settings}")
    return proc, url


def strict_control(url, path, body=None):
    req = urllib.request.Request(url + "/_tenantctl/strict" + path, method="GET" if body is None else "POST",
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


PLATFORM = open(os.path.join(ROOT, "tenants/platform.yaml")).read()


def make_folder(name, pooled, silo, api, roles=None):
    d = tempfile.mkdtemp(prefix=f"tenantctl-bench-{name}-")
    os.makedirs(os.path.join(d, "tenants")); shutil.copytree(os.path.join(ROOT, "policies"), os.path.join(d, "policies"))
    text = PLATFORM.replace("name: acmesaas", f"name: {name}").replace("restApi: acme-saas-api", f"restApi: {api}") \
                   .replace("name: acme-saas-authorizer", f"name: {name}-authorizer")
    open(os.path.join(d, "tenants/platform.yaml"), "w").write(text)
    with open(os.path.join(d, "authorizer.zip"), "wb") as f:
        f.write(open(os.path.join(ROOT, "tests/fixtures/authorizer-dummy.zip"), "rb").read())
    for i in range(pooled):
        open(os.path.join(d, f"tenants/t{i:05d}.yaml"), "w").write(
            f"apiVersion: tenantctl/v1\nkind: Tenant\nid: t{i:05d}\nisolation: pooled\nvars: {{bucket: data-t{i:05d}}}\n"
            + (f"roles: [{', '.join(roles)}]\n" if roles else ""))
    for i in range(silo):
        open(os.path.join(d, f"tenants/s{i:03d}.yaml"), "w").write(
            f"apiVersion: tenantctl/v1\nkind: Tenant\nid: s{i:03d}\nisolation: silo\nvars: {{bucket: data-s{i:03d}}}\n")
    return d


def create_api(url, name):
    import boto3
    api = boto3.client("apigateway", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    rid = api.create_rest_api(name=name)["id"]
    root = [r for r in api.get_resources(restApiId=rid)["items"] if r["path"] == "/"][0]["id"]
    orders = api.create_resource(restApiId=rid, parentId=root, pathPart="orders")["id"]
    api.put_method(restApiId=rid, resourceId=orders, httpMethod="GET", authorizationType="NONE")


def run(folder, url, args, expect=(0,)):
    cmd = ["/usr/bin/time", "-f", "TIME %e %M", BIN, "-C", folder, "--stats", "-q"] + (["--endpoint-url", url] if url else []) + args
    t0 = time.time()
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    wall = time.time() - t0
    if p.returncode not in expect:
        raise SystemExit(f"{' '.join(args)} exited {p.returncode}:\n{p.stderr[-3000:]}")
    m = re.search(r"TIME ([\d.]+) (\d+)", p.stderr)
    calls, writes, retries, ops = 0, 0, 0, {}
    cm = re.search(r"AWS calls: (\d+) \((\d+) writes\), retries: (\d+)", p.stderr)
    if cm:
        calls, writes, retries = int(cm.group(1)), int(cm.group(2)), int(cm.group(3))
        for line in p.stderr.splitlines():
            lm = re.match(r"\s+(\S+:\S+)\s+(\d+)$", line)
            if lm:
                ops[lm.group(1)] = int(lm.group(2))
    return {"wall": wall, "rss_mb": int(m.group(2)) / 1024 if m else None, "calls": calls, "writes": writes, "retries": retries, "ops": ops, "stdout": p.stdout}


def per_resource(folder, url):
    inv = json.loads(run(folder, url, ["inventory", "--format", "json"])["stdout"])["resources"]
    n = lambda r: sum(1 for x in inv if x["resource"] == r)
    roles, groups, pools, clients, servers = n("iam_role"), n("group"), n("user_pool"), n("app_client"), n("resource_server")
    # Terraform-style refresh: GetRole + ListRolePolicies + GetRolePolicy (1 each) +
    # ListAttachedRolePolicies per role; GetGroup per group; DescribeUserPool per pool;
    # DescribeUserPoolClient per client; DescribeResourceServer per server; the authorizer's
    # GetRestApi, GetAuthorizer, GetMethod, GetFunction, GetPolicy.
    return roles * 4 + groups + pools + clients + servers + 5, dict(roles=roles, groups=groups, pools=pools, clients=clients, servers=servers)


# Tenant SSO (contract §1.4): how many tenants of the 1,000 get their own provider. Each adds
# its SSO client's id and its provider to the authorizer's configuration (in the package
# since issue 21; the 4 KB environment held about 75).
SSO_TENANTS = int(os.environ.get("TENANTCTL_BENCH_SSO", "40"))

# The silo case: how many silo tenants (each its own pool). 20 by default (the setup apply
# takes about 1.5 s per silo tenant on the strict emulator); issue 21 measures 300.
SILO_TENANTS = int(os.environ.get("TENANTCTL_BENCH_SILO", "20"))


def identity_stage(d, url, label, pooled):
    """The identity features on the converged size run: the pool's own provider (Google) in
    the platform, then SSO_TENANTS tenants with their own OIDC provider (and so their
    `<tenant>-sso` client). Rows: plan and drift without tenant SSO, then with it; the line
    says how many calls each tenant with its own provider adds to the plan."""
    ENV["BENCH_GOOGLE_SECRET"] = "bench-google-secret"
    ENV["BENCH_OKTA_SECRET"] = "bench-okta-secret"
    path = os.path.join(d, "tenants/platform.yaml")
    text = open(path).read()
    google = ("  identityProviders:\n    - {name: Google, type: google, clientId: bench.apps.googleusercontent.com,"
              " clientSecretEnv: BENCH_GOOGLE_SECRET, scopes: [openid, email], attributeMapping: {email: email}}\n")
    # ID tokens: with access tokens, tenant identity providers need a preTokenGeneration
    # trigger (validate), which this bench has no function for.
    text = text.replace("tokenUse: access", "tokenUse: id", 1)
    open(path, "w").write(text.replace("  appClients:\n", google + "  appClients:\n", 1))
    rows = []
    rows.append((f"{label} + pool IdP", "apply (pool IdP added)", run(d, url, ["apply", "--auto-approve"]), None))
    base = run(d, url, ["plan", "--detailed-exitcode"])
    rows.append((f"{label} + pool IdP", "plan --detailed-exitcode", base, None))
    rows.append((f"{label} + pool IdP", "drift", run(d, url, ["drift"]), None))
    for i in range(SSO_TENANTS):
        with open(os.path.join(d, f"tenants/t{i:05d}.yaml"), "a") as f:
            f.write(f"identityProviders:\n  - {{name: okta, type: oidc, issuer: https://t{i:05d}.okta.example, clientId: c{i},"
                    f" clientSecretEnv: BENCH_OKTA_SECRET, attributeMapping: {{email: email}}}}\n")
    sso_label = f"{label} + pool IdP, {SSO_TENANTS} with SSO"
    rows.append((sso_label, "apply (tenant providers added)", run(d, url, ["apply", "--auto-approve"]), None))
    sso = run(d, url, ["plan", "--detailed-exitcode"])
    rows.append((sso_label, "plan --detailed-exitcode", sso, None))
    rows.append((sso_label, "drift", run(d, url, ["drift"]), None))
    growth = (f"Tenant SSO: the {pooled}-tenant plan makes {base['calls']} AWS calls with no tenant SSO and {sso['calls']} with "
              f"{SSO_TENANTS} tenants that have their own provider: {(sso['calls'] - base['calls']) / SSO_TENANTS:.2f} calls "
              f"per such tenant (DescribeIdentityProvider {sso['ops'].get('cognito-idp:DescribeIdentityProvider', 0) - base['ops'].get('cognito-idp:DescribeIdentityProvider', 0)}, "
              f"DescribeUserPoolClient {sso['ops'].get('cognito-idp:DescribeUserPoolClient', 0) - base['ops'].get('cognito-idp:DescribeUserPoolClient', 0)}, "
              f"list pages {sso['ops'].get('cognito-idp:ListIdentityProviders', 0) + sso['ops'].get('cognito-idp:ListUserPoolClients', 0) - base['ops'].get('cognito-idp:ListIdentityProviders', 0) - base['ops'].get('cognito-idp:ListUserPoolClients', 0)}).")
    return rows, growth


def read_quotas():
    """The rates src/aws/limits.rs paces by: operation -> category (its OPERATIONS table), each
    category's requests per second (Category::default_rate), the categories AWS also limits per
    user pool, and that per-pool rate (PER_POOL_RATE, the published 5/s)."""
    src = open(os.path.join(ROOT, "src/aws/limits.rs")).read()
    table = dict(re.findall(r'\("([\w-]+:\w+)", Category::(\w+)\)', src))
    body = src[src.index("pub fn default_rate"):]
    body = body[:body.index("pub fn", 10)]
    rates = {c: float(r) for c, r in re.findall(r"Category::(\w+) => ([\d.]+),", body)}
    pp = src[src.index("pub fn per_pool(self)"):]
    per_pool = set(re.findall(r"Category::(\w+)", pp[:pp.index("}\n}")]))
    per_pool_rate = float(re.search(r"pub const PER_POOL_RATE: f64 = ([\d.]+);", src).group(1))
    return table, rates, per_pool, per_pool_rate


def category_of(op, table):
    """limits::category_of: the table, else IAM, Lambda, CloudWatch and Cognito by their verb."""
    if op in table:
        return table[op]
    service, _, name = op.partition(":")
    reads = name.startswith(("Get", "List", "Describe"))
    if service == "iam":
        return "IamRead" if name.startswith(("Get", "List")) else "IamWrite"
    if service == "lambda":
        return "Lambda"
    if service == "monitoring":
        return "CloudWatchRead" if reads else "CloudWatchWrite"
    if service == "cognito-idp":
        return "UserPoolRead" if reads else "UserPoolUpdate"
    return "ApiGateway"


def quota_floor(ops, pools):
    """The least time the calls `ops` need at the rates tenantctl paces by (the published read
    quotas): the busiest category's calls / its rate, and for the per-pool categories the
    busiest pool's / the per-pool rate (the calls spread evenly over `pools` pools, as in the
    silo case). Returns (floor seconds, [(bucket, calls, rate, seconds)] busiest first)."""
    table, rates, per_pool, per_pool_rate = read_quotas()
    by_cat = {}
    for op, n in ops.items():
        c = category_of(op, table)
        by_cat[c] = by_cat.get(c, 0) + n
    buckets = [(c, n, rates[c], n / rates[c]) for c, n in by_cat.items()]
    buckets += [(f"{c} per pool", n / pools, per_pool_rate, n / pools / per_pool_rate)
                for c, n in by_cat.items() if c in per_pool and pools]
    buckets.sort(key=lambda b: -b[3])
    return buckets[0][3], buckets


def fmt_ops(ops):
    return ", ".join(f"{k.split(':',1)[1]} {v}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1]))


def quota_bench(test="quota_bench", line="QUOTA_BENCH"):
    """Quota mode: 200 new pooled tenants x 2 roles through the fault proxy's token buckets:
    the published Cognito quotas (per account and per user pool) and an IAM write quota
    tenantctl is not told (25/s). The line gives the floor those quotas set (the busiest
    bucket's requests / its rate), the wall time and their ratio. Its own fresh emulator, as
    it was measured (the proxy holds the quotas; TENANTCTL_BENCH_STRICT=1 adds the strict
    layer behind it)."""
    proc, url = start_emulator(os.environ.get("TENANTCTL_BENCH_STRICT", "0") != "0")
    try:
        q = subprocess.run(["cargo", "test", "--quiet", "--test", "reliability", test, "--", "--ignored", "--nocapture"],
                           cwd=ROOT, env=dict(os.environ, TENANTCTL_TEST_ENDPOINT=url), capture_output=True, text=True)
    finally:
        proc.terminate()
    quota = next((l for l in q.stdout.splitlines() if l.startswith(line)), None)
    if q.returncode != 0 or not quota:
        raise SystemExit("quota benchmark failed:\n" + q.stdout[-3000:] + q.stderr[-3000:])
    return quota


def shared_bench(n):
    """`scripts/bench shared N`: N pooled tenants with `tenancy: {roles: shared, groups:
    shared}` (ID tokens, policies through the session tag only) on a fresh strict emulator at
    the default RolesQuota: validate, apply from scratch, converged plan and drift; wall time,
    peak memory and AWS calls."""
    proc, url = start_emulator(True)
    rows = []
    try:
        name = f"shared{n}"
        api = f"{name}-api"; create_api(url, api)
        d = make_folder(name, 0, 0, api)
        f = os.path.join(d, "tenants/platform.yaml")
        text = open(f).read().replace("tokenUse: access", "tokenUse: id") + "tenancy: {roles: shared, groups: shared}\n"
        open(f, "w").write(text)
        for p in ("tenant-data-rw.json", "tenant-data-ro.json"):
            f = os.path.join(d, "policies", p)
            text = open(f).read().replace("{{tenant.vars.bucket}}", "{{platform.name}}-data")
            open(f, "w").write(text)
        for i in range(n):
            open(os.path.join(d, f"tenants/t{i:06d}.yaml"), "w").write(
                f"apiVersion: tenantctl/v1\nkind: Tenant\nid: t{i:06d}\nisolation: pooled\nvars: {{bucket: b}}\n")
        for cmd in (["validate"], ["apply", "--auto-approve"], ["plan", "--detailed-exitcode"], ["drift"]):
            r = run(d, None if cmd == ["validate"] else url, cmd)
            rows.append(f"| {n} pooled, shared tenancy | `{' '.join(cmd)}` | {r['wall']:.2f} | {r['rss_mb']:.0f} | {r['calls']} | {r['writes']} |")
    finally:
        proc.terminate()
    print("| inventory | command | wall s | peak MB | AWS calls | writes |\n|---|---|---|---|---|---|\n" + "\n".join(rows))



# ---- `scripts/bench cold-start`: the release authorizer's cold start (issue 21) ----------------

COLD_RUNS = int(os.environ.get("TENANTCTL_BENCH_RUNS", "5"))
COLD_REGION, COLD_ACCOUNT, COLD_PLATFORM = "us-east-1", "123456789012", "acmesaas"
COLD_SHARED_POOL = "us-east-1_Sh4redPo0l"
COLD_METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/orders"


def cold_issuer(pool):
    return f"https://cognito-idp.{COLD_REGION}.amazonaws.com/{pool}"


def cold_client_id(name):
    # Cognito's app client ids: 26 characters of [a-z0-9].
    import hashlib
    return hashlib.sha256(name.encode()).hexdigest()[:26]


def cold_start_file(pooled, silo, id_len=7):
    """tenantctl-authorizer.json exactly as `tenantctl apply` writes it (src/kinds/
    lambda_function/package.rs `config_json`: compact JSON, `format` then the fields in their
    order, every map's keys and every list sorted, every field present) for the shared-tenancy
    platform of `scripts/bench shared N` (tenants t000000.., one shared pool with the `web`
    client, roles admin and member, `tokenUse: id`, `tenancy: {roles: shared, groups: shared}`,
    no usage plans, no scoped methods), plus `silo` silo tenants s0000.. (each its own pool and
    `web` client). `id_len`: the pooled tenants' id length (7: t000000; at most 32)."""
    issuers = {cold_issuer(COLD_SHARED_POOL): "*"}
    clients = {cold_client_id("shared-web"): COLD_SHARED_POOL}
    tenants = [cold_tenant(i, id_len) for i in range(pooled)]
    for i in range(silo):
        pool = f"us-east-1_S1lo{i:04d}"
        issuers[cold_issuer(pool)] = f"s{i:04d}"
        clients[cold_client_id(f"silo{i}-web")] = pool
        tenants.append(f"s{i:04d}")
    doc = {
        "format": 1,
        "issuers": dict(sorted(issuers.items())),
        "clients": dict(sorted(clients.items())),
        "identityProviders": {},
        "tenants": sorted(tenants),
        "roles": {"admin": 1, "member": 10},
        "usagePlans": [],
        "methodScopes": {},
        "tenancy": {"groups": "shared", "roles": "shared"},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def cold_tenant(i, id_len):
    return f"t{i:0{id_len - 1}d}"


def cold_token(tenant):
    """An ID token of the shared pool for `tenant` (shared group `member`), RS256 with the
    authorizer tests' key A (authorizer/tests/fixtures, test-only), or None without the
    `cryptography` package (the event is then a malformed token: 401, no key fetch)."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
    except ImportError:
        return None
    import base64
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    now = int(time.time())
    claims = {"sub": "11111111-2222-3333-4444-555555555555", "iss": cold_issuer(COLD_SHARED_POOL),
              "aud": cold_client_id("shared-web"), "token_use": "id", "auth_time": now - 5, "iat": now - 5,
              "exp": now + 3600, "cognito:username": "alice", "cognito:groups": ["member"], "custom:tenant_id": tenant}
    head = b64(json.dumps({"alg": "RS256", "kid": "test-key-a"}).encode()) + "." + b64(json.dumps(claims).encode())
    key = serialization.load_pem_private_key(open(os.path.join(ROOT, "authorizer/tests/fixtures/key-a.pem"), "rb").read(), None)
    return head + "." + b64(key.sign(head.encode(), padding.PKCS1v15(), hashes.SHA256()))


def vm_hwm_kb(pid):
    """The process's peak resident set (VmHWM, what /usr/bin/time reports as max RSS), in KB."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_ms(pid):
    """CPU time of the process's threads so far (/proc/PID/task/*/schedstat: ns on a CPU, ns
    waiting for one), in ms: unlike wall time, not stretched by the other work on the machine."""
    on = wait = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            f = open(f"/proc/{pid}/task/{task}/schedstat").read().split()
            on, wait = on + int(f[0]), wait + int(f[1])
    except OSError:
        return None, None
    return on / 1e6, wait / 1e6


def cold_start_once(binary, task_root, token):
    """One cold start: a fresh fake Lambda Runtime API on 127.0.0.1 (also serving the tests'
    key A at every pool's JWKS URL), the binary started as Lambda starts `bootstrap`, one TOKEN
    event. Returns ms from spawn to the first GET .../invocation/next (the runtime is ready),
    to the JWKS fetch, and to the answer's POST; the answer; the peak RSS (KB) when it came.
    One thread and a select loop: each time is taken as the request's bytes arrive (a thread
    per request, as http.server's, added 5 to 10 ms of Python scheduling to each)."""
    import selectors, socket as so
    jwks = json.dumps({"keys": [json.load(open(os.path.join(ROOT, "authorizer/tests/fixtures/jwk-a.json")))]}).encode()
    event = json.dumps({"type": "TOKEN", "authorizationToken": f"Bearer {token or 'not-a-jwt'}",
                        "methodArn": COLD_METHOD_ARN}).encode()
    lsock = so.socket(); lsock.bind(("127.0.0.1", 0)); lsock.listen(16); lsock.setblocking(False)
    addr = f"127.0.0.1:{lsock.getsockname()[1]}"
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LAMBDA_TASK_ROOT": task_root,
           "AWS_LAMBDA_RUNTIME_API": addr, "AWS_LAMBDA_FUNCTION_NAME": f"{COLD_PLATFORM}-authorizer",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
           "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{COLD_PLATFORM}-authorizer", "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
           "AWS_REGION": COLD_REGION, "AWS_DEFAULT_REGION": COLD_REGION,
           # The function's environment as tenantctl writes it (emulator mode: the JWKS URL).
           "TENANTCTL_PLATFORM": COLD_PLATFORM, "TENANTCTL_ACCOUNT_ID": COLD_ACCOUNT, "TENANTCTL_REGION": COLD_REGION,
           "TENANTCTL_TOKEN_USE": "id", "TENANTCTL_TENANT_ATTRIBUTE": "tenant_id",
           "TENANTCTL_JWKS_URL": f"http://{addr}/{{pool_id}}/.well-known/jwks.json"}

    def reply(conn, status, body, headers=()):
        head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        conn.sendall(head.encode() + body)

    t, cpu, answer, hwm, bufs = {}, {}, None, None, {}
    err = tempfile.TemporaryFile()
    t0 = time.monotonic()
    proc = subprocess.Popen([binary], env=env, cwd=task_root, stdout=subprocess.DEVNULL, stderr=err)
    try:
        while answer is None:
            if time.monotonic() - t0 > 30:
                err.seek(0)
                raise SystemExit(f"cold start: no answer within 30 s:\n{err.read().decode(errors='replace')[-3000:]}")
            for key, _ in sel.select(timeout=1):
                if key.fileobj is lsock:
                    conn, _ = lsock.accept()
                    conn.setsockopt(so.IPPROTO_TCP, so.TCP_NODELAY, 1)
                    sel.register(conn, selectors.EVENT_READ)
                    bufs[conn] = b""
                    continue
                conn = key.fileobj
                data = conn.recv(65536)
                now = time.monotonic()
                if not data:
                    sel.unregister(conn); conn.close(); bufs.pop(conn, None)
                    continue
                bufs[conn] += data
                while b"\r\n\r\n" in bufs[conn]:
                    head, rest = bufs[conn].split(b"\r\n\r\n", 1)
                    lines = head.decode(errors="replace").split("\r\n")
                    length = next((int(l.split(":", 1)[1]) for l in lines[1:] if l.lower().startswith("content-length:")), 0)
                    if len(rest) < length:
                        break
                    body, bufs[conn] = rest[:length], rest[length:]
                    method, path = lines[0].split()[:2]
                    if method == "GET" and path == "/2018-06-01/runtime/invocation/next":
                        if "next" in t:
                            continue  # the next event never comes: the process waits until killed
                        t["next"] = now
                        cpu["ready"] = cpu_ms(proc.pid)
                        deadline = int(time.time() * 1000) + 5000
                        reply(conn, "200 OK", event, [
                            ("Lambda-Runtime-Aws-Request-Id", "req-cold"), ("Lambda-Runtime-Deadline-Ms", deadline),
                            ("Lambda-Runtime-Invoked-Function-Arn",
                             f"arn:aws:lambda:{COLD_REGION}:{COLD_ACCOUNT}:function:{COLD_PLATFORM}-authorizer"),
                            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")])
                    elif method == "GET" and path.endswith("/.well-known/jwks.json"):
                        t.setdefault("jwks", now)
                        reply(conn, "200 OK", jwks)
                    elif method == "POST" and path.startswith("/2018-06-01/runtime/"):
                        t["answer"] = now
                        hwm = vm_hwm_kb(proc.pid)
                        answer = (path.rsplit("/", 1)[-1], body.decode(errors="replace"))
                        reply(conn, "202 Accepted", b"{}")
                    else:
                        reply(conn, "404 Not Found", b"{}")
        # What the process reached by the time it answered (it then waits for the next event).
        hwm = max(h for h in (hwm, vm_hwm_kb(proc.pid)) if h is not None)
    finally:
        proc.kill()
        proc.wait()
        for conn in list(bufs):
            conn.close()
        sel.close()
        lsock.close()
    err.seek(0)
    log = err.read().decode(errors="replace")
    ms = lambda k: (t[k] - t0) * 1000 if k in t else None
    return {"ready": ms("next"), "cpu_ready": cpu["ready"][0], "wait_ready": cpu["ready"][1],
            "jwks": ms("jwks"), "answer": ms("answer"), "kind": answer[0],
            "body": answer[1], "hwm_kb": hwm, "log": log}


def cold_start_bench(binary, sizes):
    """`scripts/bench cold-start [N[+S][/L] ...]`: N pooled tenants (+ S silo tenants; pooled ids
    of L characters) in a tenantctl-authorizer.json as tenantctl writes it; COLD_RUNS fresh
    processes per size."""
    import statistics
    rows = []
    for pooled, silo, id_len in sizes:
        task_root = tempfile.mkdtemp(prefix="tenantctl-cold-")
        data = cold_start_file(pooled, silo, id_len)
        open(os.path.join(task_root, "tenantctl-authorizer.json"), "wb").write(data)
        tenant = cold_tenant(pooled // 2, id_len)
        token = cold_token(tenant)
        runs = []
        for _ in range(COLD_RUNS):
            r = cold_start_once(binary, task_root, token)
            if token:
                # The measured start must be a working one: the 100,000 tenants parsed and the
                # middle one's token allowed with the shared role.
                want = f"arn:aws:iam::{COLD_ACCOUNT}:role/tenantctl/{COLD_PLATFORM}/{COLD_PLATFORM}-member"
                ctx = json.loads(r["body"]).get("context", {}) if r["kind"] == "response" else {}
                if ctx.get("tenant_id") != tenant or ctx.get("role_arn") != want:
                    raise SystemExit(f"cold start answered {r['kind']} {r['body']}\n{r['log'][-3000:]}")
            runs.append(r)
        shutil.rmtree(task_root, ignore_errors=True)
        ready = [r["ready"] for r in runs]
        cpu_ready = [r["cpu_ready"] for r in runs]
        answer = [r["answer"] for r in runs]
        peak = max(r["hwm_kb"] for r in runs) / 1024
        label = f"{pooled:,} pooled" + (f" + {silo:,} silo" if silo else "") + (f", {id_len}-character ids" if id_len != 7 else "")
        rows.append(f"| {label} | {len(data):,} | {statistics.median(ready):.1f} / {max(ready):.1f} | "
                    f"{statistics.median(cpu_ready):.1f} / {max(cpu_ready):.1f} | "
                    f"{statistics.median(answer):.1f} / {max(answer):.1f} | {peak:.1f} | {'yes' if peak <= 128 else 'NO'} |")
        print(f"{label}: ready {[round(x, 1) for x in ready]} ms (CPU {[round(x, 1) for x in cpu_ready]} ms, "
              f"waiting for a CPU {[round(r['wait_ready'], 1) for r in runs]} ms), answer {[round(x, 1) for x in answer]} ms, "
              f"jwks fetch at {[round(r['jwks'], 1) if r['jwks'] else None for r in runs]} ms, "
              f"peak RSS {[r['hwm_kb'] for r in runs]} KB", file=sys.stderr)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    build = "debug build (not comparable)" if "/debug/" in binary else "release build" if "/release/" in binary else f"build {binary}"
    first = ("an ID token of the shared pool (key fetched once from the fake runtime's loopback JWKS URL), answered Allow"
             if cold_token("t000000") else "a malformed token (no key fetch), answered Unauthorized")
    out = [f"Machine: {os.cpu_count()} cores ({cpu}); {build} of the authorizer; {COLD_RUNS} cold starts per size "
           f"(a fresh process each, files in the page cache); first event: {first}.",
           "",
           "| tenants (shared tenancy, tokenUse id) | file bytes | ms to ready, median / max | CPU ms to ready, median / max | ms to first answer, median / max | peak RSS MB (max) | within 128 MB |",
           "|---|---|---|---|---|---|---|"] + rows
    text = "\n".join(out) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "target/bench"), exist_ok=True)
    open(os.path.join(ROOT, "target/bench/cold-start.md"), "w").write(text)


def parse_cold_sizes(args):
    """`N[+S][/L]`: N pooled tenants, S silo tenants, pooled ids of L characters (default 7)."""
    sizes = []
    for a in args or ["1", "10000", "100000", "100000+1000", "100000/32"]:
        a, _, id_len = a.partition("/")
        pooled, _, silo = a.partition("+")
        id_len = int(id_len or 7)
        if not 7 <= id_len <= 32 or int(pooled) < 1:
            raise SystemExit(f"cold-start: {a}: N >= 1 pooled tenants, ids of 7 to 32 characters")
        sizes.append((int(pooled), int(silo or 0), id_len))
    return sizes


def main():
    args = sys.argv[1:]
    quota_only = args == ["quota"]
    if quota_only:
        print(quota_bench())
        return
    if args == ["quota-silo"]:
        # TENANTCTL_BENCH_SILO silo tenants (300) from scratch under the same quotas; the floor
        # is the busiest write quota (tests/reliability.rs quota_floor_silo_tenants).
        print(quota_bench("quota_floor_silo", "QUOTA_FLOOR_SILO"))
        return
    if args[:1] == ["cold-start"]:
        cold_start_bench(os.environ["TENANTCTL_AUTHORIZER_BIN"], parse_cold_sizes(args[1:]))
        return
    if args[:1] == ["shared"]:
        for n in [int(a) for a in args[1:]] or [10000, 100000]:
            shared_bench(n)
        return
    sizes = [int(a) for a in args] or [100, 1000]
    # The size runs: the strict emulator (every rule of tests/emulator/strict.py, the per-pool
    # Cognito rate included) for an account whose roles quota was raised to BENCH_ROLES_QUOTA.
    # The setup apply therefore runs with tenantctl's default limits (the per-pool 4.5/s
    # binds: 2,000 groups in one pool take about 445 s); `--rate-scale 0` would break the
    # per-pool quota the emulator holds, as it would on AWS.
    proc, url = start_emulator(True, BENCH_ROLES_QUOTA)
    rows, notes = [], []
    try:
        strict_control(url, "/reset", {})
        cases = [(f"bench{n}", n, 0) for n in sizes] + ([("benchsilo", 0, SILO_TENANTS)] if SILO_TENANTS else [])
        for name, pooled, silo in cases:
            api = f"{name}-api"; create_api(url, api)
            d = make_folder(name, pooled, silo, api)
            first = run(d, url, ["apply", "--auto-approve", "--parallelism", "16"])
            refresh, inv = per_resource(d, url)
            label = f"{pooled} pooled" if pooled else f"{silo} silo"
            rows.append((label, "initial apply (default limits)", first, None))
            for cmd in (["plan", "--detailed-exitcode"], ["drift"], ["apply", "--auto-approve"]):
                r = run(d, url, cmd)
                rows.append((label, " ".join(cmd), r, refresh))
                if silo and cmd[0] == "plan":
                    notes.append(f"{label}: converged plan {r['calls']} calls, {r['calls'] / silo:.2f} per silo tenant, {r['wall']:.2f} s")
                    floor, buckets = quota_floor(r["ops"], silo)
                    notes.append(f"{label}: converged plan against the read quotas (src/aws/limits.rs rates): floor {floor:.1f} s "
                                 f"(busiest bucket), wall {r['wall']:.2f} s, ratio wall/floor {r['wall'] / floor:.2f}. Buckets: "
                                 + "; ".join(f"{b} {n:g} calls at {rate:g}/s = {t:.1f} s" for b, n, rate, t in buckets if t >= 0.05))
            one = "t00000" if pooled else "s000"
            r = run(d, url, ["plan", "--tenant", one, "--detailed-exitcode"])
            rows.append((label, f"plan --tenant {one}", r, 4 * 2 + 2 + 1 + 1))
            print(f"{label}: inventory {inv}", file=sys.stderr)
            if pooled >= 1000:
                sso_rows, growth = identity_stage(d, url, label, pooled)
                rows += sso_rows
                notes.append(growth)
        refusals = strict_control(url, "/log")["refusals"]
        roles_quota = strict_control(url, "")["roles_quota"]
    finally:
        proc.terminate()
    quota = None if os.environ.get("TENANTCTL_BENCH_QUOTA", "1") == "0" else quota_bench()
    # Offline validate of 10,000 tenants. One role each: the shared pool holds at most 10,000
    # groups (one per pooled tenant and role; Cognito's fixed quota, which validate checks),
    # so 10,000 pooled tenants with both roles are refused.
    d = make_folder("benchval", 10000, 0, "x", roles=["member"])
    r = run(d, None, ["validate"])
    rows.append(("10000 pooled", "validate (offline)", r, 0))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
    build = "debug build (wall times not comparable with release runs)" if "/debug/" in BIN else "release build" if "/release/" in BIN else f"build {BIN}"
    out = [f"Machine: {os.cpu_count()} cores ({cpu}), {int(mem)//1024//1024} GiB; emulator: moto 5.2.5 on 127.0.0.1 with the strict layer, "
           f"RolesQuota {roles_quota}; {build}.",
           "", "| inventory | command | wall s | peak MB | AWS calls | writes | retries | per-resource refresh calls | calls by operation |",
           "|---|---|---|---|---|---|---|---|---|"]
    for label, cmd, r, refresh in rows:
        out.append(f"| {label} | `{cmd}` | {r['wall']:.2f} | {r['rss_mb']:.0f} | {r['calls']} | {r['writes']} | {r['retries']} | {refresh if refresh is not None else ''} | {fmt_ops(r['ops'])} |")
    out += [""] + notes if notes else []
    out += ["", f"Strict-layer refusals over the size runs (GET /_tenantctl/strict/log): {json.dumps(refusals, sort_keys=True) if refusals else 'none'}"]
    if quota:
        out += ["", "Quota mode (tests/reliability.rs `quota_bench_200_tenants`, debug build, behind the fault proxy's", "token buckets at the published Cognito quotas, per pool included, and an IAM write quota of 25/s tenantctl is not told):", "", "    " + quota]
    text = "\n".join(out) + "\n"
    print(text)
    os.makedirs(os.path.join(ROOT, "target/bench"), exist_ok=True)
    open(os.path.join(ROOT, "target/bench/results.md"), "w").write(text)


if __name__ == "__main__":
    main()
