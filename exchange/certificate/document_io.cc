#include "exchange/certificate/document_io.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace datarun::certificate {

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat(message.GetTypeName(), " to JSON: ", status.ToString()));
  }
  return json;
}

absl::Status ParseDocument(absl::string_view content,
                           google::protobuf::Message* message) {
  absl::string_view trimmed = absl::StripLeadingAsciiWhitespace(content);
  if (!trimmed.empty() && trimmed[0] == '{') {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto status = google::protobuf::util::JsonStringToMessage(
        std::string(content), message, options);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a ", message->GetTypeName(),
                       " in proto3 JSON: ", status.ToString()));
    }
    return absl::OkStatus();
  }
  if (!message->ParseFromArray(content.data(),
                               static_cast<int>(content.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("neither JSON nor a binary ", message->GetTypeName()));
  }
  return absl::OkStatus();
}

absl::Status ReadDocumentFile(const std::string& path,
                              google::protobuf::Message* message) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  absl::Status status = ParseDocument(buffer.str(), message);
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat(path, ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::Status WriteDocumentFile(const std::string& path,
                               const google::protobuf::Message& message) {
  std::string bytes;
  if (absl::EndsWith(path, ".pb") || absl::EndsWith(path, ".bin")) {
    if (!message.SerializeToString(&bytes)) {
      return absl::InternalError(
          absl::StrCat("cannot serialize ", message.GetTypeName()));
    }
  } else {
    ASSIGN_OR_RETURN(bytes, ToJson(message));
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace datarun::certificate
