// Benchmark: in-process resolver PROFILE queries on N subjects in RocksDB
// (policy with the shipped catalog, field masking, provenance, and the audit
// hash chain with an immediately acknowledging sink), against raw RocksDB
// cached Gets on the same store measured in the same run.
//
//   bazel build -c opt //tests/bench:query
//   bazel-bin/tests/bench/query --subjects=1000000 --threads=2 --seconds=5
//
// Phases: generate and bulk-load the subjects (ApplyBatch, no fsync),
// flush, warm the cache with one pass of raw Gets, then measure for
// --seconds each: raw Get, profile (requester authenticated by the
// transport, policy.verify_signatures=false) and profile with an Ed25519
// request signature verified per request. Each phase also reports the
// process CPU time per call (all threads): on this shared machine the rate
// moves with the neighbours' load, the CPU a call costs much less, and
// 100k answers/s on two cores needs at most 20 us of it. The binary links
// tcmalloc, as the daemon should (docs/benchmarks.md). Last line:
//   profile_per_s=... profile_p99_us=... signed_profile_per_s=...
//   signed_profile_p99_us=... raw_get_per_s=... subjects=...
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/policy/catalog_overlay.h"
#include "exchange/policy/policy.h"
#include "exchange/resolver/resolver.h"
#include "exchange/seal/catalog_keys.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/keyring.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "exchange/subject/subject_id.h"
#include "proto/datarun/v1/departments/public_security.pb.h"
#include "tests/bench/closed_loop.h"

ABSL_FLAG(int, subjects, 1000000, "citizens to load");
ABSL_FLAG(int, threads, 2, "query threads");
ABSL_FLAG(double, seconds, 5, "measuring time per phase");
ABSL_FLAG(int, partitions, 8, "state partitions");
ABSL_FLAG(bool, signed_phase, true,
          "also measure with per-request Ed25519 signature verification");
ABSL_FLAG(bool, cache_stats, false,
          "count block cache hits and misses per phase (RocksDB statistics "
          "tickers: a little CPU on every block lookup, so off by default)");
ABSL_FLAG(std::string, dir, "", "state directory (default: a new one in /tmp)");
ABSL_FLAG(std::string, base_catalog, "exchange/catalog/zhejiang.textproto",
          "base catalog");
ABSL_FLAG(std::string, matters, "",
          "optional overlay of matters, agreements and predicates (default: "
          "the base catalog's own)");

namespace {

using datarun::v1::QueryRequest;
using datarun::v1::Record;
namespace dep = datarun::v1::departments;

constexpr char kMatter[] = "court_case_filing";
constexpr char kRequester[] = "courts";

// Acknowledges at once and keeps nothing: the chain hashing and event
// serialization stay in the measurement, the bus write does not.
class CountingSink : public datarun::audit::AuditSink {
 public:
  void Write(const datarun::v1::ChainLink&,
             datarun::audit::AckCallback done) override {
    count_.fetch_add(1, std::memory_order_relaxed);
    done(absl::OkStatus());
  }
  uint64_t count() const { return count_.load(); }

 private:
  std::atomic<uint64_t> count_{0};
};

int32_t PartitionOf(absl::string_view id, int partitions) {
  uint32_t h = 2166136261u;
  for (char c : id) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return static_cast<int32_t>(h % static_cast<uint32_t>(partitions));
}

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

void Die(const absl::Status& st, const char* what) {
  if (st.ok()) return;
  fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
  exit(1);
}

using Result = datarun::bench::LoopResult;

// Process CPU time (every thread), microseconds.
double ProcessCpuUs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// A closed-loop phase and the process CPU time per successful call it took.
struct Phase {
  Result loop;
  double cpu_us_per_op = 0;
};

template <typename Op>
Phase Measure(int threads, double seconds, Op op) {
  const double cpu = ProcessCpuUs();
  Phase p;
  p.loop = datarun::bench::RunClosedLoops(threads, seconds, op);
  if (p.loop.n > 0) p.cpu_us_per_op = (ProcessCpuUs() - cpu) / p.loop.n;
  return p;
}

// What the store holds and how much of it the block cache holds, and the
// cache's hits and misses since `before` (with --cache_stats): a "cached
// Get" reference means little if the data blocks do not fit.
void PrintStorage(const char* when,
                  const datarun::state::RocksDbStateStore& store,
                  datarun::state::StorageStats* before) {
  const datarun::state::StorageStats st = store.Storage();
  const uint64_t hits = st.block_cache_hits - before->block_cache_hits;
  const uint64_t misses = st.block_cache_misses - before->block_cache_misses;
  printf(
      "storage %s: sst %.0f MiB, memtables %.0f MiB, block cache %.0f of "
      "%.0f MiB",
      when, st.sst_files_bytes / 1048576.0, st.memtable_bytes / 1048576.0,
      st.block_cache_usage_bytes / 1048576.0,
      st.block_cache_capacity_bytes / 1048576.0);
  if (hits + misses > 0) {
    printf(", %llu hits, %llu misses (%.2f%% misses)",
           static_cast<unsigned long long>(hits),
           static_cast<unsigned long long>(misses),
           100.0 * misses / (hits + misses));
  }
  printf("\n");
  *before = st;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil is built without NDEBUG, so every Mutex acquisition
  // updates a global lock graph unless this is turned off (as the daemon
  // should in production).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const int n = absl::GetFlag(FLAGS_subjects);
  const int threads = absl::GetFlag(FLAGS_threads);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const int partitions = absl::GetFlag(FLAGS_partitions);
  std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) dir = absl::StrCat("/tmp/datarun-query-bench-", getpid());
  const absl::Time now = absl::Now();

  // Catalog with a fresh Ed25519 seal key for the courts.
  auto base = datarun::catalog::LoadCatalog(absl::GetFlag(FLAGS_base_catalog));
  Die(base.status(), "base catalog");
  absl::StatusOr<datarun::v1::Catalog> merged = *base;
  if (const std::string matters = absl::GetFlag(FLAGS_matters);
      !matters.empty()) {
    FILE* f = fopen(matters.c_str(), "r");
    if (f == nullptr) {
      fprintf(stderr, "cannot open %s (run from the repository root)\n",
              matters.c_str());
      return 1;
    }
    std::string text;
    char buf[65536];
    for (size_t k; (k = fread(buf, 1, sizeof(buf), f)) > 0;) {
      text.append(buf, k);
    }
    fclose(f);
    merged = datarun::policy::OverlayCatalog(*base, text, "matters");
    Die(merged.status(), "overlay");
  }
  datarun::seal::KeyStore keys(dir + "-keys");
  auto pair = keys.Generate(kRequester, "courts-bench",
                            datarun::seal::SealAlgorithm::kEd25519);
  Die(pair.status(), "keygen");
  auto signer = keys.LoadSigner(kRequester, "courts-bench");
  Die(signer.status(), "signer");
  for (auto& d : *merged->mutable_departments()) {
    if (d.id() != kRequester) continue;
    auto* k = d.add_seal_keys();
    k->set_key_id("courts-bench");
    k->set_algorithm(datarun::v1::SEAL_ALGORITHM_ED25519);
    k->set_public_key_pem(pair->public_pem);
  }
  auto catalog = datarun::catalog::CatalogIndex::Create(*std::move(merged));
  Die(catalog.status(), "catalog");
  datarun::seal::SealKeyring keyring;
  Die(datarun::seal::AddCatalogKeys((*catalog)->catalog(), &keyring), "keys");

  // Subjects.
  std::vector<std::string> ids(n);
  for (int i = 0; i < n; ++i) {
    auto id = datarun::subject::MakeCitizenId(
        330106, absl::CivilDay(1950, 1, 1) + i / 1000, i % 1000);
    Die(id.status(), "id");
    ids[i] = *id;
  }

  // Bulk load: household registration for everyone, residence for half, a
  // car for a third, a real-estate title (verification-only here) for a
  // quarter.
  datarun::state::RocksDbStateOptions so;
  so.dir = dir;
  so.sync = false;
  so.block_cache_bytes = size_t{1} << 30;
  so.statistics = absl::GetFlag(FLAGS_cache_stats);
  auto store = datarun::state::RocksDbStateStore::Open(so);
  Die(store.status(), "open");
  const absl::Time load_start = absl::Now();
  uint64_t records = 0;
  {
    const int kBatch = 20000;
    std::vector<std::thread> loaders;
    std::atomic<int> next{0};
    std::atomic<uint64_t> total{0};
    for (int t = 0; t < threads; ++t) {
      loaders.emplace_back([&] {
        for (;;) {
          const int from = next.fetch_add(kBatch);
          if (from >= n) return;
          datarun::state::IngestBatch batch;
          batch.cluster_id = "bench";
          for (int i = from; i < std::min(n, from + kBatch); ++i) {
            auto add = [&](const char* cls, const char* dept,
                           const std::string& key,
                           const google::protobuf::Message& payload) {
              datarun::state::RecordWrite w;
              w.partition = PartitionOf(ids[i], partitions);
              Record& r = w.record;
              r.mutable_subject()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
              r.mutable_subject()->set_id(ids[i]);
              r.set_data_class(cls);
              r.set_source_department(dept);
              r.set_record_key(key);
              r.set_source_version(1);
              r.set_op(Record::OP_UPSERT);
              *r.mutable_event_time() = Ts(now - absl::Hours(24));
              r.mutable_payload()->PackFrom(payload);
              batch.records.push_back(std::move(w));
            };
            dep::HouseholdRegistration h;
            h.set_household_number(absl::StrCat("330106-", i / 3));
            h.mutable_address()->set_region_code("330106");
            h.mutable_address()->set_province("浙江省");
            h.mutable_address()->set_city("杭州市");
            h.mutable_address()->set_district("西湖区");
            h.mutable_address()->set_detail(
                absl::StrCat("文三路 ", i % 500, " 号"));
            h.set_name(absl::StrCat("居民", i));
            h.set_gender(i % 2 ? dep::GENDER_FEMALE : dep::GENDER_MALE);
            h.mutable_birth_date()->set_year(1950 + i % 70);
            h.set_hukou_type(dep::HUKOU_TYPE_RESIDENT);
            h.set_police_station("西湖派出所");
            h.set_active(true);
            add("household_registration", "public_security", "", h);
            if (i % 2 == 0) {
              dep::ResidentPopulation p;
              *p.mutable_residence_address() = h.address();
              p.set_status(dep::RESIDENCE_STATUS_REGISTERED);
              p.set_workplace("某公司");
              add("resident_population", "public_security", "", p);
            }
            if (i % 3 == 0) {
              dep::VehicleRegistration v;
              v.set_plate_number(absl::StrCat("浙A", 10000 + i % 90000));
              v.set_vin(absl::StrCat("LSVAA4182E2", 100000 + i % 900000));
              v.set_model("大众牌 SVW71612");
              v.set_status(dep::VEHICLE_STATUS_NORMAL);
              add("vehicle_registration", "public_security", v.plate_number(),
                  v);
            }
          }
          total += batch.records.size();
          auto r = (*store)->ApplyBatch(batch);
          Die(r.status(), "apply");
        }
      });
    }
    for (auto& t : loaders) t.join();
    records = total.load();
  }
  Die((*store)->Flush(), "flush");
  {
    // Let background compactions settle: a read-heavy exchange runs on a
    // compacted tree, and a fresh bulk load leaves many L0 files that every
    // prefix seek would have to merge.
    rocksdb::DB* db = (*store)->db();
    const absl::Time settle = absl::Now();
    for (;;) {
      uint64_t running = 0, pending = 0;
      db->GetIntProperty("rocksdb.num-running-compactions", &running);
      db->GetIntProperty("rocksdb.compaction-pending", &pending);
      std::vector<rocksdb::LiveFileMetaData> files;
      db->GetLiveFilesMetaData(&files);
      int l0 = 0;
      for (const auto& f : files)
        l0 += f.level == 0 && f.column_family_name == "records";
      // A small load may stay below the L0 compaction trigger: nothing
      // running or pending is settled too.
      if (running == 0 && (l0 <= 1 || pending == 0)) {
        printf("compaction settled in %.1f s: %zu table files\n",
               absl::ToDoubleSeconds(absl::Now() - settle), files.size());
        break;
      }
      if (absl::Now() - settle > absl::Seconds(120)) {
        printf("compaction still running after 120 s (%d L0 files)\n", l0);
        break;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    std::vector<rocksdb::LiveFileMetaData> files;
    db->GetLiveFilesMetaData(&files);
    std::map<int, int> per_level;
    for (const auto& f : files) {
      if (f.column_family_name == "records") per_level[f.level]++;
    }
    for (const auto& [level, count] : per_level) {
      printf("  records L%d: %d files\n", level, count);
    }
  }
  const double load_s = absl::ToDoubleSeconds(absl::Now() - load_start);
  printf("load: %d subjects, %llu records in %.1f s (%.0f records/s)\n", n,
         static_cast<unsigned long long>(records), load_s, records / load_s);

  // Warm-up pass through the StateStore (fills the block cache).
  const absl::Time warm = absl::Now();
  for (int i = 0; i < n; ++i) {
    datarun::state::RecordRef ref{PartitionOf(ids[i], partitions), ids[i],
                                  "household_registration", ""};
    auto r = (*store)->Get(ref);
    Die(r.status(), "warm");
    if (!r->has_value()) Die(absl::InternalError(ids[i]), "missing record");
  }
  printf("warm-up: %d Gets in %.1f s\n", n,
         absl::ToDoubleSeconds(absl::Now() - warm));
  datarun::state::StorageStats seen;
  PrintStorage("after warm-up", **store, &seen);

  auto rnd = [n](int t, uint64_t i) {
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull + t * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    return static_cast<int>(x % static_cast<uint64_t>(n));
  };
  const Phase raw_phase = Measure(threads, seconds, [&](int t, uint64_t i) {
    const int k = rnd(t, i);
    datarun::state::RecordRef ref{PartitionOf(ids[k], partitions), ids[k],
                                  "household_registration", ""};
    auto r = (*store)->Get(ref);
    if (!r.ok() || !r->has_value()) Die(absl::InternalError("get"), "raw get");
  });
  const Result& raw = raw_phase.loop;
  printf(
      "raw StateStore::Get (RocksDB cached get + Record parse): %.0f/s  "
      "p50 %.1f us  p99 %.1f us  cpu %.1f us/op\n",
      raw.per_s, raw.p50_us, raw.p99_us, raw_phase.cpu_us_per_op);
  PrintStorage("raw Get phase", **store, &seen);

  const Phase scan_phase = Measure(threads, seconds, [&](int t, uint64_t i) {
    const int k = rnd(t, i);
    datarun::state::StateStore& base = **store;
    auto r = base.Profile(PartitionOf(ids[k], partitions), ids[k]);
    if (!r.ok() || r->empty()) Die(absl::InternalError("scan"), "profile scan");
  });
  const Result& scan = scan_phase.loop;
  printf(
      "raw StateStore::Profile (one prefix scan + Record parse): %.0f/s  "
      "p50 %.1f us  p99 %.1f us  cpu %.1f us/op\n",
      scan.per_s, scan.p50_us, scan.p99_us, scan_phase.cpu_us_per_op);
  PrintStorage("raw Profile phase", **store, &seen);

  CountingSink sink;
  datarun::audit::AuditLogOptions ao;
  ao.checkpoint_every = 0;
  datarun::audit::AuditLog audit_log(&sink, nullptr, nullptr, ao);
  auto part = [partitions](absl::string_view id) {
    return PartitionOf(id, partitions);
  };
  auto make = [&](int k, bool sign) {
    QueryRequest q;
    q.set_request_id(absl::StrCat("bench-", k));
    q.set_requester_department(kRequester);
    q.set_officer_id("judge-assistant-1");
    q.set_matter(kMatter);
    q.set_kind(datarun::v1::QUERY_KIND_PROFILE);
    auto* s = q.add_subjects();
    s->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
    s->set_id(ids[k]);
    q.set_identity_assurance(datarun::v1::IDENTITY_ASSURANCE_CARD);
    *q.mutable_requested_at() = Ts(absl::Now());
    if (sign) Die(datarun::policy::SignRequest(**signer, &q), "sign");
    return q;
  };

  Result profile;
  double profile_cpu_us = 0;
  uint64_t disclosed = 0;
  {
    datarun::policy::PolicyOptions po;
    po.verify_signatures = false;
    po.max_clock_skew = absl::Hours(1);
    auto policy = datarun::policy::Policy::Create(**catalog, keyring, po);
    Die(policy.status(), "policy");
    datarun::resolver::Resolver resolver(**policy, **store, audit_log, part);
    std::vector<std::atomic<uint64_t>> got(threads);
    // Requests are built outside the timed call, as the bus consumer would
    // hand over a parsed request.
    std::vector<std::vector<QueryRequest>> pool(threads);
    for (int t = 0; t < threads; ++t) {
      for (int i = 0; i < 4096; ++i)
        pool[t].push_back(make(rnd(t + 7, i), false));
    }
    Result check = datarun::bench::RunClosedLoops(
        threads, seconds / 2, [&](int t, uint64_t i) {
          auto g = (*policy)->CheckRequest(pool[t][i % 4096], absl::Now());
          if (!g.decision.allowed)
            Die(absl::InternalError(g.decision.message), "policy");
        });
    printf("policy CheckRequest alone: %.0f/s  p50 %.1f us  p99 %.1f us\n",
           check.per_s, check.p50_us, check.p99_us);
    const Phase phase = Measure(threads, seconds, [&](int t, uint64_t i) {
      auto r = resolver.Handle(pool[t][i % 4096]);
      if (!r.ok() || r->decision() != datarun::v1::DECISION_ALLOW) {
        Die(r.ok() ? absl::InternalError(r->denial_reason()) : r.status(),
            "profile");
      }
      got[t] += r->records_size();
    });
    profile = phase.loop;
    profile_cpu_us = phase.cpu_us_per_op;
    for (auto& g : got) disclosed += g;
  }
  printf(
      "resolver profile (transport-authenticated): %.0f/s  p50 %.1f us  "
      "p99 %.1f us  cpu %.1f us/op  (%.2f records disclosed per answer, %llu "
      "audit links)\n",
      profile.per_s, profile.p50_us, profile.p99_us, profile_cpu_us,
      static_cast<double>(disclosed) / profile.n,
      static_cast<unsigned long long>(sink.count()));
  PrintStorage("resolver profile phases", **store, &seen);

  Result signed_profile;
  double signed_cpu_us = 0;
  if (absl::GetFlag(FLAGS_signed_phase)) {
    datarun::policy::PolicyOptions po;
    po.max_clock_skew = absl::Hours(1);
    auto policy = datarun::policy::Policy::Create(**catalog, keyring, po);
    Die(policy.status(), "policy");
    datarun::resolver::Resolver resolver(**policy, **store, audit_log, part);
    std::vector<std::vector<QueryRequest>> pool(threads);
    for (int t = 0; t < threads; ++t) {
      for (int i = 0; i < 4096; ++i)
        pool[t].push_back(make(rnd(t + 11, i), true));
    }
    const Phase phase = Measure(threads, seconds, [&](int t, uint64_t i) {
      auto r = resolver.Handle(pool[t][i % 4096]);
      if (!r.ok() || r->decision() != datarun::v1::DECISION_ALLOW) {
        Die(r.ok() ? absl::InternalError(r->denial_reason()) : r.status(),
            "signed profile");
      }
    });
    signed_profile = phase.loop;
    signed_cpu_us = phase.cpu_us_per_op;
  }
  printf(
      "resolver profile (Ed25519 request signature verified): %.0f/s  "
      "p50 %.1f us  p99 %.1f us  cpu %.1f us/op\n",
      signed_profile.per_s, signed_profile.p50_us, signed_profile.p99_us,
      signed_cpu_us);
  printf("ratio profile/raw_get: %.2f\n", profile.per_s / raw.per_s);
  // The rate two free cores would give at the measured CPU per answer.
  printf(
      "cpu_us_per_op: raw_get=%.1f raw_scan=%.1f profile=%.1f "
      "signed_profile=%.1f (profile at %d free cores: %.0f/s)\n",
      raw_phase.cpu_us_per_op, scan_phase.cpu_us_per_op, profile_cpu_us,
      signed_cpu_us, threads,
      profile_cpu_us > 0 ? threads * 1e6 / profile_cpu_us : 0);

  store->reset();
  std::string rm = absl::StrCat("rm -rf '", dir, "' '", dir, "-keys'");
  if (system(rm.c_str()) != 0)
    fprintf(stderr, "could not remove %s\n", dir.c_str());
  printf(
      "profile_per_s=%.0f profile_p99_us=%.0f signed_profile_per_s=%.0f "
      "signed_profile_p99_us=%.0f raw_get_per_s=%.0f raw_scan_per_s=%.0f "
      "subjects=%d threads=%d\n",
      profile.per_s, profile.p99_us, signed_profile.per_s,
      signed_profile.p99_us, raw.per_s, scan.per_s, n, threads);
  return 0;
}
