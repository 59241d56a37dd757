// Reads ranges of Kafka topics for `datarun replay`: every selected
// partition from a start (offset, or the first record at/after a time) to
// an end (offset, time, or the high watermark read at start), or, with
// `follow`, on until told to stop.
//
// One consumer in a group of its own (so it is assigned every partition; a
// group join costs ~3 s on the embedded cluster, and none is made when
// every range is empty, so an idle topic returns at once). Start offsets
// for times come from Consumer::OffsetsForTimes (Kafka's offsetsForTimes);
// where the broker has no answer (librdkafka's mock cluster never has one)
// the partition is read from its start offset and timestamps are checked
// here, which gives the same records, slower. Records are checked against
// the time range either way, so a producer-set timestamp out of order is
// still left out.
//
// Called by replay_command.cc. Thread-compatible: each ReadTopicRanges
// call makes its own consumer; `on_message` runs on the calling thread.
#ifndef DATARUN_TOOLS_CLI_REPLAY_READER_H_
#define DATARUN_TOOLS_CLI_REPLAY_READER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"

namespace datarun::cli {

struct ReplayRange {
  int32_t partition = -1;               // -1: every partition
  int64_t from_offset = 0;              // below the log start: the log start
  int64_t to_offset = -1;               // inclusive; -1: no bound
  std::optional<absl::Time> from_time;  // inclusive
  std::optional<absl::Time> to_time;    // inclusive
  // Do not stop at the high watermarks (a to_offset still ends a
  // partition).
  bool follow = false;
  // Bound of every wait on the bus: watermarks, the group join, a read
  // that makes no progress.
  absl::Duration timeout = absl::Seconds(10);
};

// The topics of `existing` named by `patterns`: exact names, or globs where
// '*' matches any run of characters ("dr.data.*"). InvalidArgument naming
// the first entry that matches nothing, or a --partition no selected topic
// has.
absl::StatusOr<std::vector<broker::TopicSpec>> SelectTopics(
    const std::vector<broker::TopicSpec>& existing,
    const std::vector<std::string>& patterns, int32_t partition);

// Calls `on_message` for every record of `topics` in `range`, in offset
// order per partition (partitions interleaved). Stops when every partition
// reached its end, when `on_message` returns false, or when `*stop` becomes
// true (checked at least every 200 ms). DeadlineExceeded when the bus makes
// no progress for range.timeout before the ends are reached.
absl::Status ReadTopicRanges(
    broker::Broker* broker, const std::vector<broker::TopicSpec>& topics,
    const ReplayRange& range,
    const std::function<bool(const broker::Message&)>& on_message,
    const std::atomic<bool>* stop);

}  // namespace datarun::cli

#endif  // DATARUN_TOOLS_CLI_REPLAY_READER_H_
