#include "exchange/policy/catalog_overlay.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace datarun::policy {
namespace {

class Collector : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(absl::string_view name) : name_(name) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ =
          absl::StrCat(name_, ":", line + 1, ":", column + 1, ": ", message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string name_;
  std::string first_;
};

}  // namespace

absl::StatusOr<datarun::v1::Catalog> OverlayCatalog(
    datarun::v1::Catalog base, absl::string_view overlay_text,
    absl::string_view overlay_name) {
  datarun::v1::Catalog overlay;
  google::protobuf::TextFormat::Parser parser;
  Collector errors(overlay_name);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(overlay_text), &overlay)) {
    return absl::InvalidArgumentError(
        errors.first().empty() ? absl::StrCat(overlay_name, ": parse error")
                               : errors.first());
  }
  if (!overlay.version().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(overlay_name,
                     ": an overlay must not set version (the base's is used)"));
  }
  if (overlay.matters_size() > 0) {
    base.clear_matters();
    base.clear_sharing_agreements();
    base.clear_verification_predicates();
  }
  base.MergeFrom(overlay);
  return base;
}

}  // namespace datarun::policy
