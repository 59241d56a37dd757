#include "exchange/query/handover.h"

#include <algorithm>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace datarun::query {

ChainFence::ChainFence(int32_t partitions)
    : partitions_(std::max<int32_t>(0, partitions)),
      slots_(new Slot[std::max<int32_t>(0, partitions)]) {}

ChainFence::Slot* ChainFence::slot(int32_t partition) {
  if (partition < 0 || partition >= partitions_) return nullptr;
  return &slots_[partition];
}

bool ChainFence::Admit(int32_t partition, uint64_t sequence) {
  Slot* s = slot(partition);
  if (s == nullptr) return true;
  // Counted before the flag is read, and Fence sets the flag before it
  // reads the count (both sequentially consistent): either the fencer
  // waits for this link or this link sees the fence.
  s->in_flight.fetch_add(1);
  if (!s->fenced.load()) return true;
  s->in_flight.fetch_sub(1);
  absl::MutexLock l(&s->mu);
  s->refused_from = std::min(s->refused_from, sequence);
  return false;
}

std::atomic<int64_t>* ChainFence::in_flight(int32_t partition) {
  Slot* s = slot(partition);
  return s == nullptr ? nullptr : &s->in_flight;
}

bool ChainFence::fenced(int32_t partition) const {
  if (partition < 0 || partition >= partitions_) return false;
  return slots_[partition].fenced.load(std::memory_order_acquire);
}

bool ChainFence::AdmitCheckpoint(int32_t partition, uint64_t sequence) {
  Slot* s = slot(partition);
  if (s == nullptr || !s->fenced.load()) return true;
  absl::MutexLock l(&s->mu);
  return sequence < s->refused_from;
}

void ChainFence::Fence(int32_t partition) {
  if (Slot* s = slot(partition)) s->fenced.store(true);
}

bool ChainFence::WaitIdle(int32_t partition, absl::Time deadline) {
  Slot* s = slot(partition);
  if (s == nullptr) return true;
  // Acks take milliseconds; a hand-over is rare, so polling is enough.
  while (s->in_flight.load() > 0) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

void ChainFence::Unfence(int32_t partition) {
  Slot* s = slot(partition);
  if (s == nullptr) return;
  absl::MutexLock l(&s->mu);
  s->refused_from = std::numeric_limits<uint64_t>::max();
  s->fenced.store(false);
}

void FencedCheckpointSink::WriteCheckpoint(
    const datarun::v1::SealedCheckpoint& cp, audit::AckCallback done) {
  if (!fence_->AdmitCheckpoint(cp.partition(), cp.sequence())) {
    done(absl::FailedPreconditionError(absl::StrCat(
        "checkpoint ", cp.partition(), "@", cp.sequence(),
        " not written: it seals a link refused after the partition was "
        "handed over")));
    return;
  }
  inner_->WriteCheckpoint(cp, std::move(done));
}

// Passes the callbacks on to the consumer's own handler, telling the
// broker's listener before a revocation and after an assignment.
class RebalanceHookBroker::Handler : public broker::RebalanceHandler {
 public:
  Handler(RebalanceHookBroker* hook, broker::RebalanceHandler* inner)
      : hook_(hook), inner_(inner) {}

  absl::flat_hash_map<broker::TopicPartition, int64_t> OnAssigned(
      const std::vector<broker::TopicPartition>& partitions) override {
    auto start = inner_->OnAssigned(partitions);
    hook_->Assigned(partitions);
    return start;
  }
  void OnRevoked(
      const std::vector<broker::TopicPartition>& partitions) override {
    hook_->Revoking(partitions);
    inner_->OnRevoked(partitions);
  }

 private:
  RebalanceHookBroker* const hook_;
  broker::RebalanceHandler* const inner_;
};

class RebalanceHookBroker::Consumer : public broker::Consumer {
 public:
  Consumer(RebalanceHookBroker* hook, std::unique_ptr<broker::Consumer> inner)
      : hook_(hook), inner_(std::move(inner)) {}
  ~Consumer() override {
    // Close (and its OnRevoked) while the handler is still alive.
    inner_.reset();
  }

  absl::Status Subscribe(const std::vector<std::string>& topics,
                         broker::RebalanceHandler* handler) override {
    // Replacing a subscription replaces the handler; the old one stays
    // alive until the consumer goes (the inner consumer may still hold it).
    handlers_.push_back(std::make_unique<Handler>(hook_, handler));
    return inner_->Subscribe(topics, handlers_.back().get());
  }
  absl::Status Poll(size_t max_messages, absl::Duration timeout,
                    std::vector<broker::Message>* out) override {
    return inner_->Poll(max_messages, timeout, out);
  }
  absl::Status PollBatch(size_t max_messages, absl::Duration timeout,
                         std::unique_ptr<broker::PolledBatch>* out) override {
    return inner_->PollBatch(max_messages, timeout, out);
  }
  absl::Status Seek(const broker::TopicPartition& tp, int64_t offset) override {
    return inner_->Seek(tp, offset);
  }
  absl::Status Pause(
      const std::vector<broker::TopicPartition>& partitions) override {
    return inner_->Pause(partitions);
  }
  absl::Status Resume(
      const std::vector<broker::TopicPartition>& partitions) override {
    return inner_->Resume(partitions);
  }
  std::vector<broker::TopicPartition> Assignment() const override {
    return inner_->Assignment();
  }
  absl::StatusOr<broker::Watermarks> QueryWatermarks(
      const broker::TopicPartition& tp, absl::Duration timeout) override {
    return inner_->QueryWatermarks(tp, timeout);
  }
  absl::Status Close() override { return inner_->Close(); }

 private:
  RebalanceHookBroker* const hook_;
  std::vector<std::unique_ptr<Handler>> handlers_;
  std::unique_ptr<broker::Consumer> inner_;
};

void RebalanceHookBroker::SetListener(RebalanceListener* listener) {
  absl::MutexLock l(&mu_);
  listener_ = listener;
}

absl::StatusOr<std::unique_ptr<broker::Consumer>>
RebalanceHookBroker::NewConsumer(const broker::ConsumerOptions& options) {
  auto inner = inner_->NewConsumer(options);
  if (!inner.ok()) return inner.status();
  return std::unique_ptr<broker::Consumer>(
      new Consumer(this, *std::move(inner)));
}

void RebalanceHookBroker::Revoking(
    const std::vector<broker::TopicPartition>& partitions) {
  // Held during the call, so SetListener(nullptr) waits for a running
  // hand-over instead of destroying its listener under it.
  absl::MutexLock l(&mu_);
  if (listener_ != nullptr) listener_->OnRevoking(partitions);
}

void RebalanceHookBroker::Assigned(
    const std::vector<broker::TopicPartition>& partitions) {
  absl::MutexLock l(&mu_);
  if (listener_ != nullptr) listener_->OnAssigned(partitions);
}

absl::Status HandOverChains(ChainFence& fence, audit::AuditLog& log,
                            const std::vector<int32_t>& partitions,
                            absl::Duration timeout) {
  for (int32_t p : partitions) fence.Fence(p);
  const absl::Time deadline = absl::Now() + timeout;
  absl::Status first;
  for (int32_t p : partitions) {
    if (!fence.WaitIdle(p, deadline) && first.ok()) {
      first = absl::DeadlineExceededError(absl::StrCat(
          "handing over the audit chain of partition ", p, ": ",
          fence.in_flight(p)->load(), " links still in flight after ",
          absl::FormatDuration(timeout),
          "; if they land, the next owner forks the chain there"));
    }
  }
  // Each Release may wait up to the log's ack timeout for its seal (a lost
  // bus): in parallel, so a revocation waits that long once, not once per
  // partition.
  std::vector<absl::Status> released(partitions.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < partitions.size(); ++i) {
    threads.emplace_back([&, i] { released[i] = log.Release(partitions[i]); });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& st : released) {
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

std::vector<int32_t> DataPartitions(
    const std::vector<broker::TopicPartition>& partitions) {
  std::set<int32_t> out;
  for (const auto& tp : partitions) {
    if (absl::StartsWith(tp.topic, "dr.data.")) out.insert(tp.partition);
  }
  return std::vector<int32_t>(out.begin(), out.end());
}

}  // namespace datarun::query
