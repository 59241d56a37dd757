// Certificate and dossier files.
//
// Format: proto3 JSON (the protobuf JSON mapping of datarun.v1.Certificate /
// Dossier), UTF-8, pretty-printed; or, when the path ends in ".pb" or
// ".bin", the binary protobuf encoding. Readers sniff the content ('{'
// first means JSON), so either is accepted anywhere. The seal is over the
// deterministic binary bytes (exchange/seal/signed_bytes.h), and JSON
// parsing reproduces every field, so a JSON round trip keeps the seal valid
// (tested in verify_test).
//
// Stateless; thread-safe.
#ifndef DATARUN_EXCHANGE_CERTIFICATE_DOCUMENT_IO_H_
#define DATARUN_EXCHANGE_CERTIFICATE_DOCUMENT_IO_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace datarun::certificate {

// The message as pretty proto3 JSON. Any payloads (dossiers) need their
// types linked into the generated pool
// (//proto/datarun/v1/departments:payloads).
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

// Parses JSON or binary (sniffed) into `message`. Unknown JSON fields are an
// error: a verifier must not silently drop what the signer covered.
absl::Status ParseDocument(absl::string_view content,
                           google::protobuf::Message* message);

absl::Status ReadDocumentFile(const std::string& path,
                              google::protobuf::Message* message);
// JSON unless `path` ends in .pb or .bin.
absl::Status WriteDocumentFile(const std::string& path,
                               const google::protobuf::Message& message);

}  // namespace datarun::certificate

#endif  // DATARUN_EXCHANGE_CERTIFICATE_DOCUMENT_IO_H_
