// Subject identifiers: parse, validate, decode and generate the two kinds of
// id the bus is keyed by.
//
//  - Citizen resident id, GB 11643-1999: 6-digit region code (GB/T 2260),
//    8-digit birth date, 3-digit sequence (odd = male), ISO 7064 MOD 11-2
//    check character (0-9 or X).
//  - Unified social credit code, GB 32100-2015: registration department,
//    organisation type, 6-digit administrative division, 9-character
//    organisation code (GB 11714, with its own check character) and a MOD 31
//    check character, over the alphabet 0-9 A-Y without I, O, S, V, Z.
//
// Called by every entry point that accepts a subject (connectors, ingest,
// the request path, the CLI `datarun id check`) and by the synthetic data
// generator and tests (MakeCitizenId, MakeCreditCode, SubjectIdGenerator).
//
// Parsing is on the ingest hot path: no regex, no heap allocation (SubjectId
// holds the 18 characters inline and names point at static tables).
//
// Thread-safety: all free functions are safe from any thread (the only state
// is a thread_local cache of today's date).
// SubjectId is a value type. SubjectIdGenerator is not thread-safe (one per
// thread or external locking).
#ifndef DATARUN_EXCHANGE_SUBJECT_SUBJECT_ID_H_
#define DATARUN_EXCHANGE_SUBJECT_SUBJECT_ID_H_

#include <array>
#include <cstdint>
#include <random>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/datarun/v1/subject.pb.h"

namespace datarun::subject {

inline constexpr int kSubjectIdLength = 18;
// The 31 characters of a unified social credit code, in value order (the
// value of a character in the check computation is its index).
inline constexpr absl::string_view kCreditCodeAlphabet =
    "0123456789ABCDEFGHJKLMNPQRTUWXY";

enum class SubjectKind { kCitizen, kLegalPerson };
enum class Sex { kFemale, kMale };

// "citizen" or "legal_person".
absl::string_view SubjectKindName(SubjectKind kind);
// "female" or "male".
absl::string_view SexName(Sex sex);

// A decoded 6-digit administrative division code. Names point at static
// storage and are empty when unknown: the province is always known for a
// valid id; prefecture and county names are only tabled for Zhejiang (33).
struct Region {
  int code = 0;                       // e.g. 330106
  absl::string_view province_name;    // e.g. "浙江省"
  absl::string_view prefecture_name;  // e.g. "杭州市"
  absl::string_view county_name;      // e.g. "西湖区"
};

struct CitizenParts {
  Region region;
  absl::CivilDay birth_date;
  int sequence = 0;  // positions 15-17, 0..999
  Sex sex = Sex::kFemale;
};

struct CreditCodeParts {
  char registration_department = 0;  // position 1, e.g. '9'
  absl::string_view
      registration_department_name;  // e.g. "industry and commerce"
  absl::string_view registration_department_name_zh;  // e.g. "工商"
  char organisation_type = 0;                         // position 2, e.g. '1'
  absl::string_view organisation_type_name;           // e.g. "enterprise"
  absl::string_view organisation_type_name_zh;        // e.g. "企业"
  // Positions 3-8. 100000 means a central-level body (no province).
  Region region;
};

// A validated subject id in normalised form (upper-case letters).
class SubjectId {
 public:
  SubjectKind kind() const { return kind_; }
  // The 18-character normalised id.
  absl::string_view id() const { return {id_.data(), id_.size()}; }
  // Only meaningful when kind() == kCitizen.
  const CitizenParts& citizen() const { return citizen_; }
  // Only meaningful when kind() == kLegalPerson.
  const CreditCodeParts& credit_code() const { return credit_code_; }
  // Positions 9-17 of a credit code (GB 11714 organisation code with its
  // check character); empty for a citizen.
  absl::string_view organisation_code() const {
    return kind_ == SubjectKind::kLegalPerson ? id().substr(8, 9)
                                              : absl::string_view();
  }

  datarun::v1::Subject ToProto() const;

 private:
  friend class SubjectIdParser;
  SubjectKind kind_ = SubjectKind::kCitizen;
  std::array<char, kSubjectIdLength> id_{};
  CitizenParts citizen_;
  CreditCodeParts credit_code_;
};

// Parses an id of either kind. Errors are InvalidArgument and name the
// 1-based position that is wrong and what was expected.
//
// Detection rule (after the checks common to both kinds: not empty, no
// leading/trailing whitespace, ASCII only, 18 characters):
//  1. If any of positions 1-17 is not a decimal digit, or position 18 is a
//     letter other than X/x, it is a credit code (a citizen id is 17 digits
//     and a digit or X).
//  2. Otherwise, if positions 1-2 are not a province-level code in use, it is
//     a credit code (e.g. 91..., 92..., 93...).
//  3. Otherwise the id is ambiguous (a credit code can be all digits):
//     it is a citizen id if it validates as one, else a credit code if it
//     validates as one. If neither: when it does not even have a credit
//     code's structure (department, type, division) the citizen error is
//     returned, when it lacks a citizen id's structure (region, date) the
//     credit-code error, and when both fail only on check characters the
//     error names both.
// `now` bounds birth dates ("not in the future", in China Standard Time).
absl::StatusOr<SubjectId> ParseSubjectId(absl::string_view text,
                                         absl::Time now = absl::Now());

// For callers that know the kind. Lower-case 'x' at position 18 is accepted
// and normalised to 'X'.
absl::StatusOr<SubjectId> ParseCitizenId(absl::string_view text,
                                         absl::Time now = absl::Now());
// Lower-case letters are accepted and normalised to upper case.
absl::StatusOr<SubjectId> ParseCreditCode(absl::string_view text);

// Validates a proto Subject: the id must be of the stated kind (UNSPECIFIED
// means auto-detect, as ParseSubjectId). The result's id() is normalised; a
// caller that requires the proto to be in normal form already (as
// subject.proto promises) compares it with proto.id().
absl::StatusOr<SubjectId> SubjectIdFromProto(const datarun::v1::Subject& proto,
                                             absl::Time now = absl::Now());

// Check characters over the first 17 characters (which must be digits for
// a citizen id, credit-code alphabet characters for a credit code; upper
// case). Errors name the offending position.
absl::StatusOr<char> ComputeCitizenCheckChar(absl::string_view first17);
absl::StatusOr<char> ComputeCreditCodeCheckChar(absl::string_view first17);
// GB 11714 check character over the 8-character organisation code body.
absl::StatusOr<char> ComputeOrganisationCodeCheckChar(absl::string_view body8);

// Decodes and checks a 6-digit region code as for a citizen id: the
// province must be one of the 34 in use; in Zhejiang (33) prefecture and
// county must be in the embedded GB/T 2260 table (current and historical
// codes, see regions.cc); elsewhere only the shape is checked (prefecture
// 01-90, county 00-99), since the full national table is not embedded.
// Credit codes check only the province (or 100000, central level).
absl::StatusOr<Region> LookupRegion(int code);

// Builds a valid citizen id. `region` must pass LookupRegion, `birth_date`
// must be on or after 1900-01-01, `sequence` in 0..999.
absl::StatusOr<std::string> MakeCitizenId(int region, absl::CivilDay birth_date,
                                          int sequence);
// Builds a valid credit code from the department and type characters, the
// division code (a province-level code in use, or 100000) and the 8-character
// organisation code body (credit-code alphabet); computes both check
// characters.
absl::StatusOr<std::string> MakeCreditCode(char registration_department,
                                           char organisation_type, int region,
                                           absl::string_view organisation_body);

// Deterministic stream of valid ids for synthetic data and tests: the same
// seed gives the same ids on every platform (std::mt19937_64 and our own
// range mapping, no std::*_distribution). Birth dates fall in 1930..2020.
class SubjectIdGenerator {
 public:
  explicit SubjectIdGenerator(uint64_t seed) : rng_(seed) {}
  std::string NextCitizenId();
  std::string NextCreditCode();

 private:
  uint64_t Uniform(uint64_t n);  // in [0, n)
  std::mt19937_64 rng_;
};

}  // namespace datarun::subject

#endif  // DATARUN_EXCHANGE_SUBJECT_SUBJECT_ID_H_
