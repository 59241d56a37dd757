// `datarun replay --brokers=HOST:PORT --topic=T[,T...] [--partition=N]
//  [--from_offset=O] [--to_offset=O] | [--from_time=RFC3339]
//  [--to_time=RFC3339] [--subject=ID] [--department=D] [--matter=M]
//  [--data_class=C] [--limit=N] [--follow] [--timeout=10s]`
//
// Prints stored records of bus topics as JSON lines (tools/cli/
// replay_decode.h: Records with typed payloads, audit links with their
// events, checkpoints, query requests and responses, DLQ entries as bytes
// with their reason headers), for auditors and department IT ("what did
// public_security publish about S yesterday", "what did dr.audit record
// between 10:00 and 11:00 for matter M"). --topic takes names or globs
// (dr.data.*). --to_offset and --to_time are inclusive. Without --follow it
// stops at the high watermarks read at start, so an idle topic returns at
// once; --follow tails until SIGINT/SIGTERM.
//
// Exit 0 when the range was read (even if nothing matched), 1 when the bus
// could not be read within --timeout, 2 on usage errors (flags, a topic or
// partition the bus does not have). See docs/cli.md, "datarun replay".
#include <atomic>
#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/subject/subject_id.h"
#include "tools/cli/command.h"
#include "tools/cli/common_flags.h"
#include "tools/cli/replay_decode.h"
#include "tools/cli/replay_reader.h"

ABSL_FLAG(std::vector<std::string>, topic, {},
          "replay: topics to read, names or globs ('dr.data.*'), "
          "comma-separated");
ABSL_FLAG(int64_t, to_offset, -1,
          "replay: last offset read in every partition (inclusive; -1: up to "
          "the end)");
ABSL_FLAG(std::string, from_time, "",
          "replay: only records at or after this RFC 3339 time");
ABSL_FLAG(std::string, to_time, "",
          "replay: only records at or before this RFC 3339 time");
ABSL_FLAG(std::string, data_class, "",
          "replay: only entries of this data class");
ABSL_FLAG(int64_t, limit, 0,
          "replay: stop after this many printed entries (0: no limit)");
ABSL_FLAG(bool, follow, false,
          "replay: keep reading new records until interrupted");

namespace datarun::cli {
namespace {

constexpr int kOk = 0;
constexpr int kUnreadable = 1;
constexpr int kUsage = 2;

std::atomic<bool> interrupted{false};

void OnSignal(int) { interrupted.store(true); }

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::fprintf(stderr,
               "usage: datarun replay --brokers=HOST:PORT --topic=T[,T...] "
               "[--partition=N] [--from_offset=O] [--to_offset=O] | "
               "[--from_time=RFC3339] [--to_time=RFC3339] [--subject=ID] "
               "[--department=D] [--matter=M] [--data_class=C] [--limit=N] "
               "[--follow] [--timeout=10s]\n");
  return kUsage;
}

int Unreadable(absl::string_view message) {
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(message.size()),
               message.data());
  return kUnreadable;
}

// Catalog ids: 1..64 of [a-z0-9_] starting with a letter (they become
// topic names).
bool IsCatalogId(absl::string_view id) {
  if (id.empty() || id.size() > 64 || !absl::ascii_islower(id[0])) {
    return false;
  }
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return false;
    }
  }
  return true;
}

// An RFC 3339 flag, e.g. 2026-11-26T10:00:00+08:00.
bool ParseTimeFlag(const std::string& flag, const std::string& text,
                   std::optional<absl::Time>* out, std::string* error) {
  if (text.empty()) return true;
  absl::Time t;
  std::string why;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &why)) {
    *error = absl::StrCat("--", flag, "=", text,
                          ": not an RFC 3339 time such as "
                          "2026-11-26T10:00:00+08:00 (",
                          why, ")");
    return false;
  }
  *out = t;
  return true;
}

int RunReplay(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return UsageError(absl::StrCat("unexpected argument '", args[0], "'"));
  }
  const std::string brokers = absl::GetFlag(FLAGS_brokers);
  if (brokers.empty()) return UsageError("--brokers is required");
  std::vector<std::string> patterns;
  for (const std::string& t : absl::GetFlag(FLAGS_topic)) {
    if (!t.empty()) patterns.push_back(t);
  }
  if (patterns.empty()) {
    return UsageError("--topic is required (e.g. --topic=dr.audit)");
  }

  ReplayRange range;
  range.partition = absl::GetFlag(FLAGS_partition);
  if (range.partition < -1) {
    return UsageError("--partition must be >= 0 (or -1 for all)");
  }
  range.from_offset = absl::GetFlag(FLAGS_from_offset);
  if (range.from_offset < 0) return UsageError("--from_offset must be >= 0");
  range.to_offset = absl::GetFlag(FLAGS_to_offset);
  if (range.to_offset < -1) {
    return UsageError("--to_offset must be >= 0 (or -1 for no bound)");
  }
  if (range.to_offset >= 0 && range.from_offset > range.to_offset) {
    return UsageError(absl::StrCat("--from_offset=", range.from_offset,
                                   " is after --to_offset=", range.to_offset));
  }
  std::string error;
  if (!ParseTimeFlag("from_time", absl::GetFlag(FLAGS_from_time),
                     &range.from_time, &error) ||
      !ParseTimeFlag("to_time", absl::GetFlag(FLAGS_to_time), &range.to_time,
                     &error)) {
    return UsageError(error);
  }
  if (range.from_time.has_value() && range.to_time.has_value() &&
      *range.from_time > *range.to_time) {
    return UsageError(
        absl::StrCat("--from_time=", absl::GetFlag(FLAGS_from_time),
                     " is after --to_time=", absl::GetFlag(FLAGS_to_time)));
  }
  const bool by_offset = range.from_offset > 0 || range.to_offset >= 0;
  const bool by_time = range.from_time.has_value() || range.to_time.has_value();
  if (by_offset && by_time) {
    return UsageError(
        "give an offset range (--from_offset/--to_offset) or a time range "
        "(--from_time/--to_time), not both");
  }
  range.follow = absl::GetFlag(FLAGS_follow);
  range.timeout = absl::GetFlag(FLAGS_timeout);
  if (range.timeout <= absl::ZeroDuration()) {
    return UsageError("--timeout must be positive");
  }
  const int64_t limit = absl::GetFlag(FLAGS_limit);
  if (limit < 0) return UsageError("--limit must be >= 0 (0: no limit)");

  ReplayFilter filter;
  if (const std::string s = absl::GetFlag(FLAGS_subject); !s.empty()) {
    auto id = subject::ParseSubjectId(s);
    if (!id.ok()) {
      return UsageError(
          absl::StrCat("--subject=", s, ": ", id.status().message()));
    }
    filter.subject = std::string(id->id());
  }
  filter.department = absl::GetFlag(FLAGS_department);
  filter.matter = absl::GetFlag(FLAGS_matter);
  filter.data_class = absl::GetFlag(FLAGS_data_class);
  for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{
                                        "department", &filter.department},
                                    {"matter", &filter.matter},
                                    {"data_class", &filter.data_class}}) {
    if (!value->empty() && !IsCatalogId(*value)) {
      return UsageError(absl::StrCat(
          "--", flag, "=", *value,
          ": not a catalog id (1-64 of a-z, 0-9, _ starting with a letter)"));
    }
  }

  broker::KafkaConfig config;
  config.bootstrap = brokers;
  config.connect_timeout = range.timeout;
  auto bus = broker::NewKafkaBroker(config);
  if (!bus.ok()) return Unreadable(bus.status().ToString());
  auto admin = (*bus)->NewAdmin();
  if (!admin.ok()) return Unreadable(admin.status().ToString());
  auto existing = (*admin)->ListTopics(range.timeout);
  if (!existing.ok()) return Unreadable(existing.status().ToString());
  auto topics = SelectTopics(*existing, patterns, range.partition);
  if (!topics.ok()) return UsageError(topics.status().message());

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  int64_t printed = 0;
  absl::Status st = ReadTopicRanges(
      bus->get(), *topics, range,
      [&](const broker::Message& m) {
        std::optional<std::string> line = ReplayLine(m, filter);
        if (!line.has_value()) return true;
        line->push_back('\n');
        std::fwrite(line->data(), 1, line->size(), stdout);
        if (range.follow) std::fflush(stdout);
        ++printed;
        return limit == 0 || printed < limit;
      },
      &interrupted);
  std::fflush(stdout);
  if (!st.ok()) return Unreadable(st.ToString());
  return kOk;
}

}  // namespace

DATARUN_REGISTER_COMMAND(
    "replay",
    "print stored bus records (data, audit, queries, DLQ) as JSON lines, by "
    "offset or time range, with filters",
    RunReplay);

}  // namespace datarun::cli
