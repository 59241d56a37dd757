// PrepareRecords on the shipped catalog: what `datarun produce` accepts,
// what it refuses (with the line), and that the SDK built the envelope.
#include "tools/cli/produce_input.h"

#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "exchange/catalog/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/public_security.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kCitizen[] = "11010519491231002X";

class ProduceInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto c = catalog::LoadCatalog("exchange/catalog/zhejiang.textproto");
    ASSERT_TRUE(c.ok()) << c.status();
    auto index = catalog::CatalogIndex::Create(*std::move(c));
    ASSERT_TRUE(index.ok()) << index.status();
    catalog_ = index->release();
  }
  static void TearDownTestSuite() { delete catalog_; }

  PrepareResult Prepare(const std::string& text,
                        const std::string& dept = "public_security") {
    std::istringstream in(text);
    auto r = PrepareRecords(*catalog_, dept, in, absl::FromUnixSeconds(1e9));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : PrepareResult{};
  }

  static const catalog::CatalogIndex* catalog_;
};

const catalog::CatalogIndex* ProduceInputTest::catalog_ = nullptr;

std::string Household(const std::string& extra) {
  return absl::StrCat(
      R"({"subject":{"id":")", kCitizen,
      R"("},"data_class":"household_registration","source_version":5,)", extra,
      R"("payload":{"@type":"type.googleapis.com/datarun.v1.departments.HouseholdRegistration","name":"张三"}})");
}

TEST_F(ProduceInputTest, BuildsTheSdkEnvelope) {
  PrepareResult r =
      Prepare(Household(R"("op":"OP_UPSERT","trace_id":"t-1",)") + "\n");
  ASSERT_THAT(r.errors, ElementsAre());
  ASSERT_EQ(r.records.size(), 1u);
  const PreparedRecord& p = r.records[0];
  EXPECT_EQ(p.line, 1);
  EXPECT_EQ(p.topic, "dr.data.public_security.household_registration");
  EXPECT_EQ(p.key, kCitizen);
  EXPECT_THAT(p.headers,
              ElementsAre(Pair("dr-payload-type",
                               "datarun.v1.departments.HouseholdRegistration"),
                          Pair("dr-catalog-version", catalog_->version())));
  datarun::v1::Record record;
  ASSERT_TRUE(record.ParseFromString(p.value));
  EXPECT_EQ(record.source_department(), "public_security");
  EXPECT_EQ(record.source_version(), 5u);
  EXPECT_EQ(record.trace_id(), "t-1");
  EXPECT_EQ(record.event_time().seconds(), 1000000000);  // missing: now
  datarun::v1::departments::HouseholdRegistration h;
  ASSERT_TRUE(record.payload().UnpackTo(&h));
  EXPECT_EQ(h.name(), "张三");
}

TEST_F(ProduceInputTest, AcceptsAReplayLineAndADelete) {
  const std::string replay_line = absl::StrCat(
      R"({"topic":"dr.data.public_security.household_registration","partition":0,"offset":3,"value":)",
      Household(R"("op":"OP_UPSERT",)"), "}");
  const std::string del = absl::StrCat(
      R"({"subject":{"id":")", kCitizen,
      R"("},"data_class":"vehicle_registration","record_key":"浙A1","source_version":"2","op":"OP_DELETE"})");
  PrepareResult r = Prepare(absl::StrCat(replay_line, "\n\n", del, "\n"));
  ASSERT_THAT(r.errors, ElementsAre());
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1].line, 3);
  datarun::v1::Record record;
  ASSERT_TRUE(record.ParseFromString(r.records[1].value));
  EXPECT_EQ(record.op(), datarun::v1::Record::OP_DELETE);
  EXPECT_EQ(record.record_key(), "浙A1");
}

TEST_F(ProduceInputTest, RefusesWithTheLineAndKeepsNothing) {
  const std::string lines[] = {
      Household(R"("op":"OP_UPSERT",)"),  // valid
      Household(""),                      // no op
      Household(R"("op":"OP_UPSERT","source_department":"courts",)"),
      Household(R"("op":"OP_DELETE",)"),  // a delete with a payload
      R"({"topic":"dr.audit","value":{"partition":1}})",
      R"({"subject":{"id":"x"},"data_class":"household_registration","colour":1})",
      R"({"subject":{"id":"11010519491231002X"},"data_class":"household_registration","source_version":1,"op":"OP_UPSERT","payload":{"@type":"type.googleapis.com/datarun.v1.departments.VehicleRegistration"}})",
  };
  std::string text;
  for (const auto& l : lines) absl::StrAppend(&text, l, "\n");
  PrepareResult r = Prepare(text);
  EXPECT_TRUE(r.records.empty());
  ASSERT_EQ(r.errors.size(), 6u) << absl::StrJoin(r.errors, "\n");
  EXPECT_THAT(r.errors[0], HasSubstr("line 2: op is missing"));
  EXPECT_THAT(r.errors[1],
              HasSubstr("line 3: source_department 'courts' is not the "
                        "publishing department --as=public_security"));
  EXPECT_THAT(r.errors[2],
              HasSubstr("line 4: an OP_DELETE carries no payload"));
  EXPECT_THAT(r.errors[3],
              HasSubstr("line 5: a replay line of topic 'dr.audit'"));
  EXPECT_THAT(r.errors[4], HasSubstr("line 6: not a datarun.v1.Record"));
  EXPECT_THAT(r.errors[4], HasSubstr("colour"));
  EXPECT_THAT(r.errors[5],
              HasSubstr("line 7: class 'household_registration' carries "
                        "datarun.v1.departments.HouseholdRegistration, not "
                        "datarun.v1.departments.VehicleRegistration"));
}

TEST_F(ProduceInputTest, ErrorsAreCapped) {
  std::string text;
  for (int i = 0; i < 25; ++i) absl::StrAppend(&text, "{\n");
  std::istringstream in(text);
  auto r = PrepareRecords(*catalog_, "public_security", in, absl::Now(), 3);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->errors.size(), 4u);
  EXPECT_EQ(r->errors[3], "... and 22 more invalid lines");
}

TEST_F(ProduceInputTest, UnknownDepartment) {
  std::istringstream in("");
  EXPECT_FALSE(PrepareRecords(*catalog_, "nobody", in).ok());
}

}  // namespace
}  // namespace datarun::cli
