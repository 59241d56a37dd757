#include "exchange/audit/chain_verifier.h"

#include <cstring>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/audit/chain.h"

namespace datarun::audit {
namespace {

std::string Hex(absl::string_view bytes) {
  return absl::BytesToHexString(bytes.substr(0, 8)) + "...";
}

// Protobuf wire format, just enough to read a ChainLink's five fields as
// views into the stored bytes. Unknown fields are skipped; a repeated
// singular field keeps its last value, as protobuf's own parser does.
bool ReadVarint(const char** p, const char* end, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const uint8_t b = static_cast<uint8_t>(*(*p)++);
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

// Whether `in` is a sequence of well-formed protobuf fields (top level
// only: nested messages are not descended into).
bool WellFormedWire(absl::string_view in) {
  const char* p = in.data();
  const char* const end = p + in.size();
  while (p < end) {
    uint64_t tag = 0, v = 0;
    if (!ReadVarint(&p, end, &tag) || (tag >> 3) == 0) return false;
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(&p, end, &v)) return false;
        break;
      case 1:
        if (end - p < 8) return false;
        p += 8;
        break;
      case 5:
        if (end - p < 4) return false;
        p += 4;
        break;
      case 2:
        if (!ReadVarint(&p, end, &v) || v > static_cast<uint64_t>(end - p)) {
          return false;
        }
        p += v;
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

struct ChainVerifier::LinkView {
  int32_t partition = 0;
  uint64_t sequence = 0;
  absl::string_view prev_hash;
  absl::string_view event_hash;
  absl::string_view event_bytes;

  bool Parse(absl::string_view in) {
    const char* p = in.data();
    const char* const end = p + in.size();
    while (p < end) {
      uint64_t tag = 0;
      if (!ReadVarint(&p, end, &tag)) return false;
      const int field = static_cast<int>(tag >> 3);
      const int wire = static_cast<int>(tag & 7);
      if (field == 0) return false;
      uint64_t v = 0;
      switch (wire) {
        case 0:
          if (!ReadVarint(&p, end, &v)) return false;
          if (field == 1) partition = static_cast<int32_t>(v);
          if (field == 2) sequence = v;
          break;
        case 1:
          if (end - p < 8) return false;
          p += 8;
          break;
        case 5:
          if (end - p < 4) return false;
          p += 4;
          break;
        case 2: {
          if (!ReadVarint(&p, end, &v)) return false;
          if (v > static_cast<uint64_t>(end - p)) return false;
          absl::string_view bytes(p, v);
          p += v;
          if (field == 3) prev_hash = bytes;
          if (field == 4) event_hash = bytes;
          if (field == 5) event_bytes = bytes;
          break;
        }
        default:
          return false;  // groups (3, 4) never appear in proto3
      }
    }
    return true;
  }
};

ChainVerifier::ChainVerifier(int32_t partition,
                             const seal::SealKeyring& keyring,
                             ChainVerifyOptions options)
    : partition_(partition), keyring_(keyring), options_(options) {
  report_.partition = partition;
}

absl::Status ChainVerifier::Fail(absl::Status status, int64_t offset,
                                 uint64_t sequence) {
  report_.broken = true;
  report_.broken_offset = offset;
  report_.broken_sequence = sequence;
  report_.head_hash = prev_;
  status_ = std::move(status);
  return status_;
}

absl::Status ChainVerifier::AddCheckpoint(
    const datarun::v1::SealedCheckpoint& cp, int64_t offset) {
  if (!status_.ok()) return status_;
  if (cp.partition() != partition_) return absl::OkStatus();
  if (report_.links > 0) {
    return absl::FailedPreconditionError(
        "ChainVerifier: checkpoints must be added before the links");
  }
  absl::Status st = VerifyCheckpointSeal(cp, keyring_);
  if (!st.ok()) {
    if (offset >= 0) {
      st =
          absl::Status(st.code(), absl::StrCat(st.message(), " (offset ",
                                               offset, " of the checkpoints)"));
    }
    return Fail(st, offset, cp.sequence());
  }
  pending_.emplace(cp.sequence(), Pending{cp.head_hash(), offset});
  return absl::OkStatus();
}

absl::Status ChainVerifier::AddLink(const datarun::v1::ChainLink& link,
                                    int64_t offset) {
  LinkView v;
  v.partition = link.partition();
  v.sequence = link.sequence();
  v.prev_hash = link.prev_hash();
  v.event_hash = link.event_hash();
  v.event_bytes = link.event_bytes();
  return Check(v, offset);
}

absl::Status ChainVerifier::AddLinkBytes(absl::string_view stored,
                                         int64_t offset) {
  if (!status_.ok()) return status_;
  LinkView v;
  if (!v.Parse(stored)) {
    return Fail(
        absl::DataLossError(absl::StrCat(
            "audit chain of partition ", partition_, ", link #", report_.links,
            offset >= 0 ? absl::StrCat(" (offset ", offset, ")") : "",
            ": not a ChainLink (record altered)")),
        offset, next_sequence_);
  }
  return Check(v, offset);
}

absl::Status ChainVerifier::Check(const LinkView& link, int64_t offset) {
  if (!status_.ok()) return status_;
  const uint64_t index = report_.links;
  auto where = [&] {
    return absl::StrCat(
        "audit chain of partition ", partition_, ", link #", index,
        offset >= 0 ? absl::StrCat(" (offset ", offset, ")") : std::string());
  };
  if (link.partition != partition_) {
    return Fail(absl::DataLossError(absl::StrCat(
                    where(), " belongs to partition ", link.partition)),
                offset, link.sequence);
  }
  const bool first = index == 0;
  if (first && !options_.from_genesis) {
    // A suffix: the first link is the anchor.
    next_sequence_ = link.sequence;
    prev_ = std::string(link.prev_hash);
  } else if (first) {
    prev_ = GenesisHash();
  }
  if (link.sequence != next_sequence_) {
    return Fail(
        absl::DataLossError(absl::StrCat(
            where(), " has sequence ", link.sequence, ", expected ",
            next_sequence_,
            link.sequence > next_sequence_ ? " (links removed before it)"
                                           : " (link inserted or reordered)")),
        offset, link.sequence);
  }
  if (link.prev_hash != prev_) {
    return Fail(
        absl::DataLossError(absl::StrCat(
            where(), " (sequence ", link.sequence, "): prev_hash ",
            Hex(link.prev_hash), " differs from the previous link's hash ",
            Hex(prev_), " (previous link altered, removed or reordered)")),
        offset, link.sequence);
  }
  char hash[kHashSize];
  ChainHashTo(prev_, link.event_bytes, hash);
  if (link.event_hash.size() != kHashSize ||
      std::memcmp(hash, link.event_hash.data(), kHashSize) != 0) {
    return Fail(absl::DataLossError(
                    absl::StrCat(where(), " (sequence ", link.sequence,
                                 "): event_hash does not match the event bytes "
                                 "(event altered)")),
                offset, link.sequence);
  }
  if (!WellFormedWire(link.event_bytes) ||
      (options_.parse_events &&
       !event_.ParseFromArray(link.event_bytes.data(),
                              static_cast<int>(link.event_bytes.size())))) {
    return Fail(absl::DataLossError(
                    absl::StrCat(where(), " (sequence ", link.sequence,
                                 "): event bytes are not an AuditEvent")),
                offset, link.sequence);
  }
  if (first) {
    report_.first_sequence = link.sequence;
    report_.first_offset = offset;
    // Checkpoints before an anchored suffix cannot be matched.
    auto end = pending_.lower_bound(link.sequence);
    for (auto it = pending_.begin(); it != end;) {
      ++report_.checkpoints_skipped;
      it = pending_.erase(it);
    }
  }
  for (auto [it, end] = pending_.equal_range(link.sequence); it != end;) {
    if (it->second.head_hash != link.event_hash) {
      const int64_t cp_offset = it->second.offset;
      return Fail(absl::DataLossError(absl::StrCat(
                      "checkpoint of partition ", partition_, " at sequence ",
                      link.sequence,
                      cp_offset >= 0 ? absl::StrCat(" (offset ", cp_offset,
                                                    " of the checkpoints)")
                                     : std::string(),
                      ": sealed head ", Hex(it->second.head_hash),
                      " differs from the hash ", Hex(link.event_hash), " of ",
                      where(), " (chain rewritten)")),
                  offset, link.sequence);
    }
    ++report_.checkpoints_verified;
    it = pending_.erase(it);
  }
  prev_.assign(link.event_hash.data(), link.event_hash.size());
  next_sequence_ = link.sequence + 1;
  report_.last_sequence = link.sequence;
  report_.last_offset = offset;
  report_.links = index + 1;
  return absl::OkStatus();
}

absl::Status ChainVerifier::Finish() {
  if (!status_.ok()) return status_;
  if (report_.links == 0 && !options_.from_genesis) {
    report_.checkpoints_skipped += pending_.size();
    pending_.clear();
  }
  if (!pending_.empty()) {
    const auto& [sequence, cp] = *pending_.begin();
    return Fail(
        absl::DataLossError(absl::StrCat(
            "checkpoint of partition ", partition_, " at sequence ", sequence,
            cp.offset >= 0
                ? absl::StrCat(" (offset ", cp.offset, " of the checkpoints)")
                : std::string(),
            " is beyond the chain's last link (", report_.links, " links",
            report_.links > 0
                ? absl::StrCat(", last sequence ", report_.last_sequence)
                : std::string(),
            "): links were removed from the end")),
        report_.last_offset, sequence);
  }
  report_.head_hash = prev_;
  return absl::OkStatus();
}

absl::StatusOr<ChainReport> VerifyChain(
    int32_t partition, const std::vector<datarun::v1::ChainLink>& links,
    const std::vector<datarun::v1::SealedCheckpoint>& checkpoints,
    const seal::SealKeyring& keyring) {
  ChainVerifyOptions options;
  options.parse_events = true;  // small, in-memory chains: check fully
  ChainVerifier verifier(partition, keyring, options);
  for (const auto& cp : checkpoints) {
    RETURN_IF_ERROR(verifier.AddCheckpoint(cp));
  }
  for (const auto& link : links) RETURN_IF_ERROR(verifier.AddLink(link));
  RETURN_IF_ERROR(verifier.Finish());
  ChainReport report;
  report.links = verifier.report().links;
  report.checkpoints = verifier.report().checkpoints_verified;
  return report;
}

}  // namespace datarun::audit
