#include "connectors/postgres/testing/pg_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <postgresql/libpq-fe.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace datarun::connectors {
namespace {

constexpr char kBin[] = "/usr/lib/postgresql/15/bin";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace

absl::Status PgTestServer::Run(const std::string& command) const {
  const std::string log = dir_ + "/command.log";
  std::string full =
      absl::StrCat(as_user_, command, " >>", log, " 2>&1 </dev/null");
  int rc = std::system(full.c_str());
  if (rc != 0) {
    return absl::InternalError(absl::StrCat("`", command, "` failed (", rc,
                                            "):\n", Tail(log), "\n",
                                            Tail(dir_ + "/server.log")));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PgTestServer>> PgTestServer::Start() {
  if (access(absl::StrCat(kBin, "/initdb").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        kBin, "/initdb not found: install postgresql-15 (tools/setup)"));
  }
  std::unique_ptr<PgTestServer> s(new PgTestServer());
  const bool root = geteuid() == 0;
  std::string base = "/tmp";
  if (!root && std::getenv("TEST_TMPDIR") != nullptr) {
    base = std::getenv("TEST_TMPDIR");
  }
  std::string templ = base + "/datarun-pg-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    return absl::InternalError("mkdtemp failed for " + templ);
  }
  s->dir_ = templ;
  if (root) {
    passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root and there is no 'postgres' user to run the "
          "server as (install postgresql-15)");
    }
    if (chown(s->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError("cannot chown " + s->dir_ + " to postgres");
    }
    // Absolute path: the test's PATH (strict action env) lacks /usr/sbin.
    const char* runuser = access("/usr/sbin/runuser", X_OK) == 0
                              ? "/usr/sbin/runuser"
                              : "/sbin/runuser";
    s->as_user_ = absl::StrCat(runuser, " -u postgres -- ");
  }
  s->port_ = FreePort();
  if (s->port_ == 0) return absl::InternalError("no free loopback port");
  absl::Status st =
      s->Run(absl::StrCat(kBin, "/initdb -D ", s->dir_,
                          "/data -U postgres --auth=trust -E UTF8 "
                          "--locale=C --no-sync"));
  if (!st.ok()) return st;
  st = s->Run(absl::StrCat(
      kBin, "/pg_ctl -D ", s->dir_, "/data -l ", s->dir_,
      "/server.log -w -t 30 ", "-o \"-c listen_addresses=127.0.0.1 -p ",
      s->port_, " -c unix_socket_directories=", s->dir_,
      " -c wal_level=logical -c max_replication_slots=4 -c max_wal_senders=4"
      " -c fsync=off -c synchronous_commit=off\" start"));
  if (!st.ok()) return st;
  s->started_ = true;
  return s;
}

PgTestServer::~PgTestServer() {
  if (started_) {
    (void)Run(
        absl::StrCat(kBin, "/pg_ctl -D ", dir_, "/data -m immediate -w stop"));
  }
  if (!dir_.empty()) {
    std::system(absl::StrCat("rm -rf '", dir_, "'").c_str());
  }
}

std::string PgTestServer::conninfo() const {
  return absl::StrCat("host=127.0.0.1 port=", port_,
                      " dbname=postgres user=postgres connect_timeout=10");
}

absl::Status PgTestServer::Exec(const std::string& sql) const {
  PGconn* conn = PQconnectdb(conninfo().c_str());
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(PQerrorMessage(conn));
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      status = absl::InternalError(
          absl::StrCat("`", sql, "`: ", PQerrorMessage(conn)));
    }
    PQclear(r);
  }
  PQfinish(conn);
  return status;
}

}  // namespace datarun::connectors
