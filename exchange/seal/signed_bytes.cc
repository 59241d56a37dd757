#include "exchange/seal/signed_bytes.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace datarun::seal {
namespace {

absl::Status CheckPurpose(absl::string_view purpose) {
  if (purpose.empty()) {
    return absl::InvalidArgumentError("seal purpose is empty");
  }
  for (size_t i = 0; i < purpose.size(); ++i) {
    const char c = purpose[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("seal purpose '", purpose,
                       "' has a character outside [a-z0-9._-] "
                       "at position ",
                       i));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> SignedBytes(
    const google::protobuf::Message& message, absl::string_view purpose) {
  RETURN_IF_ERROR(CheckPurpose(purpose));
  std::string out;
  absl::StrAppend(&out, kSealDomain, absl::string_view("\0", 1), purpose,
                  absl::string_view("\0", 1),
                  message.GetDescriptor()->full_name(),
                  absl::string_view("\0", 1));
  const size_t header = out.size();
  const size_t size = message.ByteSizeLong();
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    message.SerializeWithCachedSizes(&coded);
    if (coded.HadError()) {
      return absl::InternalError(absl::StrCat(
          "serializing ", message.GetDescriptor()->full_name(), " failed"));
    }
  }
  // StringOutputStream grows the string in chunks; the destructor above
  // trimmed it, but check the length we expect.
  if (out.size() != header + size) {
    return absl::InternalError(absl::StrCat(
        "serializing ", message.GetDescriptor()->full_name(), " wrote ",
        out.size() - header, " bytes, expected ", size));
  }
  return out;
}

absl::StatusOr<std::string> SealMessage(
    const Signer& signer, const google::protobuf::Message& message,
    absl::string_view purpose) {
  ASSIGN_OR_RETURN(std::string bytes, SignedBytes(message, purpose));
  return signer.Sign(bytes);
}

absl::Status VerifyMessage(const Verifier& verifier,
                           const google::protobuf::Message& message,
                           absl::string_view purpose,
                           absl::string_view signature) {
  ASSIGN_OR_RETURN(std::string bytes, SignedBytes(message, purpose));
  return verifier.Verify(bytes, signature);
}

}  // namespace datarun::seal
