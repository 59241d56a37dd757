// Records about people and their civil status: public security (household,
// residence, id card, criminal status, kinship, vehicles, licences), civil
// affairs (marriage, assistance, cremation), health commission (births,
// deaths).
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/gen/emitter.h"
#include "connectors/gen/vehicle_ids.h"

namespace datarun::gen::internal {

void Emitter::Citizen(int32_t index) {
  const Person& p = P(index);
  rng_ = Rng::ForItem(pop_.seed, kPersonStream, static_cast<uint64_t>(index));
  subject_.assign(p.id.data(), p.id.size());
  dead_ = p.dead;
  died_at_ = dead_ ? DiedAt(p, index) : absl::InfinitePast();
  end_day_ = dead_ ? p.death_day : pop_.as_of_day;
  age_ = Population::AgeAt(p, end_day_);
  convicted_ = age_ >= 18 && rng_.Chance(5);
  if (convicted_) {
    conviction_day_ = DayBetween(rng_, AddYears(p.birth, 18), end_day_ - 1);
  }
  disabled_ = rng_.Chance(20);
  low_income_ = pop_.households[p.household].low_income;

  HouseholdRecord(index);
  PublicSecurity(index);
  KinshipRecords(index);
  Vehicles(index);
  CivilAffairs(index);
  Labour(index);
  Health(index);
  RealEstate(index);
  Disability(index);
  Roles(index);
  TaxEducationCredit(index);
  Births(index);
  Courts(index);
  Consents(index);
}

void Emitter::HouseholdRecord(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  const Person& head = P(hh.head);
  dp::HouseholdRegistration& m = household_;
  m.Clear();
  m.set_household_number(hh.number);
  SetAddress(m.mutable_address(), hh.county, hh.street, hh.detail);
  SetSubject(m.mutable_head(), head.id_view(), false);
  m.set_relation_to_head(static_cast<dp::RelationToHead>(p.relation));
  m.set_name(p.name);
  m.set_gender(p.male ? dp::GENDER_MALE : dp::GENDER_FEMALE);
  m.set_ethnicity_code(std::string(Pick(rng_, kEthnicities)));
  SetDate(m.mutable_birth_date(), p.birth);
  m.set_hukou_type(rng_.Chance(300) ? dp::HUKOU_TYPE_AGRICULTURAL
                                    : dp::HUKOU_TYPE_RESIDENT);
  absl::CivilDay since = p.birth;
  if (p.relation == Relation::kSpouse) since = p.married_on;
  if (p.relation == Relation::kParent || p.relation == Relation::kSelf) {
    since = std::max(
        p.birth, DayBetween(rng_, absl::CivilDay(1990, 1, 1), end_day_ - 1));
  }
  SetDate(m.mutable_registered_since(), std::min(since, end_day_));
  const County& c = pop_.CountyOf(hh.county);
  m.set_police_station(absl::StrCat(c.city, "公安局", c.district, "分局",
                                    hh.street.substr(0, hh.street.size() - 6),
                                    "派出所"));
  m.set_active(!dead_);
  // A death cancels the registration a few days later (版本 2).
  if (dead_) {
    Emit(kHouseholdRegistration, m, "", died_at_ + absl::Hours(24 * 5), 2);
  } else {
    Emit(kHouseholdRegistration, m, "", EventTime());
  }
}

void Emitter::PublicSecurity(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  const County& home = pop_.CountyOf(hh.county);
  // Living away from the registered address.
  if (!dead_ && age_ >= 18 && rng_.Chance(150)) {
    const County& there = pop_.counties[rng_.Uniform(pop_.counties.size())];
    dp::ResidentPopulation& m = resident_;
    m.Clear();
    SetAddress(m.mutable_residence_address(), there.code, "城中街道",
               absl::StrFormat("幸福路%d号%d室", rng_.Between(1, 300),
                               rng_.Between(101, 1802)));
    absl::CivilDay reg = DayBetween(
        rng_, std::max(AddYears(p.birth, 18), absl::CivilDay(2015, 1, 1)),
        end_day_ - 1);
    SetDate(m.mutable_registered_on(), reg);
    bool permit = rng_.Chance(600);
    m.set_status(permit ? dp::RESIDENCE_STATUS_PERMIT_HOLDER
                        : dp::RESIDENCE_STATUS_REGISTERED);
    if (permit) {
      m.set_residence_permit_number(absl::StrFormat("%06d%s%04d", there.code,
                                                    subject_.substr(6, 8),
                                                    rng_.Between(0, 9999)));
      SetDate(m.mutable_permit_validity()->mutable_start(), reg);
      SetDate(m.mutable_permit_validity()->mutable_end(), AddYears(reg, 1));
    }
    m.set_reason(p.employer != kNone ? "务工" : "投靠亲友");
    if (p.employer != kNone) m.set_workplace(pop_.companies[p.employer].name);
    Emit(kResidentPopulation, m, "", EventTime());
  }
  if (age_ >= 16) {
    dp::IdCard& m = id_card_;
    m.Clear();
    m.set_name(p.name);
    m.set_gender(p.male ? dp::GENDER_MALE : dp::GENDER_FEMALE);
    m.set_ethnicity_code("01");
    SetDate(m.mutable_birth_date(), p.birth);
    m.set_card_address(
        absl::StrCat("浙江省", home.city, home.district, hh.street, hh.detail));
    m.set_issuing_authority(
        absl::StrCat(home.city, "公安局", home.district, "分局"));
    int years = age_ < 26 ? 10 : age_ < 46 ? 20 : 0;
    absl::CivilDay start =
        DayBetween(rng_,
                   std::max(AddYears(p.birth, 16),
                            AddYears(end_day_, -(years ? years : 15))),
                   end_day_ - 1);
    dp::Validity* v = m.mutable_validity();
    SetDate(v->mutable_start(), start);
    if (years) {
      SetDate(v->mutable_end(), AddYears(start, years));
    } else {
      v->set_long_term(true);
    }
    Emit(kIdCard, m, "", EventTime());
  }
  {
    dp::CriminalRecordStatus& m = criminal_;
    m.Clear();
    if (convicted_) {
      m.set_has_criminal_record(true);
      m.set_conviction_count(1 + static_cast<int32_t>(rng_.Uniform(2)));
      SetDate(m.mutable_last_conviction_date(), conviction_day_);
    }
    absl::Time t = EventTime();
    SetTime(m.mutable_checked_at(), t);
    Emit(kCriminalRecordStatus, m, "", t);
  }
}

void Emitter::Kin(const Person& relative, dp::KinshipType type,
                  absl::string_view evidence, absl::CivilDay since) {
  dp::Kinship& m = kinship_;
  m.Clear();
  SetSubject(m.mutable_relative(), relative.id_view(), false);
  m.set_type(type);
  m.set_relative_name(relative.name);
  m.set_evidence(std::string(evidence));
  SetDate(m.mutable_since(), since);
  key_.assign(relative.id.data(), relative.id.size());
  Emit(kKinship, m, key_, EventTime());
}

void Emitter::KinshipRecords(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  auto is_parent_of = [](const Person& child, int32_t parent) {
    return parent != kNone &&
           (child.father == parent || child.mother == parent);
  };
  if (p.father != kNone) {
    Kin(P(p.father), dp::KINSHIP_TYPE_PARENT, "户籍", p.birth);
  }
  if (p.mother != kNone) {
    Kin(P(p.mother), dp::KINSHIP_TYPE_PARENT, "出生医学证明", p.birth);
  }
  if (p.spouse != kNone) {
    Kin(P(p.spouse), dp::KINSHIP_TYPE_SPOUSE, "婚姻登记", p.married_on);
  }
  // All family links live within one household (see population.cc).
  const int32_t end = hh.first_member + hh.member_count;
  for (int32_t m = hh.first_member; m < end; ++m) {
    if (m == index) continue;
    const Person& o = P(m);
    if (is_parent_of(o, index)) {
      Kin(o, dp::KINSHIP_TYPE_CHILD, "户籍", o.birth);
      continue;
    }
    // Siblings: the same known father and mother.
    if (p.father != kNone && p.mother != kNone && o.father == p.father &&
        o.mother == p.mother) {
      Kin(o, dp::KINSHIP_TYPE_SIBLING, "户籍", std::max(o.birth, p.birth));
      continue;
    }
    // Grandparents: a parent of one of my parents.
    if ((p.father != kNone && is_parent_of(P(p.father), m)) ||
        (p.mother != kNone && is_parent_of(P(p.mother), m))) {
      Kin(o, dp::KINSHIP_TYPE_GRANDPARENT, "户籍", p.birth);
      continue;
    }
    // Grandchildren: a child of one of my children.
    if ((o.father != kNone && is_parent_of(P(o.father), index)) ||
        (o.mother != kNone && is_parent_of(P(o.mother), index))) {
      Kin(o, dp::KINSHIP_TYPE_GRANDCHILD, "户籍", o.birth);
    }
  }
}

void Emitter::Vehicles(int32_t index) {
  const Person& p = P(index);
  const bool owner = age_ >= 18 && rng_.Chance(300);
  if (owner) {
    const County& c = pop_.CountyOf(pop_.households[p.household].county);
    int count = rng_.Chance(150) ? 2 : 1;
    for (int k = 0; k < count; ++k) {
      uint64_t serial = static_cast<uint64_t>(index) * 2 + k;
      dp::VehicleRegistration& m = vehicle_;
      m.Clear();
      m.set_plate_number(ZhejiangPlate(c.plate_letter, serial));
      absl::CivilDay reg = DayBetween(
          rng_, std::max(AddYears(p.birth, 18), absl::CivilDay(2005, 1, 1)),
          end_day_ - 1);
      m.set_vin(MakeVin(serial, static_cast<int>(reg.year())));
      uint64_t model = rng_.Uniform(std::size(kModels));
      m.set_model(std::string(kModels[model]));
      bool electric = model >= 6;
      m.set_vehicle_type(electric ? dp::VEHICLE_TYPE_NEW_ENERGY
                                  : dp::VEHICLE_TYPE_SMALL_CAR);
      m.set_colour(std::string(Pick(rng_, kColours)));
      SetDate(m.mutable_registration_date(), reg);
      m.set_status(dead_              ? dp::VEHICLE_STATUS_NORMAL
                   : rng_.Chance(100) ? dp::VEHICLE_STATUS_MORTGAGED
                                      : dp::VEHICLE_STATUS_NORMAL);
      absl::CivilDay due = AddYears(reg, 6);
      while (due < end_day_) due = AddYears(due, 2);
      SetDate(m.mutable_inspection_due(), due);
      m.set_engine_number(absl::StrFormat("%c%07d",
                                          'A' + static_cast<int>(serial % 26),
                                          static_cast<int>(serial % 10000000)));
      m.set_displacement_ml(
          electric ? 0 : 1400 + 100 * static_cast<int>(rng_.Uniform(8)));
      Emit(kVehicleRegistration, m, m.plate_number(), EventTime());
    }
  }
  if (age_ < 18 || (!owner && !rng_.Chance(150))) return;
  dp::DrivingLicence& m = licence_;
  m.Clear();
  m.set_licence_number(subject_);
  m.add_permitted_classes(rng_.Chance(100) ? "B2" : "C1");
  absl::CivilDay first = DayBetween(
      rng_, std::max(AddYears(p.birth, 18), absl::CivilDay(1995, 1, 1)),
      end_day_ - 1);
  SetDate(m.mutable_first_issued(), first);
  absl::CivilDay start = first;
  while (AddYears(start, 10) < end_day_) start = AddYears(start, 10);
  SetDate(m.mutable_validity()->mutable_start(), start);
  SetDate(m.mutable_validity()->mutable_end(), AddYears(start, 10));
  m.set_status(dp::LICENCE_STATUS_VALID);
  m.set_penalty_points(static_cast<int32_t>(rng_.Uniform(4)) * 3 % 13);
  Emit(kDrivingLicence, m, "", EventTime());
}

void Emitter::CivilAffairs(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  const County& home = pop_.CountyOf(hh.county);
  if (p.spouse != kNone) {
    const Person& s = P(p.spouse);
    dp::MarriageRegistration& m = marriage_;
    m.Clear();
    bool widowed = s.dead && s.death_day < end_day_;
    m.set_status(widowed ? dp::MARITAL_STATUS_WIDOWED
                         : dp::MARITAL_STATUS_MARRIED);
    m.set_act(dp::MARRIAGE_ACT_MARRIAGE);
    SetSubject(m.mutable_spouse(), s.id_view(), false);
    m.set_spouse_name(s.name);
    // Both spouses derive the same number from the pair.
    int32_t pair = std::min(index, p.spouse);
    m.set_certificate_number(absl::StrFormat(
        "J%06d-%04d-%06d", hh.county, static_cast<int>(p.married_on.year()),
        static_cast<int>(SplitMix64(pop_.seed ^ static_cast<uint64_t>(pair)) %
                         1000000)));
    SetDate(m.mutable_registration_date(), p.married_on);
    m.set_registry_office(absl::StrCat(home.district, "民政局婚姻登记处"));
    Emit(kMarriageRegistration, m, "", EventTime());
  }
  if (low_income_ && !dead_) {
    int alive = 0;
    for (int32_t i = hh.first_member; i < hh.first_member + hh.member_count;
         ++i) {
      if (!P(i).dead) ++alive;
    }
    Rng hrng = Rng::ForItem(pop_.seed, kHouseholdStream, p.household);
    dp::LowIncomeAssistance& m = low_income_msg_;
    m.Clear();
    m.set_case_number(absl::StrCat("DB", hh.number));
    m.set_active(true);
    m.set_monthly_amount_fen(int64_t{113500} * alive);
    m.set_household_size(alive);
    SetDate(m.mutable_start_date(),
            DayBetween(hrng, absl::CivilDay(2018, 1, 1), pop_.as_of_day - 30));
    m.set_approving_office(absl::StrCat(home.district, "民政局"));
    m.set_region_code(absl::StrFormat("%06d", hh.county));
    Emit(kLowIncomeAssistance, m, "", EventTime());
  }
  if (!dead_ && age_ >= 65 && hh.member_count == 1 && rng_.Chance(150)) {
    dp::ExtremePovertySupport& m = poverty_;
    m.Clear();
    m.set_certificate_number(absl::StrFormat("TK%06d%08d", hh.county, index));
    bool centralized = rng_.Chance(300);
    m.set_form(centralized ? dp::SUPPORT_FORM_CENTRALIZED
                           : dp::SUPPORT_FORM_DISPERSED);
    m.set_monthly_amount_fen(147600);
    m.set_needs_full_care(rng_.Chance(200));
    SetDate(m.mutable_start_date(),
            DayBetween(rng_, absl::CivilDay(2015, 1, 1), end_day_ - 1));
    m.set_active(true);
    if (centralized)
      m.set_institution(absl::StrCat(home.district, "社会福利院"));
    Emit(kExtremePovertySupport, m, "", EventTime());
  }
  if (dead_) {
    dp::CremationRecord& m = cremation_;
    m.Clear();
    m.set_certificate_number(
        absl::StrFormat("HH%06d%04d%08d", hh.county,
                        static_cast<int>(p.death_day.year()), index));
    SetDate(m.mutable_death_date(), p.death_day);
    SetDate(m.mutable_cremation_date(), p.death_day + 3);
    m.set_funeral_home(absl::StrCat(home.district, "殡仪馆"));
    m.set_region_code(absl::StrFormat("%06d", hh.county));
    // A living spouse or adult household member handled the formalities.
    int32_t handler = kNone;
    if (p.spouse != kNone && AliveAt(P(p.spouse), p.death_day))
      handler = p.spouse;
    for (int32_t i = hh.first_member;
         handler == kNone && i < hh.first_member + hh.member_count; ++i) {
      if (i != index && AliveAt(P(i), p.death_day) &&
          Population::AgeAt(P(i), p.death_day) >= 18) {
        handler = i;
      }
    }
    if (handler != kNone)
      SetSubject(m.mutable_handled_by(), P(handler).id_view(), false);
    Emit(kCremationRecord, m, "", died_at_ + absl::Hours(72));
  }
}

void Emitter::Births(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  // Birth medical certificates exist since 1996.
  if (p.birth >= absl::CivilDay(1996, 1, 1)) {
    dp::BirthCertificate& m = birth_;
    m.Clear();
    const County& c = pop_.CountyOf(p.county);
    m.set_certificate_number(absl::StrFormat(
        "%c%09d", 'A' + static_cast<int>(p.birth.year() % 26), index));
    m.set_child_name(p.name);
    m.set_gender(p.male ? dp::GENDER_MALE : dp::GENDER_FEMALE);
    SetTime(m.mutable_born_at(),
            DayStart(p.birth) + absl::Minutes(rng_.Uniform(1440)));
    m.set_weight_grams(2500 + static_cast<int32_t>(rng_.Uniform(1700)));
    if (p.mother != kNone)
      SetSubject(m.mutable_mother(), P(p.mother).id_view(), false);
    if (p.father != kNone)
      SetSubject(m.mutable_father(), P(p.father).id_view(), false);
    m.set_birth_institution(absl::StrCat(c.district, "妇幼保健院"));
    m.set_region_code(absl::StrFormat("%06d", p.county));
    Emit(kBirthCertificate, m, "", EventTime());
  }
  if (dead_) {
    dp::DeathMedicalCertificate& m = death_;
    m.Clear();
    const County& c = pop_.CountyOf(hh.county);
    m.set_certificate_number(
        absl::StrFormat("SW%06d%04d%08d", hh.county,
                        static_cast<int>(p.death_day.year()), index));
    SetTime(m.mutable_died_at(), died_at_);
    bool hospital = rng_.Chance(700);
    m.set_place(hospital ? "医疗卫生机构" : "家中");
    m.set_cause(rng_.Chance(900) ? dp::DEATH_CAUSE_DISEASE
                                 : dp::DEATH_CAUSE_INJURY);
    m.set_icd10_code(std::string(Pick(rng_, kIcd10)));
    m.set_institution(absl::StrCat(c.district, "人民医院"));
    Emit(kDeathMedicalCertificate, m, "", died_at_ + absl::Hours(2));
  }
}

}  // namespace datarun::gen::internal
