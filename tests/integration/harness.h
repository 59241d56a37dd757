// Process and workload helpers for the integration tests of the exchange
// core: start kafka_embedded and datarund as child processes, kill them,
// read their status files, publish a workload of records and compute the
// state it must produce.
//
// Test-only. A Process and a Workload are used from one thread at a time.
#ifndef DATARUN_TESTS_INTEGRATION_HARNESS_H_
#define DATARUN_TESTS_INTEGRATION_HARNESS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker_adapters/broker.h"
#include "exchange/state/rocksdb/rocksdb_state_store.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::integration {

// Scratch directory of the test (TEST_TMPDIR), with `name` appended.
std::string TestPath(const std::string& name);

// `relative` (a workspace path such as "exchange/datarund") in the runfiles
// of this test or binary, whether run by `bazel test`, `bazel run` or from
// bazel-bin/ directly.
std::string RunfilePath(const std::string& relative);

// A child process; stdout and stderr go to <log_prefix>.out / .err.
class Process {
 public:
  Process() = default;
  ~Process();  // SIGKILLs a still running child
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  absl::Status Start(const std::vector<std::string>& argv,
                     const std::string& log_prefix);
  bool running() const { return pid_ > 0; }
  void Kill();  // SIGKILL and reap
  // SIGTERM and wait; returns the exit code (-signal if killed by one).
  absl::StatusOr<int> Terminate(absl::Duration timeout);
  pid_t pid() const { return pid_; }
  // Waits for the child to exit by itself; returns the exit code and, if
  // `max_rss_kb` is set, its peak resident set size.
  absl::StatusOr<int> Wait(absl::Duration timeout, long* max_rss_kb = nullptr);

 private:
  pid_t pid_ = -1;
};

// Waits until `path` exists and is non-empty; returns its content.
absl::StatusOr<std::string> WaitForFile(const std::string& path,
                                        absl::Duration timeout);

// Parses a datarund --status_file ("k=v k=v"); empty map if missing.
std::map<std::string, uint64_t> ReadStatus(const std::string& path);

// Starts //broker_adapters/embedded:kafka_embedded with `topics`, returns
// its bootstrap address.
absl::StatusOr<std::string> StartKafka(Process* kafka,
                                       const std::vector<std::string>& topics,
                                       int partitions);

// The topics of testdata/ingest_catalog.textproto (data + DLQ).
std::vector<std::string> CatalogTopics();
inline constexpr char kCatalogPath[] =
    "tests/integration/testdata/ingest_catalog.textproto";
inline constexpr char kDatarund[] = "exchange/datarund";

// A reproducible stream of upserts and deletes over the three classes of
// the test catalog, with strictly increasing versions per record, and the
// final state it implies.
class Workload {
 public:
  Workload(int subjects, uint64_t seed);
  // Appends `n` events.
  void Generate(int n);
  const std::vector<datarun::v1::Record>& events() const { return events_; }

  // Publishes events [from, to) in order and waits for every delivery.
  // `pace`, when > 0, spreads them evenly over that duration.
  absl::Status Publish(broker::Producer& producer, size_t from, size_t to,
                       absl::Duration pace = absl::ZeroDuration());

  // One stored entry, as the test compares it.
  struct Expected {
    uint64_t version = 0;
    bool deleted = false;
    std::string payload;  // Any.value of the last upsert; "" if deleted
  };
  // subject|class|key -> last event, over the events generated so far.
  std::map<std::string, Expected> FinalState() const;

 private:
  int subjects_;
  uint64_t rng_;
  std::vector<datarun::v1::Record> events_;
  std::map<std::string, uint64_t> versions_;
};

// "subject|class|key" of a state entry or record.
std::string EntryName(const std::string& subject, const std::string& cls,
                      const std::string& key);

// Reads every entry of a stopped instance's state directory.
absl::StatusOr<std::map<std::string, Workload::Expected>> ReadState(
    const std::string& dir);

// Order-independent digest of a state map (count and content).
std::string Digest(const std::map<std::string, Workload::Expected>& state);

// Sums of the stored offset counters of a state directory.
struct OffsetTotals {
  uint64_t messages = 0, applied = 0, stale = 0, rejected = 0;
  size_t partitions = 0;
};
absl::StatusOr<OffsetTotals> ReadOffsets(const std::string& dir);

}  // namespace datarun::integration

#endif  // DATARUN_TESTS_INTEGRATION_HARNESS_H_
