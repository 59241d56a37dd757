// ChainVerifier: checks one partition's audit hash chain link by link as it
// is read (streaming: memory does not grow with the chain), together with
// the sealed checkpoints of that partition.
//
// Used by the auditor CLI (`datarun audit verify`), VerifyChain (chain.h)
// and the verify benchmark. Links can be fed as they are stored on dr.audit
// (AddLinkBytes: the Kafka value, a serialized ChainLink) so verification
// hashes the stored event bytes without a protobuf parse of the link or a
// re-serialisation of the event.
//
// Order of calls: every AddCheckpoint before the first AddLink* (checkpoints
// are few: read dr.audit.checkpoint first), then the links in offset order,
// then Finish. After the first failure every call returns that failure.
//
// Thread-safety: one verifier per thread (no internal locking).
#ifndef DATARUN_EXCHANGE_AUDIT_CHAIN_VERIFIER_H_
#define DATARUN_EXCHANGE_AUDIT_CHAIN_VERIFIER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "exchange/seal/keyring.h"
#include "proto/datarun/v1/audit.pb.h"

namespace datarun::audit {

struct ChainVerifyOptions {
  // Every event's bytes are checked to be well-formed protobuf wire format
  // (top level, no allocation). With parse_events they are also parsed as
  // an AuditEvent. The hash already covers the bytes, so either only
  // catches an exchange that chained garbage; the full parse costs ~3x the
  // rest of the verification (docs/benchmarks.md, "Audit chain verify"),
  // so the auditor CLI leaves it off by default.
  bool parse_events = false;
  // true: the first link must be sequence 0 with the genesis prev_hash (the
  // whole chain). false: verification starts at whatever link comes first,
  // taking its sequence and prev_hash on trust (a suffix, e.g. read from an
  // offset, or what retention left); checkpoints before it are skipped.
  bool from_genesis = true;
};

// What was verified (and where it broke).
struct ChainVerifyReport {
  int32_t partition = 0;
  uint64_t links = 0;
  uint64_t first_sequence = 0;  // valid when links > 0
  uint64_t last_sequence = 0;   // valid when links > 0
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  std::string head_hash;  // event_hash of the last good link
  // Checkpoints whose seal verified and whose head matched the link at
  // their sequence.
  uint64_t checkpoints_verified = 0;
  // Checkpoints before the first link verified (from_genesis = false).
  uint64_t checkpoints_skipped = 0;
  // Set on failure: the offset and sequence (as stored, or expected when the
  // link could not be read) of the first bad link or checkpoint.
  bool broken = false;
  int64_t broken_offset = -1;
  uint64_t broken_sequence = 0;
};

class ChainVerifier {
 public:
  ChainVerifier(int32_t partition, const seal::SealKeyring& keyring,
                ChainVerifyOptions options = {});

  // A checkpoint of this partition (others are ignored: OK, not counted).
  // Checks the seal now (Unauthenticated / NotFound / FailedPrecondition as
  // SealKeyring::Verify, naming the checkpoint); its head is matched when
  // the link at its sequence arrives.
  absl::Status AddCheckpoint(const datarun::v1::SealedCheckpoint& cp,
                             int64_t offset = -1);

  // The next link. DataLoss names the link (#index, offset, sequence) and
  // what is wrong: wrong partition, sequence gap (removed) or step back
  // (inserted / reordered), prev_hash differing from the previous link's
  // hash, event_hash not matching the bytes (altered), a sealed head that
  // differs (rewritten).
  absl::Status AddLink(const datarun::v1::ChainLink& link, int64_t offset = -1);
  // Same, from the stored bytes of a ChainLink (the dr.audit record value).
  absl::Status AddLinkBytes(absl::string_view stored, int64_t offset = -1);

  // After the last link: a checkpoint beyond the last link means links were
  // cut off the end.
  absl::Status Finish();

  const ChainVerifyReport& report() const { return report_; }
  const absl::Status& status() const { return status_; }

 private:
  struct LinkView;
  absl::Status Check(const LinkView& link, int64_t offset);
  absl::Status Fail(absl::Status status, int64_t offset, uint64_t sequence);

  const int32_t partition_;
  const seal::SealKeyring& keyring_;
  const ChainVerifyOptions options_;
  ChainVerifyReport report_;
  absl::Status status_;
  std::string prev_;  // event_hash of the last good link
  uint64_t next_sequence_ = 0;
  struct Pending {
    std::string head_hash;
    int64_t offset;
  };
  // Sealed heads not yet matched, by sequence.
  std::multimap<uint64_t, Pending> pending_;
  datarun::v1::AuditEvent event_;  // reused for parse_events
};

}  // namespace datarun::audit

#endif  // DATARUN_EXCHANGE_AUDIT_CHAIN_VERIFIER_H_
