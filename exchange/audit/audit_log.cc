#include "exchange/audit/audit_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "exchange/audit/chain.h"

namespace datarun::audit {

using datarun::v1::AuditEvent;
using datarun::v1::ChainLink;
using datarun::v1::SealedCheckpoint;

AuditLog::AuditLog(AuditSink* sink, const seal::Signer* signer,
                   state::StateStore* heads, AuditLogOptions options)
    : sink_(sink), signer_(signer), heads_(heads), options_(options) {}

AuditLog::Chain* AuditLog::GetChain(int32_t partition) {
  {
    // Every request looks its chain up; only the first one creates it.
    absl::ReaderMutexLock lock(&mu_);
    auto it = chains_.find(partition);
    if (it != chains_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  auto& slot = chains_[partition];
  if (slot == nullptr) slot = std::make_unique<Chain>();
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
  return absl::OkStatus();
}

namespace {
// Outlives Record when the ack arrives after the timeout.
struct Ack {
  absl::Notification done;
  absl::Status status;
};
}  // namespace

absl::StatusOr<ChainLink> AuditLog::Record(int32_t partition,
                                           AuditEvent event) {
  Chain* chain = GetChain(partition);
  auto ack = std::make_shared<Ack>();
  ChainLink link;
  {
    absl::MutexLock lock(&chain->mu);
    if (!chain->broken.ok()) return chain->broken;
    const uint64_t sequence = chain->next_sequence;
    event.set_event_id(absl::StrCat(partition, "-", sequence));
    link =
        MakeLink(partition, sequence, chain->head, event.SerializeAsString());
    chain->head = link.event_hash();
    chain->next_sequence = sequence + 1;
    chain->appended = true;
    sink_->Write(link, [ack](absl::Status st) {
      ack->status = std::move(st);
      ack->done.Notify();
    });
    if (signer_ != nullptr && options_.checkpoint_every > 0 &&
        chain->next_sequence % options_.checkpoint_every == 0) {
      // A failed checkpoint only delays sealing; the chain stays valid.
      auto cp = SealLocked(partition, chain);
      if (!cp.ok()) DR_LOG(WARNING) << cp.status();
    }
  }
  absl::Status status;
  if (!ack->done.WaitForNotificationWithTimeout(options_.ack_timeout)) {
    status = absl::DeadlineExceededError(
        absl::StrCat("audit link ", link.sequence(), " of partition ",
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
                       " stopped at sequence ", link.sequence(), " (",
                       status.message(), "); resume it from dr.audit"));
    }
    return absl::UnavailableError(absl::StrCat(
        "audit event not acknowledged, response withheld: ", status.message()));
  }
  return link;
}

absl::StatusOr<SealedCheckpoint> AuditLog::SealLocked(int32_t partition,
                                                      Chain* chain) {
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
  absl::MutexLock lock(&mu_);
  checkpoints_.push_back(cp);
  return cp;
}

absl::StatusOr<SealedCheckpoint> AuditLog::Checkpoint(int32_t partition) {
  Chain* chain = GetChain(partition);
  absl::MutexLock lock(&chain->mu);
  return SealLocked(partition, chain);
}

std::vector<SealedCheckpoint> AuditLog::checkpoints() const {
  absl::MutexLock lock(&mu_);
  return checkpoints_;
}

}  // namespace datarun::audit
