#!/usr/bin/env bash
# The single-node demo behind tools/quickstart: one exchange daemon with its
# embedded Kafka-protocol cluster, 14 demo departments publishing synthetic
# data through datarun-connect, and a few questions asked over the bus the
# way department systems ask them.
#
# Usage: tools/demo/demo.sh --bin_dir=DIR [--work_dir=DIR] [--citizens=N]
#            [--companies=M] [--metrics_port=P] [--once]
#   --bin_dir    directory holding exchange/datarund, tools/datarun and
#                connectors/datarun-connect (bazel-bin, or a test's runfiles)
#   --work_dir   where keys, catalog, data, state and logs go
#                (default .quickstart under the current directory); it is
#                emptied first: the embedded cluster starts empty every time
#   --once       stop the daemon after the demo instead of serving until
#                Ctrl-C (tests)
# Called by tools/quickstart and by //tests/quickstart:demo_test.
set -euo pipefail

bin_dir=""
work_dir="$PWD/.quickstart"
citizens=2000
companies=200
metrics_port=9464
once=0
catalog_src=""
for arg in "$@"; do
  case "$arg" in
    --bin_dir=*) bin_dir="${arg#*=}" ;;
    --work_dir=*) work_dir="${arg#*=}" ;;
    --citizens=*) citizens="${arg#*=}" ;;
    --companies=*) companies="${arg#*=}" ;;
    --metrics_port=*) metrics_port="${arg#*=}" ;;
    --catalog=*) catalog_src="${arg#*=}" ;;
    --once) once=1 ;;
    *) echo "demo: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done
if [[ -z "$bin_dir" ]]; then
  echo "demo: --bin_dir is required" >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -n "$catalog_src" ]] || catalog_src="$here/../../exchange/catalog/zhejiang.textproto"
datarund="$bin_dir/exchange/datarund"
datarun="$bin_dir/tools/datarun"
connect="$bin_dir/connectors/datarun-connect"
for b in "$datarund" "$datarun" "$connect"; do
  [[ -x "$b" ]] || { echo "demo: missing binary $b (build it first)" >&2; exit 2; }
done
[[ -r "$catalog_src" ]] || { echo "demo: cannot read catalog $catalog_src" >&2; exit 2; }
[[ "$metrics_port" =~ ^[0-9]+$ ]] || { echo "demo: --metrics_port must be a number" >&2; exit 2; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

rm -rf "$work_dir"
mkdir -p "$work_dir"/{keys,connect,drop,logs}
work_dir="$(cd "$work_dir" && pwd)"

daemon_pid=""
stop_daemon() {
  if [[ -n "$daemon_pid" ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  daemon_pid=""
}
trap stop_daemon EXIT
trap 'exit 130' INT TERM

step "1/6 Seal keys for every department (SM2 with SM3) and the demo catalog"
departments=$(python3 "$here/catalog_tool.py" departments "$catalog_src")
for d in $departments; do
  "$datarun" keygen --department="$d" --algorithm=sm2 --out="$work_dir/keys" \
    > "$work_dir/keys/$d.catalog-entry" 2> "$work_dir/logs/keygen.log" ||
    die "keygen for $d failed: $(cat "$work_dir/logs/keygen.log")"
done
python3 "$here/catalog_tool.py" add-keys "$catalog_src" "$work_dir/keys" \
  > "$work_dir/catalog.textproto"
"$datarun" catalog check "$work_dir/catalog.textproto" | sed 's/^/  /'

step "2/6 Synthetic data: $citizens citizens, $companies companies, as of today"
"$datarun" gen --citizens="$citizens" --companies="$companies" --seed=7 \
  --as_of=today --out="$work_dir/data" | sed 's/^/  /'

step "3/6 The exchange daemon with its embedded Kafka-protocol cluster"
printf 'session.timeout.ms=6000\n' > "$work_dir/kafka.properties"
"$datarund" --embedded_kafka --bootstrap_file="$work_dir/bootstrap" \
  --state_dir="$work_dir/state" --catalog="$work_dir/catalog.textproto" \
  --partitions=4 --ready_file="$work_dir/ready" \
  --status_file="$work_dir/status" --metrics_port="$metrics_port" \
  --metrics_bind=127.0.0.1 --kafka_properties="$work_dir/kafka.properties" \
  --keys="$work_dir/keys" --serve_queries > "$work_dir/logs/datarund.log" 2>&1 &
daemon_pid=$!
echo "  datarund pid $daemon_pid, log $work_dir/logs/datarund.log"
echo "  creating the catalog's topics takes ~0.3 s each in the mock cluster..."
for _ in $(seq 1 1200); do
  [[ -s "$work_dir/ready" ]] && break
  kill -0 "$daemon_pid" 2>/dev/null ||
    die "datarund exited: $(tail -5 "$work_dir/logs/datarund.log")"
  sleep 0.1
done
[[ -s "$work_dir/ready" ]] || die "datarund not ready after 120 s"
brokers=$(cat "$work_dir/bootstrap")
echo "  ready: Kafka bootstrap $brokers, metrics http://127.0.0.1:$metrics_port/metrics"

step "4/6 Departments publish through datarun-connect (one connector per data class)"
python3 "$here/catalog_tool.py" connectors "$work_dir/data/manifest.json" \
  "$work_dir" "$brokers" > "$work_dir/connect/list"
expected=0
pids=()
while read -r name rows; do
  "$connect" --config="$work_dir/connect/$name.textproto" --exit_when_idle \
    > "$work_dir/logs/connect.$name.log" 2>&1 &
  pids+=($!)
  expected=$((expected + rows))
  if ((${#pids[@]} >= 8)); then
    for p in "${pids[@]}"; do wait "$p" || die "connector failed, see $work_dir/logs"; done
    pids=()
  fi
done < "$work_dir/connect/list"
for p in "${pids[@]}"; do wait "$p" || die "connector failed, see $work_dir/logs"; done
published=$(cat "$work_dir"/logs/connect.*.log | sed -n 's/.*published=\([0-9]*\).*/\1/p' |
  awk '{s += $1} END {print s + 0}')
dlq=$(cat "$work_dir"/logs/connect.*.log | sed -n 's/.*dlq=\([0-9]*\).*/\1/p' |
  awk '{s += $1} END {print s + 0}')
echo "  $(wc -l < "$work_dir/connect/list") connectors: $published records published, $dlq to the DLQ (of $expected rows)"

echo "  waiting for the exchange to apply them..."
status_field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$work_dir/status" 2>/dev/null; }
for _ in $(seq 1 600); do
  seen=$(status_field messages)
  [[ -n "$seen" && "$seen" -ge "$published" ]] && break
  sleep 0.2
done
echo "  exchange status: $(cat "$work_dir/status")"

step "5/6 Questions over the bus, as department systems ask them"
python3 "$here/catalog_tool.py" scenario "$work_dir/data" > "$work_dir/scenario"
# shellcheck disable=SC1091
source "$work_dir/scenario"
ask() {
  local title="$1"
  shift
  echo
  echo "  -- $title"
  echo "     datarun query $*" | sed "s#$work_dir#\$W#g"
  local out
  if ! out=$("$datarun" query --brokers="$brokers" --keys="$work_dir/keys" \
      --catalog="$work_dir/catalog.textproto" "$@" 2> "$work_dir/logs/query.err"); then
    echo "     FAILED: $(cat "$work_dir/logs/query.err")"
    return 1
  fi
  printf '%s\n' "$out" >> "$work_dir/answers.jsonl"
  printf '%s\n' "$out" | python3 "$here/catalog_tool.py" summarize | sed 's/^/     /'
}
: > "$work_dir/answers.jsonl"
ask "A village agent (代办员) registers an elderly citizen for urban-rural resident pension insurance; no paper household booklet needed" \
  --as=human_resources_social_security --matter=urban_rural_pension_registration \
  --subject="$PROXY_SUBJECT" --on_behalf_of="$PROXY_AGENT" --officer=hrss-window-01
ask "Civil affairs checks a low-income applicant: does the applicant own a vehicle? (yes/no, no payload)" \
  --as=civil_affairs --matter=low_income_assistance_application \
  --subject="$CONSENT_SUBJECT" --kind=verify --predicate=owns_vehicle --officer=ca-window-03
ask "The same check asked by a department without an agreement for the matter is denied, and the denial names the rule" \
  --as=taxation --matter=low_income_assistance_application \
  --subject="$CONSENT_SUBJECT" --kind=verify --predicate=owns_vehicle --officer=tax-07
ask "A court files a case: is the defendant the legal representative of an enterprise?" \
  --as=courts --matter=court_case_filing --subject="$REPRESENTATIVE" \
  --kind=verify --predicate=is_legal_representative_of --param=enterprise_id="$ENTERPRISE" \
  --officer=court-clerk-12
ask "The court asks for a sealed real-estate ownership certificate (不动产权属证明) of the defendant, issued by natural resources" \
  --as=courts --matter=court_case_filing --subject="$REPRESENTATIVE" \
  --kind=certificate --template=real_estate_ownership --officer=court-clerk-12 \
  --out="$work_dir/certificate.bin"
echo "     datarun verify --certificate=\$W/certificate.bin (offline: seal, key validity, expiry, revocation)"
"$datarun" verify --certificate="$work_dir/certificate.bin" \
  --catalog="$work_dir/catalog.textproto" 2>&1 | sed 's/^/     /'
ask "Court filing in minutes: one sealed dossier of the defendant (household, vehicles, real estate, enterprise roles, each with provenance)" \
  --as=courts --matter=court_case_filing --subject="$REPRESENTATIVE" \
  --kind=dossier --officer=court-clerk-12 --out="$work_dir/dossier.bin"
echo "     datarun verify --dossier=\$W/dossier.bin"
"$datarun" verify --dossier="$work_dir/dossier.bin" \
  --catalog="$work_dir/catalog.textproto" 2>&1 | sed 's/^/     /'
ask "The citizen asks who used their data (every access, allowed or denied)" \
  --kind=usage --subject="$CONSENT_SUBJECT"

step "6/6 Done"
cat <<EOF
  Work directory: $work_dir (keys, catalog.textproto, data, state, logs)
  Kafka bootstrap: $brokers   (any client works: kcat -b $brokers -L)
  Metrics:         http://127.0.0.1:$metrics_port/metrics
  Ask your own questions, e.g.:
    $datarun query --brokers=$brokers --keys=$work_dir/keys \\
        --as=human_resources_social_security --matter=urban_rural_pension_registration \\
        --subject=$PROXY_SUBJECT --on_behalf_of=$PROXY_AGENT
EOF
if ((once)); then
  stop_daemon
  echo "  datarund stopped."
  exit 0
fi
echo "  The exchange keeps serving; Ctrl-C stops it."
wait "$daemon_pid"
