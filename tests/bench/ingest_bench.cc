// Ingest benchmark: records/s from Kafka into the RocksDB state, against a
// raw consume of the same topics measured in the same run.
//
//   bazel run //tests/bench:ingest -- --records=2000000
//
// Phases, each a child process so that the peak RSS reported is the ingest
// process's own (wait4): kafka_embedded (the mock cluster, holding the data),
// publish (a realistic mix: --departments x --classes_per_dept topics,
// payloads 200-400 bytes, valid citizen ids), raw (a bare consumer of every
// dr.data.* topic: the reference), ingest (exchange/ingest's Ingestor into a
// fresh state with the daemon's settings), rocksdb (stock RocksDB with
// default options writing the same records under the same keys, no Kafka:
// the storage engine's own ceiling on these cores). Rates are counted from the
// first message to the last, so the group join delay is left out of both. Last
// line: ingest_per_s=... raw_consume_per_s=... ratio=... peak_rss_mb=...
// rocksdb_put_per_s=... ingest_vs_rocksdb_put=...
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "common/log.h"
#include "exchange/ingest/class_directory.h"
#include "exchange/ingest/ingestor.h"
#include "exchange/ingest/testing/test_data.h"
#include "exchange/state/key_codec.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "exchange/subject/subject_id.h"
#include "rocksdb/db.h"
#include "rocksdb/statistics.h"
#include "tests/bench/bench_properties.h"
#include "tests/integration/harness.h"

ABSL_FLAG(int64_t, records, 2000000, "records to publish and ingest");
ABSL_FLAG(int32_t, partitions, 8, "partitions per topic");
ABSL_FLAG(int32_t, departments, 13, "publishing departments");
ABSL_FLAG(int32_t, classes_per_dept, 3, "data classes per department");
ABSL_FLAG(std::string, work_dir, "/tmp/datarun_ingest_bench",
          "scratch directory (state, logs); wiped at start");
ABSL_FLAG(bool, sync_writes, true, "fsync every applied batch (as datarund)");
ABSL_FLAG(int32_t, batch_messages, 8192, "messages per applied batch");
// State write-path variants (RocksDbStateOptions), for measuring them.
ABSL_FLAG(bool, perf_counters, false, "RocksDB perf counters on the applier");
ABSL_FLAG(int32_t, write_buffer_mb, 64, "records memtable size");
ABSL_FLAG(bool, bare_rocksdb, true,
          "also measure stock RocksDB writing the same records (reference)");
ABSL_FLAG(std::string, consumer_properties, "",
          "extra librdkafka consumer properties, k=v,k=v");
// Internal: which phase this process runs.
ABSL_FLAG(std::string, role, "", "internal: publish | raw | ingest | rocksdb");
ABSL_FLAG(std::string, bootstrap, "", "internal: Kafka bootstrap");
ABSL_FLAG(std::string, result_file, "", "internal: where a phase reports");

namespace datarun::bench {
namespace {

using integration::Process;

datarun::v1::Catalog BenchCatalog() {
  return ingest::testing::TestCatalog(absl::GetFlag(FLAGS_departments),
                                      absl::GetFlag(FLAGS_classes_per_dept));
}

void Report(const std::string& line) {
  std::ofstream out(absl::GetFlag(FLAGS_result_file), std::ios::trunc);
  out << line << "\n";
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

std::unique_ptr<broker::Broker> Connect() {
  broker::KafkaConfig config;
  config.bootstrap = absl::GetFlag(FLAGS_bootstrap);
  auto b = broker::NewKafkaBroker(config);
  if (!b.ok()) {
    DR_LOG(FATAL) << b.status();
  }
  return *std::move(b);
}

// The record mix every phase sees, in the same order: a fixed xorshift
// stream, so the publish phase and the bare-RocksDB reference write the
// same subjects, classes, versions and payload sizes.
class RecordMix {
 public:
  explicit RecordMix(const datarun::v1::Catalog& catalog)
      : catalog_(catalog),
        subjects_(std::max<int64_t>(1, absl::GetFlag(FLAGS_records) / 8)),
        versions_(subjects_ * 4, 0) {}

  struct Item {
    std::string topic;
    std::string subject;
    const datarun::v1::DataClass* data_class = nullptr;
    std::string record_key;
    int subject_index = 0;
  };

  // Fills *item and the serialized Record into *value.
  void Next(Item* item, std::string* value) {
    const int s = Rand() % subjects_;
    const auto& c =
        catalog_.data_classes(Rand() % catalog_.data_classes_size());
    const int k = c.multi_record() ? 1 + Rand() % 3 : 0;
    const uint64_t version = ++versions_[s * 4 + k];
    item->subject = ingest::testing::CitizenId(s);
    item->subject_index = s;
    item->data_class = &c;
    item->record_key = k == 0 ? "" : absl::StrCat("K", k);
    datarun::v1::Record r = ingest::testing::MakeRecord(
        c.source_department(), c.id(), item->subject, item->record_key, version,
        Rand() % 20 == 0, 200 + Rand() % 201);
    r.SerializeToString(value);
    item->topic = absl::StrCat("dr.data.", c.source_department(), ".", c.id());
  }

 private:
  uint64_t Rand() {
    x_ ^= x_ << 13;
    x_ ^= x_ >> 7;
    x_ ^= x_ << 17;
    return x_;
  }

  const datarun::v1::Catalog& catalog_;
  const int subjects_;
  std::vector<uint64_t> versions_;
  uint64_t x_ = 88172645463325252ull;
};

int Publish() {
  const int64_t n = absl::GetFlag(FLAGS_records);
  const auto catalog = BenchCatalog();
  auto broker = Connect();
  auto producer = broker->NewProducer({}).value();
  std::atomic<int64_t> failed{0};
  auto on_delivery = [&](const absl::StatusOr<broker::DeliveryReport>& r) {
    if (!r.ok()) failed.fetch_add(1);
  };
  RecordMix mix(catalog);
  RecordMix::Item item;
  const absl::Time start = absl::Now();
  std::string value;
  for (int64_t i = 0; i < n; ++i) {
    mix.Next(&item, &value);
    while (true) {
      absl::Status st =
          producer->Send({item.topic, item.subject, value}, on_delivery);
      if (st.ok()) break;
      if (!broker::IsRetriable(st)) DR_LOG(FATAL) << st;
    }
  }
  if (absl::Status st = producer->Flush(absl::Minutes(5)); !st.ok()) {
    DR_LOG(FATAL) << st;
  }
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  if (failed.load() > 0) DR_LOG(FATAL) << failed.load() << " sends failed";
  Report(absl::StrCat("publish_per_s=", static_cast<int64_t>(n / secs)));
  return 0;
}

// On-core time and time runnable but waiting for a core (the machine is
// shared), summed per thread name, from /proc schedstat. The applier is
// "dr-apply", the poller "ingest", RocksDB's flushes "rocksdb:high".
std::map<std::string, std::pair<uint64_t, uint64_t>> CpuNanosByThread() {
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_thread;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    std::replace(name.begin(), name.end(), ' ', '_');
    std::ifstream stat(task.path() / "schedstat");
    uint64_t cpu_ns = 0, wait_ns = 0;
    stat >> cpu_ns >> wait_ns;
    by_thread[name].first += cpu_ns;
    by_thread[name].second += wait_ns;
  }
  return by_thread;
}

// Sum of on-core time of every thread of this process so far.
uint64_t ProcessCpuNanos() {
  uint64_t total = 0;
  for (const auto& [name, t] : CpuNanosByThread()) total += t.first;
  return total;
}

// The second reference: what stock RocksDB (default options, no reads, no
// Kafka) costs for the same records under the same keys, in WriteBatches of
// --batch_messages with the same fsync setting. Records are generated
// before the clock starts. Ingest cannot be faster than this on the same
// cores, since it does this write plus consuming, checking and the version
// read; the gap between the two is datarun's own cost.
int BareRocksDb() {
  const int64_t n = absl::GetFlag(FLAGS_records);
  const auto catalog = BenchCatalog();
  const int32_t partitions = absl::GetFlag(FLAGS_partitions);
  RecordMix mix(catalog);
  RecordMix::Item item;
  std::string value, keys, values;
  std::vector<size_t> key_ends(n), value_ends(n);
  for (int64_t i = 0; i < n; ++i) {
    mix.Next(&item, &value);
    state::AppendRecordKey(item.subject_index % partitions, item.subject,
                           item.data_class->id(), item.record_key, &keys);
    values += value;
    key_ends[i] = keys.size();
    value_ends[i] = values.size();
  }
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw_db = nullptr;
  const std::string dir = absl::GetFlag(FLAGS_work_dir) + "/bare_rocksdb";
  rocksdb::Status st = rocksdb::DB::Open(options, dir, &raw_db);
  if (!st.ok()) DR_LOG(FATAL) << st.ToString();
  std::unique_ptr<rocksdb::DB> db(raw_db);
  rocksdb::WriteOptions wo;
  wo.sync = absl::GetFlag(FLAGS_sync_writes);
  const int64_t per_batch = absl::GetFlag(FLAGS_batch_messages);
  const uint64_t cpu_start = ProcessCpuNanos();
  const absl::Time start = absl::Now();
  rocksdb::WriteBatch batch;
  size_t key_begin = 0, value_begin = 0;
  for (int64_t i = 0; i < n; ++i) {
    const size_t key_end = key_ends[i];
    const size_t value_end = value_ends[i];
    batch.Put(
        rocksdb::Slice(keys.data() + key_begin, key_end - key_begin),
        rocksdb::Slice(values.data() + value_begin, value_end - value_begin));
    key_begin = key_end;
    value_begin = value_end;
    if (batch.Count() == per_batch || i + 1 == n) {
      st = db->Write(wo, &batch);
      if (!st.ok()) DR_LOG(FATAL) << st.ToString();
      batch.Clear();
    }
  }
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  const uint64_t cpu_ns = ProcessCpuNanos() - cpu_start;
  Report(absl::StrCat(
      "rocksdb_put_per_s=", static_cast<int64_t>(n / secs),
      " rocksdb_cpu_us_per_record=", static_cast<double>(cpu_ns) / 1000 / n));
  db->Close().PermitUncheckedError();
  return 0;
}

std::map<std::string, std::string> ConsumerProperties() {
  return datarun::bench::ParseProperties(
      absl::GetFlag(FLAGS_consumer_properties), ',');
}

// Starts every partition at the beginning; nothing stored.
class FromBeginning : public broker::RebalanceHandler {
 public:
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>&) override {
    return {};
  }
  void OnRevoked(const std::vector<broker::TopicPartition>&) override {}
};

int RawConsume() {
  const int64_t n = absl::GetFlag(FLAGS_records);
  auto broker = Connect();
  broker::ConsumerOptions co;
  co.group_id = "bench-raw";
  co.properties = ConsumerProperties();
  auto consumer = broker->NewConsumer(co).value();
  FromBeginning handler;
  if (absl::Status s = consumer->Subscribe({"^dr\\.data\\..*"}, &handler);
      !s.ok()) {
    DR_LOG(FATAL) << s;
  }
  // The cheapest way through the adapter (views, no copies), as ingest
  // consumes.
  std::unique_ptr<broker::PolledBatch> batch;
  int64_t count = 0, first_batch = 0;
  uint64_t bytes = 0;
  absl::Time first = absl::InfinitePast();
  const absl::Time deadline = absl::Now() + absl::Minutes(10);
  while (count < n && absl::Now() < deadline) {
    if (absl::Status s =
            consumer->PollBatch(8192, absl::Milliseconds(100), &batch);
        !s.ok()) {
      DR_LOG(FATAL) << s;
    }
    if (batch->size() == 0) continue;
    if (count == 0) {
      first = absl::Now();
      first_batch = batch->size();
    }
    count += batch->size();
    for (const auto& m : batch->messages()) bytes += m.value.size();
  }
  batch.reset();
  const double secs = absl::ToDoubleSeconds(absl::Now() - first);
  consumer->Close().IgnoreError();
  if (count < n) {
    DR_LOG(FATAL) << "raw consume saw " << count << " of " << n
                  << " messages: the embedded cluster's retention dropped "
                     "some; use more --partitions";
  }
  Report(absl::StrCat(
      "raw_consume_per_s=", static_cast<int64_t>((count - first_batch) / secs),
      " avg_value_bytes=", bytes / count));
  return 0;
}

absl::Status ValidateSubject(datarun::v1::SubjectKind, absl::string_view id) {
  auto parsed = subject::ParseCitizenId(id);
  return parsed.ok() ? absl::OkStatus() : parsed.status();
}

int Ingest() {
  const int64_t n = absl::GetFlag(FLAGS_records);
  const std::string dir = absl::GetFlag(FLAGS_work_dir) + "/state";
  state::RocksDbStateOptions so;
  so.dir = dir;
  so.sync = absl::GetFlag(FLAGS_sync_writes);
  so.perf_counters = absl::GetFlag(FLAGS_perf_counters);
  so.records_write_buffer_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_write_buffer_mb)) << 20;
  auto store = state::RocksDbStateStore::Open(so).value();
  const auto catalog = BenchCatalog();
  ingest::CatalogClassDirectory classes(catalog);
  auto broker = Connect();
  ingest::IngestOptions options;
  options.group_id = "bench-ingest";
  options.max_batch_messages = absl::GetFlag(FLAGS_batch_messages);
  options.consumer_properties = ConsumerProperties();
  ingest::Ingestor ingestor(broker.get(), store.get(), &classes,
                            ValidateSubject, options);
  std::atomic<bool> stop{false};
  absl::Status status;
  std::thread run([&] { status = ingestor.Run(&stop); });
  const auto& c = ingestor.counters();
  int64_t first_count = 0;
  absl::Time first = absl::InfinitePast();
  const absl::Time deadline = absl::Now() + absl::Minutes(10);
  while (static_cast<int64_t>(c.messages.load()) < n &&
         absl::Now() < deadline) {
    if (first_count == 0 && c.messages.load() > 0) {
      first = absl::Now();
      first_count = c.messages.load();
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  const absl::Time last = absl::Now();
  // Where the CPU went, per thread name.
  const auto by_thread = CpuNanosByThread();
  std::string sched = " cpu_ms_by_thread:";
  uint64_t total_cpu_ns = 0;
  for (const auto& [name, t] : by_thread) {
    total_cpu_ns += t.first;
    absl::StrAppend(&sched, name, "=", t.first / 1000000, "/",
                    t.second / 1000000, ",");
  }
  absl::StrAppend(&sched, " process_cpu_us_per_record=",
                  static_cast<double>(total_cpu_ns) / 1000 / n);
  // Bytes RocksDB wrote per record so far (WAL, flushes, compactions) and
  // read back for compactions: write amplification next to the CPU figures.
  if (auto stats = store->db()->GetDBOptions().statistics; stats != nullptr) {
    auto per_record = [&](rocksdb::Tickers t) {
      return static_cast<int64_t>(stats->getTickerCount(t) / n);
    };
    absl::StrAppend(
        &sched, " bytes_per_record:wal=", per_record(rocksdb::WAL_FILE_BYTES),
        ",flush=", per_record(rocksdb::FLUSH_WRITE_BYTES),
        ",compact_write=", per_record(rocksdb::COMPACT_WRITE_BYTES),
        ",compact_read=", per_record(rocksdb::COMPACT_READ_BYTES));
  }
  stop = true;
  run.join();
  if (!status.ok()) DR_LOG(FATAL) << status;
  const int64_t done = c.messages.load();
  if (done < n) DR_LOG(FATAL) << "ingested only " << done << " of " << n;
  const double secs = absl::ToDoubleSeconds(last - first);
  Report(absl::StrCat(
      "ingest_per_s=", static_cast<int64_t>((done - first_count) / secs),
      " applied=", c.applied.load(), " stale=", c.stale.load(),
      " rejected=", c.rejected_total(), " batches=", c.batches.load(),
      " pauses=", c.pauses.load(), " poll_ms=", c.poll_micros.load() / 1000,
      " check_ms=", c.check_micros.load() / 1000,
      " apply_ms=", c.apply_micros.load() / 1000,
      " check_cpu_ms=", c.check_cpu_micros.load() / 1000,
      " apply_cpu_ms=", c.apply_cpu_micros.load() / 1000, sched));
  return 0;
}

std::map<std::string, std::string> ReadResult(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string kv;
  while (in >> kv) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

int RunPhase(const std::string& role, const std::string& bootstrap,
             const std::string& work, long* max_rss_kb) {
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  self[len > 0 ? len : 0] = '\0';
  Process p;
  absl::Status s = p.Start(
      {self, absl::StrCat("--role=", role),
       absl::StrCat("--bootstrap=", bootstrap),
       absl::StrCat("--result_file=", work, "/", role, ".result"),
       absl::StrCat("--records=", absl::GetFlag(FLAGS_records)),
       absl::StrCat("--departments=", absl::GetFlag(FLAGS_departments)),
       absl::StrCat("--classes_per_dept=",
                    absl::GetFlag(FLAGS_classes_per_dept)),
       absl::StrCat("--work_dir=", work),
       absl::StrCat("--sync_writes=",
                    absl::GetFlag(FLAGS_sync_writes) ? "true" : "false"),
       absl::StrCat("--batch_messages=", absl::GetFlag(FLAGS_batch_messages)),
       absl::StrCat("--perf_counters=",
                    absl::GetFlag(FLAGS_perf_counters) ? "true" : "false"),
       absl::StrCat("--write_buffer_mb=", absl::GetFlag(FLAGS_write_buffer_mb)),
       absl::StrCat("--consumer_properties=",
                    absl::GetFlag(FLAGS_consumer_properties))},
      absl::StrCat(work, "/", role));
  if (!s.ok()) DR_LOG(FATAL) << s;
  auto code = p.Wait(absl::Minutes(20), max_rss_kb);
  if (!code.ok() || *code != 0) {
    DR_LOG(FATAL) << "phase " << role << " failed (see " << work << "/" << role
                  << ".err)";
  }
  return 0;
}

int Main() {
  const std::string work = absl::GetFlag(FLAGS_work_dir);
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  setenv("TEST_TMPDIR", work.c_str(), 1);
  const auto catalog = BenchCatalog();
  std::vector<std::string> topics;
  for (const auto& c : catalog.data_classes()) {
    topics.push_back(
        absl::StrCat("dr.data.", c.source_department(), ".", c.id()));
  }
  for (const auto& d : catalog.departments()) {
    topics.push_back(absl::StrCat("dr.dlq.", d.id()));
  }
  topics.push_back("dr.dlq.unknown");
  // The embedded cluster keeps ~5 MiB (or 100k message sets) per
  // partition and drops older data: the run must fit, with headroom for
  // uneven spreading (records ~450 B on the wire before compression).
  const double per_partition_mib =
      absl::GetFlag(FLAGS_records) * 450.0 /
      (catalog.data_classes_size() * absl::GetFlag(FLAGS_partitions)) /
      (1 << 20);
  if (per_partition_mib > 4.0) {
    std::fprintf(stderr,
                 "--records=%lld puts ~%.1f MiB into each of %d x %d "
                 "partitions; the embedded cluster keeps ~5 MiB per "
                 "partition. Raise --partitions or lower --records.\n",
                 static_cast<long long>(absl::GetFlag(FLAGS_records)),
                 per_partition_mib, catalog.data_classes_size(),
                 absl::GetFlag(FLAGS_partitions));
    return 2;
  }
  std::printf("records=%lld topics=%zu partitions=%d sync_writes=%d\n",
              static_cast<long long>(absl::GetFlag(FLAGS_records)),
              topics.size(), absl::GetFlag(FLAGS_partitions),
              absl::GetFlag(FLAGS_sync_writes));
  std::fflush(stdout);
  Process kafka;
  auto bootstrap =
      integration::StartKafka(&kafka, topics, absl::GetFlag(FLAGS_partitions));
  if (!bootstrap.ok()) DR_LOG(FATAL) << bootstrap.status();
  long rss_kb = 0;
  RunPhase("publish", *bootstrap, work, nullptr);
  RunPhase("raw", *bootstrap, work, nullptr);
  RunPhase("ingest", *bootstrap, work, &rss_kb);
  kafka.Terminate(absl::Seconds(10)).IgnoreError();
  if (absl::GetFlag(FLAGS_bare_rocksdb)) {
    RunPhase("rocksdb", *bootstrap, work, nullptr);
  }

  auto raw = ReadResult(work + "/raw.result");
  auto ing = ReadResult(work + "/ingest.result");
  const double raw_rate = std::stod(raw["raw_consume_per_s"]);
  const double ingest_rate = std::stod(ing["ingest_per_s"]);
  std::string bare;
  if (absl::GetFlag(FLAGS_bare_rocksdb)) {
    auto rdb = ReadResult(work + "/rocksdb.result");
    const double rdb_rate = std::stod(rdb["rocksdb_put_per_s"]);
    bare = absl::StrFormat(
        " rocksdb_put_per_s=%.0f ingest_vs_rocksdb_put=%.2f "
        "rocksdb_cpu_us_per_record=%s",
        rdb_rate, ingest_rate / rdb_rate, rdb["rocksdb_cpu_us_per_record"]);
  }
  std::printf(
      "ingest_per_s=%.0f raw_consume_per_s=%.0f ratio=%.2f peak_rss_mb=%ld%s\n",
      ingest_rate, raw_rate, ingest_rate / raw_rate, rss_kb / 1024,
      bare.c_str());
  return 0;
}

}  // namespace
}  // namespace datarun::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string role = absl::GetFlag(FLAGS_role);
  if (role == "publish") return datarun::bench::Publish();
  if (role == "raw") return datarun::bench::RawConsume();
  if (role == "ingest") return datarun::bench::Ingest();
  if (role == "rocksdb") return datarun::bench::BareRocksDb();
  return datarun::bench::Main();
}
