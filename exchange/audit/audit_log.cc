#include "exchange/audit/audit_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "exchange/audit/chain.h"
#include "exchange/audit/event_writer.h"

namespace datarun::audit {

using datarun::v1::AuditEvent;
using datarun::v1::ChainLink;
using datarun::v1::SealedCheckpoint;

// Outlives Record when the ack arrives after the timeout.
struct AuditLog::Ack {
  absl::Notification done;
  absl::Status status;
};

AuditLog::AuditLog(AuditSink* sink, const seal::Signer* signer,
                   state::StateStore* heads, AuditLogOptions options)
    : sink_(sink), signer_(signer), heads_(heads), options_(options) {}

void AuditLog::ConnectBus(ChainHeadSource* head_source,
                          CheckpointSink* checkpoint_sink) {
  head_source_ = head_source;
  checkpoint_sink_ = checkpoint_sink;
}

AuditLog::Chain* AuditLog::GetChain(int32_t partition) {
  {
    // Every request looks its chain up; only the first one creates it.
    absl::ReaderMutexLock lock(&mu_);
    auto it = chains_.find(partition);
    if (it != chains_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  auto& slot = chains_[partition];
  if (slot == nullptr) {
    // Not yet shared, so no lock (taking chain->mu under mu_ would invert
    // SealLocked's order).
    slot = std::make_unique<Chain>(/*loaded=*/head_source_ == nullptr);
  }
  return slot.get();
}

absl::Status AuditLog::Resume(int32_t partition, uint64_t last_sequence,
                              std::string last_hash) {
  if (last_hash.size() != kHashSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit chain head of partition ", partition, " has ",
                     last_hash.size(), " bytes, expected ", kHashSize));
  }
  Chain* chain = GetChain(partition);
  absl::MutexLock lock(&chain->mu);
  if (chain->appended) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit chain of partition ", partition, " already appended"));
  }
  chain->next_sequence = last_sequence + 1;
  chain->head = std::move(last_hash);
  chain->loaded = true;
  return absl::OkStatus();
}

absl::Status AuditLog::LoadLocked(int32_t partition, Chain* chain) {
  auto head = head_source_->LastLink(partition);
  if (!head.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "audit chain of partition ", partition,
        ": cannot read its last link from the bus, response withheld: ",
        head.status().message()));
  }
  if (!head->has_value()) {
    chain->next_sequence = 0;
    chain->head = GenesisHash();
  } else {
    if ((*head)->hash.size() != kHashSize) {
      return absl::DataLossError(absl::StrCat(
          "audit chain of partition ", partition, ": last link ",
          (*head)->sequence, " on the bus has a ", (*head)->hash.size(),
          "-byte hash, expected ", kHashSize));
    }
    chain->next_sequence = (*head)->sequence + 1;
    chain->head = std::move((*head)->hash);
  }
  chain->loaded = true;
  DR_LOG(INFO) << "audit chain of partition " << partition
               << " continues at sequence " << chain->next_sequence;
  return absl::OkStatus();
}

AckCallback AuditLog::Notify(std::shared_ptr<Ack> ack) {
  return [ack = std::move(ack)](absl::Status st) {
    ack->status = std::move(st);
    ack->done.Notify();
  };
}

absl::StatusOr<ChainLink> AuditLog::Record(int32_t partition,
                                           AuditEvent event) {
  ChainLink link;
  RETURN_IF_ERROR(AppendTo(partition, &event, {}, &link));
  return link;
}

absl::StatusOr<AuditLog::LinkId> AuditLog::Append(int32_t partition,
                                                  AuditEvent* event) {
  // Its strings keep their capacity from one append to the next; the sink
  // copies or serializes the link during Write.
  thread_local ChainLink link;
  RETURN_IF_ERROR(AppendTo(partition, event, {}, &link));
  return LinkId{partition, link.sequence()};
}

absl::StatusOr<AuditLog::LinkId> AuditLog::AppendEncoded(
    int32_t partition, absl::string_view event_without_id) {
  thread_local ChainLink link;
  RETURN_IF_ERROR(AppendTo(partition, nullptr, event_without_id, &link));
  return LinkId{partition, link.sequence()};
}

absl::Status AuditLog::AppendTo(int32_t partition, AuditEvent* event,
                                absl::string_view encoded, ChainLink* link) {
  Chain* chain = GetChain(partition);
  auto ack = std::make_shared<Ack>();
  {
    absl::MutexLock lock(&chain->mu);
    if (!chain->broken.ok()) return chain->broken;
    if (!chain->loaded) RETURN_IF_ERROR(LoadLocked(partition, chain));
    const uint64_t sequence = chain->next_sequence;
    // MakeLink's link, built in place: no copy of the event bytes, the
    // hashes written into the strings' existing buffers.
    std::string* bytes = link->mutable_event_bytes();
    if (event != nullptr) {
      event->set_event_id(absl::StrCat(partition, "-", sequence));
      if (!event->SerializeToString(bytes)) {
        return absl::InternalError(absl::StrCat(
            "audit event of partition ", partition, " does not serialize"));
      }
    } else {
      PrependEventId(absl::StrCat(partition, "-", sequence), encoded, bytes);
    }
    link->set_partition(partition);
    link->set_sequence(sequence);
    link->mutable_prev_hash()->assign(chain->head);
    char hash[kHashSize];
    ChainHashTo(chain->head, *bytes, hash);
    link->mutable_event_hash()->assign(hash, kHashSize);
    chain->head.assign(hash, kHashSize);
    chain->next_sequence = sequence + 1;
    chain->appended = true;
    chain->unsealed = true;
    sink_->Write(*link, Notify(ack));
    if (signer_ != nullptr && options_.checkpoint_every > 0 &&
        chain->next_sequence % options_.checkpoint_every == 0) {
      // A failed checkpoint only delays sealing; the chain stays valid.
      auto cp = SealLocked(partition, chain, nullptr);
      if (!cp.ok()) DR_LOG(WARNING) << cp.status();
    }
  }
  absl::Status status;
  if (!ack->done.WaitForNotificationWithTimeout(options_.ack_timeout)) {
    status = absl::DeadlineExceededError(
        absl::StrCat("audit link ", link->sequence(), " of partition ",
                     partition, " not acknowledged within ",
                     absl::FormatDuration(options_.ack_timeout)));
  } else {
    status = ack->status;
  }
  if (!status.ok()) {
    absl::MutexLock lock(&chain->mu);
    if (chain->broken.ok()) {
      chain->broken = absl::FailedPreconditionError(
          absl::StrCat("audit chain of partition ", partition,
                       " stopped at sequence ", link->sequence(), " (",
                       status.message(), "); resume it from dr.audit"));
    }
    return absl::UnavailableError(absl::StrCat(
        "audit event not acknowledged, response withheld: ", status.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<SealedCheckpoint> AuditLog::SealLocked(
    int32_t partition, Chain* chain, std::shared_ptr<Ack> ack) {
  if (signer_ == nullptr) {
    return absl::FailedPreconditionError("audit log has no checkpoint signer");
  }
  if (chain->next_sequence == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit chain of partition ", partition, " is empty"));
  }
  ASSIGN_OR_RETURN(SealedCheckpoint cp,
                   SealCheckpoint(*signer_, partition, chain->next_sequence - 1,
                                  chain->head, absl::Now()));
  if (heads_ != nullptr) {
    RETURN_IF_ERROR(heads_->PutChainHead(partition, cp.SerializeAsString()));
  }
  if (checkpoint_sink_ != nullptr) {
    AckCallback done;
    if (ack != nullptr) {
      done = Notify(std::move(ack));
    } else {
      done = [partition, sequence = cp.sequence()](absl::Status st) {
        if (!st.ok()) {
          DR_LOG(WARNING) << "audit checkpoint of partition " << partition
                          << " at sequence " << sequence
                          << " not written: " << st;
        }
      };
    }
    checkpoint_sink_->WriteCheckpoint(cp, std::move(done));
  } else if (ack != nullptr) {
    Notify(std::move(ack))(absl::OkStatus());
  }
  chain->unsealed = false;
  absl::MutexLock lock(&mu_);
  checkpoints_.push_back(cp);
  return cp;
}

absl::StatusOr<SealedCheckpoint> AuditLog::Checkpoint(int32_t partition) {
  Chain* chain = GetChain(partition);
  absl::MutexLock lock(&chain->mu);
  return SealLocked(partition, chain, nullptr);
}

absl::Status AuditLog::Release(int32_t partition) {
  Chain* chain = GetChain(partition);
  std::shared_ptr<Ack> ack;
  absl::Status status;
  {
    absl::MutexLock lock(&chain->mu);
    if (chain->unsealed && chain->broken.ok() && signer_ != nullptr) {
      ack = std::make_shared<Ack>();
      status = SealLocked(partition, chain, ack).status();
      if (!status.ok()) ack = nullptr;
    }
    chain->next_sequence = 0;
    chain->head = GenesisHash();
    chain->appended = false;
    chain->unsealed = false;
    chain->loaded = head_source_ == nullptr;
    chain->broken = absl::OkStatus();
  }
  if (ack != nullptr) {
    if (!ack->done.WaitForNotificationWithTimeout(options_.ack_timeout)) {
      status = absl::DeadlineExceededError(absl::StrCat(
          "checkpoint of partition ", partition, " not acknowledged within ",
          absl::FormatDuration(options_.ack_timeout)));
    } else {
      status = ack->status;
    }
  }
  return status;
}

absl::StatusOr<int> AuditLog::CheckpointAll(absl::Duration timeout) {
  if (signer_ == nullptr) return 0;
  std::vector<std::shared_ptr<Ack>> acks;
  absl::Status first;
  for (int32_t partition : Partitions()) {
    Chain* chain = GetChain(partition);
    absl::MutexLock lock(&chain->mu);
    if (!chain->unsealed || !chain->broken.ok()) continue;
    auto ack = std::make_shared<Ack>();
    auto cp = SealLocked(partition, chain, ack);
    if (cp.ok()) {
      acks.push_back(std::move(ack));
    } else if (first.ok()) {
      first = cp.status();
    }
  }
  const absl::Time deadline = absl::Now() + timeout;
  for (const auto& ack : acks) {
    if (!ack->done.WaitForNotificationWithDeadline(deadline)) {
      if (first.ok()) {
        first = absl::DeadlineExceededError(
            absl::StrCat("checkpoints not acknowledged within ",
                         absl::FormatDuration(timeout)));
      }
    } else if (!ack->status.ok() && first.ok()) {
      first = ack->status;
    }
  }
  if (!first.ok()) return first;
  return static_cast<int>(acks.size());
}

std::vector<int32_t> AuditLog::Partitions() const {
  std::vector<int32_t> out;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [p, chain] : chains_) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<SealedCheckpoint> AuditLog::checkpoints() const {
  absl::MutexLock lock(&mu_);
  return checkpoints_;
}

}  // namespace datarun::audit
