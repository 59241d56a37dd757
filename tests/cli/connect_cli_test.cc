// `datarun-connect` as an operator or a supervisor sees it: usage and
// configuration errors exit 2 with a message naming what is wrong, and
// --metrics_bind is the address /metrics listens on (a port already taken
// on that address is a configuration error, the same port on another
// address is not), while an unreachable bus is a runtime error (exit 1).
// A connector with an empty drop directory and --exit_when_idle exits 0
// once it has reached the bus (an embedded cluster here).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "broker_adapters/embedded/embedded_cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/run_command.h"

namespace datarun {
namespace {

using test_support::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kBinary[] = "connectors/datarun-connect";

class ConnectCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = absl::StrCat(
        std::getenv("TEST_TMPDIR"), "/",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ + "/drop");
    std::ofstream(dir_ + "/mapping.textproto") << R"pb(
      data_class: "vehicle_registration"
      format: FORMAT_CSV
      subject_column: "sfzh"
      record_key_column: "plate"
      version_column: "version"
      fields { column: "plate" field: "plate_number" required: true }
      fields { column: "vin" field: "vin" required: true }
    )pb";
  }

  // A config that is valid but for `extra` lines appended (later fields of
  // a textproto override earlier ones).
  std::string WriteConfig(const std::string& extra,
                          const std::string& brokers = "127.0.0.1:1") {
    const std::string catalog =
        absl::StrCat(std::filesystem::current_path().string(),
                     "/exchange/catalog/zhejiang.textproto");
    const std::string path = dir_ + "/connector.textproto";
    std::ofstream(path) << "department: \"public_security\"\n"
                        << "catalog: \"" << catalog << "\"\n"
                        << "mapping: \"mapping.textproto\"\n"
                        << "file { drop_dir: \"drop\" suffix: \".csv\" }\n"
                        << "brokers: \"" << brokers << "\"\n"
                        << extra;
    return path;
  }

  CommandResult Connect(const std::vector<std::string>& args) {
    return test_support::RunCommand(kBinary, args);
  }

  std::string dir_;
};

TEST_F(ConnectCliTest, MissingConfigFlagIsUsageError) {
  CommandResult r = Connect({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--config is required"));
}

TEST_F(ConnectCliTest, UnknownFlagIsUsageError) {
  CommandResult r = Connect({"--config=x", "--metrics_addr=127.0.0.1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown flag '--metrics_addr=127.0.0.1'"));
}

TEST_F(ConnectCliTest, HelpfullListsTheFlags) {
  // Abseil's usage flags are not registered flags: they must still work.
  CommandResult r = Connect({"--helpfull"});
  EXPECT_THAT(r.out, HasSubstr("--metrics_bind"));
  EXPECT_THAT(r.out, HasSubstr("--config"));
  EXPECT_THAT(r.err, Not(HasSubstr("unknown flag")));
}

TEST_F(ConnectCliTest, PositionalArgumentIsUsageError) {
  CommandResult r = Connect({"--config=" + WriteConfig(""), "extra"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unexpected argument 'extra'"));
}

TEST_F(ConnectCliTest, UnreadableConfigIsUsageError) {
  CommandResult r = Connect({"--config=" + dir_ + "/missing.textproto"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot read " + dir_ + "/missing.textproto"));
}

TEST_F(ConnectCliTest, InvalidConfigIsUsageErrorNamingTheFile) {
  const std::string path = WriteConfig("no_such_field: 1\n");
  CommandResult r = Connect({"--config=" + path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(path + ": not a ConnectorConfig textproto"));
  EXPECT_THAT(r.err, HasSubstr("no_such_field"));  // the parser's message
}

TEST_F(ConnectCliTest, BadMappingIsUsageError) {
  std::ofstream(dir_ + "/mapping.textproto")
      << "data_class: \"no_such_class\" format: FORMAT_CSV\n";
  CommandResult r = Connect({"--config=" + WriteConfig("")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no_such_class"));
}

TEST_F(ConnectCliTest, MissingDropDirectoryIsUsageError) {
  std::filesystem::remove(dir_ + "/drop");
  CommandResult r = Connect({"--config=" + WriteConfig("")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr(dir_ + "/drop"));
}

// A listening socket on addr:port (0: any free port); returns the port.
int Listen(const char* addr, int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  inet_pton(AF_INET, addr, &a.sin_addr);
  if (bind(*fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      listen(*fd, 1) != 0) {
    return -1;
  }
  socklen_t len = sizeof(a);
  getsockname(*fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST_F(ConnectCliTest, UnreachableBusIsRuntimeError) {
  CommandResult r =
      Connect({"--config=" + WriteConfig(""), "--exit_when_idle"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("127.0.0.1:1"));
}

TEST_F(ConnectCliTest, MetricsBindIsTheAddressMetricsListensOn) {
  auto cluster = broker::EmbeddedCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  int fd = -1;
  const int port = Listen("127.0.0.1", &fd);
  ASSERT_GT(port, 0);
  const std::string config = WriteConfig(
      absl::StrCat("metrics_port: ", port, "\n"), (*cluster)->bootstrap());

  // The port is taken on 127.0.0.1: a configuration error naming it.
  CommandResult taken = Connect(
      {"--config=" + config, "--metrics_bind=127.0.0.1", "--exit_when_idle"});
  EXPECT_EQ(taken.exit_code, 2) << taken.err;
  EXPECT_THAT(taken.err,
              HasSubstr(absl::StrCat("cannot listen on 127.0.0.1:", port)));

  // The same port on another loopback address is free: the connector
  // starts, finds nothing to publish and exits 0.
  CommandResult other = Connect(
      {"--config=" + config, "--metrics_bind=127.0.0.2", "--exit_when_idle"});
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_THAT(other.out, HasSubstr("rows=0 published=0"));

  // Not an address at all.
  CommandResult bad =
      Connect({"--config=" + config, "--metrics_bind=not an address",
               "--exit_when_idle"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("cannot listen on not an address:"));
  close(fd);
}

}  // namespace
}  // namespace datarun
