#!/usr/bin/env bash
# tools/quickstart's demo end to end (tools/demo/demo.sh with the built
# binaries), then a real Prometheus server scrapes the daemon's /metrics and
# its query API must report what the demo published. Everything this test
# starts, it stops.
set -euo pipefail

runfiles="${TEST_SRCDIR}/datarun"
tmp="${TEST_TMPDIR}"
work="$tmp/demo"
log="$tmp/demo.log"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
fail() { echo "FAIL: $*" >&2; echo "--- demo log ---" >&2; cat "$log" >&2 || true; exit 1; }

metrics_port=$(free_port)
prom_port=$(free_port)
demo_pid=""
prom_pid=""
cleanup() {
  [[ -n "$prom_pid" ]] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  [[ -n "$demo_pid" ]] && kill -TERM "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  return 0
}
trap cleanup EXIT

# Bad usage is refused with a clear message before anything starts.
if "$runfiles/tools/demo/demo.sh" --bin_dir=/nonexistent > "$tmp/usage.out" 2>&1; then
  fail "demo.sh accepted a missing --bin_dir"
fi
grep -q "missing binary /nonexistent/exchange/datarund" "$tmp/usage.out" ||
  fail "unclear usage error: $(cat "$tmp/usage.out")"

# The demo itself, left serving (as tools/quickstart leaves it).
"$runfiles/tools/demo/demo.sh" --bin_dir="$runfiles" --work_dir="$work" \
  --catalog="$runfiles/exchange/catalog/zhejiang.textproto" \
  --citizens=1500 --companies=150 --metrics_port="$metrics_port" > "$log" 2>&1 &
demo_pid=$!
for _ in $(seq 1 1800); do
  grep -q "The exchange keeps serving" "$log" && break
  kill -0 "$demo_pid" 2>/dev/null || fail "demo exited early"
  sleep 0.2
done
grep -q "The exchange keeps serving" "$log" || fail "demo did not finish in 360 s"

# Every generated record was published, none to the DLQ, all applied.
rows=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_records"])' \
  "$work/data/manifest.json")
grep -q "40 connectors: $rows records published, 0 to the DLQ (of $rows rows)" "$log" ||
  fail "connectors did not publish all $rows rows"
grep -q "messages=$rows applied=$rows stale=0 rejected=0" "$work/status" ||
  fail "exchange status is not $rows applied: $(cat "$work/status")"

# The answers, checked on the JSON the CLI printed (one line per question).
python3 - "$work/answers.jsonl" "$work/scenario" <<'PY' || fail "answers wrong"
import json, sys
answers = [json.loads(l) for l in open(sys.argv[1])]
scenario = dict(l.strip().split("=", 1) for l in open(sys.argv[2]) if "=" in l)
assert len(answers) == 7, f"{len(answers)} answers"
pension, vehicle, denied, court, certificate, dossier, usage = answers
assert pension["decision"] == "DECISION_ALLOW", pension
classes = {r["data_class"] for r in pension["records"]}
assert "household_registration" in classes, classes
for r in pension["records"]:
    assert r["provenance"]["source_department"], r
assert vehicle["decision"] == "DECISION_ALLOW", vehicle
assert vehicle["verify_result"] in ("VERIFY_RESULT_TRUE", "VERIFY_RESULT_FALSE"), vehicle
assert not vehicle.get("records"), "a verify answer must carry no payload"
assert denied["decision"] == "DECISION_DENY", denied
assert denied["denial_rule"] == "policy.no_agreement", denied
assert court["decision"] == "DECISION_ALLOW", court
assert court["verify_result"] == "VERIFY_RESULT_TRUE", court  # chosen as a representative
assert certificate["decision"] == "DECISION_ALLOW", certificate
cert = certificate["certificate"]
assert cert["template_id"] == "real_estate_ownership", cert
assert cert["issuer_department"] == "natural_resources", cert
assert cert["subject"]["id"] == scenario["REPRESENTATIVE"], cert
assert cert["seal"]["signature"], cert
assert dossier["decision"] == "DECISION_ALLOW", dossier
sections = {s["data_class"] for s in dossier["dossier"]["sections"]}
assert {"household_registration", "real_estate_title", "entity_role_holding"} <= sections, sections
assert usage["decision"] == "DECISION_ALLOW", usage
seen = [(u["requester_department"], u["decision"]) for u in usage["usage"]]
assert ("civil_affairs", "DECISION_ALLOW") in seen and ("taxation", "DECISION_DENY") in seen, seen
print("answers ok")
PY

# The saved documents verify offline (the demo ran `datarun verify` on them).
grep -q "valid: certificate .* (real_estate_ownership) of " "$log" ||
  fail "the certificate did not verify"
grep -q "valid: dossier .* (court_case_filing) of " "$log" ||
  fail "the dossier did not verify"
if grep -q "invalid" "$log"; then fail "a document did not verify"; fi

# A real Prometheus scrapes the daemon; its query API must see the ingest.
cat > "$tmp/prometheus.yml" <<PROMCFG
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: datarund
    static_configs:
      - targets: ["127.0.0.1:$metrics_port"]
PROMCFG
promtool check config "$tmp/prometheus.yml" > /dev/null || fail "promtool rejects the config"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
  --web.listen-address="127.0.0.1:$prom_port" > "$tmp/prometheus.log" 2>&1 &
prom_pid=$!
applied=""
for _ in $(seq 1 120); do
  applied=$(python3 - "$prom_port" <<'PY' 2>/dev/null || true
import json, sys, urllib.parse, urllib.request
q = urllib.parse.quote('sum(datarun_ingest_messages_total{job="datarund",result="applied"})')
r = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?query={q}", timeout=2))
res = r["data"]["result"]
print(int(float(res[0]["value"][1])) if res else "")
PY
)
  [[ -n "$applied" ]] && break
  kill -0 "$prom_pid" 2>/dev/null || fail "prometheus exited: $(tail -5 "$tmp/prometheus.log")"
  sleep 0.5
done
[[ "$applied" == "$rows" ]] ||
  fail "Prometheus sees applied=$applied, expected $rows ($(tail -3 "$tmp/prometheus.log"))"
echo "prometheus scraped datarun_ingest_messages_total{result=applied} = $applied"

# SIGTERM stops the demo and its daemon cleanly (a background job ignores
# SIGINT; in a terminal Ctrl-C reaches the daemon directly).
kill -TERM "$demo_pid"
wait "$demo_pid" 2>/dev/null || true
demo_pid=""
if pgrep -f "state_dir=$work/state" > /dev/null; then
  fail "datarund still running after the demo stopped"
fi
