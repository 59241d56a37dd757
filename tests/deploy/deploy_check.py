#!/usr/bin/env python3
"""Static checks of deploy/ against the code (run by deploy_check_test.sh).

  deploy_check.py ROOT SECTION [args]

ROOT is the runfiles root of the workspace. Each section prints what it
checked and exits 1 with one line per problem. Sections:
  metrics DATARUND_HELP CONNECT_HELP   (help files unused here)
  topics CATALOG_CHECK_OUTPUT
  flags DATARUND_HELPFULL CONNECT_HELPFULL
  yaml
  kafka
  acls ACL_LOG
  promql RULES_OUT     writes the dashboard's expressions as recording rules
"""

import json
import os
import re
import sys

import yaml

ROOT = sys.argv[1]
# The source tree the runfiles link to, for the few sources that are not
# visible to this test's package (see BUILD.bazel).
WORKSPACE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.realpath(os.path.join(ROOT, "tests/deploy/deploy_check.py")))))
problems = []


def read(rel):
    path = f"{ROOT}/{rel}"
    if not os.path.exists(path):
        path = f"{WORKSPACE}/{rel}"
    with open(path, encoding="utf-8") as f:
        return f.read()


def fail(msg):
    problems.append(msg)


METRIC_SOURCES = ["exchange/datarund_status.cc", "connectors/pipeline.cc",
                  "exchange/query/query_metrics.cc"]


def registered():
    names, labels = set(), set()
    for src in METRIC_SOURCES:
        text = read(src)
        names |= set(re.findall(r'\.Name\("(datarun_[a-z0-9_]+)"\)', text))
        labels |= set(re.findall(r'\{\{?"([a-z_]+)",', text))
    return names, labels


def dashboard_exprs():
    dash = json.loads(read("deploy/grafana/datarun.json"))
    exprs = []
    for p in dash["panels"]:
        if p["type"] == "row":
            continue
        if not p.get("targets"):
            fail(f"dashboard panel '{p['title']}' has no query")
        for t in p.get("targets", []):
            exprs.append((p["title"], t["expr"]))
    return exprs


def alert_exprs():
    rules = yaml.safe_load(read("deploy/prometheus/alerts.yml"))
    out = []
    for g in rules["groups"]:
        for r in g["rules"]:
            out.append((r["alert"], r["expr"]))
            for key in ("severity",):
                if key not in r.get("labels", {}):
                    fail(f"alert {r['alert']}: no {key} label")
            for key in ("summary", "runbook"):
                if key not in r.get("annotations", {}):
                    fail(f"alert {r['alert']}: no {key} annotation")
            if "for" not in r:
                fail(f"alert {r['alert']}: no for:")
    return out


def check_metrics():
    names, labels = registered()
    if len(names) < 7:
        fail(f"only {len(names)} metric names found in {METRIC_SOURCES}: "
             "did the registration move? update METRIC_SOURCES")
    # Labels that Prometheus adds or the scrape config sets, and a
    # histogram's bucket bound.
    labels |= {"instance", "job", "department", "le"}
    used = set()
    for where, exprs in (("dashboard", dashboard_exprs()),
                         ("alerts.yml", alert_exprs())):
        for title, expr in exprs:
            for m in re.findall(r"\bdatarun_[a-z0-9_]+", expr):
                # A histogram's series: <name>_bucket, _sum and _count.
                base = re.sub(r"_(bucket|sum|count)$", "", m)
                if m not in names and base in names:
                    m = base
                used.add(m)
                if m not in names:
                    fail(f"{where} '{title}' uses {m}, which the code does "
                         f"not register (registered: {sorted(names)})")
            for group in re.findall(r"\bby \(([^)]*)\)", expr):
                for label in (x.strip() for x in group.split(",")):
                    if label not in labels:
                        fail(f"{where} '{title}' groups by '{label}', not a "
                             f"label of any datarun metric ({sorted(labels)})")
    for n in sorted(names - used):
        fail(f"metric {n} is registered but neither on the dashboard nor in "
             "an alert")
    print(f"metrics: {len(names)} registered, all used, every name used is "
          "registered")


def code_constant(rel, name):
    m = re.search(name + r'\[?\]?\s*=\s*"([^"]+)"', read(rel))
    if not m:
        fail(f"{rel}: constant {name} not found (renamed?)")
        return None
    return m.group(1)


def check_topics(catalog_check_output):
    counts = dict(re.findall(r"^(departments|data classes): (\d+)$",
                             read_abs(catalog_check_output), re.M))
    lines = [l.split("\t") for l in sys.stdin.read().splitlines()]
    topics = [l[0] for l in lines]
    if len(set(topics)) != len(topics):
        fail("topics.py prints a topic twice")
    req = code_constant("exchange/query/topics.h", "kRequestTopic")
    resp = code_constant("exchange/query/topics.h", "kResponseTopicPrefix")
    audit = code_constant("exchange/query/topics.h", "kAuditTopic")
    checkpoint = code_constant("exchange/audit/kafka/audit_bus.h",
                               "kCheckpointTopic")
    revoked = code_constant("exchange/certificate/revocation_list.h",
                            "kRevocationTopic")
    data = code_constant("exchange/catalog/catalog.h", "kDataTopicPrefix")
    if '"dr.dlq."' not in read("exchange/ingest/ingestor.cc"):
        fail('exchange/ingest/ingestor.cc no longer names DLQs "dr.dlq.<dept>"')
    if '"dr.dlq.unknown"' not in read("exchange/datarund_main.cc"):
        fail("exchange/datarund_main.cc no longer creates dr.dlq.unknown")
    n_dept = int(counts.get("departments", -1))
    n_class = int(counts.get("data classes", -1))
    fam = lambda p: [t for t in topics if t.startswith(p)]
    if len(fam(data)) != n_class:
        fail(f"{len(fam(data))} data topics, `datarun catalog check` counts "
             f"{n_class} data classes")
    if len(fam("dr.dlq.")) != n_dept + 1:
        fail(f"{len(fam('dr.dlq.'))} DLQ topics, want {n_dept} departments + "
             "dr.dlq.unknown")
    if len(fam(resp)) != n_dept:
        fail(f"{len(fam(resp))} response topics for {n_dept} departments")
    for t in (req, audit, checkpoint, revoked, "dr.dlq.unknown"):
        if t not in topics:
            fail(f"topic {t} (named in the code) is not in topics.py's list")
    known = (data, resp, "dr.dlq.")
    for t in topics:
        if not t.startswith(known) and t not in (req, audit, checkpoint,
                                                 revoked):
            fail(f"topics.py lists {t}, which no code names")
    conf = {l[0]: dict(kv.split("=", 1) for kv in l[2].split(","))
            for l in lines}
    for t, c in conf.items():
        if t.startswith(data) and (c.get("cleanup.policy") != "delete" or
                                   c.get("retention.ms") != "-1"):
            fail(f"{t}: data topics must keep everything (state rebuild)")
        if t in (audit, checkpoint) and (c.get("retention.ms") != "-1" or
                                         c.get("cleanup.policy") != "delete"):
            fail(f"{t}: the audit trail must never be deleted or compacted")
    if conf.get(revoked, {}).get("cleanup.policy") != "compact":
        fail(f"{revoked} should be compacted (keyed by serial)")
    print(f"topics: {len(topics)} ({n_class} data, {n_dept} departments), "
          "names match the code")


def read_abs(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def help_flags(path):
    return set(re.findall(r"^\s+--([a-z_0-9]+) ", read_abs(path), re.M))


def check_flags(datarund_help, connect_help):
    binaries = {"datarund": help_flags(datarund_help),
                "datarun-connect": help_flags(connect_help)}
    for b, flags in binaries.items():
        if len(flags) < 2:
            fail(f"could not read the flags of {b} from its --helpfull")
    sources = {
        "deploy/systemd/datarund@.service": "datarund",
        "deploy/systemd/datarun-connect@.service": "datarun-connect",
    }
    used = {}
    for rel, b in sources.items():
        text = read(rel).replace("\\\n", " ")
        m = re.search(r"^ExecStart=(.*)$", text, re.M)
        used[rel] = (b, re.findall(r"--([a-z_0-9]+)=", m.group(1)))
    sts = yaml.safe_load(read("deploy/k8s/statefulset.yaml"))
    for c in sts["spec"]["template"]["spec"]["containers"]:
        args = " ".join(c.get("command", []) + c.get("args", []))
        if "datarund" in args:
            used["deploy/k8s/statefulset.yaml"] = (
                "datarund", re.findall(r"--([a-z_0-9]+)=", args))
    if "deploy/k8s/statefulset.yaml" not in used:
        fail("statefulset.yaml: no container runs datarund")
    total = 0
    for rel, (b, flags) in used.items():
        for f in flags:
            total += 1
            if f not in binaries[b]:
                fail(f"{rel}: --{f} is not a flag of {b} (--helpfull)")
        if b == "datarund":
            for need in ("brokers", "kafka_properties", "keys", "state_dir",
                         "catalog", "metrics_port", "partitions"):
                if need not in flags:
                    fail(f"{rel}: datarund without --{need}")
    props = dict(l.split("=", 1) for l in
                 read("deploy/kafka/server-1.properties").splitlines()
                 if l and not l.startswith("#"))
    args = " ".join(sts["spec"]["template"]["spec"]["containers"][0]["args"])
    m = re.search(r"--partitions=(\d+)", args)
    if not m or m.group(1) != props.get("num.partitions"):
        fail("statefulset --partitions differs from the brokers' num.partitions")
    env = dict(l.split("=", 1) for l in
               read("deploy/systemd/datarund.env.example").splitlines()
               if l and not l.startswith("#"))
    for var in re.findall(r"\$\{(\w+)\}", read("deploy/systemd/datarund@.service")):
        if var not in env:
            fail(f"datarund@.service uses ${{{var}}}, not set in datarund.env.example")
    if env.get("DATARUN_PARTITIONS") != props.get("num.partitions"):
        fail("datarund.env.example DATARUN_PARTITIONS differs from num.partitions")
    print(f"flags: {total} flag uses in {len(used)} files, all exist")


def check_yaml():
    kinds = {}
    for rel in ("k8s/kustomization.yaml", "k8s/namespace.yaml",
                "k8s/service.yaml", "k8s/statefulset.yaml", "k8s/pdb.yaml",
                "k8s/secrets.example.yaml", "prometheus/prometheus.yml",
                "prometheus/alerts.yml", "prometheus/alerts_test.yml",
                "prometheus/targets/datarund.yml.example",
                "prometheus/targets/datarun-connect.yml.example"):
        for doc in yaml.safe_load_all(read(f"deploy/{rel}")):
            if rel.startswith("k8s/"):
                for key in ("apiVersion", "kind"):
                    if key not in doc:
                        fail(f"deploy/{rel}: a document without {key}")
                kinds.setdefault(doc["kind"], []).append(doc)
    kust = kinds["Kustomization"][0]
    for r in kust["resources"]:
        try:
            read(f"deploy/k8s/{r}")
        except OSError:
            fail(f"kustomization.yaml lists {r}, which does not exist")
    sts = kinds["StatefulSet"][0]
    pod = sts["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    claims = {c["metadata"]["name"] for c in sts["spec"]["volumeClaimTemplates"]}
    for c in pod["containers"] + pod.get("initContainers", []):
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes and m["name"] not in claims:
                fail(f"container {c['name']} mounts undeclared volume "
                     f"{m['name']}")
    provided = {(d["kind"], d["metadata"]["name"])
                for d in kinds["ConfigMap"] + kinds["Secret"]}
    for v in volumes.values():
        if "configMap" in v and ("ConfigMap", v["configMap"]["name"]) not in provided:
            fail(f"volume {v['name']}: ConfigMap {v['configMap']['name']} "
                 "has no example in secrets.example.yaml")
        if "secret" in v and ("Secret", v["secret"]["secretName"]) not in provided:
            fail(f"volume {v['name']}: Secret {v['secret']['secretName']} "
                 "has no example in secrets.example.yaml")
    sel = sts["spec"]["selector"]["matchLabels"]
    for kind in ("Service", "PodDisruptionBudget"):
        doc = kinds[kind][0]
        s = doc["spec"]["selector"]
        s = s.get("matchLabels", s)
        if s != sel:
            fail(f"{kind} selects {s}, the StatefulSet's pods are {sel}")
    if kinds["Service"][0]["spec"].get("clusterIP") != "None":
        fail("the StatefulSet's Service must be headless")
    c = pod["containers"][0]
    if "readinessProbe" not in c or "livenessProbe" not in c:
        fail("datarund container without readiness or liveness probe")
    print(f"yaml: {sum(len(v) for v in kinds.values())} Kubernetes objects "
          "parse and reference each other consistently")


NODE_KEYS = {"node.id", "advertised.listeners", "ssl.keystore.location"}
REQUIRED = {
    "process.roles": "broker,controller",
    "auto.create.topics.enable": "false",
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "unclean.leader.election.enable": "false",
    "allow.everyone.if.no.acl.found": "false",
}


def check_kafka():
    files = [read(f"deploy/kafka/server-{n}.properties") for n in (1, 2, 3)]
    parsed = []
    for n, text in enumerate(files, 1):
        props = {}
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            if "=" not in line:
                fail(f"server-{n}.properties: not key=value: {line}")
                continue
            k, v = line.split("=", 1)
            if k in props:
                fail(f"server-{n}.properties: {k} set twice")
            props[k] = v
        for k, v in REQUIRED.items():
            if props.get(k) != v:
                fail(f"server-{n}.properties: {k}={props.get(k)}, want {v}")
        if props.get("node.id") != str(n):
            fail(f"server-{n}.properties: node.id={props.get('node.id')}")
        if "SASL_SSL" not in props.get("listener.security.protocol.map", ""):
            fail(f"server-{n}.properties: clients are not on SASL_SSL")
        parsed.append(props)
    for n, props in enumerate(parsed[1:], 2):
        diff = {k for k in set(props) | set(parsed[0])
                if props.get(k) != parsed[0].get(k)}
        if diff - NODE_KEYS:
            fail(f"server-{n}.properties differs from server-1 in "
                 f"{sorted(diff - NODE_KEYS)} (only {sorted(NODE_KEYS)} may)")
    voters = parsed[0]["controller.quorum.voters"].split(",")
    if len(voters) != 3:
        fail("controller.quorum.voters does not list 3 nodes")
    print("kafka: 3 KRaft nodes, identical but for node.id/listeners/keystore")


def check_acls(log_path, departments_path):
    # One line per kafka-acls.sh call: its arguments.
    grants = []
    for line in read_abs(log_path).splitlines():
        a = line.split()
        get = lambda flag: [a[i + 1] for i, x in enumerate(a) if x == flag]
        principal = get("--allow-principal")[0]
        ops = set(get("--operation"))
        kind = "topic" if "--topic" in a else "group"
        name = get(f"--{kind}")[0]
        prefixed = get("--resource-pattern-type") == ["prefixed"]
        grants.append((principal, ops, kind, name, prefixed))

    def can(principal, op, topic):
        return any(p == principal and op in ops and k == "topic" and
                   (topic.startswith(n) if pre else topic == n)
                   for p, ops, k, n, pre in grants)

    departments = read_abs(departments_path).split()
    for d in departments:
        u = f"User:{d}"
        other = next(x for x in departments if x != d)
        checks = [
            (True, "Write", f"dr.data.{d}.some_class"),
            (False, "Write", f"dr.data.{other}.some_class"),
            (False, "Read", f"dr.data.{d}.some_class"),
            (True, "Write", f"dr.dlq.{d}"),
            (True, "Write", "dr.query.req"),
            (False, "Read", "dr.query.req"),
            (True, "Read", f"dr.query.resp.{d}"),
            (False, "Read", f"dr.query.resp.{other}"),
            (False, "Read", "dr.audit"),
        ]
        for want, op, topic in checks:
            if can(u, op, topic) != want:
                fail(f"{u} {'cannot' if want else 'can'} {op} {topic}")
    for want, op, topic in [
        (True, "Read", "dr.data.public_security.vehicle_registration"),
        (False, "Write", "dr.data.public_security.vehicle_registration"),
        (True, "Read", "dr.query.req"), (True, "Write", "dr.query.resp.courts"),
        (True, "Write", "dr.audit"), (True, "Write", "dr.audit.checkpoint"),
        (True, "Write", "dr.dlq.courts"),
    ]:
        if can("User:exchange", op, topic) != want:
            fail(f"User:exchange {'cannot' if want else 'can'} {op} {topic}")
    for want, op, topic in [(True, "Read", "dr.audit"),
                            (True, "Read", "dr.audit.checkpoint"),
                            (False, "Read", "dr.query.req"),
                            (False, "Write", "dr.audit")]:
        if can("User:auditor", op, topic) != want:
            fail(f"User:auditor {'cannot' if want else 'can'} {op} {topic}")
    print(f"acls: {len(grants)} grants; departments, exchange and auditor "
          "get exactly their topics")


def write_promql_rules(out):
    exprs = dashboard_exprs()
    rules = [{"record": f"dashboard:expr{i}",
              "expr": e.replace("$__rate_interval", "5m")
                       .replace("$instance", ".*")}
             for i, (_, e) in enumerate(exprs)]
    with open(out, "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
    print(f"promql: {len(rules)} dashboard expressions written for promtool")


section = sys.argv[2]
if section == "metrics":
    check_metrics()
elif section == "topics":
    check_topics(sys.argv[3])
elif section == "flags":
    check_flags(sys.argv[3], sys.argv[4])
elif section == "yaml":
    check_yaml()
elif section == "kafka":
    check_kafka()
elif section == "acls":
    check_acls(sys.argv[3], sys.argv[4])
elif section == "promql":
    write_promql_rules(sys.argv[3])
else:
    fail(f"unknown section {section}")
for p in problems:
    print(f"FAIL: {p}")
sys.exit(1 if problems else 0)
