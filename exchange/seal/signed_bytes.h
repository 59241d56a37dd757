// The exact bytes a seal signs for a protobuf message, and helpers to seal and
// verify a message with them.
//
//   "datarun-seal-v1" NUL <purpose> NUL <message full type name> NUL
//   <deterministic protobuf serialization of the message>
//
// The purpose prefix is domain separation: a signature made for a request
// ("request") can never be replayed as a certificate seal ("certificate"),
// nor one message type passed off as another. The serialization is protobuf's
// deterministic mode (fields in number order, map entries sorted by key,
// unknown fields kept as received), which is stable for one schema and one
// protobuf version; a verifier re-encodes the message it parsed, so a
// certificate must be verified with the same schema it was sealed with.
//
// Documents carrying a `datarun.v1.Seal seal` field (certificates, dossiers,
// audit checkpoints) are signed with the seal header set (department, key_id,
// algorithm, signed_at) and only `seal.signature` cleared, so the key, the
// algorithm and the signing time are covered by the signature and cannot be
// altered to move a seal into another key's validity. document_seal.h does
// this for any such message.
//
// These bytes are what `openssl pkeyutl -verify -rawin` checks (see
// docs/certificates.md). Stateless; safe from any thread.
#ifndef DATARUN_EXCHANGE_SEAL_SIGNED_BYTES_H_
#define DATARUN_EXCHANGE_SEAL_SIGNED_BYTES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "exchange/seal/seal.h"
#include "google/protobuf/message.h"

namespace datarun::seal {

inline constexpr absl::string_view kSealDomain = "datarun-seal-v1";

// Well-known purposes. Any lower-case [a-z0-9._-] word is accepted.
inline constexpr absl::string_view kPurposeCertificate = "certificate";
inline constexpr absl::string_view kPurposeDossier = "dossier";
inline constexpr absl::string_view kPurposeRequest = "request";
inline constexpr absl::string_view kPurposeAuditCheckpoint = "audit-checkpoint";

// The signed bytes of `message` for `purpose`. InvalidArgument when the
// purpose is empty or has characters outside [a-z0-9._-].
absl::StatusOr<std::string> SignedBytes(
    const google::protobuf::Message& message, absl::string_view purpose);

// Signs SignedBytes(message, purpose).
absl::StatusOr<std::string> SealMessage(
    const Signer& signer, const google::protobuf::Message& message,
    absl::string_view purpose);

// Verifies `signature` over SignedBytes(message, purpose).
absl::Status VerifyMessage(const Verifier& verifier,
                           const google::protobuf::Message& message,
                           absl::string_view purpose,
                           absl::string_view signature);

}  // namespace datarun::seal

#endif  // DATARUN_EXCHANGE_SEAL_SIGNED_BYTES_H_
