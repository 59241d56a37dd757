// The source seam of a department connector: something that yields rows
// with a position and can be told how far the bus has acknowledged.
//
// Implementations: connectors/file/ (CSV and JSON Lines drop directory),
// connectors/postgres/ (logical decoding of one table) and FakeSource below
// (in memory, for tests). Caller: connectors/pipeline (one thread).
//
// Thread-safety: a Source is driven by one thread; Next and Commit are never
// called concurrently.
#ifndef DATARUN_CONNECTORS_SOURCE_H_
#define DATARUN_CONNECTORS_SOURCE_H_

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace datarun::connectors {

enum class RowOp { kUpsert, kDelete };

// One row read from a source.
struct Row {
  // Opaque, source-specific; Commit(position) means "every row up to and
  // including this one was acknowledged".
  std::string position;
  // Human-readable place of the row for the DLQ and logs ("a.csv:line 12").
  std::string location;
  // The row as read (bytes of the line or record), sent to the DLQ when bad.
  std::string raw;
  // Column name -> text value. Empty for canonical JSONL (see raw).
  std::vector<std::pair<std::string, std::string>> columns;
  // Set by sources that know the operation (PostgreSQL deletes).
  RowOp op = RowOp::kUpsert;
  // Set by sources that derive a version (PostgreSQL: the change's LSN).
  uint64_t source_version = 0;
  // Non-empty when the source could not even split the row (broken CSV
  // quoting, invalid UTF-8, bad JSON); such a row goes to the DLQ with
  // reason source_error_reason.
  std::string source_error;
  std::string source_error_reason;
  // Nonzero when `columns` has the same names in the same order as every
  // other row with this value (the rows of one CSV file): lets the mapping
  // resolve its column names to indexes once instead of per row.
  uint64_t layout = 0;
};

class Source {
 public:
  virtual ~Source() = default;

  // Fills *row and returns true, or returns false when no row is available
  // right now (the caller waits and asks again). Errors are fatal for the
  // connector (I/O, lost connection after retries). *row may hold an
  // earlier row (the pipeline reuses one Row so its strings keep their
  // capacity): a source sets every member.
  virtual absl::StatusOr<bool> Next(Row* row) = 0;

  // Every row up to and including `position` was acknowledged by the bus:
  // store it durably so a restart resumes after it.
  virtual absl::Status Commit(const std::string& position) = 0;

  // True once a finite source has nothing more and everything committed
  // (the file source with an empty drop directory); endless sources
  // return false.
  virtual bool Idle() const { return false; }
};

// In-memory source for tests: yields the queued rows, records commits.
class FakeSource : public Source {
 public:
  void Add(Row row) { rows_.push_back(std::move(row)); }
  absl::StatusOr<bool> Next(Row* row) override {
    if (rows_.empty()) return false;
    *row = std::move(rows_.front());
    rows_.pop_front();
    return true;
  }
  absl::Status Commit(const std::string& position) override {
    commits_.push_back(position);
    return absl::OkStatus();
  }
  bool Idle() const override { return rows_.empty(); }
  const std::vector<std::string>& commits() const { return commits_; }

 private:
  std::deque<Row> rows_;
  std::vector<std::string> commits_;
};

}  // namespace datarun::connectors

#endif  // DATARUN_CONNECTORS_SOURCE_H_
