// The court-filing dossier assembled from RocksDB state on disk: household,
// vehicles, real estate and enterprise roles of a defendant, each record
// with its provenance, one seal; verified, tampered, JSON round trip.
#include "exchange/certificate/dossier.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "exchange/certificate/document_io.h"
#include "exchange/certificate/testing/test_env.h"
#include "exchange/certificate/verify.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/market_regulation.pb.h"
#include "proto/datarun/v1/departments/natural_resources.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::certificate {
namespace {

using ::datarun::certificate::testing::CertEnv;
using ::datarun::certificate::testing::MakeRecord;
namespace dept = ::datarun::v1::departments;

constexpr char kDefendant[] = "330106198505050012";
constexpr char kNeighbour[] = "330106198505050039";
constexpr int32_t kPartition = 3;

absl::Time Day(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

class DossierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = CertEnv::Create(
        {{"big_data_bureau", "bdb-1", seal::SealAlgorithm::kSm2Sm3}});
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
    state::RocksDbStateOptions options;
    options.dir = testing::TempDir("state");
    options.block_cache_bytes = 8 << 20;
    auto store = state::RocksDbStateStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);

    const v1::Catalog& c = env_->catalog();
    dept::HouseholdRegistration hr;
    hr.set_name("李四");
    hr.mutable_address()->set_city("杭州市");
    hr.mutable_address()->set_detail("余杭区五常大道1号");
    dept::VehicleRegistration v1, v2, gone;
    v1.set_plate_number("浙A12345");
    v2.set_plate_number("浙A67890");
    gone.set_plate_number("浙A00000");
    dept::RealEstateTitle home;
    home.set_title_number("浙(2019)杭州市不动产权第0123456号");
    dept::EntityRoleHolding role;
    role.set_entity_name("杭州某某科技有限公司");
    role.set_role(dept::ENTITY_ROLE_LEGAL_REPRESENTATIVE);
    dept::VehicleRegistration neighbours;
    neighbours.set_plate_number("浙B11111");

    state::IngestBatch batch;
    batch.cluster_id = "test";
    auto add = [&](v1::Record r) {
      state::RecordWrite w;
      w.partition = kPartition;
      w.record = std::move(r);
      batch.records.push_back(std::move(w));
    };
    add(MakeRecord(c, kDefendant, "household_registration", "", 7, hr));
    add(MakeRecord(c, kDefendant, "vehicle_registration", "LVIN0000000000001",
                   2, v1));
    add(MakeRecord(c, kDefendant, "vehicle_registration", "LVIN0000000000002",
                   4, v2));
    v1::Record sold = MakeRecord(c, kDefendant, "vehicle_registration",
                                 "LVIN0000000000003", 9, gone);
    sold.set_op(v1::Record::OP_DELETE);
    add(sold);
    add(MakeRecord(c, kDefendant, "real_estate_title", "T-0123456", 11, home));
    add(MakeRecord(c, kDefendant, "entity_role_holding", "91330106MA2XXXXX1X",
                   1, role));
    add(MakeRecord(c, kNeighbour, "vehicle_registration", "LVIN9", 1,
                   neighbours));
    auto applied = store_->ApplyBatch(batch);
    ASSERT_TRUE(applied.ok()) << applied.status();
    subject_.set_kind(v1::SUBJECT_KIND_CITIZEN);
    subject_.set_id(kDefendant);
  }

  absl::StatusOr<v1::Dossier> Assemble() {
    DossierRequest request;
    request.matter_id = "court_case_filing";
    request.subject = subject_;
    request.requester_department = "courts";
    request.classes = CourtFilingClasses();
    absl::flat_hash_set<std::string> classes(request.classes.begin(),
                                             request.classes.end());
    auto records = store_->Profile(kPartition, kDefendant, classes);
    if (!records.ok()) return records.status();
    return AssembleDossier(env_->index(), request, *records, Day(2026, 11, 26),
                           *env_->signers().Find("big_data_bureau"));
  }

  Verification Check(const v1::Dossier& d) {
    VerifyOptions options;
    options.keyring = &env_->keyring();
    options.now = Day(2026, 11, 26);
    return VerifyDossier(d, options);
  }

  std::unique_ptr<CertEnv> env_;
  std::unique_ptr<state::RocksDbStateStore> store_;
  v1::Subject subject_;
};

TEST_F(DossierTest, CourtFilingDossierFromStateWithProvenance) {
  auto dossier = Assemble();
  ASSERT_TRUE(dossier.ok()) << dossier.status();
  EXPECT_EQ(dossier->matter(), "court_case_filing");
  EXPECT_EQ(dossier->requester_department(), "courts");
  EXPECT_EQ(dossier->seal().department(), "big_data_bureau");
  ASSERT_EQ(dossier->sections_size(), 5);

  const auto& household = dossier->sections(0);
  EXPECT_EQ(household.data_class(), "household_registration");
  EXPECT_FALSE(household.title().empty());
  ASSERT_EQ(household.records_size(), 1);
  EXPECT_EQ(household.records(0).provenance().source_department(),
            "public_security");
  EXPECT_EQ(household.records(0).provenance().source_version(), 7u);
  dept::HouseholdRegistration hr;
  ASSERT_TRUE(household.records(0).payload().UnpackTo(&hr));
  EXPECT_EQ(hr.name(), "李四");

  // No resident_population record: an empty section says so.
  EXPECT_EQ(dossier->sections(1).data_class(), "resident_population");
  EXPECT_EQ(dossier->sections(1).records_size(), 0);

  // Two live vehicles (the deleted one and the neighbour's are absent).
  const auto& vehicles = dossier->sections(2);
  ASSERT_EQ(vehicles.records_size(), 2);
  EXPECT_EQ(vehicles.records(0).provenance().record_key(), "LVIN0000000000001");
  EXPECT_EQ(vehicles.records(1).provenance().source_version(), 4u);

  EXPECT_EQ(dossier->sections(3).records(0).provenance().source_department(),
            "natural_resources");
  const auto& roles = dossier->sections(4);
  ASSERT_EQ(roles.records_size(), 1);
  EXPECT_EQ(roles.records(0).provenance().source_department(),
            "market_regulation");
  dept::EntityRoleHolding role;
  ASSERT_TRUE(roles.records(0).payload().UnpackTo(&role));
  EXPECT_EQ(role.role(), dept::ENTITY_ROLE_LEGAL_REPRESENTATIVE);

  Verification v = Check(*dossier);
  EXPECT_TRUE(v.valid()) << v.reason;
}

TEST_F(DossierTest, TamperedDossierFailsAndJsonRoundTripVerifies) {
  auto dossier = Assemble();
  ASSERT_TRUE(dossier.ok()) << dossier.status();
  v1::Dossier tampered = *dossier;
  tampered.mutable_sections(2)->mutable_records()->RemoveLast();  // hide a car
  EXPECT_EQ(Check(tampered).verdict, Verdict::kTampered);

  auto json = ToJson(*dossier);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("浙A67890"), std::string::npos);
  v1::Dossier back;
  ASSERT_TRUE(ParseDocument(*json, &back).ok());
  EXPECT_TRUE(Check(back).valid());
}

TEST_F(DossierTest, Errors) {
  DossierRequest request;
  request.matter_id = "no_such_matter";
  request.subject = subject_;
  const seal::Signer& signer = *env_->signers().Find("big_data_bureau");
  EXPECT_TRUE(absl::IsNotFound(
      AssembleDossier(env_->index(), request, {}, Day(2026, 11, 26), signer)
          .status()));
  request.matter_id = "court_case_filing";
  request.classes = {"no_such_class"};
  EXPECT_TRUE(absl::IsNotFound(
      AssembleDossier(env_->index(), request, {}, Day(2026, 11, 26), signer)
          .status()));
  // Without explicit classes the matter's own list is used.
  request.classes.clear();
  auto d =
      AssembleDossier(env_->index(), request, {}, Day(2026, 11, 26), signer);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->sections_size(),
            env_->index().FindMatter("court_case_filing")->data_classes_size());
}

}  // namespace
}  // namespace datarun::certificate
