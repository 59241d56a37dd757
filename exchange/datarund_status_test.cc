// datarund's state and lag metrics on a real prometheus::Registry, read back
// through the text exposition format as Prometheus would scrape it, over a
// real RocksDB state in TEST_TMPDIR, a real AuditLog sealing with Ed25519,
// and the embedded Kafka cluster for the watermarks.
#include "exchange/datarund_status.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/audit/audit_log.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/ingest/testing/test_data.h"
#include "exchange/seal/key_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/metrics_text.h"

namespace datarun::daemon {
namespace {

using ingest::testing::CitizenId;
using ingest::testing::DataTopic;
using ingest::testing::MakeRecord;
using ::testing::HasSubstr;

using test_support::Scrape;

double Value(const std::string& text, const std::string& series) {
  return test_support::SeriesValue(text, series);
}

std::string Records(const std::string& dept, const std::string& outcome) {
  return absl::StrCat("datarun_ingest_records_total{department=\"", dept,
                      "\",outcome=\"", outcome, "\"}");
}

std::unique_ptr<state::RocksDbStateStore> OpenStore(const std::string& name) {
  state::RocksDbStateOptions o;
  o.dir = absl::StrCat(getenv("TEST_TMPDIR"), "/", name);
  o.sync = false;
  o.block_cache_bytes = 16 << 20;
  o.write_buffer_bytes = 4 << 20;
  o.records_write_buffer_bytes = 1 << 20;
  auto store = state::RocksDbStateStore::Open(o);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// One partition's part of a batch: `versions[i]` of subject i, and
// `rejected` messages that went to the DLQ (counted, not written).
struct Part {
  std::string dept, data_class;
  int32_t partition;
  int64_t next_offset;
  std::vector<uint64_t> versions;
  uint64_t rejected = 0;
};

void Apply(state::StateStore& store, const std::vector<Part>& parts,
           const std::string& cluster = "c1") {
  state::IngestBatch b;
  b.cluster_id = cluster;
  for (const Part& p : parts) {
    state::OffsetAdvance adv;
    adv.topic = DataTopic(p.dept, p.data_class);
    adv.partition = p.partition;
    adv.next_offset = p.next_offset;
    adv.messages = p.versions.size() + p.rejected;
    adv.rejected = p.rejected;
    for (size_t i = 0; i < p.versions.size(); ++i) {
      state::RecordWrite& w = b.records.emplace_back();
      w.partition = p.partition;
      w.source = static_cast<int>(b.offsets.size());
      w.record =
          MakeRecord(p.dept, p.data_class, CitizenId(i), "", p.versions[i]);
    }
    b.offsets.push_back(std::move(adv));
  }
  auto r = store.ApplyBatch(b);
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST(StateMetrics, CountsOutcomesPerDepartmentSinceTheBaseline) {
  auto store = OpenStore("outcomes");
  ASSERT_NE(store, nullptr);
  // Stored by an earlier process: not this process's ingest.
  Apply(*store, {{"dept00", "dept00_class0", 0, 3, {1, 1, 1}}});

  prometheus::Registry registry;
  StateMetrics m(registry, {"dept00", "dept01"}, 0);
  ASSERT_TRUE(m.Update(*store, store.get()).ok());
  std::string t = Scrape(registry);
  EXPECT_EQ(Value(t, Records("dept00", "applied")), 0);
  EXPECT_EQ(Value(t, Records("unknown", "applied")), 0);

  // dept00: subjects 0 and 1 stale (same version), 2 newer, 3 new, and one
  // rejected message; dept01 one record; a topic of no catalog department.
  Apply(*store, {{"dept00", "dept00_class0", 0, 8, {1, 1, 2, 1}, 1},
                 {"dept01", "dept01_class1", 1, 1, {5}},
                 {"nosuch", "x", 0, 1, {1}}});
  ASSERT_TRUE(m.Update(*store, store.get()).ok());
  t = Scrape(registry);
  EXPECT_EQ(Value(t, Records("dept00", "applied")), 2);
  EXPECT_EQ(Value(t, Records("dept00", "stale")), 2);
  EXPECT_EQ(Value(t, Records("dept00", "rejected")), 1);
  EXPECT_EQ(Value(t, Records("dept01", "applied")), 1);
  EXPECT_EQ(Value(t, Records("dept01", "stale")), 0);
  EXPECT_EQ(Value(t, Records("unknown", "applied")), 1);

  // Nothing new: nothing counted twice.
  ASSERT_TRUE(m.Update(*store, store.get()).ok());
  EXPECT_EQ(Value(Scrape(registry), Records("dept00", "applied")), 2);

  // Another cluster id: the stored counters restart at zero, and only the
  // new batch counts (subject 0 at version 9 is newer than stored).
  Apply(*store, {{"dept00", "dept00_class0", 0, 1, {9}}}, "c2");
  ASSERT_TRUE(m.Update(*store, store.get()).ok());
  t = Scrape(registry);
  EXPECT_EQ(Value(t, Records("dept00", "applied")), 3);
  EXPECT_EQ(Value(t, Records("dept00", "stale")), 2);
}

TEST(StateMetrics, StorageSizeAndBlockCache) {
  auto store = OpenStore("storage");
  ASSERT_NE(store, nullptr);
  std::vector<uint64_t> versions(2000, 1);
  Apply(*store, {{"dept00", "dept00_class0", 0, 2000, versions}});
  ASSERT_TRUE(store->Flush().ok());
  // Reads from the table file: misses first, then hits.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 50; ++i) {
      auto r = store->Get({0, CitizenId(i), "dept00_class0", ""});
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE(r->has_value()) << i;
    }
  }
  prometheus::Registry registry;
  StateMetrics m(registry, {"dept00"}, 0);
  ASSERT_TRUE(m.Update(*store, store.get()).ok());
  const std::string t = Scrape(registry);
  // 2000 records of ~64-byte payloads.
  EXPECT_GT(Value(t, "datarun_state_sst_files_bytes"), 2000 * 64);
  EXPECT_GT(Value(t, "datarun_state_live_bytes"), 2000 * 64);
  EXPECT_GE(Value(t, "datarun_state_memtable_bytes"), 0);
  EXPECT_GT(Value(t, "datarun_state_block_cache_usage_bytes"), 0);
  EXPECT_EQ(Value(t, "datarun_state_block_cache_capacity_bytes"), 16 << 20);
  const double hits = Value(t, "datarun_state_block_cache_hits_total");
  const double misses = Value(t, "datarun_state_block_cache_misses_total");
  EXPECT_GT(misses, 0);
  EXPECT_GT(hits, misses) << "the second round reads cached blocks";
  // Statistics off: the counters stay at zero, sizes are still there.
  store.reset();
  state::RocksDbStateOptions o;
  o.dir = absl::StrCat(getenv("TEST_TMPDIR"), "/storage");
  o.statistics = false;
  auto plain = state::RocksDbStateStore::Open(o);
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE((*plain)->Get({0, CitizenId(1), "dept00_class0", ""}).ok());
  EXPECT_EQ((*plain)->Storage().block_cache_hits +
                (*plain)->Storage().block_cache_misses,
            0u);
  EXPECT_GT((*plain)->Storage().sst_files_bytes, 2000u * 64);
}

TEST(StateMetrics, LastSealedCheckpointPerPartition) {
  auto store = OpenStore("checkpoints");
  ASSERT_NE(store, nullptr);
  seal::KeyStore keys(absl::StrCat(getenv("TEST_TMPDIR"), "/keys"));
  ASSERT_TRUE(
      keys.Generate("big_data_bureau", "k1", seal::SealAlgorithm::kEd25519)
          .ok());
  auto signer = keys.LoadSigner("big_data_bureau", "k1");
  ASSERT_TRUE(signer.ok()) << signer.status();
  audit::MemoryAuditSink sink;
  audit::AuditLogOptions ao;
  ao.checkpoint_every = 3;
  audit::AuditLog log(&sink, signer->get(), store.get(), ao);
  log.ConnectBus(nullptr, &sink);

  prometheus::Registry registry;
  StateMetrics m(registry, {}, 4);
  ASSERT_TRUE(m.Update(*store, store.get()).ok());
  std::string t = Scrape(registry);
  EXPECT_EQ(Value(t, "datarun_audit_checkpoint_sequence{partition=\"1\"}"), -1);
  EXPECT_EQ(
      Value(t, "datarun_audit_checkpoint_timestamp_seconds{partition=\"1\"}"),
      0);

  const absl::Time before = absl::Now();
  for (int i = 0; i < 7; ++i) {  // sealed at sequence 2 and 5
    datarun::v1::AuditEvent e;
    e.set_matter("m");
    ASSERT_TRUE(log.Record(1, e).ok());
  }
  datarun::v1::AuditEvent e;
  ASSERT_TRUE(log.Record(3, e).ok());
  ASSERT_TRUE(log.Checkpoint(3).ok());
  ASSERT_TRUE(m.Update(*store, store.get()).ok());
  t = Scrape(registry);
  EXPECT_EQ(Value(t, "datarun_audit_checkpoint_sequence{partition=\"1\"}"), 5);
  EXPECT_EQ(Value(t, "datarun_audit_checkpoint_sequence{partition=\"3\"}"), 0);
  EXPECT_EQ(Value(t, "datarun_audit_checkpoint_sequence{partition=\"0\"}"), -1);
  const double sealed =
      Value(t, "datarun_audit_checkpoint_timestamp_seconds{partition=\"1\"}");
  EXPECT_GE(sealed, absl::ToUnixSeconds(before));
  EXPECT_LE(sealed, absl::ToUnixSeconds(absl::Now()) + 1);

  // A chain head that is not a checkpoint is reported, not exported.
  ASSERT_TRUE(store->PutChainHead(2, "not a checkpoint \xff").ok());
  absl::Status s = m.Update(*store, store.get());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("partition 2"), absl::string_view::npos) << s;
  EXPECT_EQ(Value(Scrape(registry),
                  "datarun_audit_checkpoint_sequence{partition=\"1\"}"),
            5);
}

TEST(LagMonitor, HighWatermarkMinusNextOffsetPerDepartment) {
  auto cluster = broker::EmbeddedCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const std::string a = DataTopic("dept00", "dept00_class0");
  const std::string b = DataTopic("dept01", "dept01_class0");
  ASSERT_TRUE((*cluster)->CreateTopics({a, b}, 2).ok());
  broker::KafkaConfig config;
  config.bootstrap = (*cluster)->bootstrap();
  auto bus = broker::NewKafkaBroker(config);
  ASSERT_TRUE(bus.ok()) << bus.status();
  auto producer = (*bus)->NewProducer({});
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto send = [&](const std::string& topic, int32_t partition, int n) {
    for (int i = 0; i < n; ++i) {
      broker::OutgoingMessage m;
      m.topic = topic;
      m.value = "v";
      m.partition = partition;
      ASSERT_TRUE((*producer)->Send(m, nullptr).ok());
    }
  };
  send(a, 0, 10);
  send(a, 1, 5);
  send(b, 0, 7);
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());

  auto store = OpenStore("lag");
  ASSERT_NE(store, nullptr);
  // a[0] applied up to offset 4; a[1] nothing stored; b[0] stored by
  // another cluster past the end (read again from the beginning).
  Apply(*store, {{"dept00", "dept00_class0", 0, 4, {1}}});
  Apply(*store, {{"dept01", "dept01_class0", 0, 900, {1}}}, "old");

  std::vector<broker::TopicPartition> assigned = {{a, 0}, {a, 1}, {b, 0}};
  broker::ConsumerOptions co;
  co.group_id = "lag-test";
  auto consumer = (*bus)->NewConsumer(co);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  prometheus::Registry registry;
  LagMonitor lag(registry, {"dept00", "dept01", "dept02"}, *std::move(consumer),
                 store.get(), [&assigned] { return assigned; });
  ASSERT_TRUE(lag.Refresh().ok());
  std::string t = Scrape(registry);
  EXPECT_EQ(Value(t, "datarun_ingest_lag_records{department=\"dept00\"}"),
            (10 - 4) + 5);
  EXPECT_EQ(Value(t, "datarun_ingest_lag_records{department=\"dept01\"}"), 7);
  EXPECT_EQ(Value(t, "datarun_ingest_lag_records{department=\"dept02\"}"), 0);

  // Caught up on a[0]; b moved to another instance.
  Apply(*store, {{"dept00", "dept00_class0", 0, 10, {2}}});
  assigned = {{a, 0}, {a, 1}};
  // On the refresh thread, as datarund runs it.
  lag.Start(absl::Milliseconds(50));
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline &&
         Value(Scrape(registry),
               "datarun_ingest_lag_records{department=\"dept01\"}") != 0) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  lag.Stop();
  t = Scrape(registry);
  EXPECT_EQ(Value(t, "datarun_ingest_lag_records{department=\"dept00\"}"), 5);
  EXPECT_EQ(Value(t, "datarun_ingest_lag_records{department=\"dept01\"}"), 0);

  // The broker refuses connections: the watermark query fails within the
  // monitor's query timeout (2 s; the Kafka adapter bounds it), the
  // departments keep their last values, and Stop waits for the query in
  // progress only: nothing is left running behind it.
  ASSERT_TRUE((*cluster)->SetBrokerDown(1).ok());
  const absl::Duration slack = absl::Milliseconds(1500);
  const absl::Time refresh_at = absl::Now();
  const absl::Status down = lag.Refresh();
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  EXPECT_THAT(std::string(down.message()), HasSubstr((*cluster)->bootstrap()));
  // The first failed query ends the refresh: the other partition would
  // only wait as long.
  EXPECT_LT(absl::Now() - refresh_at, absl::Seconds(2) + slack);
  EXPECT_EQ(Value(Scrape(registry),
                  "datarun_ingest_lag_records{department=\"dept00\"}"),
            5);
  lag.Start(absl::Milliseconds(10));
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time stop_at = absl::Now();
  lag.Stop();
  EXPECT_LT(absl::Now() - stop_at, absl::Seconds(2) + slack);
  EXPECT_EQ(Value(Scrape(registry),
                  "datarun_ingest_lag_records{department=\"dept00\"}"),
            5);
}

}  // namespace
}  // namespace datarun::daemon
