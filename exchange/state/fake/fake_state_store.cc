#include "exchange/state/fake/fake_state_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "exchange/state/key_codec.h"

namespace datarun::state {

void FakeStateStore::FailApplies(int count, absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_count_ = count;
  fail_status_ = std::move(status);
}

absl::StatusOr<ApplyResult> FakeStateStore::ApplyBatch(
    const IngestBatch& batch) {
  absl::MutexLock lock(&mu_);
  if (fail_count_ > 0) {
    --fail_count_;
    return fail_status_;
  }
  ApplyResult result;
  std::vector<ApplyResult> by_source(batch.offsets.size());
  // Stage, then commit: all or nothing, as a WriteBatch.
  std::map<std::string, Entry> staged;
  for (const RecordWrite& w : batch.records) {
    const auto& r = w.record;
    std::string key = EncodeRecordKey(w.partition, r.subject().id(),
                                      r.data_class(), r.record_key());
    uint64_t stored = 0;
    bool exists = false;
    if (auto it = staged.find(key); it != staged.end()) {
      stored = it->second.version;
      exists = true;
    } else if (auto it = records_.find(key); it != records_.end()) {
      stored = it->second.version;
      exists = true;
    }
    ApplyResult dummy;
    ApplyResult& part =
        (w.source >= 0 && w.source < static_cast<int>(by_source.size()))
            ? by_source[w.source]
            : dummy;
    if (exists && r.source_version() <= stored) {
      ++result.stale;
      ++part.stale;
      continue;
    }
    Entry e;
    e.version = r.source_version();
    e.deleted = r.op() == datarun::v1::Record::OP_DELETE;
    e.record = r;
    if (e.deleted) {
      e.record.clear_payload();
      ++result.deletes;
      ++part.deletes;
    } else {
      ++result.upserts;
      ++part.upserts;
    }
    staged[key] = std::move(e);
  }
  for (auto& [key, e] : staged) records_[key] = std::move(e);
  for (size_t i = 0; i < batch.offsets.size(); ++i) {
    const OffsetAdvance& adv = batch.offsets[i];
    StoredOffset& o = offsets_[EncodeOffsetKey(adv.topic, adv.partition)];
    if (o.cluster_id != batch.cluster_id) o = StoredOffset();
    o.cluster_id = batch.cluster_id;
    o.next_offset = adv.next_offset;
    o.messages += adv.messages;
    o.rejected += adv.rejected;
    o.applied += by_source[i].upserts + by_source[i].deletes;
    o.stale += by_source[i].stale;
  }
  counters_.batches.fetch_add(1);
  counters_.upserts.fetch_add(result.upserts);
  counters_.deletes.fetch_add(result.deletes);
  counters_.stale.fetch_add(result.stale);
  return result;
}

absl::StatusOr<std::optional<StoredOffset>> FakeStateStore::GetOffset(
    absl::string_view topic, int32_t partition) {
  absl::MutexLock lock(&mu_);
  auto it = offsets_.find(EncodeOffsetKey(topic, partition));
  if (it == offsets_.end()) return std::optional<StoredOffset>();
  return std::optional<StoredOffset>(it->second);
}

absl::StatusOr<std::optional<int64_t>> FakeStateStore::StartOffset(
    absl::string_view topic, int32_t partition, absl::string_view cluster_id) {
  auto stored = GetOffset(topic, partition);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::optional<int64_t>();
  if ((*stored)->cluster_id != cluster_id) {
    counters_.cluster_id_resets.fetch_add(1);
    return std::optional<int64_t>();
  }
  return std::optional<int64_t>((*stored)->next_offset);
}

absl::StatusOr<std::vector<std::pair<std::string, StoredOffset>>>
FakeStateStore::AllOffsets() {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, StoredOffset>> out;
  for (const auto& [key, o] : offsets_) {
    auto tp = DecodeOffsetKey(key);
    if (!tp.ok()) return tp.status();
    out.emplace_back(absl::StrCat(tp->topic, "/", tp->partition), o);
  }
  return out;
}

absl::StatusOr<std::vector<datarun::v1::Record>> FakeStateStore::Profile(
    int32_t partition, absl::string_view subject_id,
    const absl::flat_hash_set<std::string>& classes) {
  absl::MutexLock lock(&mu_);
  const std::string prefix = EncodeSubjectPrefix(partition, subject_id);
  std::vector<datarun::v1::Record> out;
  for (auto it = records_.lower_bound(prefix);
       it != records_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    if (it->second.deleted) continue;
    if (!classes.empty() && !classes.contains(it->second.record.data_class())) {
      continue;
    }
    out.push_back(it->second.record);
  }
  return out;
}

absl::StatusOr<std::vector<std::vector<datarun::v1::Record>>>
FakeStateStore::MultiProfile(const std::vector<SubjectRef>& subjects,
                             const absl::flat_hash_set<std::string>& classes) {
  std::vector<std::vector<datarun::v1::Record>> out;
  for (const auto& s : subjects) {
    auto p = Profile(s.partition, s.subject_id, classes);
    if (!p.ok()) return p.status();
    out.push_back(*std::move(p));
  }
  return out;
}

absl::StatusOr<std::optional<datarun::v1::Record>> FakeStateStore::Get(
    const RecordRef& ref) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(EncodeRecordKey(ref.partition, ref.subject_id,
                                          ref.data_class, ref.record_key));
  if (it == records_.end() || it->second.deleted) {
    return std::optional<datarun::v1::Record>();
  }
  return std::optional<datarun::v1::Record>(it->second.record);
}

absl::StatusOr<std::vector<std::optional<datarun::v1::Record>>>
FakeStateStore::MultiGet(const std::vector<RecordRef>& refs) {
  std::vector<std::optional<datarun::v1::Record>> out;
  for (const auto& r : refs) {
    auto got = Get(r);
    if (!got.ok()) return got.status();
    out.push_back(*std::move(got));
  }
  return out;
}

absl::Status FakeStateStore::PutChainHead(int32_t partition,
                                          absl::string_view head) {
  absl::MutexLock lock(&mu_);
  chain_heads_[partition] = std::string(head);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> FakeStateStore::GetChainHead(
    int32_t partition) {
  absl::MutexLock lock(&mu_);
  auto it = chain_heads_.find(partition);
  if (it == chain_heads_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

}  // namespace datarun::state
