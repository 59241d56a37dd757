// `datarun audit verify --brokers=HOST:PORT [--catalog=FILE] [--partition=N]
//  [--from_offset=N] [--json] [--parse_events] [--audit_topic=dr.audit]
//  [--checkpoint_topic=dr.audit.checkpoint]`
//
// The auditor's check of the audit trail, from the bus alone: reads every
// sealed checkpoint (dr.audit.checkpoint), then streams every partition of
// dr.audit through audit::ChainVerifier — each link's hash recomputed over
// the stored event bytes, sequence continuity, prev_hash = previous hash —
// (and their well-formed wire format; --parse_events parses each as an
// AuditEvent) and matches each checkpoint's head to the link at its sequence
// after checking its seal against the catalog's keys valid when it was sealed.
// Prints per partition: links, first/last sequence and offset, head hash,
// checkpoints verified, or the first broken link (partition, sequence,
// offset, why). With --from_offset=N (> 0) each partition is verified from
// offset N on, trusting the first link read (a suffix; earlier checkpoints
// are skipped).
//
// Exit 0 when every chain is intact, 1 when a chain is broken (altered,
// removed, reordered or inserted link, forged or unmatched checkpoint), 2 on
// usage errors (flags, catalog), 3 when the bus could not be read.
// "Who used my data" is `datarun query --kind=usage`. See docs/cli.md.
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/audit/chain_verifier.h"
#include "exchange/audit/kafka/audit_bus.h"
#include "exchange/catalog/catalog.h"
#include "exchange/query/topics.h"
#include "exchange/seal/catalog_keys.h"
#include "exchange/seal/keyring.h"
#include "proto/datarun/v1/audit.pb.h"
#include "tools/cli/command.h"
#include "tools/cli/common_flags.h"
#include "tools/cli/json_text.h"

ABSL_FLAG(bool, json, false, "audit verify: print one JSON object");
ABSL_FLAG(bool, parse_events, false,
          "audit verify: also parse every event as an AuditEvent (~4x "
          "slower; the hash already covers the bytes)");
ABSL_FLAG(std::string, audit_topic, datarun::query::kAuditTopic,
          "audit verify: topic of the chain links");
ABSL_FLAG(std::string, checkpoint_topic, datarun::audit::kCheckpointTopic,
          "audit verify: topic of the sealed checkpoints");

namespace datarun::cli {
namespace {

constexpr int kIntact = 0;
constexpr int kBroken = 1;
constexpr int kUsage = 2;
constexpr int kUnreadable = 3;

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::fprintf(stderr,
               "usage: datarun audit verify --brokers=HOST:PORT "
               "[--catalog=FILE] [--partition=N] [--from_offset=N] [--json]\n");
  return kUsage;
}

struct PartitionResult {
  audit::ChainVerifyReport report;
  absl::Status status;
};

std::string Text(const PartitionResult& r) {
  const audit::ChainVerifyReport& rep = r.report;
  std::string out = absl::StrCat("partition ", rep.partition, ": ");
  if (!r.status.ok()) {
    absl::StrAppend(&out, "BROKEN at sequence ", rep.broken_sequence,
                    ", offset ", rep.broken_offset, ": ", r.status.message(),
                    " (", rep.links, " links verified before it)");
    return out;
  }
  if (rep.links == 0) {
    absl::StrAppend(&out, "no links");
  } else {
    absl::StrAppend(&out, "intact, ", rep.links, " links, sequence ",
                    rep.first_sequence, "..", rep.last_sequence, ", offsets ",
                    rep.first_offset, "..", rep.last_offset, ", head ",
                    absl::BytesToHexString(rep.head_hash));
  }
  absl::StrAppend(&out, ", ", rep.checkpoints_verified,
                  " sealed checkpoints verified");
  if (rep.checkpoints_skipped > 0) {
    absl::StrAppend(&out, " (", rep.checkpoints_skipped,
                    " before --from_offset skipped)");
  }
  return out;
}

std::string Json(const PartitionResult& r) {
  const audit::ChainVerifyReport& rep = r.report;
  std::string out =
      absl::StrCat("{\"partition\":", rep.partition,
                   ",\"intact\":", r.status.ok() ? "true" : "false",
                   ",\"links\":", rep.links);
  if (rep.links > 0) {
    absl::StrAppend(&out, ",\"first_sequence\":", rep.first_sequence,
                    ",\"last_sequence\":", rep.last_sequence,
                    ",\"first_offset\":", rep.first_offset,
                    ",\"last_offset\":", rep.last_offset);
  }
  absl::StrAppend(
      &out, ",\"head_hash\":", JsonQuote(absl::BytesToHexString(rep.head_hash)),
      ",\"checkpoints_verified\":", rep.checkpoints_verified,
      ",\"checkpoints_skipped\":", rep.checkpoints_skipped);
  if (!r.status.ok()) {
    absl::StrAppend(&out, ",\"broken\":{\"sequence\":", rep.broken_sequence,
                    ",\"offset\":", rep.broken_offset,
                    ",\"reason\":", JsonQuote(r.status.message()), "}");
  }
  return out + "}";
}

int RunAuditVerify(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return UsageError(absl::StrCat("unexpected argument '", args[0], "'"));
  }
  const std::string brokers = absl::GetFlag(FLAGS_brokers);
  if (brokers.empty()) return UsageError("--brokers is required");
  const int32_t only = absl::GetFlag(FLAGS_partition);
  if (only < -1) return UsageError("--partition must be >= 0 (or -1 for all)");
  const int64_t from_offset = absl::GetFlag(FLAGS_from_offset);
  if (from_offset < 0) return UsageError("--from_offset must be >= 0");
  auto catalog = catalog::LoadCatalog(absl::GetFlag(FLAGS_catalog));
  if (!catalog.ok()) return UsageError(catalog.status().ToString());
  seal::SealKeyring keyring;
  if (absl::Status st = seal::AddCatalogKeys(*catalog, &keyring); !st.ok()) {
    return UsageError(absl::StrCat("--catalog: ", st.ToString()));
  }
  broker::KafkaConfig config;
  config.bootstrap = brokers;
  auto bus = broker::NewKafkaBroker(config);
  if (!bus.ok()) return UsageError(bus.status().ToString());
  auto unreadable = [](const absl::Status& st) {
    std::fprintf(stderr, "error: %s\n", st.ToString().c_str());
    return kUnreadable;
  };

  const std::string checkpoint_topic = absl::GetFlag(FLAGS_checkpoint_topic);
  const std::string audit_topic = absl::GetFlag(FLAGS_audit_topic);
  // One reader (one consumer group join) for both topics.
  auto reader = audit::AuditTopicsReader::Create(
      bus->get(), {checkpoint_topic, audit_topic});
  if (!reader.ok()) return unreadable(reader.status());
  audit::ReadAuditOptions ro;
  ro.partition = only;
  // Checkpoints: all of them (few), whatever --from_offset says.
  std::map<int32_t,
           std::vector<std::pair<datarun::v1::SealedCheckpoint, int64_t>>>
      checkpoints;
  std::map<int32_t, PartitionResult> results;
  absl::Status st =
      (*reader)->Read(checkpoint_topic, ro, [&](const audit::AuditRecord& r) {
        datarun::v1::SealedCheckpoint cp;
        if (!cp.ParseFromString(*r.value) || cp.partition() != r.partition) {
          PartitionResult& bad = results[r.partition];
          if (bad.status.ok()) {
            bad.report.partition = r.partition;
            bad.report.broken_offset = r.offset;
            bad.status = absl::DataLossError(absl::StrCat(
                checkpoint_topic, "[", r.partition, "] offset ", r.offset,
                " is not a sealed checkpoint of this partition (record "
                "altered)"));
          }
          return absl::OkStatus();
        }
        checkpoints[r.partition].emplace_back(std::move(cp), r.offset);
        return absl::OkStatus();
      });
  if (absl::IsNotFound(st)) {
    std::fprintf(stderr,
                 "warning: %s: no sealed checkpoints to verify, so links cut "
                 "off the end of a chain cannot be detected\n",
                 st.ToString().c_str());
  } else if (absl::IsInvalidArgument(st)) {
    return UsageError(st.message());
  } else if (!st.ok()) {
    return unreadable(st);
  }

  audit::ChainVerifyOptions vo;
  vo.from_genesis = from_offset == 0;
  vo.parse_events = absl::GetFlag(FLAGS_parse_events);
  std::map<int32_t, std::unique_ptr<audit::ChainVerifier>> verifiers;
  auto verifier = [&](int32_t p) -> audit::ChainVerifier& {
    auto& v = verifiers[p];
    if (v == nullptr) {
      v = std::make_unique<audit::ChainVerifier>(p, keyring, vo);
      for (const auto& [cp, offset] : checkpoints[p]) {
        if (!v->AddCheckpoint(cp, offset).ok()) break;
      }
    }
    return *v;
  };
  ro.from_offset = from_offset;
  int32_t partitions = 0;
  st = (*reader)->Read(
      audit_topic, ro,
      [&](const audit::AuditRecord& r) {
        // A broken chain stays broken; the rest of it is not checked.
        verifier(r.partition).AddLinkBytes(*r.value, r.offset).IgnoreError();
        return absl::OkStatus();
      },
      &partitions);
  if (absl::IsInvalidArgument(st)) return UsageError(st.message());
  if (!st.ok()) return unreadable(st);
  for (int32_t p = 0; p < partitions; ++p) {
    if (only >= 0 && p != only) continue;
    audit::ChainVerifier& v = verifier(p);
    v.Finish().IgnoreError();
    PartitionResult& r = results[p];
    if (r.status.ok()) {
      r.report = v.report();
      r.status = v.status();
    }
  }

  bool intact = true;
  uint64_t links = 0, verified = 0;
  for (const auto& [p, r] : results) {
    intact = intact && r.status.ok();
    links += r.report.links;
    verified += r.report.checkpoints_verified;
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::string out = absl::StrCat(
        "{\"intact\":", intact ? "true" : "false", ",\"links\":", links,
        ",\"checkpoints_verified\":", verified, ",\"partitions\":[");
    bool first = true;
    for (const auto& [p, r] : results) {
      if (!first) out += ",";
      first = false;
      out += Json(r);
    }
    std::printf("%s]}\n", out.c_str());
  } else {
    for (const auto& [p, r] : results) std::printf("%s\n", Text(r).c_str());
    std::printf(
        "audit chain %s: %zu partitions, %llu links, %llu sealed "
        "checkpoints verified\n",
        intact ? "intact" : "BROKEN", results.size(),
        static_cast<unsigned long long>(links),
        static_cast<unsigned long long>(verified));
  }
  return intact ? kIntact : kBroken;
}

}  // namespace

DATARUN_REGISTER_COMMAND(
    "audit verify",
    "Verify the audit hash chains on dr.audit and their sealed checkpoints",
    RunAuditVerify);

}  // namespace datarun::cli
