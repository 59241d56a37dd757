// Exporting a sealed certificate or dossier for stock `openssl`:
// `datarun verify --export_openssl=DIR` writes
//   DIR/data.bin   the signed bytes (exchange/seal/signed_bytes.h)
//   DIR/sig.bin    the signature as in Seal.signature (DER for SM2)
//   DIR/pub.pem    the catalog public key the seal names
//   DIR/verify.sh  the exact openssl command for the seal's algorithm
// (docs/certificates.md "Verifying a certificate with stock OpenSSL").
//
// Stateless; thread-safe.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_OPENSSL_EXPORT_H_
#define DATARUN_EXCHANGE_CERTIFICATE_OPENSSL_EXPORT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "proto/datarun/v1/catalog.pb.h"

namespace datarun::certificate {

// The openssl command line verifying data.bin/sig.bin/pub.pem in the
// current directory for the catalog algorithm.
absl::StatusOr<std::string> OpensslVerifyCommand(v1::SealAlgorithm algorithm);

// Writes the four files into `dir` (created if missing). NotFound when the
// catalog lists no key for the seal's department and key id.
absl::Status ExportForOpenssl(const google::protobuf::Message& document,
                              absl::string_view purpose,
                              const v1::Catalog& catalog,
                              const std::string& dir);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_OPENSSL_EXPORT_H_
