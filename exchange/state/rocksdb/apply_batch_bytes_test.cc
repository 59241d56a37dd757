// ApplyBatch's ingest fast path (RecordWrite::bytes + envelope, no parsed
// Record) on RocksDB in TEST_TMPDIR: the same version and tombstone rules
// as parsed writes, tombstones cut from the consumed bytes, and both kinds
// of writes mixed in one batch.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "exchange/state/record_envelope.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "gtest/gtest.h"

namespace datarun::state {
namespace {

using datarun::v1::Record;

Record MakeRecord(absl::string_view subject, absl::string_view key,
                  uint64_t version, Record::Op op = Record::OP_UPSERT) {
  Record r;
  r.mutable_subject()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  r.mutable_subject()->set_id(std::string(subject));
  r.set_data_class("vehicle");
  r.set_record_key(std::string(key));
  r.set_source_department("police");
  r.set_source_version(version);
  r.set_op(op);
  r.set_trace_id(absl::StrCat("t", version));
  // Deletes carry a payload too here: the tombstone must drop it.
  r.mutable_payload()->set_type_url("type.googleapis.com/x.Vehicle");
  r.mutable_payload()->set_value(absl::StrCat("payload-", version));
  return r;
}

class ApplyBatchBytesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("TEST_TMPDIR");
    options_.dir = absl::StrCat(
        base ? base : "/tmp", "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(options_.dir);
    options_.block_cache_bytes = 8 << 20;
    options_.write_buffer_bytes = 4 << 20;
    options_.records_write_buffer_bytes = 1 << 20;
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto s = RocksDbStateStore::Open(options_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  // A write as the Ingestor makes it: consumed bytes and their envelope.
  // The bytes live in `held_` until the batch is applied.
  RecordWrite Consumed(int32_t partition, const Record& r) {
    held_.push_back(std::make_unique<std::string>(r.SerializeAsString()));
    RecordWrite w;
    w.partition = partition;
    w.bytes = *held_.back();
    EXPECT_TRUE(DecodeRecordEnvelope(w.bytes, &w.envelope).ok());
    return w;
  }
  RecordWrite Parsed(int32_t partition, const Record& r) {
    RecordWrite w;
    w.partition = partition;
    w.record = r;
    return w;
  }
  ApplyResult Apply(IngestBatch batch) {
    auto r = store_->ApplyBatch(batch);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ApplyResult{};
  }
  // The stored entry of S/vehicle/<key> in partition 1.
  struct Stored {
    uint64_t version = 0;
    bool deleted = false;
    Record record;
    int seen = 0;
  };
  Stored Entry(absl::string_view key) {
    Stored out;
    EXPECT_TRUE(store_
                    ->ScanAll([&](const RocksDbStateStore::Entry& e) {
                      if (e.address.record_key != key) return;
                      ++out.seen;
                      out.version = e.version;
                      out.deleted = e.deleted;
                      EXPECT_TRUE(out.record.ParseFromArray(e.record.data(),
                                                            e.record.size()));
                    })
                    .ok());
    return out;
  }

  RocksDbStateOptions options_;
  std::unique_ptr<RocksDbStateStore> store_;
  std::vector<std::unique_ptr<std::string>> held_;
};

TEST_F(ApplyBatchBytesTest, VersionRuleAndStoredBytes) {
  IngestBatch b;
  b.records.push_back(Consumed(1, MakeRecord("S", "A", 5)));
  b.records.push_back(Consumed(1, MakeRecord("S", "A", 3)));  // stale
  b.records.push_back(Consumed(1, MakeRecord("S", "B", 1)));
  ApplyResult r = Apply(b);
  EXPECT_EQ(r.upserts, 2u);
  EXPECT_EQ(r.stale, 1u);
  // Stored as consumed: the exact bytes, readable by Get.
  auto got = store_->Get({1, "S", "vehicle", "A"});
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->SerializeAsString(),
            MakeRecord("S", "A", 5).SerializeAsString());

  IngestBatch again;
  again.records.push_back(Consumed(1, MakeRecord("S", "A", 5)));  // equal
  again.records.push_back(Consumed(1, MakeRecord("S", "B", 2)));
  r = Apply(again);
  EXPECT_EQ(r.upserts, 1u);
  EXPECT_EQ(r.stale, 1u);
  EXPECT_EQ(Entry("B").version, 2u);
}

TEST_F(ApplyBatchBytesTest, TombstoneIsTheConsumedRecordWithoutPayload) {
  IngestBatch b;
  b.records.push_back(Consumed(1, MakeRecord("S", "A", 1)));
  b.records.push_back(Consumed(1, MakeRecord("S", "A", 2, Record::OP_DELETE)));
  ApplyResult r = Apply(b);
  EXPECT_EQ(r.upserts, 1u);
  EXPECT_EQ(r.deletes, 1u);
  Stored s = Entry("A");
  EXPECT_EQ(s.seen, 1);
  EXPECT_TRUE(s.deleted);
  EXPECT_EQ(s.version, 2u);
  Record expected = MakeRecord("S", "A", 2, Record::OP_DELETE);
  expected.clear_payload();
  EXPECT_EQ(s.record.SerializeAsString(), expected.SerializeAsString());
  auto got = store_->Get({1, "S", "vehicle", "A"});
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());

  // Durable, and an older upsert arriving later does not resurrect it.
  Reopen();
  IngestBatch late;
  late.records.push_back(Consumed(1, MakeRecord("S", "A", 1)));
  EXPECT_EQ(Apply(late).stale, 1u);
  EXPECT_TRUE(Entry("A").deleted);
  IngestBatch revive;
  revive.records.push_back(Consumed(1, MakeRecord("S", "A", 3)));
  EXPECT_EQ(Apply(revive).upserts, 1u);
  EXPECT_FALSE(Entry("A").deleted);
}

TEST_F(ApplyBatchBytesTest, TombstoneWithoutOrWithSeveralPayloadFields) {
  // No payload at all: stored as consumed.
  Record bare = MakeRecord("S", "A", 4, Record::OP_DELETE);
  bare.clear_payload();
  // Two payload fields on the wire (protobuf merges them): cut both.
  Record split = MakeRecord("S", "B", 4, Record::OP_DELETE);
  Record second;
  second.mutable_payload()->set_value("more");
  const std::string two =
      split.SerializeAsString() + second.SerializeAsString();
  IngestBatch b;
  b.records.push_back(Consumed(1, bare));
  RecordWrite w;
  w.partition = 1;
  w.bytes = two;
  ASSERT_TRUE(DecodeRecordEnvelope(w.bytes, &w.envelope).ok());
  ASSERT_EQ(w.envelope.payload_fields, 2);
  b.records.push_back(w);
  EXPECT_EQ(Apply(b).deletes, 2u);
  EXPECT_EQ(Entry("A").record.SerializeAsString(), bare.SerializeAsString());
  Stored s = Entry("B");
  EXPECT_TRUE(s.deleted);
  EXPECT_FALSE(s.record.has_payload());
  EXPECT_EQ(s.record.trace_id(), "t4");
}

TEST_F(ApplyBatchBytesTest, ConsumedAndParsedWritesMixInOneBatch) {
  IngestBatch b;
  b.records.push_back(Parsed(1, MakeRecord("S", "A", 7)));
  b.records.push_back(Consumed(1, MakeRecord("S", "A", 6)));  // stale
  b.records.push_back(Consumed(1, MakeRecord("S", "A", 8)));
  b.records.push_back(Parsed(1, MakeRecord("S", "A", 8)));  // equal: stale
  ApplyResult r = Apply(b);
  EXPECT_EQ(r.upserts, 2u);
  EXPECT_EQ(r.stale, 2u);
  EXPECT_EQ(Entry("A").version, 8u);
  ASSERT_TRUE(store_->Flush().ok());  // and from a table file
  EXPECT_EQ(Entry("A").record.payload().value(), "payload-8");
}

}  // namespace
}  // namespace datarun::state
