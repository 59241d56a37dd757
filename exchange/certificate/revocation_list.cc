#include "exchange/certificate/revocation_list.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace datarun::certificate {

absl::Status InMemoryRevocationList::Add(
    const v1::CertificateRevocation& revocation) {
  if (revocation.serial().empty()) {
    return absl::InvalidArgumentError("revocation has an empty serial");
  }
  if (revocation.issuer_department().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "revocation of ", revocation.serial(), " has no issuer_department"));
  }
  absl::MutexLock lock(&mu_);
  by_serial_[revocation.serial()].push_back(revocation);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::CertificateRevocation>>
InMemoryRevocationList::Find(absl::string_view serial) const {
  absl::MutexLock lock(&mu_);
  auto it = by_serial_.find(serial);
  if (it == by_serial_.end()) return std::vector<v1::CertificateRevocation>{};
  return it->second;
}

size_t InMemoryRevocationList::size() const {
  absl::MutexLock lock(&mu_);
  return by_serial_.size();
}

absl::StatusOr<std::string> RevocationToJson(
    const v1::CertificateRevocation& revocation) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  // Field names as in the .proto, like certificate files (document_io.h).
  options.preserve_proto_field_names = true;
  auto status =
      google::protobuf::util::MessageToJsonString(revocation, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("revocation to JSON: ", status.ToString()));
  }
  return json;
}

absl::StatusOr<std::unique_ptr<InMemoryRevocationList>> LoadRevocationFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot open revocation file ", path));
  }
  auto list = std::make_unique<InMemoryRevocationList>();
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    v1::CertificateRevocation revocation;
    auto status = google::protobuf::util::JsonStringToMessage(std::string(text),
                                                              &revocation);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number,
                       ": not a datarun.v1.CertificateRevocation JSON object: ",
                       status.ToString()));
    }
    absl::Status added = list->Add(revocation);
    if (!added.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": ", added.message()));
    }
  }
  return list;
}

absl::Status AppendRevocationFile(const std::string& path,
                                  const v1::CertificateRevocation& revocation) {
  if (revocation.serial().empty() || revocation.issuer_department().empty()) {
    return absl::InvalidArgumentError(
        "revocation needs a serial and an issuer_department");
  }
  ASSIGN_OR_RETURN(std::string json, RevocationToJson(revocation));
  std::ofstream out(path, std::ios::app);
  out << json << "\n";
  out.flush();
  if (!out) {
    return absl::InternalError(absl::StrCat("cannot append to ", path));
  }
  return absl::OkStatus();
}

}  // namespace datarun::certificate
