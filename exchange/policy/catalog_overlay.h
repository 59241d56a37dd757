// Overlaying test matters, sharing agreements and verification predicates
// (exchange/catalog/testdata/) on the shipped catalog's departments and data
// classes (exchange/catalog/zhejiang.textproto), so policy tests can use
// small, purpose-built matters without a copy of the whole catalog.
//
// The overlay is a datarun.v1.Catalog textproto without `version`; when it
// lists any matter, it replaces all of the base's matters, agreements and
// predicates (ids would clash otherwise). The result is validated by
// CatalogIndex::Create like any catalog. Test code only: the daemon loads
// the one shipped catalog file.
//
// Reentrant; safe from any thread.
#ifndef DATARUN_EXCHANGE_POLICY_CATALOG_OVERLAY_H_
#define DATARUN_EXCHANGE_POLICY_CATALOG_OVERLAY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "exchange/catalog/catalog.h"
#include "proto/datarun/v1/catalog.pb.h"

namespace datarun::policy {

// Parses `overlay_text` (errors name `overlay_name` and the line) and merges
// it into `base` as described above. Does not validate.
absl::StatusOr<datarun::v1::Catalog> OverlayCatalog(
    datarun::v1::Catalog base, absl::string_view overlay_text,
    absl::string_view overlay_name);

}  // namespace datarun::policy

#endif  // DATARUN_EXCHANGE_POLICY_CATALOG_OVERLAY_H_
