// The catalog rules, shared by ParseCatalog (with source line numbers) and
// ValidateCatalog (without). Internal to exchange/catalog; callers use
// catalog.h.
//
// Thread-safety: reentrant, no shared state.
#ifndef DATARUN_EXCHANGE_CATALOG_CATALOG_CHECK_H_
#define DATARUN_EXCHANGE_CATALOG_CATALOG_CHECK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/text_format.h"
#include "proto/datarun/v1/catalog.pb.h"

namespace datarun::catalog::internal {

// Errors reported at most, so a garbage file does not flood the terminal.
inline constexpr int kMaxErrors = 20;

// Checks every rule of catalog.h. `tree` (may be null) locates entities in
// the source text so errors read "<source_name>:<line>: <entity>: <what>".
// All errors found (up to kMaxErrors) go into one InvalidArgument status.
absl::Status CheckCatalog(
    const datarun::v1::Catalog& catalog, absl::string_view source_name,
    const google::protobuf::TextFormat::ParseInfoTree* tree);

}  // namespace datarun::catalog::internal

#endif  // DATARUN_EXCHANGE_CATALOG_CATALOG_CHECK_H_
