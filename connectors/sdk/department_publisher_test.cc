#include "connectors/sdk/department_publisher.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/catalog/catalog.h"
#include "exchange/subject/subject_id.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/civil_affairs.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::connectors {
namespace {

using ::testing::HasSubstr;
namespace dep = datarun::v1::departments;

constexpr char kTopic[] = "dr.data.public_security.vehicle_registration";

class DepartmentPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = catalog::LoadCatalog("exchange/catalog/zhejiang.textproto");
    ASSERT_TRUE(c.ok()) << c.status();
    catalog_ = *catalog::CatalogIndex::Create(*std::move(c));
    auto cluster = broker::EmbeddedCluster::Start();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    ASSERT_TRUE(cluster_->CreateTopic(kTopic, 2).ok());
    broker::KafkaConfig config;
    config.bootstrap = cluster_->bootstrap();
    broker_ = *broker::NewKafkaBroker(config);
    producer_ = *broker_->NewProducer({});
    auto pub = DepartmentPublisher::Create(*catalog_, "public_security",
                                           producer_.get());
    ASSERT_TRUE(pub.ok()) << pub.status();
    pub_ = *std::move(pub);
    citizen_ = *subject::MakeCitizenId(330106, absl::CivilDay(1990, 2, 3), 7);
  }

  std::unique_ptr<const catalog::CatalogIndex> catalog_;
  std::unique_ptr<broker::EmbeddedCluster> cluster_;
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<broker::Producer> producer_;
  std::unique_ptr<DepartmentPublisher> pub_;
  std::string citizen_;
};

TEST_F(DepartmentPublisherTest, PublishesTypedRecordsOverKafka) {
  dep::VehicleRegistration v;
  v.set_plate_number("浙A00001");
  v.set_vin("LSVAU2180N2183294");
  std::atomic<int> acked{0};
  auto count = [&](const absl::StatusOr<broker::DeliveryReport>& r) {
    if (r.ok()) acked.fetch_add(1);
  };
  ASSERT_TRUE(
      pub_->Upsert(citizen_, "浙A00001", 1, v, absl::Now(), count).ok());
  ASSERT_TRUE(pub_->Delete("vehicle_registration", citizen_, "浙A00001", 2,
                           absl::Now(), count)
                  .ok());
  ASSERT_TRUE(pub_->Flush(absl::Seconds(10)).ok());
  EXPECT_EQ(acked.load(), 2);

  broker::ConsumerOptions options;
  options.group_id = "sdk-test";
  auto consumer = *broker_->NewConsumer(options);
  struct FromStart : broker::RebalanceHandler {
    absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
        const std::vector<broker::TopicPartition>&) override {
      return {};
    }
    void OnRevoked(const std::vector<broker::TopicPartition>&) override {}
  } handler;
  ASSERT_TRUE(consumer->Subscribe({kTopic}, &handler).ok());
  std::vector<broker::Message> got, batch;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (got.size() < 2 && absl::Now() < deadline) {
    ASSERT_TRUE(consumer->Poll(10, absl::Milliseconds(200), &batch).ok());
    got.insert(got.end(), batch.begin(), batch.end());
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].key, citizen_);
  EXPECT_EQ(got[0].partition, got[1].partition);  // keyed by subject
  datarun::v1::Record upsert, del;
  ASSERT_TRUE(upsert.ParseFromString(got[0].value));
  ASSERT_TRUE(del.ParseFromString(got[1].value));
  EXPECT_EQ(upsert.source_department(), "public_security");
  EXPECT_EQ(upsert.data_class(), "vehicle_registration");
  dep::VehicleRegistration back;
  ASSERT_TRUE(upsert.payload().UnpackTo(&back));
  EXPECT_EQ(back.vin(), "LSVAU2180N2183294");
  EXPECT_EQ(del.op(), datarun::v1::Record::OP_DELETE);
  EXPECT_EQ(del.source_version(), 2u);
  bool has_type = false;
  for (const auto& [k, val] : got[0].headers) {
    if (k == "dr-payload-type") {
      has_type = val == "datarun.v1.departments.VehicleRegistration";
    }
  }
  EXPECT_TRUE(has_type);
  (void)consumer->Close();
}

TEST_F(DepartmentPublisherTest, RejectsBadCallsBeforeSending) {
  dep::VehicleRegistration v;
  std::string bad = citizen_;
  bad[17] = bad[17] == '1' ? '2' : '1';
  auto s = pub_->Upsert(bad, "k", 1, v, absl::Now());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("position 18"));
  s = pub_->Upsert(citizen_, "", 1, v, absl::Now());
  EXPECT_THAT(std::string(s.message()), HasSubstr("record_key is required"));
  s = pub_->Upsert(citizen_, "k", 0, v, absl::Now());
  EXPECT_THAT(std::string(s.message()), HasSubstr("version"));
  dep::LowIncomeAssistance not_ours;
  s = pub_->Upsert(citizen_, "", 1, not_ours, absl::Now());
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  s = pub_->Delete("low_income_assistance", citizen_, "", 1, absl::Now());
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("not the authoritative source"));
  EXPECT_EQ(producer_->InFlight(), 0);
}

}  // namespace
}  // namespace datarun::connectors
