// Writes the generator's records as JSONL files for the JSONL connector:
// DIR/<dept>/<class>.jsonl, one record per line in the canonical envelope
// form
//   {"subject_id": "...", "record_key": "...", "source_version": 1,
//    "op": "UPSERT", "event_time": "2026-01-02T03:04:05Z", "payload": {...}}
// (payload: proto3 JSON of the department message with proto field names),
// plus DIR/manifest.json (seed, counts per class, the data set's as-of time).
//
// Called by `datarun gen` (tools/cli/gen_command.cc) and tests. Work is split
// into chunks of people generated on `threads` threads and written in index
// order, so the output is byte-identical whatever the thread count.
//
// Thread-safety: WriteJsonl is reentrant; it owns its threads and joins them
// before returning. Two calls must not share an output directory.
#ifndef DATARUN_CONNECTORS_GEN_JSONL_WRITER_H_
#define DATARUN_CONNECTORS_GEN_JSONL_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "connectors/gen/generator.h"

namespace datarun::gen {

struct JsonlOptions {
  std::string out_dir;
  int threads = 2;
  // People per unit of work; bounds memory (a chunk's text is buffered).
  int64_t chunk_size = 20000;
};

struct JsonlSummary {
  std::vector<int64_t> records_per_class;  // indexed like DataClasses()
  int64_t total_records = 0;
  int64_t bytes = 0;
};

// Errors: InvalidArgument for an empty out_dir or threads < 1; Internal when
// a directory or file cannot be created or written (the message names the
// path and the OS error); InvalidArgument if a payload cannot be printed as
// JSON.
absl::StatusOr<JsonlSummary> WriteJsonl(const Generator& generator,
                                        const JsonlOptions& options);

// Appends one line (with the trailing '\n') in the envelope form above.
absl::Status AppendJsonLine(const GeneratedRecord& record, std::string* out);

// "YYYY-MM-DDTHH:MM:SSZ" (UTC, whole seconds).
std::string FormatEventTime(absl::Time t);

}  // namespace datarun::gen

#endif  // DATARUN_CONNECTORS_GEN_JSONL_WRITER_H_
