#!/usr/bin/env bash
# Static checks of deploy/ (docs/deploy.md): nothing here talks to a real
# Kafka, Kubernetes or systemd; the files are checked against the code and
# the tools that read them.
set -uo pipefail

root="${TEST_SRCDIR}/datarun"
deploy="$root/deploy"
tmp="${TEST_TMPDIR}"
py=/usr/bin/python3
check="$root/tests/deploy/deploy_check.py"
failures=0
step() {  # step NAME COMMAND...: runs it, counts a failure, shows output
  local name=$1
  shift
  if "$@" >"$tmp/step.out" 2>&1; then
    echo "ok: $name"
  else
    echo "FAIL: $name"
    failures=$((failures + 1))
  fi
  sed 's/^/    /' "$tmp/step.out"
}

# Prometheus: config, rules, alert unit tests, dashboard expressions.
step "promtool check config" promtool check config "$deploy/prometheus/prometheus.yml"
step "promtool check rules" promtool check rules "$deploy/prometheus/alerts.yml"
step "promtool test rules" bash -c "cd '$deploy/prometheus' && promtool test rules alerts_test.yml"
step "dashboard expressions extracted" "$py" "$check" "$root" promql "$tmp/dashboard_rules.yml"
step "dashboard expressions parse (promtool)" promtool check rules "$tmp/dashboard_rules.yml"
step "metric names used = metric names registered" "$py" "$check" "$root" metrics

# Topics: the list from the shipped catalog against the code and the C++
# catalog loader's counts.
catalog="$root/exchange/catalog/zhejiang.textproto"
"$root/tools/datarun" catalog check "$catalog" >"$tmp/catalog_check.out" 2>&1
"$py" "$deploy/kafka/topics.py" "$catalog" >"$tmp/topics.tsv"
step "topics.py on the shipped catalog" "$py" "$check" "$root" topics "$tmp/catalog_check.out" <"$tmp/topics.tsv"

# create-topics.sh against stub admin tools that keep the topics in a
# directory: every topic created once with one partition count, a second
# run creates nothing, a topic with another count is an error.
stubs="$tmp/stubs"
mkdir -p "$stubs" "$tmp/cluster"
cat >"$stubs/kafka-topics.sh" <<'EOF'
#!/usr/bin/env bash
# Stub: --list, --create --topic T --partitions N, --describe --topic T.
echo "kafka-topics.sh $*" >>"$STUB_LOG"
topic="" partitions="" action=""
while (($#)); do
  case "$1" in
    --list | --create | --describe) action=$1 ;;
    --topic) topic=$2; shift ;;
    --partitions) partitions=$2; shift ;;
  esac
  shift
done
case "$action" in
  --list) ls "$STUB_CLUSTER" ;;
  --create) [[ -e "$STUB_CLUSTER/$topic" ]] || echo "$partitions" >"$STUB_CLUSTER/$topic" ;;
  --describe) printf 'Topic: %s\tTopicId: x\tPartitionCount: %s\tReplicationFactor: 3\n' \
    "$topic" "$(cat "$STUB_CLUSTER/$topic")" ;;
esac
EOF
cat >"$stubs/kafka-configs.sh" <<'EOF'
#!/usr/bin/env bash
echo "kafka-configs.sh $*" >>"$STUB_LOG"
EOF
cat >"$stubs/kafka-acls.sh" <<'EOF'
#!/usr/bin/env bash
echo "$*" >>"$STUB_ACL_LOG"
EOF
chmod +x "$stubs"/*.sh
export STUB_LOG="$tmp/admin.log" STUB_CLUSTER="$tmp/cluster" STUB_ACL_LOG="$tmp/acls.log"
ntopics=$(wc -l <"$tmp/topics.tsv")
create() {
  KAFKA_BIN="$stubs" bash "$deploy/kafka/create-topics.sh" --bootstrap=k:9093 \
    --command-config=admin.properties --catalog="$catalog" --partitions=24
}
step "create-topics.sh creates every topic" create
created=$(grep -c -- '--create' "$STUB_LOG")
with24=$(grep -- '--create' "$STUB_LOG" | grep -c -- '--partitions 24 --replication-factor 3')
audit_cfg=$(grep -- '--create --if-not-exists --topic dr.audit ' "$STUB_LOG" | grep -c -- '--config retention.ms=-1')
if [[ $created -ne $ntopics || $with24 -ne $ntopics || $audit_cfg -ne 1 ]]; then
  echo "FAIL: create-topics.sh: $created creates ($with24 with 24 partitions, RF 3) for $ntopics topics; dr.audit with retention.ms=-1: $audit_cfg"
  failures=$((failures + 1))
fi
: >"$STUB_LOG"
step "create-topics.sh is idempotent" create
if grep -q -- '--create' "$STUB_LOG"; then
  echo "FAIL: second create-topics.sh run created topics"
  failures=$((failures + 1))
fi
echo 8 >"$STUB_CLUSTER/dr.query.req"
if create >"$tmp/wrong.out" 2>&1 || ! grep -q 'topic dr.query.req (query-request) has 8 partitions, wanted 24' "$tmp/wrong.out"; then
  echo "FAIL: create-topics.sh accepted a topic with another partition count:"
  sed 's/^/    /' "$tmp/wrong.out"
  failures=$((failures + 1))
else
  echo "ok: create-topics.sh refuses a topic with another partition count"
fi

# ACLs.
"$py" "$deploy/kafka/topics.py" --departments "$catalog" >"$tmp/departments"
step "acls.sh runs" env KAFKA_BIN="$stubs" bash "$deploy/kafka/acls.sh" --bootstrap=k:9093 \
  --command-config=admin.properties --catalog="$catalog"
step "ACLs grant what each principal needs, nothing more" "$py" "$check" "$root" acls "$tmp/acls.log" "$tmp/departments"

# Flags used in the units and the StatefulSet exist in the binaries.
"$root/exchange/datarund" --helpfull >"$tmp/datarund.help" 2>&1
"$root/connectors/datarun-connect" --helpfull >"$tmp/connect.help" 2>&1
step "flags exist" "$py" "$check" "$root" flags "$tmp/datarund.help" "$tmp/connect.help"

# The example connector config is a valid ConnectorConfig.
step "connector.textproto.example parses as ConnectorConfig" bash -c \
  "protoc -I'$root' -I/usr/include --encode=datarun.connectors.v1.ConnectorConfig '$root/connectors/connector.proto' <'$deploy/kafka/connector.textproto.example' >/dev/null"

step "Kubernetes YAML" "$py" "$check" "$root" yaml
step "Kafka server properties" "$py" "$check" "$root" kafka

# systemd-analyze verify, with ExecStart pointing at the built binaries
# (it checks that the command exists). First a known-good unit: if even
# that fails here, this environment cannot run it and the step is skipped.
units="$tmp/units"
mkdir -p "$units"
printf '[Service]\nExecStart=/bin/true\n' >"$units/probe.service"
if ! timeout 60 systemd-analyze verify "$units/probe.service" >"$tmp/probe.out" 2>&1; then
  echo "NOTE: systemd-analyze verify does not work in this environment, units not verified:"
  sed 's/^/    /' "$tmp/probe.out"
else
  for unit in 'datarund@.service' 'datarun-connect@.service'; do
    sed -e "s#/usr/bin/datarund #$root/exchange/datarund #" \
      -e "s#/usr/bin/datarun-connect #$root/connectors/datarun-connect #" \
      "$deploy/systemd/$unit" >"$units/$unit"
    instance="$units/${unit/@./@test.}"
    timeout 60 systemd-analyze verify "$instance" >"$tmp/verify.out" 2>&1
    rc=$?
    if [[ $rc -ne 0 || -s "$tmp/verify.out" ]]; then
      echo "FAIL: systemd-analyze verify $unit (exit $rc):"
      sed 's/^/    /' "$tmp/verify.out"
      failures=$((failures + 1))
    else
      echo "ok: systemd-analyze verify $unit"
    fi
  done
fi

if [[ $failures -ne 0 ]]; then
  echo "deploy_check_test: $failures failure(s)"
  exit 1
fi
echo "deploy_check_test: all checks passed"
