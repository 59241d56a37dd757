// Administrative division table (GB/T 2260) used by subject id validation.
//
// Internal to //exchange/subject: callers use LookupRegion in subject_id.h.
// Lookups are flat-array reads over constexpr tables (no allocation, no
// locks), safe from any thread.
#ifndef DATARUN_EXCHANGE_SUBJECT_REGIONS_H_
#define DATARUN_EXCHANGE_SUBJECT_REGIONS_H_

#include "absl/strings/string_view.h"

namespace datarun::subject::internal {

// Name of a province-level code (11..82) in use, e.g. 33 -> "浙江省";
// empty if the code is not one of the 34 in use.
absl::string_view ProvinceName(int province);

// Zhejiang (33) prefecture name for 4-digit code 33pp, empty if unknown.
absl::string_view ZhejiangPrefectureName(int prefecture4);

// Zhejiang county name for 6-digit code 33ppcc, empty if unknown.
absl::string_view ZhejiangCountyName(int county6);

// The tabled Zhejiang county codes (for generators), index 0..count-1.
int ZhejiangCountyCount();
int ZhejiangCountyCode(int index);

}  // namespace datarun::subject::internal

#endif  // DATARUN_EXCHANGE_SUBJECT_REGIONS_H_
