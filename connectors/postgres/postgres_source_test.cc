#include "connectors/postgres/postgres_source.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "broker_adapters/fake/fake_broker.h"
#include "connectors/mapping.h"
#include "connectors/pipeline.h"
#include "connectors/postgres/testing/pg_test_server.h"
#include "exchange/catalog/catalog.h"
#include "exchange/subject/subject_id.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::connectors {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
namespace v1 = datarun::connectors::v1;
namespace dep = datarun::v1::departments;

constexpr char kData[] = "dr.data.public_security.vehicle_registration";
constexpr char kDlq[] = "dr.dlq.public_security";

TEST(TestDecodingTest, ParsesInsertUpdateDelete) {
  Row row;
  auto r = ParseTestDecodingChange(
      "table public.v: INSERT: id[integer]:7 \"Name\"[character "
      "varying]:'O''Brien x' "
      "ok[boolean]:true gone[text]:null",
      "public.v", &row);
  ASSERT_TRUE(r.ok() && *r) << r.status();
  EXPECT_EQ(row.op, RowOp::kUpsert);
  EXPECT_THAT(row.columns,
              ElementsAre(Pair("id", "7"), Pair("Name", "O'Brien x"),
                          Pair("ok", "true"), Pair("gone", "")));
  r = ParseTestDecodingChange(
      "table public.v: UPDATE: old-key: id[integer]:7 new-tuple: id[integer]:8",
      "public.v", &row);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_THAT(row.columns, ElementsAre(Pair("id", "8")));
  r = ParseTestDecodingChange("table public.v: DELETE: id[integer]:8",
                              "public.v", &row);
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(row.op, RowOp::kDelete);
  r = ParseTestDecodingChange("table public.other: INSERT: id[integer]:1",
                              "public.v", &row);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  uint64_t lsn = 0;
  ASSERT_TRUE(ParseLsn("1/16B3748", &lsn));
  EXPECT_EQ(lsn, (uint64_t{1} << 32) | 0x16B3748u);
}

const catalog::CatalogIndex& Catalog() {
  static const catalog::CatalogIndex* index = [] {
    auto c = catalog::LoadCatalog("exchange/catalog/zhejiang.textproto");
    EXPECT_TRUE(c.ok()) << c.status();
    return catalog::CatalogIndex::Create(*std::move(c))->release();
  }();
  return *index;
}

std::string Citizen(int seq) {
  return *subject::MakeCitizenId(330102, absl::CivilDay(1975, 6, 7), seq);
}

// Pumps rows from `source` through `pipeline` until `rows` were read or
// `timeout` passed; then drains.
void Pump(Source& source, Pipeline& pipeline, uint64_t rows,
          absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (pipeline.counters().rows < rows && absl::Now() < deadline) {
    Row row;
    auto got = source.Next(&row);
    ASSERT_TRUE(got.ok()) << got.status();
    if (*got) {
      ASSERT_TRUE(pipeline.ProcessRow(std::move(row)).ok());
    } else {
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  ASSERT_TRUE(pipeline.Drain().ok());
}

class PostgresSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = PgTestServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_TRUE(server_
                    ->Exec("CREATE TABLE vehicles (sfzh text, plate text "
                           "PRIMARY KEY, vin text, type text, registered "
                           "date);"
                           "ALTER TABLE vehicles REPLICA IDENTITY FULL;"
                           "CREATE TABLE other (x int)")
                    .ok());
    config_.set_conninfo(server_->conninfo());
    config_.set_table("vehicles");
    config_.set_slot("datarun_vehicles");
    config_.set_poll_interval_ms(50);
    v1::Mapping mapping;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
        R"pb(data_class: "vehicle_registration"
             format: FORMAT_POSTGRES
             subject_column: "sfzh"
             record_key_column: "plate"
             fields { column: "plate" field: "plate_number" required: true }
             fields { column: "vin" field: "vin" }
             fields {
               column: "type"
               field: "vehicle_type"
               labels { label: "小型汽车" value: "VEHICLE_TYPE_SMALL_CAR" }
               labels { label: "货车" value: "VEHICLE_TYPE_TRUCK" }
             }
             fields { column: "registered" field: "registration_date" })pb",
        &mapping));
    auto mapper = Mapper::Create(mapping, Catalog(), "public_security");
    ASSERT_TRUE(mapper.ok()) << mapper.status();
    mapper_ = *std::move(mapper);
    ASSERT_TRUE(broker_.CreateTopic(kData, 1).ok());
    ASSERT_TRUE(broker_.CreateTopic(kDlq, 1).ok());
    producer_ = *broker_.NewProducer({});
  }

  std::unique_ptr<PgTestServer> server_;
  v1::PostgresSourceConfig config_;
  std::unique_ptr<Mapper> mapper_;
  broker::FakeBroker broker_;
  std::unique_ptr<broker::Producer> producer_;
  prometheus::Registry registry_;
};

TEST_F(PostgresSourceTest, InsertsUpdatesAndDeletesArriveInOrderPerKey) {
  auto source = PostgresSource::Create(config_);
  ASSERT_TRUE(source.ok()) << source.status();
  const std::string a = Citizen(11), b = Citizen(12);
  ASSERT_TRUE(
      server_
          ->Exec(absl::StrCat(
              "INSERT INTO vehicles VALUES ('", a,
              "', '浙A1', 'VIN1', '小型汽车', '2020-01-02');"
              "INSERT INTO vehicles VALUES ('",
              a,
              "', '浙A2', 'VIN2', '货车', '2021-03-04');"
              "INSERT INTO vehicles VALUES ('",
              b,
              "', '浙A3', 'VIN3', '小型汽车', NULL);"
              "INSERT INTO other VALUES (1);"
              "UPDATE vehicles SET vin = 'VIN1b' WHERE plate = '浙A1';"
              "BEGIN; UPDATE vehicles SET vin = 'VIN2b' WHERE plate = '浙A2';"
              "UPDATE vehicles SET vin = 'VIN2c' WHERE plate = '浙A2'; COMMIT;"
              "DELETE FROM vehicles WHERE plate = '浙A3';"
              "INSERT INTO vehicles VALUES ('not-an-id', '浙A9', 'V', "
              "'小型汽车', NULL);"))
          .ok());
  Pipeline pipeline(source->get(), mapper_.get(), producer_.get(), registry_);
  Pump(**source, pipeline, 8, absl::Seconds(20));
  EXPECT_EQ(pipeline.counters().rows, 8u);

  std::map<std::string, std::vector<datarun::v1::Record>> by_key;
  for (const auto& m : broker_.Messages({kData, 0})) {
    datarun::v1::Record r;
    ASSERT_TRUE(r.ParseFromString(m.value));
    EXPECT_EQ(m.key, r.subject().id());
    by_key[r.record_key()].push_back(r);
  }
  auto vin = [](const datarun::v1::Record& r) {
    dep::VehicleRegistration v;
    EXPECT_TRUE(r.payload().UnpackTo(&v));
    return v.vin();
  };
  ASSERT_EQ(by_key["浙A1"].size(), 2u);
  EXPECT_EQ(vin(by_key["浙A1"][0]), "VIN1");
  EXPECT_EQ(vin(by_key["浙A1"][1]), "VIN1b");
  ASSERT_EQ(by_key["浙A2"].size(), 3u);
  EXPECT_EQ(vin(by_key["浙A2"][2]), "VIN2c");
  dep::VehicleRegistration truck;
  ASSERT_TRUE(by_key["浙A2"][0].payload().UnpackTo(&truck));
  EXPECT_EQ(truck.vehicle_type(), dep::VEHICLE_TYPE_TRUCK);
  EXPECT_EQ(truck.registration_date().year(), 2021);
  ASSERT_EQ(by_key["浙A3"].size(), 2u);
  EXPECT_EQ(by_key["浙A3"][1].op(), datarun::v1::Record::OP_DELETE);
  EXPECT_EQ(by_key["浙A3"][1].subject().id(), b);
  for (const auto& [key, records] : by_key) {
    for (size_t i = 1; i < records.size(); ++i) {
      EXPECT_GT(records[i].source_version(), records[i - 1].source_version())
          << key;  // including two updates in one transaction
    }
  }
  auto dlq = broker_.Messages({kDlq, 0});
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_THAT(dlq[0].value, ::testing::HasSubstr("not-an-id"));

  // A restart on the same slot sends nothing twice, then new changes.
  source->reset();
  auto again = PostgresSource::Create(config_);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(server_
                  ->Exec(absl::StrCat("INSERT INTO vehicles VALUES ('", b,
                                      "', '浙A4', 'VIN4', '货车', NULL)"))
                  .ok());
  Pipeline second(again->get(), mapper_.get(), producer_.get(), registry_);
  Pump(**again, second, 1, absl::Seconds(20));
  absl::SleepFor(absl::Milliseconds(200));
  Row extra;
  EXPECT_FALSE(*(*again)->Next(&extra)) << extra.raw;
  EXPECT_EQ(second.counters().rows, 1u);
  auto data = broker_.Messages({kData, 0});
  datarun::v1::Record last;
  ASSERT_TRUE(last.ParseFromString(data.back().value));
  EXPECT_EQ(last.record_key(), "浙A4");
}

TEST_F(PostgresSourceTest, RefusesATableWithoutFullReplicaIdentity) {
  ASSERT_TRUE(
      server_->Exec("ALTER TABLE vehicles REPLICA IDENTITY DEFAULT").ok());
  auto source = PostgresSource::Create(config_);
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(std::string(source.status().message()),
              ::testing::HasSubstr("REPLICA IDENTITY FULL"));
}

}  // namespace
}  // namespace datarun::connectors
