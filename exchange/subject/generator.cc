// Generation of valid subject ids (MakeCitizenId, MakeCreditCode,
// SubjectIdGenerator; declared in subject_id.h). Kept apart from parsing:
// it builds ids and then validates them with the public parsers, so the
// rules live in one place.
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "exchange/subject/credit_code_tables.h"
#include "exchange/subject/regions.h"
#include "exchange/subject/subject_id.h"

namespace datarun::subject {

using absl::InvalidArgumentError;

absl::StatusOr<std::string> MakeCitizenId(int region, absl::CivilDay birth_date,
                                          int sequence) {
  absl::StatusOr<Region> r = LookupRegion(region);
  if (!r.ok()) return r.status();
  if (birth_date.year() < 1900 || birth_date.year() > 9999) {
    return InvalidArgumentError(
        absl::StrFormat("birth date %s is outside 1900-01-01..9999-12-31",
                        absl::FormatCivilTime(birth_date)));
  }
  if (sequence < 0 || sequence > 999) {
    return InvalidArgumentError(
        absl::StrFormat("sequence %d is outside 0..999", sequence));
  }
  std::string id = absl::StrFormat(
      "%06d%04d%02d%02d%03d", region, static_cast<int>(birth_date.year()),
      birth_date.month(), birth_date.day(), sequence);
  absl::StatusOr<char> check = ComputeCitizenCheckChar(id);
  if (!check.ok()) return check.status();
  id.push_back(*check);
  return id;
}

absl::StatusOr<std::string> MakeCreditCode(
    char registration_department, char organisation_type, int region,
    absl::string_view organisation_body) {
  if (region < 0 || region > 999999) {
    return InvalidArgumentError(
        absl::StrFormat("region code %d is not 6 digits", region));
  }
  if (organisation_body.size() != 8) {
    return InvalidArgumentError(
        absl::StrFormat("organisation code body is %d characters, expected 8",
                        organisation_body.size()));
  }
  std::string id;
  id.reserve(kSubjectIdLength);
  id.push_back(registration_department);
  id.push_back(organisation_type);
  absl::StrAppendFormat(&id, "%06d", region);
  id.append(organisation_body.data(), organisation_body.size());
  // Error positions below are positions in the resulting id.
  absl::StatusOr<char> org_check =
      ComputeOrganisationCodeCheckChar(absl::string_view(id).substr(8, 8));
  if (!org_check.ok()) {
    return InvalidArgumentError(
        absl::StrCat("organisation code body: ", org_check.status().message()));
  }
  id.push_back(*org_check);
  absl::StatusOr<char> check = ComputeCreditCodeCheckChar(id);
  if (!check.ok()) return check.status();
  id.push_back(*check);
  // Department/type/division rules live in one place: the parser.
  absl::StatusOr<SubjectId> parsed = ParseCreditCode(id);
  if (!parsed.ok()) return parsed.status();
  return id;
}

// ---------------------------------------------------------------------------

uint64_t SubjectIdGenerator::Uniform(uint64_t n) {
  // Multiply-shift: deterministic and unbiased enough for synthetic data
  // (bias below 2^-40 for the n used here).
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rng_()) * n) >>
                               64);
}

std::string SubjectIdGenerator::NextCitizenId() {
  static const absl::CivilDay kFirst(1930, 1, 1);
  static const int64_t kSpan = absl::CivilDay(2020, 12, 31) - kFirst + 1;
  int region;
  if (Uniform(2) == 0) {
    region = internal::ZhejiangCountyCode(
        static_cast<int>(Uniform(internal::ZhejiangCountyCount())));
  } else {
    int province;
    do {
      province = static_cast<int>(10 + Uniform(80));
    } while (province == 33 || internal::ProvinceName(province).empty());
    region = province * 10000 + static_cast<int>(1 + Uniform(20)) * 100 +
             static_cast<int>(1 + Uniform(30));
  }
  absl::CivilDay birth = kFirst + static_cast<int64_t>(Uniform(kSpan));
  int sequence = static_cast<int>(Uniform(1000));
  absl::StatusOr<std::string> id = MakeCitizenId(region, birth, sequence);
  // Inputs are valid by construction; a failure is a bug in the tables.
  return id.ok() ? *std::move(id) : std::string();
}

std::string SubjectIdGenerator::NextCreditCode() {
  char dept_code, type_code;
  if (Uniform(10) < 6) {
    dept_code = '9';
    type_code = '1';
  } else {
    absl::Span<const internal::Department> all = internal::Departments();
    const internal::Department& d = all[Uniform(all.size())];
    dept_code = d.code;
    type_code = d.types[Uniform(d.type_count)].code;
  }
  int region;
  uint64_t r = Uniform(20);
  if (r == 0) {
    region = 100000;
  } else if (r < 11) {
    region = internal::ZhejiangCountyCode(
        static_cast<int>(Uniform(internal::ZhejiangCountyCount())));
  } else {
    int province;
    do {
      province = static_cast<int>(10 + Uniform(80));
    } while (internal::ProvinceName(province).empty());
    region = province * 10000 + static_cast<int>(Uniform(10000));
  }
  char body[8];
  for (char& c : body) {
    c = kCreditCodeAlphabet[Uniform(kCreditCodeAlphabet.size())];
  }
  absl::StatusOr<std::string> id = MakeCreditCode(
      dept_code, type_code, region, absl::string_view(body, sizeof(body)));
  return id.ok() ? *std::move(id) : std::string();
}

}  // namespace datarun::subject
