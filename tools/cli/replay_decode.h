// How `datarun replay` prints one Kafka record: a JSON object on one line
// with topic, partition, offset, timestamp, key, headers and the value
// decoded by topic (docs/data_model.md):
//
//   dr.data.*            "value": the Record, its payload Any as a typed
//                        object (the department protos are linked in)
//   dr.audit             "value": the ChainLink without its event bytes,
//                        "event": those bytes as an AuditEvent
//   dr.audit.checkpoint  "value": the SealedCheckpoint
//   dr.query.req         "value": the QueryRequest
//   dr.query.resp.*      "value": the QueryResponse
//   dr.dlq.* and others  "value_base64": the bytes as they are
//
// A value that does not decode is printed as "value_base64" with a
// "decode_error" saying why, never dropped. The same decode yields the
// facts the filters match (subject, department, matter, data class); an
// entry that does not carry a fact never matches a filter on it.
// `datarun produce` reads the "value" of a dr.data line back.
//
// Called by replay_command.cc and its tests. Pure functions; thread-safe.
#ifndef DATARUN_TOOLS_CLI_REPLAY_DECODE_H_
#define DATARUN_TOOLS_CLI_REPLAY_DECODE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "tools/cli/json_text.h"

namespace datarun::cli {

// Empty fields match anything.
struct ReplayFilter {
  std::string subject;
  std::string department;
  std::string matter;
  std::string data_class;

  bool empty() const {
    return subject.empty() && department.empty() && matter.empty() &&
           data_class.empty();
  }
};

// What a decoded entry is about, for the filters.
struct EntryFacts {
  std::vector<std::string> subjects;
  std::vector<std::string> departments;
  std::vector<std::string> matters;
  std::vector<std::string> data_classes;
};

bool Matches(const EntryFacts& facts, const ReplayFilter& filter);

// The JSON line (without newline) of `m` if it passes `filter`.
std::optional<std::string> ReplayLine(const broker::Message& m,
                                      const ReplayFilter& filter);

// Decodes `m` into its JSON line and facts (exposed for tests).
std::string DecodeEntry(const broker::Message& m, EntryFacts* facts);

bool IsValidUtf8(absl::string_view s);

// RFC 3339 in UTC with milliseconds, e.g. 2026-11-26T10:00:00.000Z.
std::string FormatTimestamp(absl::Time t);

}  // namespace datarun::cli

#endif  // DATARUN_TOOLS_CLI_REPLAY_DECODE_H_
