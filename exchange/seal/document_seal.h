// Sealing whole documents: messages with a `datarun.v1.Seal seal` field
// (Certificate, Dossier in certificate.proto).
//
// The seal covers the document with its seal header (department, key id,
// algorithm, signed_at) set and `seal.signature` empty, encoded as
// SignedBytes(document, purpose) (signed_bytes.h). These same bytes are what
// `datarun verify --export_openssl` writes for `openssl pkeyutl -verify`
// (docs/certificates.md).
//
// Used by the certificate and dossier resolvers (SealDocument) and by
// `datarun verify` (VerifyDocumentSeal). Stateless; thread-safe as long as
// each document is used by one thread at a time.
#ifndef DATARUN_EXCHANGE_SEAL_DOCUMENT_SEAL_H_
#define DATARUN_EXCHANGE_SEAL_DOCUMENT_SEAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "exchange/seal/keyring.h"
#include "exchange/seal/seal.h"
#include "exchange/seal/signed_bytes.h"  // kPurpose* for callers
#include "google/protobuf/message.h"
#include "proto/datarun/v1/certificate.pb.h"

namespace datarun::seal {

// Sets the seal header of `document` from `signer` and `signed_at` (whole
// seconds and nanos kept as given) and signs it. InvalidArgument when the
// document has no `seal` field of type datarun.v1.Seal.
absl::Status SealDocument(const Signer& signer, absl::Time signed_at,
                          absl::string_view purpose,
                          google::protobuf::Message* document);

// The bytes the document's seal covers: the document with seal.signature
// cleared, as SignedBytes(…, purpose).
absl::StatusOr<std::string> DocumentSignedBytes(
    const google::protobuf::Message& document, absl::string_view purpose);

// The document's seal (a copy), or InvalidArgument without a seal field;
// FailedPrecondition when the document is not sealed (empty signature).
absl::StatusOr<v1::Seal> DocumentSeal(
    const google::protobuf::Message& document);

// Checks the document's seal against the keyring: key known, algorithm as
// declared, key valid at seal.signed_at, signature over
// DocumentSignedBytes. Codes as SealKeyring::Verify; FailedPrecondition also
// for an unsealed document.
absl::Status VerifyDocumentSeal(const SealKeyring& keyring,
                                absl::string_view purpose,
                                const google::protobuf::Message& document);

}  // namespace datarun::seal

#endif  // DATARUN_EXCHANGE_SEAL_DOCUMENT_SEAL_H_
