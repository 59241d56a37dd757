// The exchange's local state: the records of the partitions an instance
// owns, the next Kafka offset of every partition it consumes, and the audit
// chain heads. One interface, so the ingest loop and the resolver do not
// depend on RocksDB (implementation: exchange/state/rocksdb/).
//
// Callers: exchange/ingest (ApplyBatch, StartOffset), the resolver (reads),
// the audit writer (chain heads), the datarund daemon (opens it).
//
// Thread-safety: every method may be called from any thread concurrently.
// ApplyBatch calls are serialised internally (the version check and the
// write must not interleave); reads never block writers.
#ifndef DATARUN_EXCHANGE_STATE_STATE_STORE_H_
#define DATARUN_EXCHANGE_STATE_STATE_STORE_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "exchange/state/record_envelope.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::state {

// One record to apply. `partition` is the Kafka partition it was consumed
// from (records are co-partitioned by subject, so it is also the state
// partition). `serialized`, when not empty, must be `record` serialized: the
// store then keeps those bytes instead of serializing again.
//
// Ingest's fast path: when `bytes` is not empty it is the serialized Record
// as consumed (owned by the caller, alive until ApplyBatch returns) and
// `envelope` is DecodeRecordEnvelope(bytes); the store then reads neither
// `record` nor `serialized`, and no Record is ever built.
struct RecordWrite {
  int32_t partition = 0;
  // Index in IngestBatch::offsets of the topic partition the record was
  // consumed from, so its effect is counted there; -1 for none.
  int source = -1;
  datarun::v1::Record record;
  std::string serialized;
  absl::string_view bytes;
  RecordEnvelope envelope;
};

// The position reached in one topic partition by a batch, and how many
// messages of that partition the batch consumed (including rejected ones).
struct OffsetAdvance {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
  uint64_t messages = 0;
  uint64_t rejected = 0;  // of `messages`, how many went to the DLQ
};

// Everything one WriteBatch makes durable, atomically.
struct IngestBatch {
  std::string cluster_id;  // the Kafka cluster the offsets belong to
  std::vector<RecordWrite> records;
  std::vector<OffsetAdvance> offsets;
};

// What one ApplyBatch did.
struct ApplyResult {
  uint64_t upserts = 0;  // records written (newer version)
  uint64_t deletes = 0;  // tombstones written (newer version)
  uint64_t stale = 0;    // ignored: version <= stored version
};

// The stored position of one topic partition. The counters accumulate over
// every batch applied since the offsets of this cluster id started, in the
// same WriteBatch as the records: after any crash, `messages` equals the
// number of messages whose effect is in the store, so replays are visible.
struct StoredOffset {
  int64_t next_offset = 0;
  std::string cluster_id;
  uint64_t messages = 0;
  uint64_t applied = 0;  // upserts + deletes that changed the state
  uint64_t stale = 0;
  uint64_t rejected = 0;
};

// Process-lifetime counters, exportable as metrics by a later layer.
struct StateCounters {
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> upserts{0};
  std::atomic<uint64_t> deletes{0};
  std::atomic<uint64_t> stale{0};
  std::atomic<uint64_t> cluster_id_resets{0};
};

// Addresses one record for Get / MultiGet.
struct RecordRef {
  int32_t partition = 0;
  std::string subject_id;
  std::string data_class;
  std::string record_key;
};

// Addresses one subject's profile.
struct SubjectRef {
  int32_t partition = 0;
  std::string subject_id;
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Applies the records whose source version is newer than the stored one
  // (an upsert replaces, a delete leaves a tombstone that keeps the version)
  // and stores the offsets, all in one atomic write.
  virtual absl::StatusOr<ApplyResult> ApplyBatch(const IngestBatch& batch) = 0;

  // Where to resume `topic`/`partition` on cluster `cluster_id`: the stored
  // next offset, or nullopt to read from the beginning (never consumed, or
  // the stored offset belongs to another cluster; the latter is logged and
  // counted in cluster_id_resets).
  virtual absl::StatusOr<std::optional<int64_t>> StartOffset(
      absl::string_view topic, int32_t partition,
      absl::string_view cluster_id) = 0;

  // Every stored offset, keyed "topic/partition" order.
  virtual absl::StatusOr<std::vector<std::pair<std::string, StoredOffset>>>
  AllOffsets() = 0;
  virtual absl::StatusOr<std::optional<StoredOffset>> GetOffset(
      absl::string_view topic, int32_t partition) = 0;

  // Live records of one subject (tombstones excluded), in key order
  // (class, then record key). `classes` empty means all classes.
  virtual absl::StatusOr<std::vector<datarun::v1::Record>> Profile(
      int32_t partition, absl::string_view subject_id,
      const absl::flat_hash_set<std::string>& classes = {}) = 0;

  // The live records of one subject, in key order, unparsed: `visit` gets
  // each stored Record's serialized bytes, valid only during that call, and
  // the scan stops at the first error it returns (which is returned). For
  // callers that read a few envelope fields and copy the payload bytes (the
  // resolver's PROFILE answer): a parsed Record costs a dozen allocations.
  // The default parses nothing itself but serializes what Profile returns;
  // stores that keep serialized records override it.
  virtual absl::Status VisitProfile(
      int32_t partition, absl::string_view subject_id,
      absl::FunctionRef<absl::Status(absl::string_view record)> visit) {
    absl::StatusOr<std::vector<datarun::v1::Record>> records =
        Profile(partition, subject_id);
    if (!records.ok()) return records.status();
    std::string bytes;
    for (const datarun::v1::Record& r : *records) {
      bytes.clear();
      r.SerializeToString(&bytes);
      absl::Status st = visit(bytes);
      if (!st.ok()) return st;
    }
    return absl::OkStatus();
  }

  // Profiles of many subjects, in the order given.
  virtual absl::StatusOr<std::vector<std::vector<datarun::v1::Record>>>
  MultiProfile(const std::vector<SubjectRef>& subjects,
               const absl::flat_hash_set<std::string>& classes = {}) = 0;

  // One live record, or nullopt if absent or deleted.
  virtual absl::StatusOr<std::optional<datarun::v1::Record>> Get(
      const RecordRef& ref) = 0;

  // Many records in one call, results in the order given.
  virtual absl::StatusOr<std::vector<std::optional<datarun::v1::Record>>>
  MultiGet(const std::vector<RecordRef>& refs) = 0;

  // Audit hash-chain head of a partition (opaque bytes owned by the audit
  // writer); nullopt if none was stored.
  virtual absl::Status PutChainHead(int32_t partition,
                                    absl::string_view head) = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetChainHead(
      int32_t partition) = 0;

  // Makes everything applied so far durable in table files (shorter WAL
  // replay on the next start). Called on orderly shutdown.
  virtual absl::Status Flush() = 0;

  virtual const StateCounters& counters() const = 0;
};

}  // namespace datarun::state

#endif  // DATARUN_EXCHANGE_STATE_STATE_STORE_H_
