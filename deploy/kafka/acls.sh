#!/usr/bin/env bash
# Kafka ACLs for datarun (the brokers run StandardAuthorizer with
# allow.everyone.if.no.acl.found=false: whatever is not granted here is
# denied). Principals are SCRAM users:
#   User:<department id>  one per catalog department: its connectors
#                         (datarun-connect) and its query clients
#   User:exchange         every datarund instance
#   User:auditor          auditors (`datarun query --kind=usage`, chain
#                         verification)
#
#   acls.sh --bootstrap=HOST:PORT --command-config=admin.properties \
#       --catalog=catalog.textproto [--exchange=exchange] [--auditor=auditor]
#
# Idempotent (kafka-acls.sh --add of an existing ACL is a no-op). Needs
# kafka-acls.sh on PATH (or KAFKA_BIN=dir) and python3. Consumer group names
# follow the code: QueryClient "<client_id>-<dept>-<random>" with client_id
# "datarun-query-client" (SDK default) or "datarun-cli" (the CLI); datarund
# "--group_id" (datarun-exchange) plus per-process groups
# "datarun-query-datarund-*", "datarun-ingest-gate-*", "datarun-audit-heads-*";
# audit readers "datarun-audit-reader-*"; revocation readers
# "datarun-revocations-*".
# Idempotent producers need only WRITE on a topic since Kafka 3.0 (KIP-679),
# so no cluster-level IdempotentWrite is granted.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bootstrap="" command_config="" catalog="" exchange="exchange" auditor="auditor"
group_id="datarun-exchange"
for arg in "$@"; do
  case "$arg" in
    --bootstrap=*) bootstrap="${arg#*=}" ;;
    --command-config=*) command_config="${arg#*=}" ;;
    --catalog=*) catalog="${arg#*=}" ;;
    --exchange=*) exchange="${arg#*=}" ;;
    --auditor=*) auditor="${arg#*=}" ;;
    --group_id=*) group_id="${arg#*=}" ;;
    *) echo "acls.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done
for need in bootstrap command_config catalog; do
  if [[ -z "${!need}" ]]; then
    echo "acls.sh: --${need//_/-} is required" >&2
    exit 2
  fi
done

bin="${KAFKA_BIN:+$KAFKA_BIN/}"
acl() {  # acl PRINCIPAL OPERATIONS(comma) RESOURCE-TYPE NAME [prefixed]
  local principal=$1 ops=$2 type=$3 name=$4 pattern=${5:-literal}
  local op_args=()
  IFS=',' read -ra list <<<"$ops"
  for op in "${list[@]}"; do op_args+=(--operation "$op"); done
  "${bin}kafka-acls.sh" --bootstrap-server "$bootstrap" \
    --command-config "$command_config" --add \
    --allow-principal "User:$principal" "${op_args[@]}" \
    "--$type" "$name" --resource-pattern-type "$pattern" >/dev/null
}

departments="$(python3 "$here/topics.py" --departments "$catalog")"
n=0
while read -r dept; do
  # Publish its own classes only (the exchange also rejects a record whose
  # topic department is not the class's authoritative source; this stops
  # it at the broker). The trailing dot keeps "credit" from matching
  # "credit_x".
  acl "$dept" Write,Describe topic "dr.data.$dept." prefixed
  # Connectors send bad rows to the department's own DLQ.
  acl "$dept" Write,Describe topic "dr.dlq.$dept"
  # Ask the exchange; read only its own answers.
  acl "$dept" Write,Describe topic dr.query.req
  acl "$dept" Read,Describe topic "dr.query.resp.$dept"
  acl "$dept" Read group "datarun-query-client-$dept-" prefixed
  acl "$dept" Read group "datarun-cli-$dept-" prefixed
  # Certificate revocations: any department publishes (verification only
  # honours a revocation by the certificate's own issuer) and reads them.
  acl "$dept" Write,Read,Describe topic dr.cert.revoked
  acl "$dept" Read group datarun-revocations- prefixed
  n=$((n + 1))
done <<<"$departments"

# The exchange: consume every data topic and the requests, answer every
# department, write the audit trail (and read it back to continue the
# chains after a restart), reject into the DLQs. Describe on dr.* lets
# datarund check its topics (it never creates them here: no Create ACL).
acl "$exchange" Read,Describe topic dr.data. prefixed
acl "$exchange" Read,Describe topic dr.query.req
acl "$exchange" Write,Describe topic dr.query.resp. prefixed
acl "$exchange" Write,Read,Describe topic dr.audit prefixed
acl "$exchange" Write,Describe topic dr.dlq. prefixed
acl "$exchange" Describe topic dr. prefixed
acl "$exchange" Read group "$group_id"
acl "$exchange" Read group datarun-query-datarund- prefixed
acl "$exchange" Read group datarun-ingest-gate- prefixed
acl "$exchange" Read group datarun-audit-heads- prefixed

# Auditors: read the audit trail and its sealed checkpoints, nothing else.
acl "$auditor" Read,Describe topic dr.audit prefixed
acl "$auditor" Read group datarun-audit-reader- prefixed

echo "acls.sh: ACLs for $n departments, User:$exchange and User:$auditor"
