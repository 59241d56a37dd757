// Restart benchmark: time from process start to serving for datarund with
// --records (default 10M) records in its state, against the same daemon on
// an empty state and a bare RocksDB open of the full state, in one run.
//
//   bazel run //tests/bench:restart -- --records=10000000
//
// The state is filled in-process through RocksDbStateStore::ApplyBatch
// (reused on later runs if --work_dir already holds at least --records
// entries), the Kafka cluster is a kafka_embedded child with the test
// catalog's topics, and datarund is started with --brokers and --ready_file;
// "serving" is the moment the ready file appears (state open, consumer
// subscribed and polling). Last line:
//   restart_to_ready_ms=... empty_state_ready_ms=... rocksdb_open_ms=...
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "exchange/ingest/testing/test_data.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "tests/integration/harness.h"

ABSL_FLAG(int64_t, records, 10000000, "records in the state");
ABSL_FLAG(std::string, work_dir, "/tmp/datarun_restart_bench",
          "scratch directory; the full state is kept for later runs");
ABSL_FLAG(int32_t, partitions, 8, "partitions per topic");
ABSL_FLAG(int64_t, dirty_records, 300000,
          "records applied by a process that then dies without closing the "
          "state, before the after-crash restart is timed");
ABSL_FLAG(std::string, role, "", "internal: 'dirty'");

namespace datarun::bench {
namespace {

using integration::Process;
constexpr const char* kClasses[][2] = {
    {"public_security", "household_registration"},
    {"public_security", "vehicle_registration"},
    {"natural_resources", "real_estate_title"},
};

state::RocksDbStateOptions StateOptions(const std::string& dir) {
  state::RocksDbStateOptions o;
  o.dir = dir;
  o.sync = false;  // bulk fill; durability comes from the final flush
  return o;
}

void Fill(const std::string& dir, int64_t n, int partitions) {
  std::filesystem::remove_all(dir);
  auto store = state::RocksDbStateStore::Open(StateOptions(dir)).value();
  const absl::Time start = absl::Now();
  const int64_t batch_size = 10000;
  int64_t next_offset[3][64] = {};
  for (int64_t i = 0; i < n;) {
    state::IngestBatch batch;
    batch.cluster_id = "restart-bench-fill";
    for (int64_t j = 0; j < batch_size && i < n; ++j, ++i) {
      const int c = i % 3;
      const uint64_t subject = i / 3;
      const int32_t partition = subject % partitions;
      state::RecordWrite w;
      w.partition = partition;
      w.record = ingest::testing::MakeRecord(
          kClasses[c][0], kClasses[c][1], ingest::testing::CitizenId(subject),
          c == 0 ? "" : "K1", 1, false, 200 + (i * 7919) % 201);
      ++next_offset[c][partition];
      batch.records.push_back(std::move(w));
    }
    for (int c = 0; c < 3; ++c) {
      for (int p = 0; p < partitions; ++p) {
        batch.offsets.push_back(
            {absl::StrCat("dr.data.", kClasses[c][0], ".", kClasses[c][1]), p,
             next_offset[c][p], 0, 0});
      }
    }
    auto r = store->ApplyBatch(batch);
    if (!r.ok()) DR_LOG(FATAL) << r.status();
    if (i % 1000000 == 0) {
      std::printf("filled %lld\n", static_cast<long long>(i));
      std::fflush(stdout);
    }
  }
  if (absl::Status s = store->Flush(); !s.ok()) DR_LOG(FATAL) << s;
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("fill_per_s=%.0f fill_s=%.1f\n", n / secs, secs);
}

// Applies --dirty_records newer versions to the full state, then dies
// without closing it (like a SIGKILL): the next open replays the WAL.
int Dirty(const std::string& dir) {
  auto store = state::RocksDbStateStore::Open(StateOptions(dir)).value();
  const int64_t n = absl::GetFlag(FLAGS_dirty_records);
  // Newer than anything stored, so every record is really written.
  const uint64_t version = absl::ToUnixMicros(absl::Now());
  for (int64_t i = 0; i < n;) {
    state::IngestBatch batch;
    batch.cluster_id = "restart-bench-fill";
    for (int64_t j = 0; j < 10000 && i < n; ++j, ++i) {
      const int c = i % 3;
      const uint64_t subject = i / 3;
      state::RecordWrite w;
      w.partition = subject % absl::GetFlag(FLAGS_partitions);
      w.record = ingest::testing::MakeRecord(
          kClasses[c][0], kClasses[c][1], ingest::testing::CitizenId(subject),
          c == 0 ? "" : "K1", version, false, 300);
      batch.records.push_back(std::move(w));
    }
    if (!store->ApplyBatch(batch).ok()) return 1;
  }
  std::fflush(stdout);
  _exit(0);  // no close, no flush
}

// Starts datarund on `state_dir`, returns ms from spawn to the ready file,
// then stops it with SIGTERM (must exit 0).
int64_t TimeToReady(const std::string& bootstrap, const std::string& state_dir,
                    const std::string& work, const std::string& name) {
  const std::string ready = absl::StrCat(work, "/", name, ".ready");
  std::filesystem::remove(ready);
  Process d;
  const absl::Time start = absl::Now();
  absl::Status s = d.Start(
      {integration::RunfilePath(integration::kDatarund),
       absl::StrCat("--brokers=", bootstrap),
       absl::StrCat("--state_dir=", state_dir),
       absl::StrCat("--catalog=",
                    integration::RunfilePath(integration::kCatalogPath)),
       absl::StrCat("--partitions=", absl::GetFlag(FLAGS_partitions)),
       absl::StrCat("--ready_file=", ready),
       absl::StrCat("--group_id=restart-", name),
       "--serve_queries=false"},  // measures ingest restart, as before
      absl::StrCat(work, "/", name));
  if (!s.ok()) DR_LOG(FATAL) << s;
  auto content = integration::WaitForFile(ready, absl::Minutes(2));
  if (!content.ok()) DR_LOG(FATAL) << content.status();
  const int64_t ms = absl::ToInt64Milliseconds(absl::Now() - start);
  const absl::Time stop = absl::Now();
  auto code = d.Terminate(absl::Minutes(2));
  if (!code.ok() || *code != 0) DR_LOG(FATAL) << "datarund did not exit 0";
  std::printf(
      "%s: ready_ms=%lld (datarund says: %s) stop_ms=%lld\n", name.c_str(),
      static_cast<long long>(ms),
      std::string(content->substr(0, content->size() - 1)).c_str(),
      static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - stop)));
  std::fflush(stdout);
  return ms;
}

int Main() {
  const int64_t n = absl::GetFlag(FLAGS_records);
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  const std::string full = work + "/full_state";
  std::filesystem::create_directories(work);
  setenv("TEST_TMPDIR", work.c_str(), 1);

  uint64_t have = 0;
  if (std::filesystem::exists(full)) {
    auto store = state::RocksDbStateStore::Open(StateOptions(full));
    if (store.ok()) {
      auto count = (*store)->CountEntries();
      if (count.ok()) have = *count;
    }
  }
  if (have < static_cast<uint64_t>(n)) {
    Fill(full, n, absl::GetFlag(FLAGS_partitions));
    have = n;
  }
  std::printf("state entries=%llu\n", static_cast<unsigned long long>(have));

  // Reference: a bare open of the same state.
  absl::Time t0 = absl::Now();
  {
    auto store = state::RocksDbStateStore::Open(StateOptions(full));
    if (!store.ok()) DR_LOG(FATAL) << store.status();
  }
  const int64_t open_ms = absl::ToInt64Milliseconds(absl::Now() - t0);

  Process kafka;
  auto bootstrap = integration::StartKafka(&kafka, integration::CatalogTopics(),
                                           absl::GetFlag(FLAGS_partitions));
  if (!bootstrap.ok()) DR_LOG(FATAL) << bootstrap.status();
  const std::string empty = work + "/empty_state";
  std::filesystem::remove_all(empty);
  const int64_t empty_ms = TimeToReady(*bootstrap, empty, work, "empty");
  const int64_t full_ms = TimeToReady(*bootstrap, full, work, "full");
  // After a crash: a process applied more records and died without closing.
  int64_t crash_ms = -1;
  {
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[len > 0 ? len : 0] = '\0';
    Process dirty;
    absl::Status s = dirty.Start(
        {self, "--role=dirty", absl::StrCat("--work_dir=", work),
         absl::StrCat("--dirty_records=", absl::GetFlag(FLAGS_dirty_records)),
         absl::StrCat("--partitions=", absl::GetFlag(FLAGS_partitions))},
        work + "/dirty");
    auto code = s.ok() ? dirty.Wait(absl::Minutes(10)) : s;
    if (!code.ok() || *code != 0) DR_LOG(FATAL) << "dirty phase failed";
    uint64_t wal_bytes = 0;
    for (const auto& f : std::filesystem::directory_iterator(full)) {
      if (f.path().extension() == ".log") wal_bytes += f.file_size();
    }
    std::printf("after crash: WAL to replay %llu MiB\n",
                static_cast<unsigned long long>(wal_bytes >> 20));
    crash_ms = TimeToReady(*bootstrap, full, work, "after_crash");
  }
  kafka.Terminate(absl::Seconds(10)).IgnoreError();
  std::printf(
      "restart_to_ready_ms=%lld restart_after_crash_ms=%lld "
      "empty_state_ready_ms=%lld rocksdb_open_ms=%lld records=%llu\n",
      static_cast<long long>(full_ms), static_cast<long long>(crash_ms),
      static_cast<long long>(empty_ms), static_cast<long long>(open_ms),
      static_cast<unsigned long long>(have));
  return 0;
}

}  // namespace
}  // namespace datarun::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_role) == "dirty") {
    return datarun::bench::Dirty(absl::GetFlag(FLAGS_work_dir) + "/full_state");
  }
  return datarun::bench::Main();
}
