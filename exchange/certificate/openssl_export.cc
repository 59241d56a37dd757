#include "exchange/certificate/openssl_export.h"

#include <sys/stat.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/seal/document_seal.h"

namespace datarun::certificate {
namespace {

absl::Status WriteFile(const std::string& path, absl::string_view data,
                       mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  chmod(path.c_str(), mode);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> OpensslVerifyCommand(v1::SealAlgorithm algorithm) {
  switch (algorithm) {
    case v1::SEAL_ALGORITHM_SM2_SM3:
      return std::string(
          "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in data.bin "
          "-sigfile sig.bin -digest sm3 -pkeyopt distid:1234567812345678");
    case v1::SEAL_ALGORITHM_ED25519:
      return std::string(
          "openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in data.bin "
          "-sigfile sig.bin");
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("seal algorithm ", v1::SealAlgorithm_Name(algorithm),
                       " has no openssl command"));
  }
}

absl::Status ExportForOpenssl(const google::protobuf::Message& document,
                              absl::string_view purpose,
                              const v1::Catalog& catalog,
                              const std::string& dir) {
  ASSIGN_OR_RETURN(v1::Seal seal, seal::DocumentSeal(document));
  const v1::SealKey* key = nullptr;
  for (const auto& d : catalog.departments()) {
    if (d.id() != seal.department()) continue;
    for (const auto& k : d.seal_keys()) {
      if (k.key_id() == seal.key_id()) key = &k;
    }
  }
  if (key == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown seal key ", seal.department(), "/", seal.key_id(),
                     ": the catalog lists no such department and key id"));
  }
  ASSIGN_OR_RETURN(std::string command, OpensslVerifyCommand(key->algorithm()));
  ASSIGN_OR_RETURN(std::string data,
                   seal::DocumentSignedBytes(document, purpose));
  mkdir(dir.c_str(), 0755);
  RETURN_IF_ERROR(WriteFile(absl::StrCat(dir, "/data.bin"), data, 0644));
  RETURN_IF_ERROR(
      WriteFile(absl::StrCat(dir, "/sig.bin"), seal.signature(), 0644));
  RETURN_IF_ERROR(
      WriteFile(absl::StrCat(dir, "/pub.pem"), key->public_key_pem(), 0644));
  RETURN_IF_ERROR(WriteFile(
      absl::StrCat(dir, "/verify.sh"),
      absl::StrCat("#!/bin/sh\n# Seal of ", seal.department(), "/",
                   seal.key_id(), " (",
                   v1::SealAlgorithm_Name(key->algorithm()),
                   "). Prints 'Signature Verified Successfully' and exits 0 "
                   "when valid.\ncd \"$(dirname \"$0\")\" && exec ",
                   command, "\n"),
      0755));
  return absl::OkStatus();
}

}  // namespace datarun::certificate
