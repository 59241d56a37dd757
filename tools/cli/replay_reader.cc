#include "tools/cli/replay_reader.h"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace datarun::cli {
namespace {

constexpr int64_t kNoEnd = std::numeric_limits<int64_t>::max();

// '*' matches any run of characters, everything else itself.
bool GlobMatch(absl::string_view pattern, absl::string_view name) {
  if (pattern.empty()) return name.empty();
  if (pattern[0] == '*') {
    for (size_t i = 0; i <= name.size(); ++i) {
      if (GlobMatch(pattern.substr(1), name.substr(i))) return true;
    }
    return false;
  }
  return !name.empty() && pattern[0] == name[0] &&
         GlobMatch(pattern.substr(1), name.substr(1));
}

struct PartitionRange {
  int64_t high = 0;      // high watermark at start
  int64_t next = 0;      // next offset to hand out
  int64_t end = kNoEnd;  // exclusive
  bool done() const { return next >= end; }
};

// Where the consumer starts each partition on (re)assignment: the next
// offset not yet handed out, or the end for partitions not read.
class Positions : public broker::RebalanceHandler {
 public:
  explicit Positions(
      absl::flat_hash_map<broker::TopicPartition, PartitionRange>* ranges)
      : ranges_(ranges) {}
  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override {
    absl::flat_hash_map<broker::TopicPartition, int64_t> starts;
    for (const auto& tp : partitions) {
      auto it = ranges_->find(tp);
      starts[tp] = it == ranges_->end() ? broker::kOffsetEnd : it->second.next;
    }
    return starts;
  }
  void OnRevoked(const std::vector<broker::TopicPartition>&) override {}

 private:
  absl::flat_hash_map<broker::TopicPartition, PartitionRange>* ranges_;
};

}  // namespace

absl::StatusOr<std::vector<broker::TopicSpec>> SelectTopics(
    const std::vector<broker::TopicSpec>& existing,
    const std::vector<std::string>& patterns, int32_t partition) {
  std::map<std::string, broker::TopicSpec> selected;
  for (const std::string& pattern : patterns) {
    bool any = false;
    for (const auto& spec : existing) {
      if (GlobMatch(pattern, spec.name)) {
        selected[spec.name] = spec;
        any = true;
      }
    }
    if (!any) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--topic: ",
          pattern.find('*') == std::string::npos ? "no topic "
                                                 : "no topic matches ",
          pattern, " on the bus"));
    }
  }
  std::vector<broker::TopicSpec> out;
  for (auto& [name, spec] : selected) {
    if (partition >= 0 && partition >= spec.partitions) {
      return absl::InvalidArgumentError(
          absl::StrCat("--partition=", partition, ": topic ", name, " has ",
                       spec.partitions, " partitions"));
    }
    out.push_back(std::move(spec));
  }
  return out;
}

absl::Status ReadTopicRanges(
    broker::Broker* broker, const std::vector<broker::TopicSpec>& topics,
    const ReplayRange& range,
    const std::function<bool(const broker::Message&)>& on_message,
    const std::atomic<bool>* stop) {
  broker::ConsumerOptions co;
  co.client_id = "datarun-replay";
  // A group of its own: it must be assigned every partition.
  co.group_id =
      absl::StrCat("datarun-replay-", absl::Uniform<uint64_t>(absl::BitGen()));
  co.properties = {{"session.timeout.ms", "6000"},
                   {"heartbeat.interval.ms", "500"}};
  ASSIGN_OR_RETURN(std::unique_ptr<broker::Consumer> consumer,
                   broker->NewConsumer(co));

  absl::flat_hash_map<broker::TopicPartition, PartitionRange> ranges;
  std::vector<broker::TopicPartition> tps;
  for (const auto& spec : topics) {
    for (int32_t p = 0; p < spec.partitions; ++p) {
      if (range.partition >= 0 && p != range.partition) continue;
      broker::TopicPartition tp{spec.name, p};
      ASSIGN_OR_RETURN(broker::Watermarks wm,
                       consumer->QueryWatermarks(tp, range.timeout));
      PartitionRange& r = ranges[tp];
      r.high = wm.high;
      r.next = std::max(range.from_offset, wm.low);
      if (!range.follow) r.end = wm.high;
      if (range.to_offset >= 0) r.end = std::min(r.end, range.to_offset + 1);
      tps.push_back(tp);
    }
  }
  // Time bounds to offsets where the broker knows them; otherwise the
  // timestamps are checked record by record below.
  auto offsets_at = [&](absl::Time t) -> std::vector<int64_t> {
    std::vector<std::pair<broker::TopicPartition, absl::Time>> query;
    for (const auto& tp : tps) query.emplace_back(tp, t);
    auto offsets = consumer->OffsetsForTimes(query, range.timeout);
    if (!offsets.ok() || offsets->size() != tps.size()) {
      return std::vector<int64_t>(tps.size(), broker::kOffsetEnd);
    }
    return *offsets;
  };
  if (range.from_time.has_value() && !tps.empty()) {
    std::vector<int64_t> starts = offsets_at(*range.from_time);
    // "No record that late" is an answer only from a broker that indexes
    // time: one that finds the first record at/after 1970 for a partition
    // holding records. The mock cluster answers kOffsetEnd to that too, and
    // its partitions are then scanned.
    std::vector<int64_t> firsts;
    if (std::count(starts.begin(), starts.end(), broker::kOffsetEnd) > 0) {
      firsts = offsets_at(absl::UnixEpoch());
    }
    for (size_t i = 0; i < tps.size(); ++i) {
      PartitionRange& r = ranges[tps[i]];
      if (starts[i] >= 0) {
        r.next = std::max(r.next, starts[i]);
      } else if (!firsts.empty() && firsts[i] >= 0) {
        r.next = std::max(r.next, r.high);  // nothing stored is that late
      }
    }
  }
  if (range.to_time.has_value() && !range.follow && !tps.empty()) {
    // The first record later than to_time ends the range.
    std::vector<int64_t> ends =
        offsets_at(*range.to_time + absl::Milliseconds(1));
    for (size_t i = 0; i < tps.size(); ++i) {
      PartitionRange& r = ranges[tps[i]];
      if (ends[i] >= 0) r.end = std::min(r.end, ends[i]);
    }
  }
  size_t open = 0;
  for (const auto& [tp, r] : ranges) open += r.done() ? 0 : 1;
  // --follow with --to_offset still ends once every partition got there.
  const bool bounded = !range.follow || range.to_offset >= 0;
  if (open == 0 && bounded) return absl::OkStatus();

  Positions positions(&ranges);
  std::vector<std::string> names;
  for (const auto& spec : topics) names.push_back(spec.name);
  RETURN_IF_ERROR(consumer->Subscribe(names, &positions));
  std::vector<broker::Message> batch;
  absl::Time progress = absl::Now();
  while (stop == nullptr || !stop->load()) {
    if (!range.follow && absl::Now() - progress > range.timeout) {
      return absl::DeadlineExceededError(
          absl::StrCat("replay: ", open, " of ", ranges.size(),
                       " partitions not read to their end: no record for ",
                       absl::FormatDuration(range.timeout),
                       " (is the bus reachable? raise --timeout)"));
    }
    RETURN_IF_ERROR(consumer->Poll(1024, absl::Milliseconds(200), &batch));
    for (const broker::Message& m : batch) {
      auto it = ranges.find(broker::TopicPartition{m.topic, m.partition});
      if (it == ranges.end()) continue;
      PartitionRange& r = it->second;
      if (m.offset < r.next || r.done()) continue;
      progress = absl::Now();
      r.next = m.offset + 1;
      if (r.done()) --open;
      if (m.offset >= r.end) continue;
      const bool in_time =
          (!range.from_time.has_value() || m.timestamp >= *range.from_time) &&
          (!range.to_time.has_value() || m.timestamp <= *range.to_time);
      if (in_time && !on_message(m)) return consumer->Close();
    }
    if (open == 0 && bounded) break;
  }
  return consumer->Close();
}

}  // namespace datarun::cli
