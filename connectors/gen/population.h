// The synthetic population behind `datarun gen`: citizens grouped into
// households (with kinship, marriages, deaths), companies and social
// organisations with legal representatives, village agents with their
// delegators. Every department's records are projections of this one model,
// which is what makes them consistent with each other.
//
// Built once by BuildPopulation (sequential, one seeded std::mt19937_64, so
// the same seed gives the same population on every platform); then read by
// the record emitters (generator.h), possibly from several threads.
//
// Thread-safety: immutable after BuildPopulation returns; safe to read from
// any thread.
#ifndef DATARUN_CONNECTORS_GEN_POPULATION_H_
#define DATARUN_CONNECTORS_GEN_POPULATION_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace datarun::gen {

inline constexpr int32_t kNone = -1;

// Relation of a member to the head of their household (mirrors the
// RelationToHead proto enum values used by household registration).
enum class Relation : uint8_t {
  kSelf = 1,
  kSpouse = 2,
  kChild = 3,
  kParent = 4
};

struct Person {
  std::array<char, 18> id{};
  std::string name;
  absl::CivilDay birth;
  bool male = false;
  int32_t county = 0;  // GB/T 2260 county code, also the id's region
  int32_t household = kNone;
  Relation relation = Relation::kSelf;
  int32_t father = kNone;  // person index, within the same household
  int32_t mother = kNone;
  int32_t spouse = kNone;
  absl::CivilDay married_on;  // meaningful when spouse != kNone
  int32_t employer = kNone;   // company index (an enterprise)
  int32_t agent = kNone;      // village agent holding this person's delegation
  bool dead = false;
  absl::CivilDay death_day;  // meaningful when dead

  absl::string_view id_view() const { return {id.data(), id.size()}; }
};

struct Household {
  std::string number;  // 户号, unique
  int32_t head = kNone;
  int32_t first_member = 0;  // members are persons [first_member, +count)
  int32_t member_count = 0;
  int32_t county = 0;
  std::string street;  // township/street office
  std::string detail;  // road, number, room
  bool low_income = false;
};

struct Company {
  std::string id;  // unified social credit code
  std::string name;
  bool social_organization = false;  // registered by civil affairs ('5')
  int32_t county = 0;
  int32_t legal_representative = kNone;  // person index, alive adult
  absl::CivilDay established;
};

// A Zhejiang county-level division with the names used in addresses.
struct County {
  int32_t code = 0;
  absl::string_view city;      // e.g. 杭州市
  absl::string_view district;  // e.g. 西湖区
  char plate_letter = 'A';     // 浙A = 杭州, 浙B = 宁波, ...
};

struct Population {
  uint64_t seed = 0;
  // The instant the data set describes ("now" of the synthetic world),
  // derived from the seed; no record's event time is later.
  absl::Time as_of;
  absl::CivilDay as_of_day;
  std::vector<Person> people;
  std::vector<Household> households;
  std::vector<Company> companies;
  std::vector<County> counties;

  const County& CountyOf(int32_t code) const;
  // Whole years of age at `day`.
  static int AgeAt(const Person& p, absl::CivilDay day);
  int Age(const Person& p) const { return AgeAt(p, as_of_day); }
};

struct PopulationOptions {
  int64_t citizens = 1000;
  int64_t companies = 100;
  uint64_t seed = 1;
  // The synthetic "now" the population is generated as of (ages, validity
  // periods of delegations and consents, event times). Unset: a day in the
  // second half of 2025 chosen by the seed, so that old outputs stay
  // byte-identical. Demos set it to today so that delegations and consents
  // are live when the exchange checks them against the real clock.
  std::optional<absl::CivilDay> as_of_day;
};

// Errors: InvalidArgument for negative counts or a population too large for
// the id/plate spaces (more than 20 million citizens).
absl::StatusOr<Population> BuildPopulation(const PopulationOptions& options);

// The Zhejiang counties from the subject-id region table (LookupRegion),
// in code order.
std::vector<County> ZhejiangCounties();

}  // namespace datarun::gen

#endif  // DATARUN_CONNECTORS_GEN_POPULATION_H_
