// PostgresSource: change capture of one PostgreSQL table by logical
// decoding with the built-in test_decoding plugin, read over plain SQL
// (pg_logical_slot_peek_changes) and acknowledged with
// pg_replication_slot_advance.
//
// Why logical decoding rather than polling a change column: it sees
// deletes without a trigger-maintained delete log, it delivers changes in
// commit order (a polled sequence column can skip a row whose transaction
// commits after a higher value was already read), and the slot itself is
// the durable position, so nothing is lost while the connector is down.
// Costs: the server needs wal_level=logical and a replication slot (which
// retains WAL until advanced), and the table needs REPLICA IDENTITY FULL so
// that deletes and updates carry every column (Create checks it).
//
// Rows: one per INSERT/UPDATE (the new tuple) and DELETE (the old tuple,
// Row::op = kDelete), columns by name, values as PostgreSQL prints them
// (NULL -> ""). Row::source_version = (commit end LSN << 16) | index of the
// change in its transaction: monotonic in commit order and distinct for
// two changes of one key in one transaction. Position:
// "<commit LSN>/<index>/<changes of the transaction>"; the slot is
// advanced when the last change of a transaction is committed, so a crash
// re-sends at most the unacknowledged transactions (duplicates, no gaps).
//
// Limits: peek re-decodes from the slot's confirmed position on every poll,
// so a large unacknowledged backlog costs time (the pipeline commits every
// commit_interval, which keeps it small); a lost connection is returned as
// an error (the runner exits; a supervisor restarts it).
//
// Caller: the connector pipeline. Thread-safety: one thread (source.h).
#ifndef DATARUN_CONNECTORS_POSTGRES_POSTGRES_SOURCE_H_
#define DATARUN_CONNECTORS_POSTGRES_POSTGRES_SOURCE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/connector.pb.h"
#include "connectors/source.h"

typedef struct pg_conn PGconn;

namespace datarun::connectors {

// Parses one test_decoding change line for `table` ("public.t"): false if
// the line is not a change of that table (BEGIN, COMMIT, other tables).
// Errors are lines of the table that cannot be parsed.
absl::StatusOr<bool> ParseTestDecodingChange(absl::string_view line,
                                             absl::string_view table, Row* row);

// "0/16B3748" -> 0x16B3748.
bool ParseLsn(absl::string_view text, uint64_t* lsn);

class PostgresSource : public Source {
 public:
  static absl::StatusOr<std::unique_ptr<PostgresSource>> Create(
      const datarun::connectors::v1::PostgresSourceConfig& config);
  ~PostgresSource() override;

  absl::StatusOr<bool> Next(Row* row) override;
  absl::Status Commit(const std::string& position) override;

 private:
  PostgresSource() = default;
  absl::Status Poll();
  absl::Status Advance(uint64_t lsn);

  datarun::connectors::v1::PostgresSourceConfig config_;
  std::string table_;  // schema-qualified
  PGconn* conn_ = nullptr;
  std::deque<Row> ready_;
  uint64_t read_lsn_ = 0;       // commit LSN of the last transaction read
  uint64_t confirmed_lsn_ = 0;  // slot advanced to here
  std::string last_emitted_;
  std::string last_committed_;
  absl::Time next_poll_ = absl::InfinitePast();
};

}  // namespace datarun::connectors

#endif  // DATARUN_CONNECTORS_POSTGRES_POSTGRES_SOURCE_H_
