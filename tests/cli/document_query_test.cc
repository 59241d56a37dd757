// `datarun query --kind=certificate|dossier --out=FILE` end to end: the
// built CLI against an in-process exchange (BusExchange) on the embedded
// Kafka-protocol cluster, the exchange's seals loaded from its keys
// directory exactly as the daemon must (LoadCurrentSigners), then the
// written files checked by `datarun verify` and `datarun render` — what a
// court clerk does: ask, save, verify offline, print.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "exchange/certificate/signer_set.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/query/testing/bus_exchange.h"
#include "exchange/seal/key_store.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/market_regulation.pb.h"
#include "proto/datarun/v1/departments/natural_resources.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"
#include "tests/testing/run_command.h"

namespace datarun {
namespace {

using policy::testing::CitizenId;
using ::testing::HasSubstr;
using ::testing::Not;
namespace dep = datarun::v1::departments;

using CliRun = test_support::CommandResult;

// Runs `tools/datarun <command> args...`; stdout and stderr captured.
CliRun Datarun(const std::string& command,
               const std::vector<std::string>& args) {
  std::vector<std::string> all = {command};
  all.insert(all.end(), args.begin(), args.end());
  return test_support::RunCommand("tools/datarun", all);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && st.st_size > 0;
}

TEST(DocumentQueryCli, CertificateAndDossierAskedSavedVerifiedRendered) {
  // Requester (courts), the certificate issuers and the dossier department
  // each get a key; the exchange holds all of them in one keys directory.
  auto f = policy::testing::Fixture::Create(
      policy::testing::kShippedMatters,
      {"courts", "market_regulation", "natural_resources", "big_data_bureau"});
  ASSERT_TRUE(f.ok()) << f.status();
  const auto& fixture = **f;
  const std::string keys = fixture.keys_dir();
  ASSERT_FALSE(keys.empty());
  // What datarund must do at start with its --keys directory.
  auto signers = certificate::LoadCurrentSigners(
      fixture.catalog().catalog(), seal::KeyStore(keys), absl::Now());
  ASSERT_TRUE(signers.ok()) << signers.status();
  EXPECT_EQ(signers->size(), 4u);

  query::testing::BusExchangeOptions o;
  o.state_dir = absl::StrCat(getenv("TEST_TMPDIR"), "/document-cli");
  o.seals.signers = &*signers;
  auto x =
      query::testing::BusExchange::Start(fixture.catalog(), fixture.policy(),
                                         &fixture.signer("big_data_bureau"), o);
  ASSERT_TRUE(x.ok()) << x.status();
  const std::string brokers = (*x)->cluster().bootstrap();

  // The verifier's catalog: the shipped one plus the keys, as a file.
  const std::string tmp = getenv("TEST_TMPDIR");
  const std::string catalog = absl::StrCat(tmp, "/catalog.textproto");
  {
    std::string text;
    ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(
        fixture.catalog().catalog(), &text));
    std::ofstream(catalog) << text;
  }

  const std::string defendant = CitizenId(77);
  {
    dep::HouseholdRegistration h;
    h.set_name("赵六");
    h.set_household_number("330106-7777");
    dep::VehicleRegistration v;
    v.set_plate_number("浙A77777");
    v.set_vin("LSVAA4182E2777777");
    v.set_status(dep::VEHICLE_STATUS_NORMAL);
    dep::RealEstateTitle t;
    t.set_title_number("浙(2021)杭州市不动产权第0077777号");
    t.set_floor_area_centi_sqm(12000);
    dep::EntityRoleHolding e;
    e.mutable_entity()->set_kind(datarun::v1::SUBJECT_KIND_LEGAL_PERSON);
    e.mutable_entity()->set_id("91330106MA2YYYYY7Y");
    e.set_entity_name("杭州某某贸易有限公司");
    e.set_role(dep::ENTITY_ROLE_LEGAL_REPRESENTATIVE);
    const auto& cat = fixture.catalog();
    ASSERT_TRUE(
        (*x)->Publish({policy::testing::MakeRecord(
                           cat, defendant, "household_registration", "", 1, h),
                       policy::testing::MakeRecord(cat, defendant,
                                                   "vehicle_registration",
                                                   v.plate_number(), 1, v),
                       policy::testing::MakeRecord(cat, defendant,
                                                   "real_estate_title",
                                                   t.title_number(), 1, t),
                       policy::testing::MakeRecord(cat, defendant,
                                                   "entity_role_holding",
                                                   e.entity().id(), 1, e)})
            .ok());
  }
  const std::vector<std::string> common = {
      absl::StrCat("--brokers=", brokers),
      "--as=courts",
      "--matter=court_case_filing",
      absl::StrCat("--subject=", defendant),
      absl::StrCat("--keys=", keys),
      "--officer=court-filing-03"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };

  // Certificate (market_regulation's seal), binary file.
  const std::string cert = absl::StrCat(tmp, "/roles.bin");
  CliRun r =
      Datarun("query", with({"--kind=certificate", "--template=entity_roles",
                             absl::StrCat("--out=", cert)}));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"decision\":\"DECISION_ALLOW\""));
  EXPECT_THAT(r.out, HasSubstr("杭州某某贸易有限公司"));
  EXPECT_THAT(r.err, HasSubstr("wrote certificate to"));
  ASSERT_TRUE(FileExists(cert));
  r = Datarun("verify", {absl::StrCat("--certificate=", cert),
                         absl::StrCat("--catalog=", catalog)});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("valid"));
  EXPECT_THAT(r.out, HasSubstr("market_regulation"));
  const std::string png = absl::StrCat(tmp, "/roles.png");
  r = Datarun("render", {absl::StrCat("--certificate=", cert),
                         absl::StrCat("--out=", png)});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(FileExists(png));

  // The real-estate certificate without the defendant's consent (statutory
  // exemption), as JSON.
  const std::string title = absl::StrCat(tmp, "/title.json");
  r = Datarun("query",
              with({"--kind=certificate", "--template=real_estate_ownership",
                    absl::StrCat("--out=", title)}));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  r = Datarun("verify", {absl::StrCat("--certificate=", title),
                         absl::StrCat("--catalog=", catalog)});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  // The filing dossier, sealed by big_data_bureau.
  const std::string dossier = absl::StrCat(tmp, "/dossier.bin");
  r = Datarun("query",
              with({"--kind=dossier", absl::StrCat("--out=", dossier)}));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_THAT(r.out, HasSubstr("浙A77777"));
  EXPECT_THAT(r.out, HasSubstr("浙(2021)杭州市不动产权第0077777号"));
  EXPECT_THAT(r.out, Not(HasSubstr("LSVAA4182E2777777")));  // VIN masked
  EXPECT_THAT(r.out, Not(HasSubstr("330106-7777")));        // household number
  r = Datarun("verify", {absl::StrCat("--dossier=", dossier),
                         absl::StrCat("--catalog=", catalog)});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  // A template the court's agreement does not cover: a denial (exit 1 with
  // --out, nothing written).
  const std::string none = absl::StrCat(tmp, "/none.bin");
  r = Datarun("query",
              with({"--kind=certificate", "--template=resident_population_info",
                    absl::StrCat("--out=", none)}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("policy.template_not_covered"));
  EXPECT_THAT(r.err, HasSubstr("nothing written"));
  EXPECT_FALSE(FileExists(none));

  // Usage errors.
  r = Datarun("query", with({"--kind=certificate"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--template"));
  r = Datarun("query", with({absl::StrCat("--out=", none)}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--out is only for"));
}

}  // namespace
}  // namespace datarun
