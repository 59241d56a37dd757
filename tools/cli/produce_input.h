// Reads and checks the input of `datarun produce`: JSON lines, each a
// datarun.v1.Record in proto3 JSON (payload Any with its "@type") or a whole
// `datarun replay` line of a dr.data topic (its "value" is the Record), so
// replay | edit | produce round-trips.
//
// Every record goes through the connector SDK (connectors/sdk/
// DepartmentPublisher) exactly as a department system's would: the
// publishing department must be the class's authoritative source, the
// subject id valid and of the class's kind, the record key present exactly
// for multi-record classes, the version positive, the payload of the
// class's type. The SDK builds the envelope, topic, key and headers into an
// in-memory producer here, so nothing reaches the bus until the whole file
// is valid (all or nothing) and the keying rule exists once. A missing
// event_time is now; a line's source_department, if set, must be the
// publishing department.
//
// Called by produce_command.cc and its tests. Thread-compatible.
#ifndef DATARUN_TOOLS_CLI_PRODUCE_INPUT_H_
#define DATARUN_TOOLS_CLI_PRODUCE_INPUT_H_

#include <istream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/catalog/catalog.h"

namespace datarun::cli {

// One record ready to send, as the SDK made it.
struct PreparedRecord {
  int line = 0;  // 1-based line of the input
  std::string topic;
  std::string key;
  std::string value;
  broker::Headers headers;
};

struct PrepareResult {
  std::vector<PreparedRecord> records;
  // "line N: what is wrong", in line order; records is empty when any.
  std::vector<std::string> errors;
};

// Checks every non-blank line of `in` as a record published by
// `department`. Stops collecting errors after `max_errors`.
// InvalidArgument only when `department` is not in the catalog.
absl::StatusOr<PrepareResult> PrepareRecords(
    const catalog::CatalogIndex& catalog, absl::string_view department,
    std::istream& in, absl::Time now = absl::Now(), size_t max_errors = 20);

}  // namespace datarun::cli

#endif  // DATARUN_TOOLS_CLI_PRODUCE_INPUT_H_
