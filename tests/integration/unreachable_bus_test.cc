// datarund when the bus is unreachable, as an operator sees it (see
// docs/operations.md, "When the bus is unreachable"):
//  - started against a port nobody listens on, it says so (the address and
//    the wait) and exits 1 after the connect check (10 s), also when
//    SIGTERM arrives meanwhile;
//  - when the cluster it was serving from is killed, it reports the lost
//    bus (the ingest lag refresh fails naming the address) and SIGTERM
//    still drains and exits 0 within a few seconds: no wait on the bus is
//    longer than its own timeout.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"
#include "tests/testing/closed_port.h"

namespace datarun::integration {
namespace {

using ::testing::HasSubstr;

constexpr int kPartitions = 2;
// Process start and scheduling on a 2-core machine shared with builds.
constexpr absl::Duration kSlack = absl::Seconds(3);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A free 127.0.0.1 port for /metrics (free when asked; nothing else here
// takes ports meanwhile).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// With /metrics on, so that the ingest lag monitor runs (it queries
// watermarks every 5 s).
std::vector<std::string> DaemonArgs(const std::string& bootstrap,
                                    const std::string& name) {
  return {RunfilePath(kDatarund),
          absl::StrCat("--metrics_port=", FreePort()),
          "--metrics_bind=127.0.0.1",
          absl::StrCat("--brokers=", bootstrap),
          absl::StrCat("--state_dir=", TestPath(name + "_state")),
          absl::StrCat("--catalog=", kCatalogPath),
          absl::StrCat("--partitions=", kPartitions),
          absl::StrCat("--ready_file=", TestPath(name + "_ready")),
          absl::StrCat("--group_id=", name),
          "--unsealed_checkpoints",
          "--query_workers=2",
          "--block_cache_mb=64",
          "--write_buffer_mb=16"};
}

TEST(UnreachableBusTest, PortNobodyListensOnExitsOneAfterTheConnectCheck) {
  test_support::ClosedPort port;
  ASSERT_TRUE(port.ok());
  const std::string address = port.address();

  Process daemon;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(
      daemon.Start(DaemonArgs(address, "closed"), TestPath("closed")).ok());
  absl::SleepFor(absl::Seconds(1));
  // SIGTERM during the connect check: it is not cut short (the check has
  // no cancellation), the daemon exits when the check fails.
  auto code = daemon.Terminate(absl::Seconds(10) + kSlack);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10) + kSlack);
  EXPECT_THAT(ReadFile(TestPath("closed.err")),
              HasSubstr(absl::StrCat("no Kafka broker answered at "
                                     "bootstrap.servers=",
                                     address, " within 10s")));
}

TEST(UnreachableBusTest, LostBusIsReportedAndSigtermStillDrains) {
  std::vector<std::string> topics = CatalogTopics();
  for (const char* t :
       {"dr.query.req", "dr.audit", "dr.audit.checkpoint",
        "dr.query.resp.public_security", "dr.query.resp.natural_resources"}) {
    topics.push_back(t);
  }
  Process kafka;
  auto bootstrap = StartKafka(&kafka, topics, kPartitions);
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  Process daemon;
  ASSERT_TRUE(
      daemon.Start(DaemonArgs(*bootstrap, "lost"), TestPath("lost")).ok());
  auto ready = WaitForFile(TestPath("lost_ready"), absl::Seconds(30));
  ASSERT_TRUE(ready.ok()) << ready.status();
  // The ingest group's first join on the embedded cluster takes 3 s.
  absl::SleepFor(absl::Seconds(4));

  kafka.Kill();
  // The lag refresh (every 5 s) meets the dead bus and fails after its
  // 2 s query timeout.
  const absl::Time deadline = absl::Now() + absl::Seconds(10) + kSlack;
  const std::string reported = absl::StrCat(
      "ingest lag metric: UNAVAILABLE: no Kafka broker answered "
      "at bootstrap.servers=",
      *bootstrap);
  while (ReadFile(TestPath("lost.err")).find(reported) == std::string::npos &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(ReadFile(TestPath("lost.err")), HasSubstr(reported));

  const absl::Time stop = absl::Now();
  auto code = daemon.Terminate(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << ReadFile(TestPath("lost.err")).substr(0, 4000);
  EXPECT_LT(absl::Now() - stop, absl::Seconds(2) + kSlack);
  EXPECT_THAT(ReadFile(TestPath("lost.err")),
              HasSubstr("stopped on signal, state flushed"));
}

}  // namespace
}  // namespace datarun::integration
