// `datarun query` against a bus nobody answers on: exit 1 within its
// --timeout with one line naming the address, for an exchange query and
// for the auditor's --kind=usage (docs/cli.md: 1 when no response came).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/closed_port.h"
#include "tests/testing/run_command.h"

namespace datarun {
namespace {

using ::testing::HasSubstr;

constexpr char kBinary[] = "tools/datarun";
// Process start and scheduling on a 2-core machine shared with builds.
constexpr absl::Duration kSlack = absl::Seconds(2);

using test_support::ClosedPort;

void ExpectFailsWithinTimeout(const std::vector<std::string>& extra) {
  ClosedPort port;
  std::vector<std::string> args = {
      "query", absl::StrCat("--brokers=", port.address()),
      "--subject=11010519491231002X", "--timeout=2s"};
  args.insert(args.end(), extra.begin(), extra.end());
  const absl::Time start = absl::Now();
  const test_support::CommandResult r = test_support::RunCommand(kBinary, args);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2) + kSlack);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr(absl::StrCat("no Kafka broker answered at "
                                            "bootstrap.servers=",
                                            port.address(), " within 2s")));
  EXPECT_EQ(r.out, "");
}

TEST(QueryUnreachableTest, ExchangeQueryExitsOneWithinItsTimeout) {
  ExpectFailsWithinTimeout({"--as=public_security", "--matter=m"});
}

TEST(QueryUnreachableTest, UsageQueryExitsOneWithinItsTimeout) {
  ExpectFailsWithinTimeout({"--kind=usage"});
}

}  // namespace
}  // namespace datarun
