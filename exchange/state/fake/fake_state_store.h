// In-memory StateStore for unit tests of the resolver, the audit writer and
// anything else that reads or writes the exchange state. Same semantics as
// the RocksDB store (version rule, tombstones, offsets with cluster id and
// counters, key order from key_codec), nothing on disk.
//
// Thread-safety: all methods are thread-safe (one mutex).
#ifndef DATARUN_EXCHANGE_STATE_FAKE_FAKE_STATE_STORE_H_
#define DATARUN_EXCHANGE_STATE_FAKE_FAKE_STATE_STORE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "exchange/state/state_store.h"

namespace datarun::state {

class FakeStateStore : public StateStore {
 public:
  absl::StatusOr<ApplyResult> ApplyBatch(const IngestBatch& batch) override;
  absl::StatusOr<std::optional<int64_t>> StartOffset(
      absl::string_view topic, int32_t partition,
      absl::string_view cluster_id) override;
  absl::StatusOr<std::vector<std::pair<std::string, StoredOffset>>> AllOffsets()
      override;
  absl::StatusOr<std::optional<StoredOffset>> GetOffset(
      absl::string_view topic, int32_t partition) override;
  absl::StatusOr<std::vector<datarun::v1::Record>> Profile(
      int32_t partition, absl::string_view subject_id,
      const absl::flat_hash_set<std::string>& classes) override;
  absl::StatusOr<std::vector<std::vector<datarun::v1::Record>>> MultiProfile(
      const std::vector<SubjectRef>& subjects,
      const absl::flat_hash_set<std::string>& classes) override;
  absl::StatusOr<std::optional<datarun::v1::Record>> Get(
      const RecordRef& ref) override;
  absl::StatusOr<std::vector<std::optional<datarun::v1::Record>>> MultiGet(
      const std::vector<RecordRef>& refs) override;
  absl::Status PutChainHead(int32_t partition, absl::string_view head) override;
  absl::StatusOr<std::optional<std::string>> GetChainHead(
      int32_t partition) override;
  absl::Status Flush() override { return absl::OkStatus(); }
  const StateCounters& counters() const override { return counters_; }

  // Test hook: the next ApplyBatch calls fail with `status`.
  void FailApplies(int count, absl::Status status);

 private:
  struct Entry {
    uint64_t version = 0;
    bool deleted = false;
    datarun::v1::Record record;
  };

  absl::Mutex mu_;
  std::map<std::string, Entry> records_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, StoredOffset> offsets_ ABSL_GUARDED_BY(mu_);
  std::map<int32_t, std::string> chain_heads_ ABSL_GUARDED_BY(mu_);
  int fail_count_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status fail_status_ ABSL_GUARDED_BY(mu_);
  StateCounters counters_;
};

}  // namespace datarun::state

#endif  // DATARUN_EXCHANGE_STATE_FAKE_FAKE_STATE_STORE_H_
