// AuditLog: turns each request's AuditEvents into links of a per-partition
// hash chain, hands them to an AuditSink and waits for the acknowledgement,
// so the caller (the resolver) sends no response before its audit event is
// durable. Every `checkpoint_every` links it seals the chain head with the
// exchange's seal, writes the SealedCheckpoint to the CheckpointSink
// (dr.audit.checkpoint) and stores it as the partition's chain head in the
// StateStore.
//
// Chain continuity across processes: with a ChainHeadSource connected, a
// partition's chain is loaded from the last link on the bus the first time
// it is appended to (after start, and after Release when the partition was
// handed to another instance and came back), so restarts and rebalances
// continue one chain instead of forking it.
//
// Fail-closed: when the sink refuses a link, or does not acknowledge it in
// time, the partition's chain stops (every later Record fails) because the
// link may or may not be on the bus and the next link would hash over it;
// the daemon restarts the partition from the last link read back from
// dr.audit (Resume).
//
// Thread-safety: all methods may be called concurrently. Appends to one
// partition are serialised by that partition's mutex (which also keeps the
// sink's call order equal to the chain order); the wait for the ack happens
// outside it, so acks of one partition overlap.
#ifndef DATARUN_EXCHANGE_AUDIT_AUDIT_LOG_H_
#define DATARUN_EXCHANGE_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "exchange/audit/audit_sink.h"
#include "exchange/audit/chain.h"
#include "exchange/seal/seal.h"
#include "exchange/state/state_store.h"
#include "proto/datarun/v1/audit.pb.h"

namespace datarun::audit {

struct AuditLogOptions {
  // Seal the head every this many links of a partition (0: never
  // automatically; Checkpoint() still works).
  uint64_t checkpoint_every = 1000;
  // How long Record waits for the sink's acknowledgement.
  absl::Duration ack_timeout = absl::Seconds(10);
};

class AuditLog {
 public:
  // `sink` is required. `signer` (the exchange's seal) and `heads` may be
  // null: then no checkpoint is sealed / stored. None is owned; all must
  // outlive the log.
  AuditLog(AuditSink* sink, const seal::Signer* signer,
           state::StateStore* heads, AuditLogOptions options = {});

  // Connects where chain heads are read from and where sealed checkpoints
  // go (either may be null). Call before any other method: the pointers are
  // read without a lock. Not owned; must outlive the log.
  void ConnectBus(ChainHeadSource* head_source,
                  CheckpointSink* checkpoint_sink);

  // Continues partition's chain after a link already on the bus (its
  // sequence and event hash), e.g. after replaying dr.audit at start-up.
  // FailedPrecondition once the partition has appended in this process.
  absl::Status Resume(int32_t partition, uint64_t last_sequence,
                      std::string last_hash);

  // Sets event_id ("<partition>-<sequence>") on the event, appends it to the
  // partition's chain, writes the link to the sink and waits for the ack.
  // Returns the acknowledged link.
  absl::StatusOr<datarun::v1::ChainLink> Record(int32_t partition,
                                                datarun::v1::AuditEvent event);

  // Where an acknowledged link sits in its chain.
  struct LinkId {
    int32_t partition = 0;
    uint64_t sequence = 0;
  };
  // Record for the resolver's hot path: the same link, chain bytes and
  // acknowledgement, but `event` (left with its event_id set) stays the
  // caller's, so a caller may reuse one event across requests, and the link
  // is built in a buffer of the calling thread and not returned. The sink
  // must not keep a reference to the link past Write (AuditSink's contract).
  absl::StatusOr<LinkId> Append(int32_t partition,
                                datarun::v1::AuditEvent* event);
  // Append of an event the caller encoded itself (AuditEventWriter):
  // `event_without_id` is the serialized AuditEvent without its event_id,
  // which the log puts in front ("<partition>-<sequence>", field 1, the
  // first field protobuf writes), so the link's event bytes equal those
  // Record makes for the same event. The bytes are read during the call
  // only.
  absl::StatusOr<LinkId> AppendEncoded(int32_t partition,
                                       absl::string_view event_without_id);

  // Seals the partition's current head now (and stores it as chain head).
  // FailedPrecondition when there is no signer or the chain is empty.
  absl::StatusOr<datarun::v1::SealedCheckpoint> Checkpoint(int32_t partition);

  // The partition moved to another instance: seals its head if links were
  // appended since the last checkpoint (waiting for the checkpoint's ack),
  // then forgets the chain, so the next Record reloads the head from the
  // ChainHeadSource (without one, the chain restarts at sequence 0: only
  // for tests). Also clears a chain stopped by a failed write.
  absl::Status Release(int32_t partition);

  // Shutdown: seals every partition with links appended since its last
  // checkpoint and waits up to `timeout` for the checkpoint sink's acks.
  // Returns the number sealed; the first error otherwise.
  absl::StatusOr<int> CheckpointAll(absl::Duration timeout);

  // Partitions the log holds a chain for (appended, resumed or released),
  // sorted.
  std::vector<int32_t> Partitions() const;

  // Every checkpoint sealed so far, all partitions, in sealing order.
  std::vector<datarun::v1::SealedCheckpoint> checkpoints() const;

 private:
  struct Chain {
    explicit Chain(bool loaded_from_start) : loaded(loaded_from_start) {}
    absl::Mutex mu;
    uint64_t next_sequence ABSL_GUARDED_BY(mu) = 0;
    std::string head ABSL_GUARDED_BY(mu) = GenesisHash();
    bool appended ABSL_GUARDED_BY(mu) = false;
    // next_sequence/head hold the bus's head (or genesis without a source).
    bool loaded ABSL_GUARDED_BY(mu) = false;
    // Links appended since the last sealed checkpoint.
    bool unsealed ABSL_GUARDED_BY(mu) = false;
    // Set when a write failed; the chain accepts nothing more.
    absl::Status broken ABSL_GUARDED_BY(mu);
  };

  struct Ack;
  static AckCallback Notify(std::shared_ptr<Ack> ack);
  // Record, Append and AppendEncoded: fills `link` (a fresh or a reused
  // message) from `event`, or when it is null from `encoded` (the event's
  // bytes without its id).
  absl::Status AppendTo(int32_t partition, datarun::v1::AuditEvent* event,
                        absl::string_view encoded,
                        datarun::v1::ChainLink* link);
  Chain* GetChain(int32_t partition);
  absl::Status LoadLocked(int32_t partition, Chain* chain)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(chain->mu);
  // Seals the head and writes the checkpoint; `ack` (may be null) gets the
  // sink's acknowledgement.
  absl::StatusOr<datarun::v1::SealedCheckpoint> SealLocked(
      int32_t partition, Chain* chain, std::shared_ptr<Ack> ack)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(chain->mu);

  AuditSink* const sink_;
  const seal::Signer* const signer_;
  state::StateStore* const heads_;
  const AuditLogOptions options_;
  ChainHeadSource* head_source_ = nullptr;
  CheckpointSink* checkpoint_sink_ = nullptr;

  mutable absl::Mutex mu_;
  // Chains are never removed, so a Chain* stays valid without mu_.
  absl::flat_hash_map<int32_t, std::unique_ptr<Chain>> chains_
      ABSL_GUARDED_BY(mu_);
  std::vector<datarun::v1::SealedCheckpoint> checkpoints_ ABSL_GUARDED_BY(mu_);
};

}  // namespace datarun::audit

#endif  // DATARUN_EXCHANGE_AUDIT_AUDIT_LOG_H_
