#include "connectors/postgres/postgres_source.h"

#include <postgresql/libpq-fe.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace datarun::connectors {
namespace {

// Owns a PGresult.
struct Result {
  explicit Result(PGresult* r) : res(r) {}
  ~Result() { PQclear(res); }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  PGresult* res;
};

absl::StatusOr<std::unique_ptr<Result>> Exec(
    PGconn* conn, const char* sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  auto r = std::make_unique<Result>(PQexecParams(
      conn, sql, values.size(), nullptr, values.data(), nullptr, nullptr, 0));
  ExecStatusType st = PQresultStatus(r->res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    return absl::UnavailableError(
        absl::StrCat("postgres: ", sql, ": ", PQerrorMessage(conn)));
  }
  return r;
}

// Reads one `name[type]:value` item at *s; false at the end.
absl::StatusOr<bool> NextColumn(absl::string_view* s, std::string* name,
                                std::string* value) {
  while (!s->empty() && s->front() == ' ') s->remove_prefix(1);
  if (s->empty()) return false;
  size_t open = s->find('[');
  if (open == absl::string_view::npos) {
    return absl::DataLossError(absl::StrCat("no '[' in '", *s, "'"));
  }
  *name = std::string(s->substr(0, open));
  if (name->size() >= 2 && name->front() == '"' && name->back() == '"') {
    *name = name->substr(1, name->size() - 2);
  }
  size_t close = s->find("]:", open);
  if (close == absl::string_view::npos) {
    return absl::DataLossError(absl::StrCat("no ']:' in '", *s, "'"));
  }
  s->remove_prefix(close + 2);
  value->clear();
  if (!s->empty() && s->front() == '\'') {
    size_t i = 1;
    while (true) {
      size_t q = s->find('\'', i);
      if (q == absl::string_view::npos) {
        return absl::DataLossError("unterminated quoted value");
      }
      value->append(s->data() + i, q - i);
      if (q + 1 < s->size() && (*s)[q + 1] == '\'') {
        value->push_back('\'');
        i = q + 2;
        continue;
      }
      s->remove_prefix(q + 1);
      break;
    }
    return true;
  }
  size_t end = s->find(' ');
  absl::string_view token = s->substr(0, end);
  s->remove_prefix(end == absl::string_view::npos ? s->size() : end);
  if (token != "null") *value = std::string(token);
  return true;
}

}  // namespace

bool ParseLsn(absl::string_view text, uint64_t* lsn) {
  std::pair<std::string, std::string> parts = absl::StrSplit(text, '/');
  uint32_t hi = 0, lo = 0;
  if (parts.second.empty() || !absl::SimpleHexAtoi(parts.first, &hi) ||
      !absl::SimpleHexAtoi(parts.second, &lo)) {
    return false;
  }
  *lsn = (static_cast<uint64_t>(hi) << 32) | lo;
  return true;
}

absl::StatusOr<bool> ParseTestDecodingChange(absl::string_view line,
                                             absl::string_view table,
                                             Row* row) {
  const std::string prefix = absl::StrCat("table ", table, ": ");
  if (!absl::StartsWith(line, prefix)) return false;
  line.remove_prefix(prefix.size());
  if (absl::ConsumePrefix(&line, "INSERT: ")) {
    row->op = RowOp::kUpsert;
  } else if (absl::ConsumePrefix(&line, "UPDATE: ")) {
    row->op = RowOp::kUpsert;
    size_t n = line.find("new-tuple: ");
    if (n != absl::string_view::npos) line.remove_prefix(n + 11);
  } else if (absl::ConsumePrefix(&line, "DELETE: ")) {
    row->op = RowOp::kDelete;
    if (absl::StartsWith(line, "(no-tuple-data)")) {
      return absl::FailedPreconditionError(
          "DELETE without old tuple: set REPLICA IDENTITY FULL on the table");
    }
  } else {
    return false;  // TRUNCATE and others: not row changes
  }
  row->columns.clear();
  std::string name, value;
  while (true) {
    ASSIGN_OR_RETURN(bool more, NextColumn(&line, &name, &value));
    if (!more) break;
    row->columns.emplace_back(name, value);
  }
  return true;
}

absl::StatusOr<std::unique_ptr<PostgresSource>> PostgresSource::Create(
    const v1::PostgresSourceConfig& config) {
  if (config.table().empty() || config.slot().empty()) {
    return absl::InvalidArgumentError(
        "postgres source: table and slot are required");
  }
  std::unique_ptr<PostgresSource> s(new PostgresSource());
  s->config_ = config;
  s->table_ = absl::StrContains(config.table(), '.')
                  ? config.table()
                  : absl::StrCat("public.", config.table());
  s->conn_ = PQconnectdb(config.conninfo().c_str());
  if (PQstatus(s->conn_) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        "postgres source: cannot connect: ", PQerrorMessage(s->conn_)));
  }
  ASSIGN_OR_RETURN(auto wal, Exec(s->conn_, "SHOW wal_level", {}));
  if (std::string(PQgetvalue(wal->res, 0, 0)) != "logical") {
    return absl::FailedPreconditionError(absl::StrCat(
        "postgres source: wal_level is '", PQgetvalue(wal->res, 0, 0),
        "', logical decoding needs wal_level=logical"));
  }
  ASSIGN_OR_RETURN(
      auto ident,
      Exec(s->conn_,
           "SELECT relreplident FROM pg_class WHERE oid = $1::regclass",
           {s->table_}));
  if (PQntuples(ident->res) != 1) {
    return absl::NotFoundError(
        absl::StrCat("postgres source: no table ", s->table_));
  }
  if (std::string(PQgetvalue(ident->res, 0, 0)) != "f") {
    return absl::FailedPreconditionError(absl::StrCat(
        "postgres source: table ", s->table_,
        " needs REPLICA IDENTITY FULL so deletes carry the subject and key "
        "columns: ALTER TABLE ",
        s->table_, " REPLICA IDENTITY FULL"));
  }
  ASSIGN_OR_RETURN(
      auto slot,
      Exec(s->conn_,
           "SELECT plugin, confirmed_flush_lsn::text FROM pg_replication_slots "
           "WHERE slot_name = $1",
           {config.slot()}));
  if (PQntuples(slot->res) == 0) {
    ASSIGN_OR_RETURN(auto created,
                     Exec(s->conn_,
                          "SELECT lsn::text FROM "
                          "pg_create_logical_replication_slot($1, "
                          "'test_decoding')",
                          {config.slot()}));
    DR_LOG(INFO) << "postgres source: created slot " << config.slot() << " at "
                 << PQgetvalue(created->res, 0, 0);
  } else if (std::string(PQgetvalue(slot->res, 0, 0)) != "test_decoding") {
    return absl::FailedPreconditionError(
        absl::StrCat("postgres source: slot ", config.slot(), " uses plugin '",
                     PQgetvalue(slot->res, 0, 0), "', not test_decoding"));
  } else {
    ParseLsn(PQgetvalue(slot->res, 0, 1), &s->confirmed_lsn_);
    s->read_lsn_ = s->confirmed_lsn_;
  }
  return s;
}

PostgresSource::~PostgresSource() {
  if (conn_ != nullptr) PQfinish(conn_);
}

absl::Status PostgresSource::Poll() {
  ASSIGN_OR_RETURN(
      auto r, Exec(conn_,
                   "SELECT lsn::text, data FROM pg_logical_slot_peek_changes("
                   "$1, NULL, 10000, 'include-xids', '0', "
                   "'skip-empty-xacts', '1')",
                   {config_.slot()}));
  std::vector<Row> txn;
  uint64_t last_commit = read_lsn_;
  for (int i = 0; i < PQntuples(r->res); ++i) {
    std::string data = PQgetvalue(r->res, i, 1);
    if (absl::StartsWith(data, "BEGIN")) {
      txn.clear();
      continue;
    }
    if (absl::StartsWith(data, "COMMIT")) {
      uint64_t lsn = 0;
      if (!ParseLsn(PQgetvalue(r->res, i, 0), &lsn)) {
        return absl::DataLossError(absl::StrCat("postgres source: bad LSN '",
                                                PQgetvalue(r->res, i, 0), "'"));
      }
      if (lsn <= read_lsn_) continue;  // read by an earlier poll
      last_commit = lsn;
      for (size_t k = 0; k < txn.size(); ++k) {
        txn[k].position =
            absl::StrCat(PQgetvalue(r->res, i, 0), "/", k, "/", txn.size());
        txn[k].source_version = (lsn << 16) | (k < 0xFFFF ? k : 0xFFFF);
        ready_.push_back(std::move(txn[k]));
      }
      read_lsn_ = lsn;
      continue;
    }
    Row row;
    auto parsed = ParseTestDecodingChange(data, table_, &row);
    if (!parsed.ok()) {
      if (parsed.status().code() == absl::StatusCode::kFailedPrecondition) {
        return parsed.status();
      }
      // An unparsable change still goes to the DLQ with its text.
      row.source_error = std::string(parsed.status().message());
      row.source_error_reason = "bad_type";
    } else if (!*parsed) {
      continue;
    }
    row.raw = data;
    row.location = absl::StrCat(table_, "@", PQgetvalue(r->res, i, 0));
    txn.push_back(std::move(row));
  }
  // Transactions without rows of our table: move the slot past them once
  // nothing of ours is outstanding, so it does not retain WAL for them.
  if (ready_.empty() && last_emitted_ == last_committed_ &&
      last_commit > confirmed_lsn_) {
    RETURN_IF_ERROR(Advance(last_commit));
  }
  return absl::OkStatus();
}

absl::Status PostgresSource::Advance(uint64_t lsn) {
  std::string text = absl::StrCat(absl::Hex(lsn >> 32, absl::kNoPad), "/",
                                  absl::Hex(lsn & 0xFFFFFFFFu, absl::kNoPad));
  ASSIGN_OR_RETURN(auto r, Exec(conn_,
                                "SELECT pg_replication_slot_advance($1, "
                                "$2::pg_lsn)",
                                {config_.slot(), text}));
  confirmed_lsn_ = lsn;
  return absl::OkStatus();
}

absl::StatusOr<bool> PostgresSource::Next(Row* row) {
  if (ready_.empty()) {
    const absl::Time now = absl::Now();
    if (now < next_poll_) return false;
    RETURN_IF_ERROR(Poll());
    if (ready_.empty()) {
      next_poll_ = now + absl::Milliseconds(config_.poll_interval_ms() > 0
                                                ? config_.poll_interval_ms()
                                                : 200);
      return false;
    }
  }
  *row = std::move(ready_.front());
  ready_.pop_front();
  last_emitted_ = row->position;
  return true;
}

absl::Status PostgresSource::Commit(const std::string& position) {
  last_committed_ = position;
  std::vector<std::string> parts = absl::StrSplit(position, '/');
  uint64_t lsn = 0;
  int index = 0, count = 0;
  if (parts.size() != 4 ||
      !ParseLsn(absl::StrCat(parts[0], "/", parts[1]), &lsn) ||
      !absl::SimpleAtoi(parts[2], &index) ||
      !absl::SimpleAtoi(parts[3], &count)) {
    return absl::InvalidArgumentError(
        absl::StrCat("postgres source: bad position '", position, "'"));
  }
  if (index + 1 == count && lsn > confirmed_lsn_) {
    return Advance(lsn);
  }
  return absl::OkStatus();
}

}  // namespace datarun::connectors
