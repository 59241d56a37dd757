#include "exchange/subject/subject_id.h"

#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace datarun::subject {
namespace {

using ::testing::HasSubstr;

// A fixed "now" so date checks are deterministic: 2026-11-26 12:00 CST.
absl::Time Now() {
  return absl::FromCivil(absl::CivilSecond(2026, 11, 26, 4, 0, 0),
                         absl::UTCTimeZone());
}

// Expects InvalidArgument whose message contains `part`.
void ExpectError(const absl::StatusOr<SubjectId>& got, absl::string_view part) {
  ASSERT_FALSE(got.ok()) << "accepted: " << got->id();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr(std::string(part)));
}

// ---------------------------------------------------------------------------
// Citizen ids. Check characters of these ids were worked out by hand (sum of
// digit x weight mod 11 through "10X98765432"); the first two are the
// examples printed in GB 11643-1999 itself.

TEST(CitizenId, StandardExampleDecodes) {
  auto id = ParseCitizenId("11010519491231002X", Now());
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->kind(), SubjectKind::kCitizen);
  EXPECT_EQ(id->id(), "11010519491231002X");
  const CitizenParts& p = id->citizen();
  EXPECT_EQ(p.region.code, 110105);
  EXPECT_EQ(p.region.province_name, "北京市");
  EXPECT_EQ(p.region.county_name, "");  // only Zhejiang counties are tabled
  EXPECT_EQ(p.birth_date, absl::CivilDay(1949, 12, 31));
  EXPECT_EQ(p.sequence, 2);
  EXPECT_EQ(p.sex, Sex::kFemale);
  EXPECT_TRUE(id->organisation_code().empty());
}

TEST(CitizenId, LowercaseXIsNormalised) {
  auto id = ParseCitizenId("11010519491231002x", Now());
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->id(), "11010519491231002X");
}

TEST(CitizenId, ZhejiangCountyNamesAndSex) {
  auto id = ParseCitizenId("330106199003071236", Now());
  ASSERT_TRUE(id.ok()) << id.status();
  const CitizenParts& p = id->citizen();
  EXPECT_EQ(p.region.province_name, "浙江省");
  EXPECT_EQ(p.region.prefecture_name, "杭州市");
  EXPECT_EQ(p.region.county_name, "西湖区");
  EXPECT_EQ(p.birth_date, absl::CivilDay(1990, 3, 7));
  EXPECT_EQ(p.sequence, 123);
  EXPECT_EQ(p.sex, Sex::kMale);
}

TEST(CitizenId, LeapDaysInLeapYearsAreValid) {
  // 2000 is a leap year (divisible by 400); 1960 by 4. 332522 is 青田县 under
  // the former 丽水地区, a code still carried by people registered there.
  auto a = ParseCitizenId("330102200002294569", Now());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->citizen().birth_date, absl::CivilDay(2000, 2, 29));
  auto b = ParseCitizenId("332522196002290023", Now());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->citizen().region.county_name, "青田县");
}

TEST(CitizenId, Feb29InNonLeapYearsIsRejected) {
  ExpectError(ParseCitizenId("330106199902291230", Now()),
              "birth date at positions 7-14 is 19990229, which is not a "
              "calendar date");
  // 1900 is not a leap year (divisible by 100, not by 400).
  ExpectError(ParseCitizenId("330106190002291230", Now()),
              "19000229, which is not a calendar date");
}

TEST(CitizenId, ImpossibleDatesAreRejected) {
  ExpectError(ParseCitizenId("330106199902311230", Now()),
              "birth date at positions 7-14 is 19990231, which is not a "
              "calendar date");
  ExpectError(ParseCitizenId("330106199913011230", Now()),
              "19991301, which is not a calendar date");
  ExpectError(ParseCitizenId("330106199901001230", Now()),
              "19990100, which is not a calendar date");
}

TEST(CitizenId, BirthBefore1900IsRejected) {
  // The standard's second example: a correct check digit, born 1880.
  ExpectError(ParseCitizenId("440524188001010014", Now()),
              "birth date at positions 7-14 is 18800101, before 1900-01-01");
}

TEST(CitizenId, FutureBirthDateIsRejectedInChinaTime) {
  auto tomorrow = MakeCitizenId(330106, absl::CivilDay(2026, 11, 27), 1);
  ASSERT_TRUE(tomorrow.ok());
  ExpectError(ParseCitizenId(*tomorrow, Now()),
              "birth date at positions 7-14 is 20261127, which is in the "
              "future (today is 2026-11-26 in China Standard Time)");
  // Born today is fine.
  auto today = MakeCitizenId(330106, absl::CivilDay(2026, 11, 26), 1);
  EXPECT_TRUE(ParseCitizenId(*today, Now()).ok());
  // 16:30 UTC is already the 27th in China.
  absl::Time late = absl::FromCivil(absl::CivilSecond(2026, 11, 26, 16, 30, 0),
                                    absl::UTCTimeZone());
  EXPECT_TRUE(ParseCitizenId(*tomorrow, late).ok());
  EXPECT_FALSE(ParseCitizenId(*tomorrow, late - absl::Hours(1)).ok());
}

TEST(CitizenId, WrongCheckCharacterNamesExpected) {
  ExpectError(ParseCitizenId("110105194912310021", Now()),
              "check character at position 18 is '1', expected 'X'");
  ExpectError(ParseCitizenId("33010619900307123X", Now()),
              "check character at position 18 is 'X', expected '6'");
  ExpectError(ParseCitizenId("33010619900307123x", Now()),
              "check character at position 18 is 'x', expected '6'");
}

TEST(CitizenId, BadCharacters) {
  ExpectError(ParseCitizenId("1101A519491231002X", Now()),
              "character at position 5 is 'A', expected a digit");
  ExpectError(ParseCitizenId("11010519491231002Y", Now()),
              "check character at position 18 is 'Y', expected a digit or 'X'");
  ExpectError(ParseCitizenId("1101051949 231002X", Now()),
              "character at position 11 is ' ', expected a digit");
  ExpectError(ParseCitizenId(std::string("1101051949\t231002X"), Now()),
              "character at position 11 is byte 0x09, expected a digit");
}

TEST(CitizenId, RegionErrors) {
  ExpectError(ParseCitizenId("990105194912310023", Now()),
              "region code at positions 1-6 is 990105: 99 is not a "
              "province-level code in use");
  ExpectError(ParseCitizenId("000000194912310023", Now()),
              "00 is not a province-level code in use");
  // 83 is not one of the 34 province-level codes (82 Macao is the last).
  ExpectError(ParseCitizenId("830105194912310023", Now()),
              "83 is not a province-level code in use");
  ExpectError(ParseCitizenId("331201199003071230", Now()),
              "region code at positions 1-6 is 331201: 3312 is not a Zhejiang "
              "prefecture code");
  ExpectError(ParseCitizenId("330199199003071230", Now()),
              "region code at positions 1-6 is 330199: not a county-level "
              "division of 杭州市 (3301)");
  ExpectError(ParseCitizenId("110005194912310023", Now()),
              "region code at positions 1-6 is 110005: prefecture digits 00, "
              "expected 01-90");
  ExpectError(ParseCitizenId("119105194912310023", Now()),
              "prefecture digits 91, expected 01-90");
}

TEST(CommonChecks, EmptyLengthWhitespace) {
  ExpectError(ParseSubjectId("", Now()), "id is empty");
  ExpectError(ParseCitizenId("", Now()), "id is empty");
  ExpectError(ParseCreditCode(""), "id is empty");
  ExpectError(ParseSubjectId("11010519491231002", Now()),
              "length is 17, expected 18");
  ExpectError(ParseSubjectId("11010519491231002X1", Now()),
              "length is 19, expected 18");
  ExpectError(ParseSubjectId(" 11010519491231002X", Now()),
              "id has leading whitespace (position 1)");
  ExpectError(ParseSubjectId("11010519491231002X\n", Now()),
              "id has trailing whitespace (position 19)");
  ExpectError(ParseCreditCode("91350100M000100Y43 "),
              "id has trailing whitespace");
}

TEST(CommonChecks, FullWidthDigitNamesPosition) {
  // "11０10519491231002X" with a full-width zero (U+FF10) at position 3.
  ExpectError(ParseSubjectId("11\xEF\xBC\x90"
                             "10519491231002X",
                             Now()),
              "character at position 3 is '０' (U+FF10), a full-width digit");
  ExpectError(ParseCitizenId("1101051949123100\xEF\xBC\x92X", Now()),
              "character at position 17 is '２' (U+FF12), a full-width digit");
  // Other non-ASCII characters are named too.
  ExpectError(ParseSubjectId("11010519491231002\xEF\xBC\xB8", Now()),
              "position 18 is 'Ｘ' (U+FF38), a full-width letter");
  ExpectError(ParseSubjectId("1101051949123100\xC3\xA9X", Now()),
              "position 17 is 'é' (U+00E9), which is not ASCII");
  ExpectError(ParseSubjectId("1101051949123100\xFFX", Now()),
              "position 17 is byte 0xFF, which is not valid UTF-8");
}

// ---------------------------------------------------------------------------
// Credit codes. 91350100M000100Y43 is the widely published example; the
// others were computed by hand with the GB 32100 weights and checked with a
// separate script.

TEST(CreditCode, ExampleDecodes) {
  auto id = ParseCreditCode("91350100M000100Y43");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->kind(), SubjectKind::kLegalPerson);
  const CreditCodeParts& p = id->credit_code();
  EXPECT_EQ(p.registration_department, '9');
  EXPECT_EQ(p.registration_department_name, "industry and commerce");
  EXPECT_EQ(p.registration_department_name_zh, "工商");
  EXPECT_EQ(p.organisation_type, '1');
  EXPECT_EQ(p.organisation_type_name, "enterprise");
  EXPECT_EQ(p.organisation_type_name_zh, "企业");
  EXPECT_EQ(p.region.code, 350100);
  EXPECT_EQ(p.region.province_name, "福建省");
  EXPECT_EQ(id->organisation_code(), "M000100Y4");
}

TEST(CreditCode, LowercaseIsNormalised) {
  auto id = ParseCreditCode("91350100m000100y43");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->id(), "91350100M000100Y43");
}

TEST(CreditCode, CentralLevelAndOtherDepartments) {
  auto central = ParseCreditCode("11100000000013127D");
  ASSERT_TRUE(central.ok()) << central.status();
  EXPECT_EQ(central->credit_code().region.code, 100000);
  EXPECT_EQ(central->credit_code().organisation_type_name, "government organ");
  auto found = ParseCreditCode("51330000500000015H");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->credit_code().registration_department_name, "civil affairs");
  EXPECT_EQ(found->credit_code().organisation_type_name, "social group");
  auto shop = ParseCreditCode("92330383123456788Y");
  ASSERT_TRUE(shop.ok()) << shop.status();
  EXPECT_EQ(shop->credit_code().organisation_type_name, "individual business");
  EXPECT_EQ(shop->credit_code().region.county_name, "龙港市");
}

TEST(CreditCode, CharacterOutsideAlphabet) {
  ExpectError(ParseCreditCode("9135O100M000100Y43"),
              "character at position 5 is 'O', which is not in the "
              "credit-code alphabet");
  for (char bad : {'I', 'O', 'S', 'V', 'Z', 'i', 'z', '-'}) {
    std::string id = "91350100M000100Y43";
    id[9] = bad;
    ExpectError(ParseCreditCode(id), "character at position 10 is");
  }
}

TEST(CreditCode, DepartmentTypeAndRegion) {
  ExpectError(ParseCreditCode("B1350100M000100Y43"),
              "registration department code at position 1 is 'B', expected "
              "one of 1-9, A, N, Y");
  ExpectError(ParseCreditCode("94350100M000100Y43"),
              "organisation type at position 2 is '4', which is not a type of "
              "registration department 9 (industry and commerce); expected 1, "
              "2 or 3");
  ExpectError(ParseCreditCode("Y2350100M000100Y43"),
              "registration department Y (other); expected 1");
  ExpectError(ParseCreditCode("9135A100M000100Y43"),
              "character at position 5 is 'A', expected a digit "
              "(administrative division, positions 3-8)");
  ExpectError(ParseCreditCode("91990100M000100Y43"),
              "administrative division at positions 3-8 is 990100: 99 is not "
              "a province-level code in use");
}

TEST(CreditCode, CheckCharacters) {
  ExpectError(ParseCreditCode("91350100M000100Y44"),
              "check character at position 18 is '4', expected '3'");
  // Consistent MOD 31 check but the GB 11714 organisation check is wrong.
  ExpectError(ParseCreditCode("91350100M000100Y56"),
              "organisation code check character at position 17 is '5', "
              "expected '4'");
}

// ---------------------------------------------------------------------------
// Kind detection, proto conversion, check computation and generation.

TEST(ParseSubjectId, DetectsKind) {
  auto citizen = ParseSubjectId("11010519491231002x", Now());
  ASSERT_TRUE(citizen.ok()) << citizen.status();
  EXPECT_EQ(citizen->kind(), SubjectKind::kCitizen);
  auto credit = ParseSubjectId("91350100M000100Y43", Now());
  ASSERT_TRUE(credit.ok()) << credit.status();
  EXPECT_EQ(credit->kind(), SubjectKind::kLegalPerson);
  // All digits and starting with a province code (33 Zhejiang), but not a
  // valid citizen id: a grassroots legal service office's credit code.
  auto digits = ParseSubjectId("333301061000000084", Now());
  ASSERT_TRUE(digits.ok()) << digits.status();
  EXPECT_EQ(digits->kind(), SubjectKind::kLegalPerson);
  EXPECT_EQ(digits->credit_code().organisation_type_name,
            "grassroots legal service office");
  // Neither, and not structured like a credit code (division 010619): the
  // citizen error alone.
  ExpectError(ParseSubjectId("330106199003071235", Now()),
              "check character at position 18 is '5', expected '6'");
  // Neither, and not structured like a citizen id (Zhejiang has no
  // prefecture 3333): the credit-code error alone.
  ExpectError(ParseSubjectId("333301061000000085", Now()),
              "check character at position 18 is '5', expected '4'");
  // Structured like both and failing both checks: both reasons are given.
  ExpectError(ParseSubjectId("113301199003071201", Now()),
              "not a valid citizen id (check character at position 18 is "
              "'1', expected '2') nor credit code (check character at "
              "position 18 is '1', expected 'B')");
  // A letter makes it a credit code, whose error is reported.
  ExpectError(ParseSubjectId("9135O100M000100Y43", Now()),
              "character at position 5 is 'O', which is not in the "
              "credit-code alphabet");
}

TEST(Proto, RoundTrip) {
  auto id = ParseSubjectId("11010519491231002x", Now());
  ASSERT_TRUE(id.ok());
  datarun::v1::Subject proto = id->ToProto();
  EXPECT_EQ(proto.kind(), datarun::v1::SUBJECT_KIND_CITIZEN);
  EXPECT_EQ(proto.id(), "11010519491231002X");
  auto back = SubjectIdFromProto(proto, Now());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id(), id->id());

  auto credit = ParseCreditCode("91350100M000100Y43");
  EXPECT_EQ(credit->ToProto().kind(), datarun::v1::SUBJECT_KIND_LEGAL_PERSON);

  datarun::v1::Subject wrong;
  wrong.set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  wrong.set_id("91350100M000100Y43");
  ExpectError(SubjectIdFromProto(wrong, Now()),
              "character at position 9 is 'M', expected a digit");
  wrong.set_kind(datarun::v1::SUBJECT_KIND_UNSPECIFIED);
  EXPECT_TRUE(SubjectIdFromProto(wrong, Now()).ok());
  wrong.set_kind(static_cast<datarun::v1::SubjectKind>(7));
  ExpectError(SubjectIdFromProto(wrong, Now()), "subject kind 7");
}

TEST(CheckChars, MatchHandVerifiedIds) {
  EXPECT_EQ(*ComputeCitizenCheckChar("11010519491231002"), 'X');
  EXPECT_EQ(*ComputeCitizenCheckChar("44052418800101001"), '4');
  EXPECT_EQ(*ComputeCreditCodeCheckChar("91350100M000100Y4"), '3');
  EXPECT_EQ(*ComputeCreditCodeCheckChar("11100000000013127"), 'D');
  EXPECT_EQ(*ComputeOrganisationCodeCheckChar("M000100Y"), '4');
  EXPECT_THAT(
      std::string(
          ComputeCitizenCheckChar("1101051949123100").status().message()),
      HasSubstr("length is 16, expected 17"));
  EXPECT_THAT(
      std::string(
          ComputeCreditCodeCheckChar("91350100M0001O0Y4").status().message()),
      HasSubstr("position 14 is 'O'"));
}

TEST(Generator, MakeMatchesHandVerifiedIds) {
  EXPECT_EQ(*MakeCitizenId(110105, absl::CivilDay(1949, 12, 31), 2),
            "11010519491231002X");
  EXPECT_EQ(*MakeCitizenId(330106, absl::CivilDay(1990, 3, 7), 123),
            "330106199003071236");
  EXPECT_EQ(*MakeCreditCode('9', '1', 350100, "M000100Y"),
            "91350100M000100Y43");
  EXPECT_EQ(*MakeCreditCode('1', '1', 100000, "00001312"),
            "11100000000013127D");
  EXPECT_FALSE(MakeCitizenId(990105, absl::CivilDay(1990, 1, 1), 1).ok());
  EXPECT_FALSE(MakeCitizenId(330106, absl::CivilDay(1899, 12, 31), 1).ok());
  EXPECT_FALSE(MakeCitizenId(330106, absl::CivilDay(1990, 1, 1), 1000).ok());
  EXPECT_FALSE(MakeCreditCode('9', '4', 350100, "M000100Y").ok());
  EXPECT_FALSE(MakeCreditCode('9', '1', 350100, "M00O100Y").ok());
  EXPECT_FALSE(MakeCreditCode('9', '1', 350100, "M000100").ok());
}

TEST(Generator, SameSeedSameIds) {
  SubjectIdGenerator a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    std::string ca = a.NextCitizenId(), cb = b.NextCitizenId();
    EXPECT_EQ(ca, cb);
    differs |= ca != c.NextCitizenId();
    EXPECT_EQ(a.NextCreditCode(), b.NextCreditCode());
    c.NextCreditCode();
  }
  EXPECT_TRUE(differs);
}

TEST(LookupRegion, Names) {
  auto r = LookupRegion(330106);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->prefecture_name, "杭州市");
  EXPECT_EQ(r->county_name, "西湖区");
  EXPECT_FALSE(LookupRegion(330100).ok());  // 市辖区 aggregate, not tabled
  EXPECT_TRUE(LookupRegion(440524).ok());   // outside Zhejiang: ranges only
  EXPECT_FALSE(LookupRegion(1000000).ok());
}

// ---------------------------------------------------------------------------
// Property: generated ids are valid, and every single-character substitution
// is rejected. This holds by arithmetic, not by luck: MOD 11-2 and MOD 31 use
// a prime modulus and weights that are all non-zero modulo it, so changing one
// character by a difference d (0 < |d| < modulus) changes the weighted sum by
// w*d, which is never 0 mod the prime; and replacing the check character
// itself always mismatches the recomputed one.

constexpr int kPropertyIds = 2000;

TEST(Property, GeneratedCitizenIdsValidAndSubstitutionsRejected) {
  SubjectIdGenerator gen(20261126);
  const std::string alphabet = "0123456789X";
  int rejected = 0;
  for (int n = 0; n < kPropertyIds; ++n) {
    std::string id = gen.NextCitizenId();
    auto parsed = ParseSubjectId(id, Now());
    ASSERT_TRUE(parsed.ok()) << id << ": " << parsed.status();
    ASSERT_EQ(parsed->kind(), SubjectKind::kCitizen) << id;
    ASSERT_EQ(parsed->id(), id);
    for (int pos = 0; pos < kSubjectIdLength; ++pos) {
      for (char c : alphabet) {
        if (c == id[pos]) continue;
        std::string bad = id;
        bad[pos] = c;
        ASSERT_FALSE(ParseCitizenId(bad, Now()).ok())
            << id << " -> " << bad << " accepted";
        ++rejected;
      }
    }
  }
  EXPECT_EQ(rejected, kPropertyIds * kSubjectIdLength * 10);
}

TEST(Property, GeneratedCreditCodesValidAndSubstitutionsRejected) {
  SubjectIdGenerator gen(32100);
  const std::string alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  int rejected = 0;
  for (int n = 0; n < kPropertyIds; ++n) {
    std::string id = gen.NextCreditCode();
    auto parsed = ParseCreditCode(id);
    ASSERT_TRUE(parsed.ok()) << id << ": " << parsed.status();
    ASSERT_EQ(parsed->id(), id);
    // Auto-detection agrees unless the code also happens to be a valid
    // citizen id (possible only when it is all digits; citizen wins then).
    auto detected = ParseSubjectId(id, Now());
    ASSERT_TRUE(detected.ok()) << id << ": " << detected.status();
    if (!ParseCitizenId(id, Now()).ok()) {
      ASSERT_EQ(detected->kind(), SubjectKind::kLegalPerson) << id;
    }
    for (int pos = 0; pos < kSubjectIdLength; ++pos) {
      for (char c : alphabet) {
        if (c == id[pos]) continue;
        std::string bad = id;
        bad[pos] = c;
        ASSERT_FALSE(ParseCreditCode(bad).ok())
            << id << " -> " << bad << " accepted";
        ++rejected;
      }
    }
  }
  EXPECT_EQ(rejected, kPropertyIds * kSubjectIdLength * 30);
}

// Robustness: arbitrary bytes (mostly near-valid ids with random edits)
// never crash, only ever yield OK or InvalidArgument, and an accepted id is a
// fixed point of normalisation.
TEST(Property, ArbitraryInputIsRejectedCleanlyOrNormalisedStably) {
  SubjectIdGenerator gen(99);
  std::mt19937_64 rng(12345);
  static constexpr char kAscii[] =
      "0123456789XxABCDEFGHIJKLMNOPQRSTUVWXYZaoz -\t\n\0";
  const std::string bytes =
      std::string(kAscii, sizeof(kAscii) - 1) + "\xEF\xBC\x90\xC3\xA9\xFF";
  int accepted = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string id = n % 2 == 0 ? gen.NextCitizenId() : gen.NextCreditCode();
    int edits = static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = id.empty() ? 0 : rng() % (id.size() + 1);
      char c = bytes[rng() % bytes.size()];
      switch (rng() % 3) {
        case 0:  // replace
          if (pos < id.size()) id[pos] = c;
          break;
        case 1:  // insert
          id.insert(id.begin() + pos, c);
          break;
        default:  // delete
          if (pos < id.size()) id.erase(pos, 1);
      }
    }
    auto parsed = ParseSubjectId(id, Now());
    if (!parsed.ok()) {
      ASSERT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
      ASSERT_FALSE(parsed.status().message().empty());
      continue;
    }
    ++accepted;
    std::string normalised(parsed->id());
    auto again = ParseSubjectId(normalised, Now());
    ASSERT_TRUE(again.ok()) << normalised;
    ASSERT_EQ(again->id(), normalised);
    ASSERT_EQ(again->kind(), parsed->kind());
  }
  // Unedited ids (a quarter of the inputs) are all accepted.
  EXPECT_GT(accepted, 20000 / 4 - 500);
}

}  // namespace
}  // namespace datarun::subject
