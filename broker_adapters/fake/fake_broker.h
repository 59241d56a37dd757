// In-memory implementation of the broker seam (broker.h) for unit tests of
// other components: topics, partitions, key partitioning (murmur2, same as
// the Kafka adapter), consumer groups with co-partitioned (range)
// assignment and eager rebalancing, pause/resume, seek, watermarks, and
// fault hooks (failed sends, failed deliveries).
//
// Differences from Kafka, on purpose: producing to a topic that does not
// exist is kNotFound (no auto-creation, so a missing EnsureTopics shows up in
// tests); delivery callbacks (and SendRecord's DeliverySink) run inside Send
// or SendRecord before it returns (serialised per producer; a callback's own
// Send gets its callback inline); members of a group apply a rebalance at
// their next Poll, so two members may briefly both hold a partition; nothing
// is ever deleted (no retention).
//
// Thread-safety: FakeBroker and its producers and admins are thread-safe;
// each consumer is driven by one thread, as broker.h requires.
#ifndef DATARUN_BROKER_ADAPTERS_FAKE_FAKE_BROKER_H_
#define DATARUN_BROKER_ADAPTERS_FAKE_FAKE_BROKER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "broker_adapters/broker.h"
#include "broker_adapters/partitioner.h"

namespace datarun::broker {

namespace fake_internal {
struct State;
}  // namespace fake_internal

class FakeBroker : public Broker {
 public:
  explicit FakeBroker(std::string cluster_id = "fake-cluster");
  ~FakeBroker() override;

  absl::StatusOr<std::unique_ptr<Producer>> NewProducer(
      const ProducerOptions& options) override;
  absl::StatusOr<std::unique_ptr<Consumer>> NewConsumer(
      const ConsumerOptions& options) override;
  absl::StatusOr<std::unique_ptr<Admin>> NewAdmin() override;

  // Test hooks.
  absl::Status CreateTopic(const std::string& name, int32_t partitions);
  // Every message of a partition, in offset order.
  std::vector<Message> Messages(const TopicPartition& tp) const;
  // The next `count` Send calls return `status` without enqueuing.
  void FailSends(int count, absl::Status status);
  // The next `count` accepted records are not stored and their callbacks
  // get `status`.
  void FailDeliveries(int count, absl::Status status);

 private:
  std::shared_ptr<fake_internal::State> state_;
};

}  // namespace datarun::broker

#endif  // DATARUN_BROKER_ADAPTERS_FAKE_FAKE_BROKER_H_
