// A 127.0.0.1 port that refuses connections for as long as the object
// lives: bound (so nobody else gets the port) but never listening. Tests of
// what the product does against an unreachable bus point bootstrap at it.
//
// Used by: broker_adapters/kafka:unreachable_test, exchange/query/client:
// query_client_unreachable_test, tests/cli:query_unreachable_test,
// tests/integration:unreachable_bus_test. Not thread-safe (immutable after
// construction).
#ifndef DATARUN_TESTS_TESTING_CLOSED_PORT_H_
#define DATARUN_TESTS_TESTING_CLOSED_PORT_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace datarun::test_support {

class ClosedPort {
 public:
  ClosedPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 ||
        bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      return;
    }
    socklen_t len = sizeof(addr);
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  }
  ~ClosedPort() {
    if (fd_ >= 0) close(fd_);
  }
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;

  // False when no port could be bound; address() is then empty.
  bool ok() const { return !address_.empty(); }
  // "127.0.0.1:<port>".
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

}  // namespace datarun::test_support

#endif  // DATARUN_TESTS_TESTING_CLOSED_PORT_H_
