// The broker seam: everything datarun needs from Kafka, as three small
// interfaces (Producer, Consumer, Admin) and a Broker that makes them.
//
// Implementations: broker_adapters/kafka/ (librdkafka, for real clusters and
// the embedded cluster) and broker_adapters/fake/ (in memory, for unit tests
// of other components). Callers: connectors (produce), the exchange core
// (consume all dr.data.* topics in one group, produce responses and audit),
// the CLI and tests.
//
// Errors are absl::Status with canonical codes. Retriable conditions (broker
// down, timeout, queue full) are kUnavailable, kDeadlineExceeded or
// kResourceExhausted; everything else (bad configuration, unknown topic,
// authorisation, fatal idempotence errors, record too large) is not
// retriable. IsRetriable() below tells them apart.
//
// Thread-safety: Broker, Producer and Admin are thread-safe. A Consumer is
// driven by one thread at a time (like a KafkaConsumer): Poll, Seek, Pause,
// Resume and Close must not run concurrently; its RebalanceHandler runs on
// that thread, inside Poll or Close.
#ifndef DATARUN_BROKER_ADAPTERS_BROKER_H_
#define DATARUN_BROKER_ADAPTERS_BROKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace datarun::broker {

// Kafka's logical offsets, usable wherever an offset is expected.
inline constexpr int64_t kOffsetBeginning = -2;
inline constexpr int64_t kOffsetEnd = -1;

// Ordered, duplicates allowed (as in Kafka).
using Headers = std::vector<std::pair<std::string, std::string>>;

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  friend bool operator==(const TopicPartition& a, const TopicPartition& b) {
    return a.partition == b.partition && a.topic == b.topic;
  }
  friend bool operator!=(const TopicPartition& a, const TopicPartition& b) {
    return !(a == b);
  }
  friend bool operator<(const TopicPartition& a, const TopicPartition& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  }
  template <typename H>
  friend H AbslHashValue(H h, const TopicPartition& tp) {
    return H::combine(std::move(h), tp.topic, tp.partition);
  }
};

// "topic[partition]", for logs and error messages.
std::string ToString(const TopicPartition& tp);

// A consumed record. An absent Kafka key is returned as "".
struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  Headers headers;
  absl::Time timestamp;  // producer create time (or broker log-append time)
};

// A consumed record seen in place (Consumer::PollBatch): views into the
// consumer's own buffers, valid as long as the PolledBatch holding them.
struct MessageView {
  absl::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  absl::string_view key;  // "" for an absent key
  absl::string_view value;
};

// Messages returned by Consumer::PollBatch, kept alive (not copied) until
// the batch is destroyed. Headers and timestamps are decoded on demand:
// most consumers never look at them. Not thread-safe; may be handed to and
// destroyed on another thread, but before the Consumer that made it.
class PolledBatch {
 public:
  virtual ~PolledBatch() = default;
  const std::vector<MessageView>& messages() const { return views_; }
  size_t size() const { return views_.size(); }
  virtual Headers headers(size_t i) const = 0;
  // The headers of message i without copying them: `visit(name, value)` for
  // each, in order; the views are valid as long as the batch. The default
  // goes through headers(i).
  virtual void VisitHeaders(
      size_t i,
      absl::FunctionRef<void(absl::string_view name, absl::string_view value)>
          visit) const;
  virtual absl::Time timestamp(size_t i) const = 0;

 protected:
  std::vector<MessageView> views_;
};

// A record to send. Views only need to live until Send() returns: Send
// copies everything it keeps.
struct OutgoingMessage {
  absl::string_view topic;
  absl::string_view key;  // "" is sent as a null key
  absl::string_view value;
  const Headers* headers = nullptr;  // optional
  // -1: partition by key (murmur2, same as the Java client, so that every
  // client of every department co-partitions the same subject id).
  int32_t partition = -1;
};

// Where an acknowledged record landed.
struct DeliveryReport {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// Called exactly once per record accepted by Send(): with the report once the
// broker acknowledged it (acks=all), or with the error that made it fail for
// good (retries exhausted, delivery timeout, fatal idempotence error). Runs
// on an internal thread of the producer (or inside Flush on its caller's
// thread); callbacks of one producer never run concurrently with each
// other. Keep it short and never call Flush() from it.
using DeliveryCallback =
    std::function<void(const absl::StatusOr<DeliveryReport>& result)>;

// The allocation-free send path (Producer::SendRecord), for callers that
// send many records (connectors, benchmarks). Everything is a view that only
// needs to live until SendRecord returns.
struct RecordHeader {
  absl::string_view name;
  absl::string_view value;
};

struct OutgoingRecord {
  absl::string_view topic;
  absl::string_view key;  // "" is sent as a null key
  absl::string_view value;
  absl::Span<const RecordHeader> headers;  // optional, in this order
  // -1: partition by key (murmur2), as OutgoingMessage::partition.
  int32_t partition = -1;
};

// Receives the outcome of every record a producer accepted through
// SendRecord; set once per producer in ProducerOptions::delivery_sink. Called
// exactly once per accepted record, with the `opaque` given to SendRecord:
// `status` OK and where the record landed, or the error that made it fail for
// good (then `offset` is -1 and `partition` is -1 if none was chosen yet).
// `topic` is valid during the call only. Same threading as DeliveryCallback:
// on an internal thread of the producer, never concurrently with another
// delivery callback or sink call of the same producer; keep it short, never
// call Flush() from it. Callers: connectors' sender, tests/bench/broker.
class DeliverySink {
 public:
  virtual ~DeliverySink() = default;
  virtual void OnDelivery(void* opaque, absl::string_view topic,
                          int32_t partition, int64_t offset,
                          const absl::Status& status) = 0;
};

class Producer {
 public:
  virtual ~Producer() = default;

  // Enqueues `message` for asynchronous delivery. Back-pressure: when the
  // local queue is full, Send blocks up to ProducerOptions::max_block for
  // room, then returns kResourceExhausted; the record is then NOT enqueued
  // and `on_delivery` is never called. Other immediate errors (unknown
  // topic, record too large, fatal producer state) are returned the same
  // way. `on_delivery` may be null (fire and forget).
  virtual absl::Status Send(const OutgoingMessage& message,
                            DeliveryCallback on_delivery) = 0;

  // Send without allocating per record in the adapter: no Headers vector,
  // no std::function, no topic string, no lock per delivery (the Kafka
  // producer caches a topic handle per topic and carries `opaque` in the
  // record itself). The outcome goes to ProducerOptions::delivery_sink (if
  // set) with `opaque`; otherwise as Send: the same back-pressure
  // (max_block, then kResourceExhausted), errors and ordering, and the sink
  // is never called for a record SendRecord did not accept. Records of both
  // entry points may be mixed on one producer. `opaque` is any pointer (or
  // an integer below 2^63): the Kafka producer keeps it in 63 bits.
  // Thread-safe like Send. The default implementation returns
  // kUnimplemented (both real producers implement it).
  virtual absl::Status SendRecord(const OutgoingRecord& record, void* opaque);

  // Waits until every record sent before the call has had its callback run.
  // kDeadlineExceeded if `timeout` passed first (records stay queued).
  virtual absl::Status Flush(absl::Duration timeout) = 0;

  // Records accepted by Send whose callback has not run yet.
  virtual int64_t InFlight() const = 0;
};

// Callbacks of group membership. Both run on the consumer's thread inside
// Consumer::Poll or Consumer::Close, never concurrently with each other.
class RebalanceHandler {
 public:
  virtual ~RebalanceHandler() = default;

  // `partitions` are newly assigned to this member. Return where to start
  // each of them (offsets the caller stored itself, or kOffsetBeginning /
  // kOffsetEnd); a partition missing from the map starts at
  // kOffsetBeginning. Offsets are never committed to Kafka. An offset past
  // the end of the log (for example stored against an older embedded
  // cluster) restarts at the beginning of the partition; use
  // Consumer::QueryWatermarks to detect that case before returning it.
  virtual absl::flat_hash_map<TopicPartition, int64_t> OnAssigned(
      const std::vector<TopicPartition>& partitions) = 0;

  // `partitions` are taken away (rebalance, Close). The caller must stop
  // using them before returning; no message of theirs is returned after.
  virtual void OnRevoked(const std::vector<TopicPartition>& partitions) = 0;
};

// Latest (high) and earliest (low) offsets of a partition.
struct Watermarks {
  int64_t low = 0;
  int64_t high = 0;
};

class Consumer {
 public:
  virtual ~Consumer() = default;

  // Joins the group (ConsumerOptions::group_id) on `topics`. An entry that
  // starts with '^' is a regular expression ("^dr\\.data\\..*"); topics that
  // match later are picked up at the next metadata refresh. Assignment is
  // co-partitioned: when subscribed topics have the same partition count,
  // partition p of every topic goes to the same member (range assignor).
  // `handler` must outlive the consumer. Replaces an earlier subscription.
  virtual absl::Status Subscribe(const std::vector<std::string>& topics,
                                 RebalanceHandler* handler) = 0;

  // Clears `out`, then waits up to `timeout` for messages and returns at
  // most `max_messages` of them, in offset order per partition. Rebalance
  // callbacks fire inside. Transient broker errors are logged and retried
  // internally; only fatal errors are returned. An empty batch means the
  // timeout passed.
  virtual absl::Status Poll(size_t max_messages, absl::Duration timeout,
                            std::vector<Message>* out) = 0;

  // Poll without copying: the same messages and rules, returned as views
  // owned by *out (reset first; empty when the timeout passed). Holding
  // batches holds the consumer's fetch buffers: callers keep a bounded
  // number alive. The default copies through Poll.
  virtual absl::Status PollBatch(size_t max_messages, absl::Duration timeout,
                                 std::unique_ptr<PolledBatch>* out);

  // Next Poll of `tp` (which must be assigned) starts at `offset`.
  virtual absl::Status Seek(const TopicPartition& tp, int64_t offset) = 0;

  // Stop / restart fetching these assigned partitions (back-pressure).
  // Pausing is forgotten when a partition is revoked.
  virtual absl::Status Pause(const std::vector<TopicPartition>& partitions) = 0;
  virtual absl::Status Resume(
      const std::vector<TopicPartition>& partitions) = 0;

  // Current assignment, sorted.
  virtual std::vector<TopicPartition> Assignment() const = 0;

  // Returns within `timeout` (plus scheduling slack) also when no broker
  // answers: then kUnavailable naming the bootstrap servers, the partition
  // and the wait. Safe to call from a thread other than the polling one.
  virtual absl::StatusOr<Watermarks> QueryWatermarks(
      const TopicPartition& tp, absl::Duration timeout) = 0;

  // Kafka's offsetsForTimes, for readers of a time range (`datarun
  // replay --from_time`): for each (partition, time) the earliest offset
  // whose record timestamp is >= time, or kOffsetEnd when no record is that
  // late. The partitions need not be assigned. librdkafka's mock cluster
  // (broker_adapters/embedded) does not index time and answers kOffsetEnd
  // for every time, so callers treat kOffsetEnd as "maybe none" and check
  // timestamps themselves. The default returns kUnimplemented.
  virtual absl::StatusOr<std::vector<int64_t>> OffsetsForTimes(
      const std::vector<std::pair<TopicPartition, absl::Time>>& query,
      absl::Duration timeout);

  // Leaves the group: OnRevoked fires for the whole assignment. Idempotent;
  // the destructor calls it.
  virtual absl::Status Close() = 0;
};

struct TopicSpec {
  std::string name;
  int32_t partitions = 1;
};

class Admin {
 public:
  virtual ~Admin() = default;

  // Creates the missing topics. A topic that exists with another partition
  // count is kFailedPrecondition (co-partitioning would silently break).
  virtual absl::Status EnsureTopics(const std::vector<TopicSpec>& topics,
                                    absl::Duration timeout) = 0;

  // Every topic with its partition count, sorted by name. Internal topics
  // (names starting with "__") are left out.
  virtual absl::StatusOr<std::vector<TopicSpec>> ListTopics(
      absl::Duration timeout) = 0;

  // The cluster id. The embedded cluster gets a new one on every start, so
  // a caller that stores offsets also stores this id and resets its offsets
  // when it changes.
  virtual absl::StatusOr<std::string> ClusterId(absl::Duration timeout) = 0;
};

struct ProducerOptions {
  std::string client_id = "datarun";
  // How long Send waits for room in a full queue before kResourceExhausted.
  absl::Duration max_block = absl::Seconds(5);
  // Implementation-specific settings (for Kafka: librdkafka properties,
  // which override the adapter's defaults).
  std::map<std::string, std::string> properties;
  // Where the outcomes of SendRecord go; null: nowhere (fire and forget).
  // Must outlive the producer.
  DeliverySink* delivery_sink = nullptr;
};

struct ConsumerOptions {
  std::string client_id = "datarun";
  std::string group_id;  // required
  std::map<std::string, std::string> properties;
};

// Makes clients of one cluster. Thread-safe.
class Broker {
 public:
  virtual ~Broker() = default;
  virtual absl::StatusOr<std::unique_ptr<Producer>> NewProducer(
      const ProducerOptions& options) = 0;
  virtual absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(
      const ConsumerOptions& options) = 0;
  virtual absl::StatusOr<std::unique_ptr<Admin>> NewAdmin() = 0;
};

// True for errors worth retrying as they are (kUnavailable,
// kDeadlineExceeded, kResourceExhausted, kAborted).
bool IsRetriable(const absl::Status& status);

}  // namespace datarun::broker

#endif  // DATARUN_BROKER_ADAPTERS_BROKER_H_
