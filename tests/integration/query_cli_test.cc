// `datarun query` end to end: the built CLI binary against an in-process
// exchange (BusExchange) on the embedded cluster, signing with a key from a
// keys directory — profile (masked JSON), verify, a denial naming its rule,
// the usage log read from dr.audit ("who used my data"), and clear errors
// for bad input.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "exchange/policy/testing/fixture.h"
#include "exchange/query/testing/bus_exchange.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/civil_affairs.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"
#include "tests/testing/run_command.h"

namespace datarun::query {
namespace {

using policy::testing::CitizenId;
using ::testing::HasSubstr;
using ::testing::Not;
namespace dep = datarun::v1::departments;

constexpr char kMatter[] = "urban_rural_pension_registration";
constexpr char kHrss[] = "human_resources_social_security";

using CliRun = test_support::CommandResult;

// Runs `tools/datarun query` with `args`; stdout and stderr captured.
CliRun Datarun(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"query"};
  all.insert(all.end(), args.begin(), args.end());
  return test_support::RunCommand("tools/datarun", all);
}

TEST(QueryCli, ProfileVerifyDenialUsageAndErrors) {
  auto f = policy::testing::Fixture::Create(policy::testing::kShippedMatters,
                                            {kHrss, "big_data_bureau"});
  ASSERT_TRUE(f.ok()) << f.status();
  const auto& fixture = **f;
  testing::BusExchangeOptions o;
  o.state_dir = absl::StrCat(getenv("TEST_TMPDIR"), "/query-cli");
  auto x = testing::BusExchange::Start(fixture.catalog(), fixture.policy(),
                                       &fixture.signer("big_data_bureau"), o);
  ASSERT_TRUE(x.ok()) << x.status();
  const std::string brokers = (*x)->cluster().bootstrap();
  const std::string keys = fixture.keys_dir();
  ASSERT_FALSE(keys.empty());

  const std::string citizen = CitizenId(42);
  const std::string agent = CitizenId(900);
  const absl::Time now = absl::Now();
  std::vector<datarun::v1::Record> records;
  {
    dep::HouseholdRegistration h;
    h.set_name("王小明");
    h.set_household_number("330127-4001");
    h.mutable_birth_date()->set_year(1962);
    h.set_active(true);
    records.push_back(policy::testing::MakeRecord(
        fixture.catalog(), citizen, "household_registration", "", 1, h));
    dep::LowIncomeAssistance li;
    li.set_active(true);
    li.set_case_number("DB-42");
    records.push_back(policy::testing::MakeRecord(
        fixture.catalog(), citizen, "low_income_assistance", "", 1, li));
  }
  ASSERT_TRUE((*x)->Publish(records).ok());
  const std::vector<std::string> common = {
      absl::StrCat("--brokers=", brokers), absl::StrCat("--as=", kHrss),
      absl::StrCat("--matter=", kMatter),  absl::StrCat("--subject=", citizen),
      absl::StrCat("--keys=", keys),       "--officer=hrss-window-07"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };

  // Profile: the masked record with its provenance, as JSON.
  CliRun r = Datarun(with({}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"decision\":\"DECISION_ALLOW\""));
  EXPECT_THAT(r.out, HasSubstr("王小明"));
  EXPECT_THAT(r.out, HasSubstr("\"source_department\":\"public_security\""));
  EXPECT_THAT(r.out, Not(HasSubstr("330127-4001")));  // not covered
  EXPECT_THAT(r.out, Not(HasSubstr("DB-42")));        // verify-only class

  // Verify: true, no payload.
  r = Datarun(
      with({"--kind=verify", "--predicate=receives_low_income_assistance"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"verify_result\":\"VERIFY_RESULT_TRUE\""));
  EXPECT_THAT(r.out, Not(HasSubstr("DB-42")));

  // On behalf of an agent the citizen never delegated to: denied, the rule
  // named; still exit 0 (a denial is an answer).
  r = Datarun(with({absl::StrCat("--on_behalf_of=", agent)}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"decision\":\"DECISION_DENY\""));
  EXPECT_THAT(r.out, HasSubstr("policy.delegation_missing"));

  // Who used the citizen's data: three lookups, newest (the denial) first.
  r = Datarun({absl::StrCat("--brokers=", brokers), "--kind=usage",
               absl::StrCat("--subject=", citizen)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"usage\""));
  size_t entries = 0;
  for (size_t p = r.out.find("\"audit_event_id\""); p != std::string::npos;
       p = r.out.find("\"audit_event_id\"", p + 1)) {
    ++entries;
  }
  EXPECT_EQ(entries, 3u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"officer_id\":\"hrss-window-07\""));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("\"matter\":\"", kMatter, "\"")));
  const size_t list = r.out.find("\"usage\"");
  EXPECT_LT(r.out.find("DECISION_DENY", list),
            r.out.find("DECISION_ALLOW", list));

  // Bad input: a clear message and exit 2; missing key: exit 1.
  r = Datarun({absl::StrCat("--brokers=", brokers), "--as=x", "--matter=m",
               "--subject=33010619800101001"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--subject"));
  r = Datarun(with({"--kind=verify"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--predicate"));
  r = Datarun(with({"--kind=sometimes"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("expected profile, verify or usage"));
  std::vector<std::string> no_key = with({});
  no_key.push_back(absl::StrCat("--keys=", getenv("TEST_TMPDIR"), "/nokeys"));
  r = Datarun(no_key);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("datarun keygen"));
}

}  // namespace
}  // namespace datarun::query
