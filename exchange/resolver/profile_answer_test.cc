// ReadProfile + AnswerProfile against the answer built the straightforward
// way from parsed Records (StateStore::Profile, unpack, FieldMask::Apply by
// reflection, repack, ProvenanceOf), on RocksDB state and on the in-memory
// store (which hands out bytes through StateStore's default VisitProfile).
#include "exchange/resolver/profile_answer.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/resolver/predicate.h"
#include "exchange/state/fake/fake_state_store.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/civil_affairs.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::resolver {
namespace {

using datarun::v1::AuditEvent;
using datarun::v1::QueryResponse;
using datarun::v1::Record;
using google::protobuf::util::MessageDifferencer;
using policy::testing::CitizenId;
using policy::testing::MakeRecord;
namespace dep = datarun::v1::departments;

constexpr char kOverlay[] =
    "exchange/catalog/testdata/policy_matters.textproto";
constexpr int32_t kPartition = 3;
const absl::Time kNow = absl::FromUnixSeconds(1780000000);

// The answer as the resolver built it before profile_answer: every record
// parsed, payloads unpacked, masked by reflection and repacked.
void ReferenceAnswer(const policy::AgreementPlan& plan,
                     const absl::flat_hash_set<std::string>& read,
                     const datarun::v1::Subject& subject,
                     const std::vector<Record>& records,
                     QueryResponse* response, AuditEvent* event) {
  std::map<std::string, datarun::v1::DisclosedClass*> disclosed;
  for (const Record& r : records) {
    if (!read.contains(r.data_class())) continue;
    auto g = plan.classes.find(r.data_class());
    if (g == plan.classes.end() || g->second.mask.empty()) continue;
    const policy::ClassGrant& cg = g->second;
    auto* d = response->add_records();
    std::unique_ptr<google::protobuf::Message> payload(cg.prototype->New());
    ASSERT_TRUE(r.payload().UnpackTo(payload.get()));
    cg.mask.Apply(payload.get());
    d->mutable_payload()->PackFrom(*payload);
    d->set_data_class(r.data_class());
    d->set_record_key(r.record_key());
    for (const auto& f : cg.mask.paths()) d->add_disclosed_fields(f);
    *d->mutable_provenance() = ProvenanceOf(r);
    *d->mutable_subject() = subject;
    auto*& dc = disclosed[r.data_class()];
    if (dc == nullptr) {
      dc = event->add_disclosed();
      dc->set_data_class(r.data_class());
      for (const auto& f : cg.mask.paths()) dc->add_fields(f);
    }
    dc->add_record_keys(r.record_key());
  }
}

class ProfileAnswerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto f = policy::testing::Fixture::Create(kOverlay, {"civil_affairs"});
    ASSERT_TRUE(f.ok()) << f.status();
    fixture_ = std::move(*f);
    if (GetParam()) {
      state::RocksDbStateOptions o;
      // One directory per test and store ("/" of the parameterised name
      // replaced).
      std::string name = absl::StrCat(
          ::testing::UnitTest::GetInstance()->current_test_info()->name());
      for (char& c : name) {
        if (c == '/') c = '_';
      }
      o.dir = absl::StrCat(getenv("TEST_TMPDIR"), "/state-", name);
      o.sync = false;
      o.block_cache_bytes = 8 << 20;
      o.write_buffer_bytes = 4 << 20;
      auto s = state::RocksDbStateStore::Open(o);
      ASSERT_TRUE(s.ok()) << s.status();
      store_ = std::move(*s);
    } else {
      store_ = std::make_unique<state::FakeStateStore>();
    }
    subject_.set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
    subject_.set_id(CitizenId(1));
  }

  void Apply(std::vector<Record> records,
             std::vector<std::string> serialized = {}) {
    state::IngestBatch batch;
    batch.cluster_id = "test";
    for (size_t i = 0; i < records.size(); ++i) {
      state::RecordWrite w;
      w.partition = kPartition;
      w.record = std::move(records[i]);
      if (i < serialized.size()) w.serialized = serialized[i];
      batch.records.push_back(std::move(w));
    }
    auto result = store_->ApplyBatch(batch);
    ASSERT_TRUE(result.ok()) << result.status();
  }

  void LoadProfile() {
    const auto& cat = fixture_->catalog();
    const std::string& a = subject_.id();
    dep::HouseholdRegistration h;
    h.set_household_number("330106-000123");
    h.mutable_address()->set_region_code("330106");
    h.mutable_address()->set_detail("文三路 1 号");
    h.set_name("张三");
    h.set_relation_to_head(dep::RELATION_TO_HEAD_SELF);
    h.set_active(true);
    dep::VehicleRegistration v1, v2;
    v1.set_plate_number("浙A12345");
    v1.set_vin("LSVAA4182E2123456");
    v1.set_status(dep::VEHICLE_STATUS_NORMAL);
    v2.set_plate_number("浙A99999");
    v2.set_status(dep::VEHICLE_STATUS_DEREGISTERED);
    dep::CriminalRecordStatus clean;
    clean.set_has_criminal_record(false);
    dep::LowIncomeAssistance li;
    li.set_active(true);
    Record deleted = MakeRecord(cat, a, "vehicle_registration", "浙A0", 2, v1);
    deleted.set_op(Record::OP_DELETE);
    deleted.clear_payload();
    Record untimed =
        MakeRecord(cat, a, "vehicle_registration", "浙A99999", 2, v2);
    untimed.clear_event_time();
    Apply({MakeRecord(cat, a, "household_registration", "", 3, h,
                      absl::FromUnixSeconds(1767225600)),
           MakeRecord(cat, a, "vehicle_registration", "浙A12345", 1, v1),
           untimed, deleted,
           MakeRecord(cat, a, "criminal_record_status", "", 1, clean),
           MakeRecord(cat, a, "low_income_assistance", "", 1, li),
           policy::testing::ConsentRecord(
               cat, a, "c-1", "civil_affairs", "test_open_matter",
               kNow - absl::Hours(1), kNow + absl::Hours(1)),
           policy::testing::DelegationRecord(
               cat, a, "d-1", CitizenId(2), "test_open_matter",
               kNow - absl::Hours(1), kNow + absl::Hours(1)),
           // Another subject's records stay out.
           MakeRecord(cat, CitizenId(3), "household_registration", "", 1, h)});
  }

  policy::RequestGrant Grant(const std::string& matter) {
    auto request = fixture_->Request("civil_affairs", matter,
                                     datarun::v1::QUERY_KIND_PROFILE,
                                     {subject_.id()}, kNow);
    policy::RequestGrant g = fixture_->policy().CheckRequest(request, kNow);
    EXPECT_TRUE(g.decision.allowed) << g.decision.message;
    return g;
  }

  std::unique_ptr<policy::testing::Fixture> fixture_;
  std::unique_ptr<state::StateStore> store_;
  datarun::v1::Subject subject_;
};

TEST_P(ProfileAnswerTest, SameAnswerAsParsedRecordsMaskedByReflection) {
  LoadProfile();
  const policy::RequestGrant g = Grant("test_open_matter");
  ASSERT_NE(g.plan, nullptr);

  // What the policy reads for a profile plus a verification-only class of
  // the agreement, which is read but must not be disclosed.
  absl::flat_hash_set<std::string> read = *g.read_classes;
  ASSERT_FALSE(read.contains("criminal_record_status"));
  read.insert("criminal_record_status");
  ProfileRecords records;
  std::vector<Record> gating;
  ASSERT_TRUE(
      ReadProfile(*store_, kPartition, subject_.id(), read, &records, &gating)
          .ok());
  // Gating records parsed, the other classes read as views in key order; no
  // deleted car, no low income (not in the agreement).
  ASSERT_EQ(gating.size(), 2u);
  EXPECT_EQ(gating[0].data_class(), "consent_grant");
  EXPECT_EQ(gating[1].data_class(), "delegation");
  std::vector<std::string> got;
  for (const state::RecordEnvelope& v : records.data) {
    got.push_back(absl::StrCat(v.data_class, "/", v.record_key));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"criminal_record_status/",
                                           "household_registration/",
                                           "vehicle_registration/浙A12345",
                                           "vehicle_registration/浙A99999"}));

  QueryResponse response;
  AuditEvent event;
  ASSERT_TRUE(
      AnswerProfile(*g.plan, subject_, records, &response, &event).ok());
  auto parsed = store_->Profile(kPartition, subject_.id(), {});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  QueryResponse want_response;
  AuditEvent want_event;
  ReferenceAnswer(*g.plan, read, subject_, *parsed, &want_response,
                  &want_event);
  ASSERT_EQ(want_response.records_size(), 3);  // criminal record: verify only
  std::string diff;
  MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(want_response, response)) << diff;
  EXPECT_TRUE(d.Compare(want_event, event)) << diff;
  // Masked on the wire to what reflection leaves, byte for byte.
  for (int i = 0; i < response.records_size(); ++i) {
    EXPECT_EQ(response.records(i).payload().value(),
              want_response.records(i).payload().value())
        << i;
  }
  EXPECT_TRUE(response.records(2).provenance().has_update_time());
}

TEST_P(ProfileAnswerTest, UnknownFieldsAreSkippedAsProtobufSkipsThem) {
  // A stored record with unknown fields, a group among them (which the
  // exchange never writes), is answered as protobuf reads it.
  dep::HouseholdRegistration h;
  h.set_name("李四");
  h.set_household_number("secret");
  Record r = MakeRecord(fixture_->catalog(), subject_.id(),
                        "household_registration", "", 1, h);
  const std::string bytes =
      r.SerializeAsString() + std::string("\x9b\x06\x08\x01\x9c\x06", 6);
  ASSERT_TRUE(r.ParseFromString(bytes));
  Apply({r}, {bytes});
  const policy::RequestGrant g = Grant("test_open_matter");
  ProfileRecords records;
  std::vector<Record> gating;
  ASSERT_TRUE(ReadProfile(*store_, kPartition, subject_.id(), *g.read_classes,
                          &records, &gating)
                  .ok());
  ASSERT_EQ(records.data.size(), 1u);
  QueryResponse response;
  AuditEvent event;
  ASSERT_TRUE(
      AnswerProfile(*g.plan, subject_, records, &response, &event).ok());
  ASSERT_EQ(response.records_size(), 1);
  dep::HouseholdRegistration got;
  ASSERT_TRUE(response.records(0).payload().UnpackTo(&got));
  EXPECT_EQ(got.name(), "李四");
  EXPECT_TRUE(got.household_number().empty());
}

TEST_P(ProfileAnswerTest, PayloadOfAnotherTypeIsDataLossNamingTheRecord) {
  dep::VehicleRegistration v;
  v.set_plate_number("浙A1");
  Record r = MakeRecord(fixture_->catalog(), subject_.id(),
                        "vehicle_registration", "浙A1", 1, v);
  r.set_data_class("household_registration");  // holds a vehicle
  r.set_record_key("");
  Apply({r});
  const policy::RequestGrant g = Grant("test_open_matter");
  ProfileRecords records;
  std::vector<Record> gating;
  ASSERT_TRUE(ReadProfile(*store_, kPartition, subject_.id(), *g.read_classes,
                          &records, &gating)
                  .ok());
  QueryResponse response;
  AuditEvent event;
  absl::Status st =
      AnswerProfile(*g.plan, subject_, records, &response, &event);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find(subject_.id()), std::string::npos) << st;
  EXPECT_NE(st.message().find("HouseholdRegistration"), std::string::npos)
      << st;
}

INSTANTIATE_TEST_SUITE_P(Stores, ProfileAnswerTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "RocksDb" : "InMemory";
                         });

// A store whose records are not Records.
class GarbageStore : public state::FakeStateStore {
 public:
  absl::Status VisitProfile(
      int32_t, absl::string_view,
      absl::FunctionRef<absl::Status(absl::string_view)> visit) override {
    return visit(std::string("\x0a\x05\x12\x03", 4));  // subject cut short
  }
};

TEST(ProfileAnswerErrorsTest, UnparseableStoredRecordIsDataLoss) {
  GarbageStore store;
  ProfileRecords records;
  std::vector<Record> gating;
  absl::flat_hash_set<std::string> read = {"household_registration"};
  absl::Status st =
      ReadProfile(store, 5, "330106198001010012", read, &records, &gating);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("330106198001010012"), std::string::npos) << st;
  EXPECT_NE(st.message().find("partition 5"), std::string::npos) << st;
  EXPECT_NE(st.message().find("Record field 1 at byte 0"), std::string::npos)
      << st;
}

}  // namespace
}  // namespace datarun::resolver
