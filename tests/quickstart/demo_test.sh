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

# The DESIGN §7 metrics read from the state and the broker: per-department
# outcomes add up to every row (this daemon applied them all), nothing for
# an unknown department, the lag drains to 0 (refreshed every 5 s), the
# state has a size, and the checkpoint gauges exist for every partition.
python3 - "$prom_port" "$rows" "$runfiles/exchange/catalog/zhejiang.textproto" <<'PY' ||
import json, re, sys, time, urllib.parse, urllib.request
port, rows, catalog = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read()
def query(q):
    url = f"http://127.0.0.1:{port}/api/v1/query?query={urllib.parse.quote(q)}"
    res = json.load(urllib.request.urlopen(url, timeout=2))["data"]["result"]
    return {tuple(sorted((k, v) for k, v in r["metric"].items() if k not in ("job", "instance"))):
            float(r["value"][1]) for r in res}
def one(q):
    r = query(q)
    assert len(r) == 1, f"{q}: {r}"
    return next(iter(r.values()))
by_dept = query('sum by (department) (datarun_ingest_records_total{job="datarund",outcome="applied"})')
total = sum(by_dept.values())
assert total == rows, f"per-department applied sum {total}, expected {rows}: {by_dept}"
busy = {k[0][1] for k, v in by_dept.items() if v > 0}
assert "unknown" not in busy and len(busy) >= 5, f"departments with records: {busy}"
n_dept = len(re.findall(r"^departments \{", catalog, re.M))
assert len(by_dept) == n_dept + 1, f"{len(by_dept)} department series, catalog has {n_dept} (+unknown)"
assert one('sum(datarun_ingest_records_total{job="datarund",outcome="rejected"})') == 0
deadline = time.time() + 30
while True:
    lag = query('datarun_ingest_lag_records{job="datarund"}')
    if len(lag) == n_dept + 1 and sum(lag.values()) == 0:
        break
    assert time.time() < deadline, f"ingest lag did not drain to 0: {lag}"
    time.sleep(1)
size = one('datarun_state_memtable_bytes{job="datarund"} + datarun_state_sst_files_bytes{job="datarund"}')
assert size > 0, f"state size {size}"
assert one('datarun_state_block_cache_capacity_bytes{job="datarund"}') > 0
assert one('datarun_state_block_cache_usage_bytes{job="datarund"}') > 0
seq = query('datarun_audit_checkpoint_sequence{job="datarund"}')
ts = query('datarun_audit_checkpoint_timestamp_seconds{job="datarund"}')
assert len(seq) >= 1 and len(seq) == len(ts), f"checkpoint gauges: {seq} {ts}"
assert all(v >= -1 for v in seq.values()), seq
print(f"prometheus: {len(busy)} departments, {int(total)} records, lag 0, state {int(size)} bytes, "
      f"{len(seq)} checkpoint partitions")
PY
  fail "the DESIGN §7 metrics are not what the demo did"

# SIGTERM stops the demo and its daemon cleanly (a background job ignores
# SIGINT; in a terminal Ctrl-C reaches the daemon directly).
kill -TERM "$demo_pid"
wait "$demo_pid" 2>/dev/null || true
demo_pid=""
if pgrep -f "state_dir=$work/state" > /dev/null; then
  fail "datarund still running after the demo stopped"
fi
