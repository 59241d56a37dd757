#include "connectors/pipeline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "broker_adapters/fake/fake_broker.h"
#include "connectors/file/file_source.h"
#include "exchange/catalog/catalog.h"
#include "exchange/subject/subject_id.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::connectors {
namespace {

using ::testing::HasSubstr;
namespace v1 = datarun::connectors::v1;

constexpr char kData[] = "dr.data.public_security.vehicle_registration";
constexpr char kDlq[] = "dr.dlq.public_security";

constexpr char kMapping[] = R"pb(
  data_class: "vehicle_registration"
  format: FORMAT_CSV
  subject_column: "sfzh"
  record_key_column: "plate"
  version_column: "version"
  fields { column: "plate" field: "plate_number" required: true }
  fields {
    column: "type"
    field: "vehicle_type"
    labels { label: "小型汽车" value: "VEHICLE_TYPE_SMALL_CAR" }
  }
  fields { column: "registered" field: "registration_date" }
)pb";

const catalog::CatalogIndex& Catalog() {
  static const catalog::CatalogIndex* index = [] {
    auto c = catalog::LoadCatalog("exchange/catalog/zhejiang.textproto");
    EXPECT_TRUE(c.ok()) << c.status();
    return catalog::CatalogIndex::Create(*std::move(c))->release();
  }();
  return *index;
}

std::string Citizen(int seq) {
  return *subject::MakeCitizenId(330106, absl::CivilDay(1980, 1, 2), seq);
}

std::string Header(const broker::Message& m, const std::string& name) {
  for (const auto& [k, v] : m.headers) {
    if (k == name) return v;
  }
  return "<none>";
}

// Every test runs twice: records through Producer::SendRecord with the
// pipeline's PipelineDeliveries as the producer's sink (what
// datarun-connect does), and through Send with a callback per record.
class PipelineTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(broker_.CreateTopic(kData, 1).ok());
    ASSERT_TRUE(broker_.CreateTopic(kDlq, 1).ok());
    v1::Mapping mapping;
    ASSERT_TRUE(
        google::protobuf::TextFormat::ParseFromString(kMapping, &mapping));
    auto mapper = Mapper::Create(mapping, Catalog(), "public_security");
    ASSERT_TRUE(mapper.ok()) << mapper.status();
    mapper_ = *std::move(mapper);
    broker::ProducerOptions producer_options;
    if (GetParam()) producer_options.delivery_sink = &deliveries_;
    auto producer = broker_.NewProducer(producer_options);
    ASSERT_TRUE(producer.ok());
    producer_ = *std::move(producer);
  }
  PipelineOptions Options() {
    PipelineOptions options;
    if (GetParam()) options.deliveries = &deliveries_;
    return options;
  }
  Row MakeRow(int n, std::string sfzh, std::string type = "小型汽车",
              std::string date = "2020-01-01") {
    Row row;
    row.position = absl::StrCat("pos", n);
    row.location = absl::StrCat("rows.csv:", n);
    row.columns = {{"sfzh", sfzh},
                   {"plate", absl::StrCat("浙A", n)},
                   {"version", "1"},
                   {"type", type},
                   {"registered", date}};
    row.raw = absl::StrCat(sfzh, ",浙A", n, ",1,", type, ",", date);
    return row;
  }

  broker::FakeBroker broker_;
  std::unique_ptr<Mapper> mapper_;
  PipelineDeliveries deliveries_;  // outlives producer_
  std::unique_ptr<broker::Producer> producer_;
  prometheus::Registry registry_;
};

TEST_P(PipelineTest, BadRowsGoToTheDlqWithReasonAndGoodRowsFlow) {
  FakeSource source;
  Pipeline pipeline(&source, mapper_.get(), producer_.get(), registry_,
                    Options());
  std::string bad_id = Citizen(1);
  bad_id[10] = '3';  // month 13
  Row broken_csv = MakeRow(4, "");
  broken_csv.columns.clear();
  broken_csv.source_error = "field 2: quote inside an unquoted field";
  broken_csv.source_error_reason = "bad_csv";
  Row bad_utf8 = MakeRow(5, "");
  bad_utf8.columns.clear();
  bad_utf8.raw = "x\xFF";
  bad_utf8.source_error = "invalid UTF-8 at byte 1 of the row";
  bad_utf8.source_error_reason = "invalid_utf8";
  Row missing = MakeRow(6, Citizen(6));
  missing.columns[1].second = "";  // plate: record key and required field

  const struct {
    Row row;
    std::string reason;  // "" for good rows
  } rows[] = {
      {MakeRow(1, Citizen(1)), ""},
      {MakeRow(2, bad_id), "bad_subject"},
      {MakeRow(3, Citizen(3), "小型汽车", "2020-13-01"), "bad_type"},
      {broken_csv, "bad_csv"},
      {bad_utf8, "invalid_utf8"},
      {missing, "missing_field"},
      {MakeRow(7, Citizen(7), "火箭"), "unknown_enum"},
      {MakeRow(8, Citizen(8)), ""},
  };
  for (const auto& r : rows) ASSERT_TRUE(pipeline.ProcessRow(r.row).ok());
  ASSERT_TRUE(pipeline.Drain().ok());

  auto data = broker_.Messages({kData, 0});
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0].key, Citizen(1));
  EXPECT_EQ(data[1].key, Citizen(8));
  EXPECT_EQ(Header(data[0], "dr-payload-type"),
            "datarun.v1.departments.VehicleRegistration");
  EXPECT_EQ(Header(data[0], "dr-catalog-version"), Catalog().version());
  datarun::v1::Record record;
  ASSERT_TRUE(record.ParseFromString(data[1].value));
  EXPECT_EQ(record.record_key(), "浙A8");

  auto dlq = broker_.Messages({kDlq, 0});
  ASSERT_EQ(dlq.size(), 6u);
  size_t d = 0;
  for (const auto& r : rows) {
    if (r.reason.empty()) continue;
    EXPECT_EQ(Header(dlq[d], "dr-dlq-reason"), r.reason) << r.row.location;
    EXPECT_EQ(Header(dlq[d], "dr-dlq-source"), r.row.location);
    EXPECT_EQ(Header(dlq[d], "dr-dlq-position"), r.row.position);
    EXPECT_EQ(Header(dlq[d], "dr-dlq-topic"), kData);
    EXPECT_NE(Header(dlq[d], "dr-dlq-detail"), "");
    EXPECT_EQ(dlq[d].value, r.row.raw);
    ++d;
  }
  EXPECT_THAT(Header(dlq[0], "dr-dlq-detail"), HasSubstr("column 'sfzh'"));

  auto c = pipeline.counters();
  EXPECT_EQ(c.rows, 8u);
  EXPECT_EQ(c.published, 2u);
  EXPECT_EQ(c.dlq, 6u);
  ASSERT_FALSE(source.commits().empty());
  EXPECT_EQ(source.commits().back(), "pos8");

  // The same counts in the injected registry.
  double published = 0, dlq_rows = 0;
  for (const auto& family : registry_.Collect()) {
    if (family.name != "datarun_connector_rows_total") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.value == "published") published = metric.counter.value;
        if (label.value == "dlq") dlq_rows = metric.counter.value;
      }
    }
  }
  EXPECT_EQ(published, 2);
  EXPECT_EQ(dlq_rows, 6);
}

TEST_P(PipelineTest, PositionNeverPassesARowThatWasNotAcknowledged) {
  FakeSource source;
  Pipeline pipeline(&source, mapper_.get(), producer_.get(), registry_,
                    Options());
  ASSERT_TRUE(pipeline.ProcessRow(MakeRow(1, Citizen(1))).ok());
  ASSERT_TRUE(pipeline.Drain().ok());
  ASSERT_EQ(source.commits().back(), "pos1");
  broker_.FailDeliveries(1, absl::UnavailableError("broker gone"));
  ASSERT_TRUE(pipeline.ProcessRow(MakeRow(2, Citizen(2))).ok());
  // Row 3 is acknowledged, but row 2 before it is not.
  (void)pipeline.ProcessRow(MakeRow(3, Citizen(3)));
  absl::Status drained = pipeline.Drain();
  EXPECT_FALSE(drained.ok());
  EXPECT_THAT(std::string(drained.message()), HasSubstr("broker gone"));
  EXPECT_EQ(source.commits().back(), "pos1");
  EXPECT_EQ(pipeline.counters().failed, 1u);
  // A failed pipeline refuses further rows rather than skipping.
  EXPECT_FALSE(pipeline.ProcessRow(MakeRow(4, Citizen(4))).ok());
}

TEST_P(PipelineTest, RunPublishesADropDirectoryAndStopsWhenIdle) {
  std::string dir = absl::StrCat(getenv("TEST_TMPDIR"), "/drop-",
                                 GetParam() ? "record" : "send");
  mkdir(dir.c_str(), 0755);
  std::string csv = "sfzh,plate,version,type,registered\n";
  for (int i = 1; i <= 300; ++i) {
    csv += absl::StrCat(i == 150 ? "bad" : Citizen(i), ",浙A", i,
                        ",1,小型汽车,2020-01-01\n");
  }
  std::ofstream(dir + "/a.csv") << csv;
  v1::FileSourceConfig config;
  config.set_drop_dir(dir);
  auto source = FileSource::Create(config, v1::FORMAT_CSV);
  ASSERT_TRUE(source.ok());
  PipelineOptions options = Options();
  options.commit_interval = absl::Milliseconds(10);
  Pipeline pipeline(source->get(), mapper_.get(), producer_.get(), registry_,
                    options);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(pipeline.Run(stop, /*exit_when_idle=*/true).ok());
  EXPECT_EQ(broker_.Messages({kData, 0}).size(), 299u);
  auto dlq = broker_.Messages({kDlq, 0});
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(Header(dlq[0], "dr-dlq-source"), "a.csv:151");
  EXPECT_EQ(access((dir + "/.done/a.csv").c_str(), F_OK), 0);
}

INSTANTIATE_TEST_SUITE_P(SendPaths, PipelineTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "SendRecord" : "Send";
                         });

}  // namespace
}  // namespace datarun::connectors
