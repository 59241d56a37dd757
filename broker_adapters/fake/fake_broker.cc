#include "broker_adapters/fake/fake_broker.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace datarun::broker {

namespace fake_internal {

struct Member {
  std::vector<std::string> subscription;
  // Target assignment computed at the last group change; the member applies
  // it at its next Poll.
  std::vector<TopicPartition> target;
  uint64_t target_generation = 0;
};

struct Group {
  uint64_t generation = 0;
  std::map<int64_t, Member> members;  // by join order
};

struct State {
  explicit State(std::string id) : cluster_id(std::move(id)) {}

  const std::string cluster_id;
  mutable absl::Mutex mu;
  // Bumped on every append and every group change; Poll waits on it.
  uint64_t version ABSL_GUARDED_BY(mu) = 0;
  std::map<std::string, std::vector<std::vector<Message>>> topics
      ABSL_GUARDED_BY(mu);
  std::map<std::string, Group> groups ABSL_GUARDED_BY(mu);
  int64_t next_member_id ABSL_GUARDED_BY(mu) = 0;
  uint64_t round_robin ABSL_GUARDED_BY(mu) = 0;
  int fail_sends ABSL_GUARDED_BY(mu) = 0;
  absl::Status fail_sends_status ABSL_GUARDED_BY(mu);
  int fail_deliveries ABSL_GUARDED_BY(mu) = 0;
  absl::Status fail_deliveries_status ABSL_GUARDED_BY(mu);

  bool Matches(const std::vector<std::string>& subscription,
               const std::string& topic) {
    for (const std::string& s : subscription) {
      if (!s.empty() && s[0] == '^') {
        if (std::regex_search(topic, std::regex(s))) return true;
      } else if (s == topic) {
        return true;
      }
    }
    return false;
  }

  // Range assignor over every topic some member subscribes to: partition p
  // of topics with equal partition counts goes to the same member.
  void Rebalance(Group& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    ++group.generation;
    ++version;
    for (auto& [id, member] : group.members) {
      member.target.clear();
      member.target_generation = group.generation;
    }
    for (const auto& [topic, partitions] : topics) {
      std::vector<Member*> subscribed;
      for (auto& [id, member] : group.members) {
        if (Matches(member.subscription, topic)) subscribed.push_back(&member);
      }
      if (subscribed.empty()) continue;
      const int n = static_cast<int>(partitions.size());
      const int per = n / static_cast<int>(subscribed.size());
      const int extra = n % static_cast<int>(subscribed.size());
      int p = 0;
      for (size_t i = 0; i < subscribed.size(); ++i) {
        const int count = per + (static_cast<int>(i) < extra ? 1 : 0);
        for (int j = 0; j < count; ++j) {
          subscribed[i]->target.push_back({topic, p++});
        }
      }
    }
    for (auto& [id, member] : group.members) {
      std::sort(member.target.begin(), member.target.end());
    }
  }

  absl::Status CreateTopic(const std::string& name, int32_t partitions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (name.empty()) return absl::InvalidArgumentError("empty topic name");
    if (partitions < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "topic ", name, ": partition count must be >= 1, got ", partitions));
    }
    auto it = topics.find(name);
    if (it != topics.end()) {
      if (static_cast<int32_t>(it->second.size()) != partitions) {
        return absl::FailedPreconditionError(
            absl::StrCat("topic ", name, " exists with ", it->second.size(),
                         " partitions, wanted ", partitions));
      }
      return absl::OkStatus();
    }
    topics[name].resize(partitions);
    for (auto& [group_id, group] : groups) {
      bool affected = false;
      for (auto& [id, member] : group.members) {
        affected = affected || Matches(member.subscription, name);
      }
      if (affected) Rebalance(group);
    }
    ++version;
    return absl::OkStatus();
  }
};

}  // namespace fake_internal

namespace {

using fake_internal::State;

class FakeProducer : public Producer {
 public:
  FakeProducer(std::shared_ptr<State> state, DeliverySink* sink)
      : state_(std::move(state)), sink_(sink) {}

  // The same path as Send (same checks, faults and inline callback); the
  // fake does not need to save allocations.
  absl::Status SendRecord(const OutgoingRecord& record, void* opaque) override {
    Headers headers;
    headers.reserve(record.headers.size());
    for (const RecordHeader& h : record.headers) {
      headers.emplace_back(std::string(h.name), std::string(h.value));
    }
    DeliveryCallback on_delivery;
    if (sink_ != nullptr) {
      on_delivery = [sink = sink_, opaque, partition = record.partition,
                     topic = std::string(record.topic)](
                        const absl::StatusOr<DeliveryReport>& d) {
        if (d.ok()) {
          sink->OnDelivery(opaque, d->topic, d->partition, d->offset,
                           absl::OkStatus());
        } else {
          sink->OnDelivery(opaque, topic, partition, -1, d.status());
        }
      };
    }
    return Send({record.topic, record.key, record.value,
                 headers.empty() ? nullptr : &headers, record.partition},
                std::move(on_delivery));
  }

  absl::Status Send(const OutgoingMessage& message,
                    DeliveryCallback on_delivery) override {
    absl::StatusOr<DeliveryReport> result;
    {
      absl::MutexLock lock(&state_->mu);
      if (state_->fail_sends > 0) {
        --state_->fail_sends;
        return state_->fail_sends_status;
      }
      auto it = state_->topics.find(std::string(message.topic));
      if (it == state_->topics.end()) {
        return absl::NotFoundError(
            absl::StrCat("unknown topic ", message.topic));
      }
      auto& partitions = it->second;
      const int32_t n = static_cast<int32_t>(partitions.size());
      int32_t p = message.partition;
      if (p >= n) {
        return absl::InvalidArgumentError(
            absl::StrCat("topic ", message.topic, " has ", n,
                         " partitions, no partition ", p));
      }
      if (p < 0) {
        p = message.key.empty()
                ? static_cast<int32_t>(state_->round_robin++ % n)
                : Murmur2Partition(message.key, n);
      }
      if (state_->fail_deliveries > 0) {
        --state_->fail_deliveries;
        result = state_->fail_deliveries_status;
      } else {
        Message m;
        m.topic = std::string(message.topic);
        m.partition = p;
        m.offset = static_cast<int64_t>(partitions[p].size());
        m.key = std::string(message.key);
        m.value = std::string(message.value);
        if (message.headers != nullptr) m.headers = *message.headers;
        m.timestamp = absl::Now();
        result = DeliveryReport{m.topic, p, m.offset};
        partitions[p].push_back(std::move(m));
        ++state_->version;
      }
    }
    if (on_delivery) {
      // broker.h: callbacks of one producer never run concurrently. A
      // callback that sends again (a retry) runs its nested callback on
      // the same thread, inline.
      thread_local bool in_callback = false;
      if (in_callback) {
        on_delivery(result);
      } else {
        absl::MutexLock lock(&callback_mu_);
        in_callback = true;
        on_delivery(result);
        in_callback = false;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Flush(absl::Duration) override { return absl::OkStatus(); }
  int64_t InFlight() const override { return 0; }

 private:
  std::shared_ptr<State> state_;
  DeliverySink* const sink_;
  absl::Mutex callback_mu_;
};

class FakeConsumer : public Consumer {
 public:
  FakeConsumer(std::shared_ptr<State> state, std::string group_id)
      : state_(std::move(state)), group_id_(std::move(group_id)) {
    absl::MutexLock lock(&state_->mu);
    member_id_ = state_->next_member_id++;
  }
  ~FakeConsumer() override { Close().IgnoreError(); }

  absl::Status Subscribe(const std::vector<std::string>& topics,
                         RebalanceHandler* handler) override {
    if (closed_) return absl::FailedPreconditionError("consumer is closed");
    if (handler == nullptr) {
      return absl::InvalidArgumentError("Subscribe: null RebalanceHandler");
    }
    if (topics.empty()) {
      return absl::InvalidArgumentError("Subscribe: empty topic list");
    }
    for (const std::string& t : topics) {
      if (!t.empty() && t[0] == '^') {
        try {
          std::regex re(t);
        } catch (const std::regex_error& e) {
          return absl::InvalidArgumentError(
              absl::StrCat("bad topic pattern \"", t, "\": ", e.what()));
        }
      }
    }
    handler_ = handler;
    absl::MutexLock lock(&state_->mu);
    auto& group = state_->groups[group_id_];
    group.members[member_id_].subscription = topics;
    state_->Rebalance(group);
    return absl::OkStatus();
  }

  absl::Status Poll(size_t max_messages, absl::Duration timeout,
                    std::vector<Message>* out) override {
    out->clear();
    if (closed_) return absl::FailedPreconditionError("consumer is closed");
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      ApplyRebalance();
      uint64_t seen;
      {
        absl::MutexLock lock(&state_->mu);
        seen = state_->version;
        Fetch(max_messages, out);
        if (!out->empty()) return absl::OkStatus();
        if (RebalancePending()) continue;
        auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                           state_->mu) { return state_->version != seen; };
        if (!state_->mu.AwaitWithDeadline(absl::Condition(&changed),
                                          deadline)) {
          return absl::OkStatus();
        }
      }
    }
  }

  absl::Status Seek(const TopicPartition& tp, int64_t offset) override {
    auto it = positions_.find(tp);
    if (it == positions_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("Seek: ", ToString(tp), " is not assigned"));
    }
    absl::MutexLock lock(&state_->mu);
    it->second = Resolve(tp, offset);
    return absl::OkStatus();
  }

  absl::Status Pause(const std::vector<TopicPartition>& partitions) override {
    for (const auto& tp : partitions) {
      if (positions_.count(tp) == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("Pause: ", ToString(tp), " is not assigned"));
      }
    }
    for (const auto& tp : partitions) paused_.insert(tp);
    return absl::OkStatus();
  }

  absl::Status Resume(const std::vector<TopicPartition>& partitions) override {
    for (const auto& tp : partitions) paused_.erase(tp);
    return absl::OkStatus();
  }

  std::vector<TopicPartition> Assignment() const override {
    std::vector<TopicPartition> out;
    for (const auto& [tp, pos] : positions_) out.push_back(tp);
    std::sort(out.begin(), out.end());
    return out;
  }

  absl::StatusOr<Watermarks> QueryWatermarks(const TopicPartition& tp,
                                             absl::Duration) override {
    absl::MutexLock lock(&state_->mu);
    auto it = state_->topics.find(tp.topic);
    if (it == state_->topics.end() || tp.partition < 0 ||
        tp.partition >= static_cast<int32_t>(it->second.size())) {
      return absl::NotFoundError(
          absl::StrCat("unknown partition ", ToString(tp)));
    }
    return Watermarks{0, static_cast<int64_t>(it->second[tp.partition].size())};
  }

  absl::StatusOr<std::vector<int64_t>> OffsetsForTimes(
      const std::vector<std::pair<TopicPartition, absl::Time>>& query,
      absl::Duration) override {
    absl::MutexLock lock(&state_->mu);
    std::vector<int64_t> out;
    for (const auto& [tp, t] : query) {
      auto it = state_->topics.find(tp.topic);
      if (it == state_->topics.end() || tp.partition < 0 ||
          tp.partition >= static_cast<int32_t>(it->second.size())) {
        return absl::NotFoundError(
            absl::StrCat("unknown partition ", ToString(tp)));
      }
      int64_t found = kOffsetEnd;
      for (const Message& m : it->second[tp.partition]) {
        if (m.timestamp >= t) {
          found = m.offset;
          break;
        }
      }
      out.push_back(found);
    }
    return out;
  }

  absl::Status Close() override {
    if (closed_) return absl::OkStatus();
    closed_ = true;
    std::vector<TopicPartition> revoked = Assignment();
    if (handler_ != nullptr && !revoked.empty()) handler_->OnRevoked(revoked);
    positions_.clear();
    paused_.clear();
    absl::MutexLock lock(&state_->mu);
    auto git = state_->groups.find(group_id_);
    if (git != state_->groups.end() &&
        git->second.members.erase(member_id_) > 0) {
      state_->Rebalance(git->second);
    }
    return absl::OkStatus();
  }

 private:
  bool RebalancePending() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    auto git = state_->groups.find(group_id_);
    if (git == state_->groups.end()) return false;
    auto mit = git->second.members.find(member_id_);
    return mit != git->second.members.end() &&
           mit->second.target_generation != applied_generation_;
  }

  // Eager protocol, as in the Kafka adapter: revoke everything, then assign
  // the new set.
  void ApplyRebalance() {
    std::vector<TopicPartition> target;
    {
      absl::MutexLock lock(&state_->mu);
      if (!RebalancePending()) return;
      const auto& member = state_->groups[group_id_].members[member_id_];
      target = member.target;
      applied_generation_ = member.target_generation;
    }
    std::vector<TopicPartition> current = Assignment();
    if (current == target) return;
    if (!current.empty()) handler_->OnRevoked(current);
    positions_.clear();
    paused_.clear();
    if (target.empty()) return;
    absl::flat_hash_map<TopicPartition, int64_t> starts =
        handler_->OnAssigned(target);
    absl::MutexLock lock(&state_->mu);
    for (const auto& tp : target) {
      auto it = starts.find(tp);
      positions_[tp] =
          Resolve(tp, it == starts.end() ? kOffsetBeginning : it->second);
    }
  }

  int64_t Resolve(const TopicPartition& tp, int64_t offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    const int64_t end =
        static_cast<int64_t>(state_->topics[tp.topic][tp.partition].size());
    if (offset == kOffsetEnd) return end;
    if (offset < 0 || offset > end) return 0;  // out of range: beginning
    return offset;
  }

  void Fetch(size_t max_messages, std::vector<Message>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_->mu) {
    // Take from each partition in turn so one busy partition cannot starve
    // the others.
    bool progress = true;
    while (out->size() < max_messages && progress) {
      progress = false;
      for (auto& [tp, pos] : positions_) {
        if (out->size() >= max_messages) break;
        if (paused_.count(tp) > 0) continue;
        const auto& log = state_->topics[tp.topic][tp.partition];
        const int64_t end = static_cast<int64_t>(log.size());
        const int64_t take = std::min<int64_t>(
            end - pos,
            std::max<int64_t>(1, static_cast<int64_t>(max_messages) / 8));
        for (int64_t i = 0; i < take && out->size() < max_messages; ++i) {
          out->push_back(log[pos++]);
          progress = true;
        }
      }
    }
  }

  std::shared_ptr<State> state_;
  const std::string group_id_;
  int64_t member_id_ = 0;
  RebalanceHandler* handler_ = nullptr;
  bool closed_ = false;
  uint64_t applied_generation_ = 0;
  std::map<TopicPartition, int64_t> positions_;
  std::set<TopicPartition> paused_;
};

class FakeAdmin : public Admin {
 public:
  explicit FakeAdmin(std::shared_ptr<State> state) : state_(std::move(state)) {}

  absl::Status EnsureTopics(const std::vector<TopicSpec>& topics,
                            absl::Duration) override {
    absl::MutexLock lock(&state_->mu);
    for (const TopicSpec& t : topics) {
      absl::Status s = state_->CreateTopic(t.name, t.partitions);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<TopicSpec>> ListTopics(absl::Duration) override {
    absl::MutexLock lock(&state_->mu);
    std::vector<TopicSpec> out;
    for (const auto& [name, partitions] : state_->topics) {
      if (name.rfind("__", 0) == 0) continue;
      out.push_back({name, static_cast<int32_t>(partitions.size())});
    }
    return out;
  }

  absl::StatusOr<std::string> ClusterId(absl::Duration) override {
    return state_->cluster_id;
  }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace

FakeBroker::FakeBroker(std::string cluster_id)
    : state_(std::make_shared<State>(std::move(cluster_id))) {}

FakeBroker::~FakeBroker() = default;

absl::StatusOr<std::unique_ptr<Producer>> FakeBroker::NewProducer(
    const ProducerOptions& options) {
  return std::make_unique<FakeProducer>(state_, options.delivery_sink);
}

absl::StatusOr<std::unique_ptr<Consumer>> FakeBroker::NewConsumer(
    const ConsumerOptions& options) {
  if (options.group_id.empty()) {
    return absl::InvalidArgumentError("ConsumerOptions.group_id is required");
  }
  return std::make_unique<FakeConsumer>(state_, options.group_id);
}

absl::StatusOr<std::unique_ptr<Admin>> FakeBroker::NewAdmin() {
  return std::make_unique<FakeAdmin>(state_);
}

absl::Status FakeBroker::CreateTopic(const std::string& name,
                                     int32_t partitions) {
  absl::MutexLock lock(&state_->mu);
  return state_->CreateTopic(name, partitions);
}

std::vector<Message> FakeBroker::Messages(const TopicPartition& tp) const {
  absl::MutexLock lock(&state_->mu);
  auto it = state_->topics.find(tp.topic);
  if (it == state_->topics.end() || tp.partition < 0 ||
      tp.partition >= static_cast<int32_t>(it->second.size())) {
    return {};
  }
  return it->second[tp.partition];
}

void FakeBroker::FailSends(int count, absl::Status status) {
  absl::MutexLock lock(&state_->mu);
  state_->fail_sends = count;
  state_->fail_sends_status = std::move(status);
}

void FakeBroker::FailDeliveries(int count, absl::Status status) {
  absl::MutexLock lock(&state_->mu);
  state_->fail_deliveries = count;
  state_->fail_deliveries_status = std::move(status);
}

}  // namespace datarun::broker
