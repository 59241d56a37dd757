// PgTestServer: a real PostgreSQL 15 server (Debian's
// /usr/lib/postgresql/15/bin) in a fresh temporary directory on a free
// 127.0.0.1 port, with wal_level=logical, for connector tests. The
// destructor stops it (immediate shutdown) and removes the directory, also
// when the test failed.
//
// PostgreSQL refuses to run as root; when the test runs as root (CI), the
// data directory is made owned by the `postgres` system user and initdb /
// pg_ctl run as that user through `runuser -u postgres --`. The directory
// is then under /tmp because the Bazel sandbox is not readable by that user.
//
// Thread-safety: not thread-safe; one test thread drives it.
#ifndef DATARUN_CONNECTORS_POSTGRES_TESTING_PG_TEST_SERVER_H_
#define DATARUN_CONNECTORS_POSTGRES_TESTING_PG_TEST_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace datarun::connectors {

class PgTestServer {
 public:
  // initdb + start; the error carries the server log's tail.
  static absl::StatusOr<std::unique_ptr<PgTestServer>> Start();
  ~PgTestServer();

  // libpq connection string for database "postgres", user "postgres".
  std::string conninfo() const;
  int port() const { return port_; }
  // Runs SQL (several statements allowed) on a new connection.
  absl::Status Exec(const std::string& sql) const;

 private:
  PgTestServer() = default;
  absl::Status Run(const std::string& command) const;

  std::string dir_;
  std::string as_user_;  // "runuser -u postgres -- " when root
  int port_ = 0;
  bool started_ = false;
};

}  // namespace datarun::connectors

#endif  // DATARUN_CONNECTORS_POSTGRES_TESTING_PG_TEST_SERVER_H_
