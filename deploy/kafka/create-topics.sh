#!/usr/bin/env bash
# Creates every dr.* topic of a datarun catalog on a real Kafka cluster, all
# with ONE partition count (co-partitioning: partition p of every data
# topic, of dr.query.req and of dr.audit belongs to one exchange instance),
# replication factor 3 and the per-topic configs of topics.py. Idempotent:
# existing topics are left in place, their configs brought to what topics.py
# says, and their partition count checked (a different count is an error,
# never "fixed": adding partitions moves subjects to other partitions and
# silently splits their records from their state).
#
#   create-topics.sh --bootstrap=HOST:PORT --command-config=admin.properties \
#       --catalog=catalog.textproto --partitions=N [--replication-factor=3]
#
# Needs kafka-topics.sh and kafka-configs.sh on PATH (or KAFKA_BIN=dir) and
# python3. Run it as the admin principal (a super user) before the first
# datarund or connector starts: auto.create.topics.enable=false, and
# datarund itself only checks that its topics exist with --partitions.
# Add topics after a catalog change by running it again with the new
# catalog and the SAME --partitions.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bootstrap="" command_config="" catalog="" partitions="" replication=3
for arg in "$@"; do
  case "$arg" in
    --bootstrap=*) bootstrap="${arg#*=}" ;;
    --command-config=*) command_config="${arg#*=}" ;;
    --catalog=*) catalog="${arg#*=}" ;;
    --partitions=*) partitions="${arg#*=}" ;;
    --replication-factor=*) replication="${arg#*=}" ;;
    *) echo "create-topics.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done
for need in bootstrap command_config catalog partitions; do
  if [[ -z "${!need}" ]]; then
    echo "create-topics.sh: --${need//_/-} is required" >&2
    exit 2
  fi
done
if ! [[ "$partitions" =~ ^[1-9][0-9]*$ ]]; then
  echo "create-topics.sh: --partitions=$partitions is not a positive number" >&2
  exit 2
fi

bin="${KAFKA_BIN:+$KAFKA_BIN/}"
topics_cmd=("${bin}kafka-topics.sh" --bootstrap-server "$bootstrap" --command-config "$command_config")
configs_cmd=("${bin}kafka-configs.sh" --bootstrap-server "$bootstrap" --command-config "$command_config")

list="$(python3 "$here/topics.py" "$catalog")"
existing="$("${topics_cmd[@]}" --list)"

created=0 kept=0 failed=0
while IFS=$'\t' read -r name kind configs; do
  if grep -qxF -- "$name" <<<"$existing"; then
    kept=$((kept + 1))
  else
    config_args=()
    IFS=',' read -ra pairs <<<"$configs"
    for kv in "${pairs[@]}"; do config_args+=(--config "$kv"); done
    "${topics_cmd[@]}" --create --if-not-exists --topic "$name" \
      --partitions "$partitions" --replication-factor "$replication" \
      "${config_args[@]}"
    created=$((created + 1))
  fi
  # Converge configs on existing topics too (retention changes, etc.).
  "${configs_cmd[@]}" --alter --entity-type topics --entity-name "$name" \
    --add-config "$configs" >/dev/null
  count="$("${topics_cmd[@]}" --describe --topic "$name" |
    sed -n 's/.*PartitionCount:[[:space:]]*\([0-9]*\).*/\1/p' | head -1)"
  if [[ "$count" != "$partitions" ]]; then
    echo "create-topics.sh: topic $name ($kind) has ${count:-no} partitions," \
      "wanted $partitions: co-partitioning needs one count for every dr.* topic" >&2
    failed=$((failed + 1))
  fi
done <<<"$list"

echo "create-topics.sh: $created created, $kept already there," \
  "$failed with the wrong partition count (wanted $partitions)"
[[ $failed -eq 0 ]]
