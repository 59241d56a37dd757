#include "exchange/subject/subject_id.h"

#include <climits>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "exchange/subject/credit_code_tables.h"
#include "exchange/subject/regions.h"

namespace datarun::subject {

// Builds SubjectId values; the only code allowed to touch its fields.
class SubjectIdParser {
 public:
  // `structure_ok`, when given, is set to whether every check before the
  // check characters passed (so a failure is a checksum mismatch only).
  static absl::StatusOr<SubjectId> Citizen(absl::string_view s,
                                           absl::CivilDay today,
                                           bool* structure_ok = nullptr);
  static absl::StatusOr<SubjectId> CreditCode(absl::string_view s,
                                              bool* structure_ok = nullptr);
};

namespace {

using absl::InvalidArgumentError;
using internal::Department;
using internal::FindDepartment;
using internal::FindType;
using internal::OrgType;

// ---------------------------------------------------------------------------
// Character classes and check characters.

constexpr int kCreditAlphabetSize = 31;
static_assert(kCreditCodeAlphabet.size() == kCreditAlphabetSize);

// Value of an upper-case credit-code character (0..30) or -1.
constexpr std::array<int8_t, 256> kCreditValue = [] {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < kCreditAlphabetSize; ++i) {
    t[static_cast<unsigned char>(kCreditCodeAlphabet[i])] =
        static_cast<int8_t>(i);
  }
  return t;
}();

constexpr int kCitizenWeights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                     3, 7, 9,  10, 5, 8, 4, 2};
constexpr char kCitizenCheckMap[] = "10X98765432";
constexpr int kCreditWeights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                    29, 25, 13, 8,  24, 10, 30, 28};
constexpr int kOrgWeights[8] = {3, 7, 9, 10, 5, 8, 4, 2};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
char ToUpper(char c) { return IsLower(c) ? static_cast<char>(c - 32) : c; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

// A character for an error message: 'A', or a hex byte when unprintable.
std::string Show(char c) {
  if (c >= 0x20 && c < 0x7f)
    return absl::StrCat("'", absl::string_view(&c, 1), "'");
  return absl::StrFormat("byte 0x%02X", static_cast<unsigned char>(c));
}

// Citizen check over 17 digits (caller guarantees digits).
char CitizenCheck(const char* p) {
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (p[i] - '0') * kCitizenWeights[i];
  return kCitizenCheckMap[sum % 11];
}

// Credit check over 17 upper-case alphabet characters.
char CreditCheck(const char* p) {
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    sum += kCreditValue[static_cast<unsigned char>(p[i])] * kCreditWeights[i];
  }
  int v = 31 - sum % 31;
  return kCreditCodeAlphabet[v == 31 ? 0 : v];
}

// GB 11714 character value: digits 0-9, letters A=10 .. Z=35.
int OrgValue(char c) { return IsDigit(c) ? c - '0' : c - 'A' + 10; }

char OrgCheck(const char* p) {
  int sum = 0;
  for (int i = 0; i < 8; ++i) sum += OrgValue(p[i]) * kOrgWeights[i];
  int v = 11 - sum % 11;
  if (v == 10) return 'X';
  if (v == 11) return '0';
  return static_cast<char>('0' + v);
}

int Digits(const char* p, int n) {
  int v = 0;
  for (int i = 0; i < n; ++i) v = v * 10 + (p[i] - '0');
  return v;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30,
                                    31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return kDays[m - 1];
}

// Today's date in China Standard Time (UTC+8, no DST). Runs once per parsed
// id, so the civil-date conversion is cached per thread for the current day.
absl::CivilDay TodayInChina(absl::Time now) {
  if (now == absl::InfiniteFuture()) return absl::CivilDay(9999, 12, 31);
  if (now == absl::InfinitePast()) return absl::CivilDay(1, 1, 1);
  int64_t secs = absl::ToUnixSeconds(now) + 8 * 3600;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  struct Cache {
    int64_t days = INT64_MIN;
    absl::CivilDay day;
  };
  thread_local Cache cache;
  if (cache.days != days) {
    cache.day = absl::CivilDay(1970, 1, 1) + days;
    cache.days = days;
  }
  return cache.day;
}

// ---------------------------------------------------------------------------
// Checks shared by both kinds.

// Decodes the UTF-8 sequence at p (n bytes available); returns the code
// point or -1 and sets *len.
int32_t DecodeUtf8(const unsigned char* p, size_t n, int* len) {
  int need;
  int32_t cp;
  if (p[0] < 0xC0 || p[0] >= 0xF8) {
    *len = 1;
    return -1;
  } else if (p[0] < 0xE0) {
    need = 2;
    cp = p[0] & 0x1F;
  } else if (p[0] < 0xF0) {
    need = 3;
    cp = p[0] & 0x0F;
  } else {
    need = 4;
    cp = p[0] & 0x07;
  }
  if (static_cast<size_t>(need) > n) {
    *len = 1;
    return -1;
  }
  for (int i = 1; i < need; ++i) {
    if ((p[i] & 0xC0) != 0x80) {
      *len = 1;
      return -1;
    }
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  *len = need;
  return cp;
}

absl::Status NonAsciiError(absl::string_view text, size_t at) {
  int position = 1;  // in characters, counting UTF-8 sequences as one
  for (size_t i = 0; i < at; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++position;
  }
  int len = 1;
  int32_t cp =
      DecodeUtf8(reinterpret_cast<const unsigned char*>(text.data()) + at,
                 text.size() - at, &len);
  if (cp < 0) {
    return InvalidArgumentError(absl::StrFormat(
        "character at position %d is byte 0x%02X, which is not valid UTF-8; "
        "ids are ASCII",
        position, static_cast<unsigned char>(text[at])));
  }
  absl::string_view shown = text.substr(at, len);
  if (cp >= 0xFF10 && cp <= 0xFF19) {
    return InvalidArgumentError(absl::StrFormat(
        "character at position %d is '%s' (U+%04X), a full-width digit; "
        "use the ASCII digit '%c'",
        position, shown, cp, static_cast<char>('0' + (cp - 0xFF10))));
  }
  if (cp >= 0xFF21 && cp <= 0xFF5A) {
    return InvalidArgumentError(absl::StrFormat(
        "character at position %d is '%s' (U+%04X), a full-width letter; "
        "use ASCII letters",
        position, shown, cp));
  }
  if (cp == 0x3000) {
    return InvalidArgumentError(absl::StrFormat(
        "character at position %d is a full-width space (U+3000)", position));
  }
  return InvalidArgumentError(absl::StrFormat(
      "character at position %d is '%s' (U+%04X), which is not ASCII; ids "
      "use only ASCII digits and letters",
      position, shown, cp));
}

absl::Status CheckCommon(absl::string_view text) {
  if (text.empty()) return InvalidArgumentError("id is empty");
  if (IsSpace(text.front())) {
    return InvalidArgumentError(
        "id has leading whitespace (position 1); remove it");
  }
  if (IsSpace(text.back())) {
    return InvalidArgumentError(absl::StrFormat(
        "id has trailing whitespace (position %d); remove it", text.size()));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) >= 0x80) {
      return NonAsciiError(text, i);
    }
  }
  if (text.size() != kSubjectIdLength) {
    return InvalidArgumentError(absl::StrFormat("length is %d, expected %d",
                                                text.size(), kSubjectIdLength));
  }
  return absl::OkStatus();
}

// Province-level check and names for a 6-digit division code. `where` names
// the positions for the error, e.g. "region code at positions 1-6".
absl::Status ProvinceCheck(int code, absl::string_view where, Region* out) {
  int province = code / 10000;
  absl::string_view name = internal::ProvinceName(province);
  if (name.empty()) {
    return InvalidArgumentError(absl::StrFormat(
        "%s is %06d: %02d is not a province-level code in use (GB/T 2260)",
        where, code, province));
  }
  out->code = code;
  out->province_name = name;
  if (province == 33) {
    out->prefecture_name = internal::ZhejiangPrefectureName(code / 100);
    out->county_name = internal::ZhejiangCountyName(code);
  }
  return absl::OkStatus();
}

// Full check of a resident's region code (see LookupRegion).
absl::Status CitizenRegionCheck(int code, absl::string_view where,
                                Region* out) {
  absl::Status s = ProvinceCheck(code, where, out);
  if (!s.ok()) return s;
  if (code / 10000 == 33) {
    if (out->prefecture_name.empty()) {
      return InvalidArgumentError(absl::StrFormat(
          "%s is %06d: %04d is not a Zhejiang prefecture code (GB/T 2260)",
          where, code, code / 100));
    }
    if (out->county_name.empty()) {
      return InvalidArgumentError(absl::StrFormat(
          "%s is %06d: not a county-level division of %s (%04d) in GB/T 2260",
          where, code, out->prefecture_name, code / 100));
    }
    return absl::OkStatus();
  }
  int prefecture = code / 100 % 100;
  if (prefecture < 1 || prefecture > 90) {
    return InvalidArgumentError(
        absl::StrFormat("%s is %06d: prefecture digits %02d, expected 01-90",
                        where, code, prefecture));
  }
  return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------

absl::StatusOr<SubjectId> SubjectIdParser::Citizen(absl::string_view s,
                                                   absl::CivilDay today,
                                                   bool* structure_ok) {
  if (structure_ok != nullptr) *structure_ok = false;
  SubjectId id;
  id.kind_ = SubjectKind::kCitizen;
  for (int i = 0; i < 17; ++i) {
    if (!IsDigit(s[i])) {
      return InvalidArgumentError(
          absl::StrFormat("character at position %d is %s, expected a digit",
                          i + 1, Show(s[i])));
    }
    id.id_[i] = s[i];
  }
  char check = s[17] == 'x' ? 'X' : s[17];
  if (!IsDigit(check) && check != 'X') {
    return InvalidArgumentError(absl::StrFormat(
        "check character at position 18 is %s, expected a digit or 'X'",
        Show(s[17])));
  }
  id.id_[17] = check;
  const char* p = id.id_.data();

  CitizenParts& parts = id.citizen_;
  absl::Status st = CitizenRegionCheck(
      Digits(p, 6), "region code at positions 1-6", &parts.region);
  if (!st.ok()) return st;

  int year = Digits(p + 6, 4), month = Digits(p + 10, 2),
      day = Digits(p + 12, 2);
  absl::string_view date_text(p + 6, 8);
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return InvalidArgumentError(absl::StrFormat(
        "birth date at positions 7-14 is %s, which is not a calendar date",
        date_text));
  }
  if (year < 1900) {
    return InvalidArgumentError(absl::StrFormat(
        "birth date at positions 7-14 is %s, before 1900-01-01", date_text));
  }
  parts.birth_date = absl::CivilDay(year, month, day);
  if (parts.birth_date > today) {
    return InvalidArgumentError(absl::StrFormat(
        "birth date at positions 7-14 is %s, which is in the future (today "
        "is %s in China Standard Time)",
        date_text, absl::FormatCivilTime(today)));
  }
  parts.sequence = Digits(p + 14, 3);
  parts.sex = (p[16] - '0') % 2 == 1 ? Sex::kMale : Sex::kFemale;
  if (structure_ok != nullptr) *structure_ok = true;

  char expected = CitizenCheck(p);
  if (expected != check) {
    return InvalidArgumentError(
        absl::StrFormat("check character at position 18 is %s, expected '%c'",
                        Show(s[17]), expected));
  }
  return id;
}

absl::StatusOr<SubjectId> SubjectIdParser::CreditCode(absl::string_view s,
                                                      bool* structure_ok) {
  if (structure_ok != nullptr) *structure_ok = false;
  SubjectId id;
  id.kind_ = SubjectKind::kLegalPerson;
  for (int i = 0; i < kSubjectIdLength; ++i) {
    char c = ToUpper(s[i]);
    if (kCreditValue[static_cast<unsigned char>(c)] < 0) {
      return InvalidArgumentError(absl::StrFormat(
          "character at position %d is %s, which is not in the credit-code "
          "alphabet (0-9 and A-Y except I, O, S, V, Z)",
          i + 1, Show(s[i])));
    }
    id.id_[i] = c;
  }
  const char* p = id.id_.data();
  CreditCodeParts& parts = id.credit_code_;

  const Department* dept = FindDepartment(p[0]);
  if (dept == nullptr) {
    return InvalidArgumentError(absl::StrFormat(
        "registration department code at position 1 is %s, expected one of "
        "1-9, A, N, Y",
        Show(s[0])));
  }
  const OrgType* type = FindType(*dept, p[1]);
  if (type == nullptr) {
    return InvalidArgumentError(absl::StrFormat(
        "organisation type at position 2 is %s, which is not a type of "
        "registration department %c (%s); expected %s",
        Show(s[1]), dept->code, dept->name, dept->expected_types));
  }
  parts.registration_department = dept->code;
  parts.registration_department_name = dept->name;
  parts.registration_department_name_zh = dept->name_zh;
  parts.organisation_type = type->code;
  parts.organisation_type_name = type->name;
  parts.organisation_type_name_zh = type->name_zh;

  for (int i = 2; i < 8; ++i) {
    if (!IsDigit(p[i])) {
      return InvalidArgumentError(absl::StrFormat(
          "character at position %d is %s, expected a digit (administrative "
          "division, positions 3-8)",
          i + 1, Show(s[i])));
    }
  }
  int region = Digits(p + 2, 6);
  if (region == 100000) {
    // Bodies registered at central level carry the national code.
    parts.region.code = region;
  } else {
    absl::Status st = ProvinceCheck(
        region, "administrative division at positions 3-8", &parts.region);
    if (!st.ok()) return st;
  }
  if (structure_ok != nullptr) *structure_ok = true;

  char expected = CreditCheck(p);
  if (expected != p[17]) {
    return InvalidArgumentError(
        absl::StrFormat("check character at position 18 is %s, expected '%c'",
                        Show(s[17]), expected));
  }
  char org_expected = OrgCheck(p + 8);
  if (org_expected != p[16]) {
    return InvalidArgumentError(absl::StrFormat(
        "organisation code check character at position 17 is %s, expected "
        "'%c' (GB 11714 over positions 9-16)",
        Show(s[16]), org_expected));
  }
  return id;
}

// ---------------------------------------------------------------------------

absl::string_view SubjectKindName(SubjectKind kind) {
  return kind == SubjectKind::kCitizen ? "citizen" : "legal_person";
}

absl::string_view SexName(Sex sex) {
  return sex == Sex::kMale ? "male" : "female";
}

datarun::v1::Subject SubjectId::ToProto() const {
  datarun::v1::Subject proto;
  proto.set_kind(kind_ == SubjectKind::kCitizen
                     ? datarun::v1::SUBJECT_KIND_CITIZEN
                     : datarun::v1::SUBJECT_KIND_LEGAL_PERSON);
  proto.set_id(id_.data(), id_.size());
  return proto;
}

absl::StatusOr<SubjectId> ParseCitizenId(absl::string_view text,
                                         absl::Time now) {
  absl::Status st = CheckCommon(text);
  if (!st.ok()) return st;
  return SubjectIdParser::Citizen(text, TodayInChina(now));
}

absl::StatusOr<SubjectId> ParseCreditCode(absl::string_view text) {
  absl::Status st = CheckCommon(text);
  if (!st.ok()) return st;
  return SubjectIdParser::CreditCode(text);
}

absl::StatusOr<SubjectId> ParseSubjectId(absl::string_view text,
                                         absl::Time now) {
  absl::Status st = CheckCommon(text);
  if (!st.ok()) return st;
  bool citizen_shape = true;
  for (int i = 0; i < 17; ++i) citizen_shape &= IsDigit(text[i]);
  citizen_shape &= IsDigit(text[17]) || text[17] == 'X' || text[17] == 'x';
  if (!citizen_shape ||
      internal::ProvinceName(Digits(text.data(), 2)).empty()) {
    return SubjectIdParser::CreditCode(text);
  }
  bool citizen_structure = false, credit_structure = false;
  absl::StatusOr<SubjectId> citizen =
      SubjectIdParser::Citizen(text, TodayInChina(now), &citizen_structure);
  if (citizen.ok()) return citizen;
  absl::StatusOr<SubjectId> credit =
      SubjectIdParser::CreditCode(text, &credit_structure);
  if (credit.ok()) return credit;
  if (!credit_structure) return citizen.status();
  if (!citizen_structure) return credit.status();
  return InvalidArgumentError(
      absl::StrCat("not a valid citizen id (", citizen.status().message(),
                   ") nor credit code (", credit.status().message(), ")"));
}

absl::StatusOr<SubjectId> SubjectIdFromProto(const datarun::v1::Subject& proto,
                                             absl::Time now) {
  switch (proto.kind()) {
    case datarun::v1::SUBJECT_KIND_CITIZEN:
      return ParseCitizenId(proto.id(), now);
    case datarun::v1::SUBJECT_KIND_LEGAL_PERSON:
      return ParseCreditCode(proto.id());
    case datarun::v1::SUBJECT_KIND_UNSPECIFIED:
      return ParseSubjectId(proto.id(), now);
    default:
      return InvalidArgumentError(
          absl::StrFormat("subject kind %d is not a known SubjectKind",
                          static_cast<int>(proto.kind())));
  }
}

absl::StatusOr<char> ComputeCitizenCheckChar(absl::string_view first17) {
  if (first17.size() != 17) {
    return InvalidArgumentError(
        absl::StrFormat("length is %d, expected 17", first17.size()));
  }
  for (int i = 0; i < 17; ++i) {
    if (!IsDigit(first17[i])) {
      return InvalidArgumentError(
          absl::StrFormat("character at position %d is %s, expected a digit",
                          i + 1, Show(first17[i])));
    }
  }
  return CitizenCheck(first17.data());
}

absl::StatusOr<char> ComputeCreditCodeCheckChar(absl::string_view first17) {
  if (first17.size() != 17) {
    return InvalidArgumentError(
        absl::StrFormat("length is %d, expected 17", first17.size()));
  }
  for (int i = 0; i < 17; ++i) {
    if (kCreditValue[static_cast<unsigned char>(first17[i])] < 0) {
      return InvalidArgumentError(absl::StrFormat(
          "character at position %d is %s, which is not in the credit-code "
          "alphabet (0-9 and A-Y except I, O, S, V, Z)",
          i + 1, Show(first17[i])));
    }
  }
  return CreditCheck(first17.data());
}

absl::StatusOr<char> ComputeOrganisationCodeCheckChar(absl::string_view body8) {
  if (body8.size() != 8) {
    return InvalidArgumentError(
        absl::StrFormat("length is %d, expected 8", body8.size()));
  }
  for (int i = 0; i < 8; ++i) {
    char c = body8[i];
    if (!IsDigit(c) && !(c >= 'A' && c <= 'Z')) {
      return InvalidArgumentError(absl::StrFormat(
          "character at position %d is %s, expected a digit or an upper-case "
          "letter",
          i + 1, Show(c)));
    }
  }
  return OrgCheck(body8.data());
}

absl::StatusOr<Region> LookupRegion(int code) {
  if (code < 0 || code > 999999) {
    return InvalidArgumentError(
        absl::StrFormat("region code %d is not 6 digits", code));
  }
  Region region;
  absl::Status st = CitizenRegionCheck(code, "region code", &region);
  if (!st.ok()) return st;
  return region;
}

}  // namespace datarun::subject
