// Audit chain verify benchmark: how fast an auditor verifies a partition's
// hash chain as stored on dr.audit, against raw SHA-256 over the same bytes
// measured in the same run.
//
// The chain is written by the real AuditLog (one partition, every event
// serialized and hashed as the exchange does) into memory in the form
// dr.audit stores it: one serialized ChainLink per record value. Events are
// realistic: the shape the resolver records (request id, requesting
// department and officer, matter, subject, 1-3 disclosed classes with their
// fields and record keys, decision, rule, catalog version, time; one in
// eight on behalf of a proxy agent).
//
// Measured, each over every event, single-threaded (an auditor verifies a
// partition sequentially; partitions are independent):
//   verify        ChainVerifier::AddLinkBytes over the stored record values
//                 (wire-format view of the link, SHA-256(prev || event
//                 bytes), compares, wire-format check of the event) — what
//                 `datarun audit verify` does per record
//   verify_parse  the same with every event parsed as an AuditEvent
//                 (`datarun audit verify --parse_events`)
//   sha256        reference: EVP SHA-256 of exactly prev_hash || event_bytes
//                 per event (the hashing any verifier must do), same buffers
//   sha256_bulk   context: one SHA-256 over all those bytes (GB/s)
// Rates are events per second of thread CPU time (the machine is shared;
// wall-clock rates are printed too).
//
//   bazel build //tests/bench:audit && bazel-bin/tests/bench/audit
//       [--events=1000000] [--rounds=3]
//
// Last line: audit_verify_events_per_s=... sha256_events_per_s=... ratio=...
#include <openssl/evp.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/audit/chain.h"
#include "exchange/audit/chain_verifier.h"
#include "exchange/seal/keyring.h"
#include "proto/datarun/v1/audit.pb.h"

ABSL_FLAG(int64_t, events, 1000000, "events in the chain");
ABSL_FLAG(int, rounds, 3, "rounds of each measurement (best is reported)");

namespace datarun::audit {
namespace {

// Keeps the record values as dr.audit would: contiguous, with offsets.
class StoringSink : public AuditSink {
 public:
  void Write(const datarun::v1::ChainLink& link, AckCallback done) override {
    starts_.push_back(bytes_.size());
    link.AppendToString(&bytes_);
    done(absl::OkStatus());
  }
  size_t size() const { return starts_.size(); }
  absl::string_view value(size_t i) const {
    const size_t end = i + 1 < starts_.size() ? starts_[i + 1] : bytes_.size();
    return absl::string_view(bytes_).substr(starts_[i], end - starts_[i]);
  }
  size_t total_bytes() const { return bytes_.size(); }

 private:
  std::string bytes_;
  std::vector<size_t> starts_;
};

constexpr const char* kDepartments[] = {"human_resources_social_security",
                                        "civil_affairs",
                                        "courts",
                                        "natural_resources",
                                        "housing_fund",
                                        "market_regulation"};
constexpr const char* kMatters[] = {"urban_rural_pension_registration",
                                    "low_income_assistance_application",
                                    "court_case_filing",
                                    "real_estate_transaction_registration",
                                    "housing_fund_withdrawal",
                                    "business_registration"};
constexpr const char* kClasses[] = {
    "household_registration", "real_estate_title",
    "vehicle_registration",   "social_insurance_enrollment",
    "low_income_assistance",  "kinship"};
constexpr const char* kFields[] = {
    "name",       "address", "household_number", "relation_to_head",
    "birth_date", "status",  "title_number",     "area",
    "plate"};

datarun::v1::AuditEvent RealisticEvent(absl::BitGen& rng, int64_t i) {
  datarun::v1::AuditEvent e;
  *e.mutable_time() = google::protobuf::Timestamp();
  e.mutable_time()->set_seconds(1'795'000'000 + i / 50);
  e.mutable_time()->set_nanos(static_cast<int32_t>((i % 50) * 20'000'000));
  e.set_request_id(absl::StrCat(
      "hrss-", absl::Hex(absl::Uniform<uint64_t>(rng)), "-", absl::Hex(i)));
  const int d = absl::Uniform(rng, 0, 6);
  e.set_requester_department(kDepartments[d]);
  e.set_officer_id(
      absl::StrCat(kDepartments[d], "-window-", absl::Uniform(rng, 1, 40)));
  if (i % 8 == 0) {
    e.mutable_on_behalf_of()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
    e.mutable_on_behalf_of()->set_id("330127198001010017");
  }
  e.set_matter(kMatters[d]);
  e.mutable_subject()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  e.mutable_subject()->set_id(
      absl::StrCat("3301061980", absl::Uniform(rng, 10000000, 99999999)));
  e.set_kind(i % 4 == 0 ? datarun::v1::QUERY_KIND_VERIFY
                        : datarun::v1::QUERY_KIND_PROFILE);
  const int classes = absl::Uniform(rng, 1, 4);
  for (int c = 0; c < classes; ++c) {
    auto* dc = e.add_disclosed();
    dc->set_data_class(kClasses[(d + c) % 6]);
    if (e.kind() == datarun::v1::QUERY_KIND_PROFILE) {
      for (int f = 0; f < 4; ++f) dc->add_fields(kFields[(d + c + f) % 9]);
    }
    dc->add_record_keys(absl::StrCat("rk-", absl::Uniform(rng, 0, 1000)));
  }
  e.set_decision(i % 20 == 0 ? datarun::v1::DECISION_DENY
                             : datarun::v1::DECISION_ALLOW);
  e.set_rule(i % 20 == 0 ? "policy.no_agreement"
                         : absl::StrCat("ag_", kMatters[d]));
  e.set_catalog_version("zhejiang-2026.11");
  return e;
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Rate {
  double cpu_per_s = 0;
  double wall_per_s = 0;
};

// Best of `rounds` runs of `fn` (which handles `n` events).
template <typename Fn>
Rate Measure(const char* name, int rounds, int64_t n, Fn fn) {
  Rate best;
  for (int r = 0; r < rounds; ++r) {
    const absl::Time w0 = absl::Now();
    const double c0 = ThreadCpuSeconds();
    fn();
    const double cpu = ThreadCpuSeconds() - c0;
    const double wall = absl::ToDoubleSeconds(absl::Now() - w0);
    std::printf(
        "  %-15s round %d: %.3f s cpu, %.3f s wall: %.0f events/s "
        "(cpu), %.0f (wall)\n",
        name, r, cpu, wall, n / cpu, n / wall);
    best.cpu_per_s = std::max(best.cpu_per_s, n / cpu);
    best.wall_per_s = std::max(best.wall_per_s, n / wall);
  }
  return best;
}

int Main() {
  const int64_t n = absl::GetFlag(FLAGS_events);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  absl::BitGen rng;
  StoringSink sink;
  AuditLogOptions options;
  options.checkpoint_every = 0;
  AuditLog log(&sink, nullptr, nullptr, options);
  const absl::Time g0 = absl::Now();
  const double gc0 = ThreadCpuSeconds();
  for (int64_t i = 0; i < n; ++i) {
    auto link = log.Record(0, RealisticEvent(rng, i));
    if (!link.ok()) {
      std::fprintf(stderr, "%s\n", link.status().ToString().c_str());
      return 1;
    }
  }
  std::printf(
      "chain: %lld events written by AuditLog in %.2f s (%.2f s cpu, "
      "incl. event generation); %.1f MB stored, %.0f B per record\n",
      static_cast<long long>(n), absl::ToDoubleSeconds(absl::Now() - g0),
      ThreadCpuSeconds() - gc0, sink.total_bytes() / 1e6,
      static_cast<double>(sink.total_bytes()) / n);

  // The hash inputs (prev_hash, event_bytes) as views into the stored
  // records, for the references.
  std::vector<std::pair<absl::string_view, absl::string_view>> inputs;
  inputs.reserve(n);
  size_t hashed_bytes = 0;
  {
    datarun::v1::ChainLink link;
    std::string prev = GenesisHash();
    for (int64_t i = 0; i < n; ++i) {
      // Only to locate the fields; verified below.
      absl::string_view v = sink.value(i);
      link.ParseFromArray(v.data(), static_cast<int>(v.size()));
      const size_t at = v.find(link.event_bytes());
      inputs.emplace_back(v.substr(v.find(link.prev_hash()), kHashSize),
                          v.substr(at, link.event_bytes().size()));
      hashed_bytes += kHashSize + link.event_bytes().size();
    }
  }
  std::printf("hash input: %.0f B per event (32 B prev hash + event)\n",
              static_cast<double>(hashed_bytes) / n);

  seal::SealKeyring keyring;
  bool ok = true;
  auto verify = [&](bool parse) {
    ChainVerifyOptions vo;
    vo.parse_events = parse;
    ChainVerifier v(0, keyring, vo);
    for (int64_t i = 0; i < n; ++i) {
      if (!v.AddLinkBytes(sink.value(i), i).ok()) break;
    }
    if (!v.Finish().ok() || v.report().links != static_cast<uint64_t>(n)) {
      std::fprintf(stderr, "verify failed: %s\n",
                   v.status().ToString().c_str());
      ok = false;
    }
  };
  std::printf("measuring (%d rounds each, best kept):\n", rounds);
  const Rate full = Measure("verify", rounds, n, [&] { verify(false); });
  const Rate parse = Measure("verify_parse", rounds, n, [&] { verify(true); });
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  unsigned char sink_byte = 0;
  const Rate sha = Measure("sha256", rounds, n, [&] {
    for (const auto& [prev, event] : inputs) {
      EVP_DigestInit_ex(ctx, sha256, nullptr);
      EVP_DigestUpdate(ctx, prev.data(), prev.size());
      EVP_DigestUpdate(ctx, event.data(), event.size());
      EVP_DigestFinal_ex(ctx, out, &len);
      sink_byte ^= out[0];
    }
  });
  std::string all;
  all.reserve(hashed_bytes);
  for (const auto& [prev, event] : inputs) {
    all.append(prev.data(), prev.size());
    all.append(event.data(), event.size());
  }
  const Rate bulk = Measure("sha256_bulk", rounds, n, [&] {
    EVP_Digest(all.data(), all.size(), out, &len, sha256, nullptr);
    sink_byte ^= out[0];
  });
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(sha256);
  if (!ok) return 1;
  std::printf(
      "verify: %.0f events/s (%.0f wall); with AuditEvent parse %.0f (%.0f "
      "wall)\nsha256 per event: %.0f events/s; bulk sha256 %.2f GB/s "
      "(%.0f events/s)   [%u]\n",
      full.cpu_per_s, full.wall_per_s, parse.cpu_per_s, parse.wall_per_s,
      sha.cpu_per_s, bulk.cpu_per_s * hashed_bytes / n / 1e9, bulk.cpu_per_s,
      sink_byte);
  std::printf(
      "audit_verify_events_per_s=%.0f sha256_events_per_s=%.0f ratio=%.2f "
      "parse_events_per_s=%.0f parse_ratio=%.2f "
      "audit_verify_wall_events_per_s=%.0f target_events_per_s=500000\n",
      full.cpu_per_s, sha.cpu_per_s, full.cpu_per_s / sha.cpu_per_s,
      parse.cpu_per_s, parse.cpu_per_s / sha.cpu_per_s, full.wall_per_s);
  return 0;
}

}  // namespace
}  // namespace datarun::audit

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is a debug build: its deadlock detector would dominate
  // AuditLog's per-event locking while the chain is written.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return datarun::audit::Main();
}
