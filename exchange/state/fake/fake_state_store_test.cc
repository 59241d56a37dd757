#include "exchange/state/fake/fake_state_store.h"

#include "gtest/gtest.h"

namespace datarun::state {
namespace {

using datarun::v1::Record;

RecordWrite Write(int32_t p, const std::string& subject, const std::string& cls,
                  const std::string& key, uint64_t version, bool del = false,
                  int source = -1) {
  RecordWrite w;
  w.partition = p;
  w.source = source;
  w.record.mutable_subject()->set_id(subject);
  w.record.set_data_class(cls);
  w.record.set_record_key(key);
  w.record.set_source_version(version);
  w.record.set_op(del ? Record::OP_DELETE : Record::OP_UPSERT);
  if (!del)
    w.record.mutable_payload()->set_value("v" + std::to_string(version));
  return w;
}

TEST(FakeStateStoreTest, SameRulesAsTheRocksDbStore) {
  FakeStateStore store;
  IngestBatch b;
  b.cluster_id = "c1";
  b.offsets.push_back({"t", 0, 10, 4, 0});
  b.records.push_back(Write(0, "S", "vehicle", "P1", 2, false, 0));
  b.records.push_back(Write(0, "S", "vehicle", "P1", 1, false, 0));
  b.records.push_back(Write(0, "S", "estate", "", 5, false, 0));
  b.records.push_back(Write(0, "S", "estate", "", 6, true, 0));
  auto r = store.ApplyBatch(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->upserts, 2u);
  EXPECT_EQ(r->deletes, 1u);
  EXPECT_EQ(r->stale, 1u);

  auto profile = store.Profile(0, "S", {}).value();
  ASSERT_EQ(profile.size(), 1u);
  EXPECT_EQ(profile[0].payload().value(), "v2");
  EXPECT_FALSE(store.Get({0, "S", "estate", ""}).value().has_value());

  IngestBatch late;
  late.cluster_id = "c1";
  late.records.push_back(Write(0, "S", "estate", "", 5));
  EXPECT_EQ(store.ApplyBatch(late)->stale, 1u);

  auto o = store.GetOffset("t", 0).value();
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->messages, 4u);
  EXPECT_EQ(o->applied, 3u);
  EXPECT_EQ(o->stale, 1u);
  EXPECT_EQ(store.StartOffset("t", 0, "c1")->value(), 10);
  EXPECT_FALSE(store.StartOffset("t", 0, "c2")->has_value());
  EXPECT_EQ(store.counters().cluster_id_resets.load(), 1u);

  store.FailApplies(1, absl::UnavailableError("disk"));
  EXPECT_FALSE(store.ApplyBatch(late).ok());
  EXPECT_TRUE(store.ApplyBatch(late).ok());
}

}  // namespace
}  // namespace datarun::state
