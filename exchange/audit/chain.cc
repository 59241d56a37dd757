#include "exchange/audit/chain.h"

#include <openssl/evp.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "exchange/seal/signed_bytes.h"
#include "google/protobuf/util/time_util.h"

namespace datarun::audit {
namespace {

using datarun::v1::ChainLink;
using datarun::v1::SealedCheckpoint;
using google::protobuf::util::TimeUtil;

}  // namespace

const std::string& GenesisHash() {
  static const std::string* const kGenesis = new std::string(kHashSize, '\0');
  return *kGenesis;
}

void ChainHashTo(absl::string_view prev_hash, absl::string_view event_bytes,
                 char out[kHashSize]) {
  // EVP_Digest* with a fetched-once digest avoids a per-call algorithm
  // lookup, which dominates for ~300-byte events.
  // One context per thread, reinitialised by each EVP_DigestInit_ex, saves
  // an allocation and a free per link.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  thread_local const std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(
      EVP_MD_CTX_new());
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), kSha256, nullptr);
  EVP_DigestUpdate(ctx.get(), prev_hash.data(), prev_hash.size());
  EVP_DigestUpdate(ctx.get(), event_bytes.data(), event_bytes.size());
  EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out), &len);
}

std::string ChainHash(absl::string_view prev_hash,
                      absl::string_view event_bytes) {
  std::string out(kHashSize, '\0');
  ChainHashTo(prev_hash, event_bytes, out.data());
  return out;
}

ChainLink MakeLink(int32_t partition, uint64_t sequence,
                   absl::string_view prev_hash, std::string event_bytes) {
  ChainLink link;
  link.set_partition(partition);
  link.set_sequence(sequence);
  link.set_prev_hash(std::string(prev_hash));
  link.set_event_hash(ChainHash(prev_hash, event_bytes));
  link.set_event_bytes(std::move(event_bytes));
  return link;
}

absl::StatusOr<SealedCheckpoint> SealCheckpoint(const seal::Signer& signer,
                                                int32_t partition,
                                                uint64_t sequence,
                                                absl::string_view head_hash,
                                                absl::Time now) {
  SealedCheckpoint cp;
  cp.set_partition(partition);
  cp.set_sequence(sequence);
  cp.set_head_hash(std::string(head_hash));
  *cp.mutable_time() = TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(now));
  auto* s = cp.mutable_seal();
  s->set_department(signer.department());
  s->set_key_id(signer.key_id());
  s->set_algorithm(static_cast<datarun::v1::SealAlgorithm>(
      static_cast<int>(signer.algorithm())));
  *s->mutable_signed_at() = cp.time();
  ASSIGN_OR_RETURN(
      std::string signature,
      seal::SealMessage(signer, cp, seal::kPurposeAuditCheckpoint));
  s->set_signature(std::move(signature));
  return cp;
}

absl::Status VerifyCheckpointSeal(const SealedCheckpoint& cp,
                                  const seal::SealKeyring& keyring) {
  const std::string where =
      absl::StrCat("checkpoint of partition ", cp.partition(), " at sequence ",
                   cp.sequence());
  if (!cp.has_seal() || cp.seal().signature().empty()) {
    return absl::UnauthenticatedError(absl::StrCat(where, " is not sealed"));
  }
  SealedCheckpoint unsigned_cp = cp;
  unsigned_cp.mutable_seal()->clear_signature();
  ASSIGN_OR_RETURN(
      std::string bytes,
      seal::SignedBytes(unsigned_cp, seal::kPurposeAuditCheckpoint));
  absl::Status st = keyring.Verify(
      cp.seal().department(), cp.seal().key_id(),
      static_cast<seal::SealAlgorithm>(static_cast<int>(cp.seal().algorithm())),
      FromProtoTime(cp.seal().signed_at()), bytes, cp.seal().signature());
  if (!st.ok()) {
    return absl::Status(
        st.code(),
        absl::StrCat(where, ": seal of ", cp.seal().department(), "/",
                     cp.seal().key_id(), " does not verify: ", st.message()));
  }
  return absl::OkStatus();
}

}  // namespace datarun::audit
