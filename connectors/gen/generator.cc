#include "connectors/gen/generator.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/gen/rng.h"
#include "connectors/gen/vehicle_ids.h"
#include "google/protobuf/timestamp.pb.h"
#include "proto/datarun/v1/departments/big_data_bureau.pb.h"
#include "proto/datarun/v1/departments/civil_affairs.pb.h"
#include "proto/datarun/v1/departments/courts.pb.h"
#include "proto/datarun/v1/departments/credit.pb.h"
#include "proto/datarun/v1/departments/disabled_persons_federation.pb.h"
#include "proto/datarun/v1/departments/education.pb.h"
#include "proto/datarun/v1/departments/health_commission.pb.h"
#include "proto/datarun/v1/departments/healthcare_security.pb.h"
#include "proto/datarun/v1/departments/housing_fund.pb.h"
#include "proto/datarun/v1/departments/human_resources_social_security.pb.h"
#include "proto/datarun/v1/departments/market_regulation.pb.h"
#include "proto/datarun/v1/departments/natural_resources.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"
#include "proto/datarun/v1/departments/taxation.pb.h"

namespace datarun::gen {
namespace {

namespace dp = ::datarun::v1::departments;

// Class indexes, in DataClasses() order.
enum ClassIndex : int {
  kHouseholdRegistration,
  kResidentPopulation,
  kIdCard,
  kCriminalRecordStatus,
  kKinship,
  kVehicleRegistration,
  kDrivingLicence,
  kMarriageRegistration,
  kLowIncomeAssistance,
  kExtremePovertySupport,
  kCremationRecord,
  kSocialOrganizationRegistration,
  kSocialInsuranceContribution,
  kPensionInsurance,
  kUnemploymentInsurance,
  kEmploymentRegistration,
  kProfessionalQualification,
  kMedicalInsurance,
  kMedicalAssistance,
  kRealEstateTitle,
  kRealEstateMortgage,
  kHousingFundAccount,
  kHousingFundLoan,
  kDisabilityCertificate,
  kDisabilitySubsidy,
  kMarketEntityRegistration,
  kEntityRoleHolding,
  kAbnormalOperationListing,
  kTaxStatus,
  kIndividualIncomeTax,
  kEducationRecord,
  kSchoolEnrolment,
  kCreditRecord,
  kEnterpriseCreditRating,
  kBirthCertificate,
  kDeathMedicalCertificate,
  kCourtJudgment,
  kDishonestJudgmentDebtor,
  kConsentGrant,
  kDelegation,
  kClassCount,
};

// Independent random streams per kind of item.
enum Stream : uint64_t { kPersonStream = 1, kHouseholdStream, kCompanyStream };

constexpr absl::string_view kEthnicities[] = {"01", "01", "01", "01", "01",
                                              "01", "01", "01", "03", "18"};
constexpr absl::string_view kColours[] = {"白", "黑", "银", "灰", "红", "蓝"};
constexpr absl::string_view kModels[] = {
    "大众牌SVW7141BRD",   "丰田牌GTM7200E",       "吉利牌MR7153A01",
    "比亚迪牌QCJ7152ST6", "本田牌HG7150AAC6",     "别克牌SGM7151DAA1",
    "长安牌SC7164CDA6",   "特斯拉牌TSL7000BEVAR1"};
constexpr absl::string_view kOccupations[] = {
    "电工",       "育婴员", "中式烹调师",
    "汽车维修工", "保育员", "企业人力资源管理师",
    "焊工"};
constexpr absl::string_view kSchools[] = {
    "浙江大学",     "浙江工业大学", "杭州电子科技大学", "宁波大学",
    "温州医科大学", "浙江师范大学", "浙江理工大学",     "中国计量大学"};
constexpr absl::string_view kMajors[] = {
    "计算机科学与技术", "临床医学", "会计学", "机械工程", "法学",
    "汉语言文学",       "土木工程"};
constexpr absl::string_view kCrimes[] = {"盗窃罪", "危险驾驶罪", "诈骗罪",
                                         "故意伤害罪", "开设赌场罪"};
constexpr absl::string_view kCivilCauses[] = {"民间借贷纠纷", "买卖合同纠纷",
                                              "离婚纠纷", "劳动争议",
                                              "机动车交通事故责任纠纷"};
constexpr absl::string_view kIcd10[] = {"I21.9", "C34.9", "I64",
                                        "J44.9", "E14.9", "V89.2"};
constexpr absl::string_view kBanks[] = {"中国工商银行", "中国建设银行",
                                        "中国农业银行", "中国银行",
                                        "杭州银行",     "宁波银行"};

struct ProxyMatter {
  absl::string_view id;
  absl::string_view department;
  absl::string_view classes[7];
};
// Catalog matters (zhejiang.textproto) with their owning department and
// data classes; the first three allow proxies.
constexpr ProxyMatter kMatters[] = {
    {"urban_rural_pension_registration",
     "human_resources_social_security",
     {"household_registration", "social_insurance_contribution",
      "pension_insurance", "low_income_assistance", "disability_certificate"}},
    {"low_income_assistance_application",
     "civil_affairs",
     {"household_registration", "kinship", "vehicle_registration",
      "real_estate_title", "housing_fund_account",
      "social_insurance_contribution", "entity_role_holding"}},
    {"disability_subsidy_application",
     "disabled_persons_federation",
     {"household_registration", "disability_certificate",
      "low_income_assistance"}},
    {"real_estate_transfer_registration",
     "natural_resources",
     {"household_registration", "marriage_registration", "real_estate_title",
      "real_estate_mortgage", "tax_status", "individual_income_tax"}},
    {"court_case_filing",
     "courts",
     {"household_registration", "resident_population", "vehicle_registration",
      "real_estate_title"}},
};

template <typename T, size_t N>
const T& Pick(Rng& rng, const T (&table)[N]) {
  return table[rng.Uniform(N)];
}

absl::CivilDay DayBetween(Rng& rng, absl::CivilDay lo, absl::CivilDay hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int64_t>(rng.Uniform(hi - lo + 1));
}

absl::CivilDay AddYears(absl::CivilDay d, int years) {
  return absl::CivilDay(d.year() + years, d.month(), d.day());
}

void SetDate(dp::Date* out, absl::CivilDay d) {
  out->set_year(static_cast<int32_t>(d.year()));
  out->set_month(d.month());
  out->set_day(d.day());
}

void SetTime(google::protobuf::Timestamp* out, absl::Time t) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

absl::Time DayStart(absl::CivilDay d) {
  return absl::FromCivil(absl::CivilSecond(d), absl::UTCTimeZone());
}

void SetSubject(v1::Subject* out, absl::string_view id, bool legal_person) {
  out->set_kind(legal_person ? v1::SUBJECT_KIND_LEGAL_PERSON
                             : v1::SUBJECT_KIND_CITIZEN);
  out->set_id(std::string(id));
}

// Produces the records of one person or company into the sink, reusing one
// message per payload type to avoid allocations per record.
class Emitter {
 public:
  Emitter(const Generator& gen, RecordSink& sink)
      : gen_(gen), pop_(gen.population()), sink_(sink) {}

  void Citizen(int32_t index);
  void CompanyRecords(int32_t index);

 private:
  // Household-level facts both owners derive identically.
  struct Property {
    bool exists = false;
    std::string title_number;
    int32_t owners[2] = {kNone, kNone};
    int32_t shares[2] = {10000, 0};
    absl::CivilDay registered;
    int64_t area_centi_sqm = 0;
    bool mortgaged = false;
    std::string mortgage_number;
    int64_t mortgage_fen = 0;
    absl::string_view bank;
  };
  Property HouseholdProperty(int32_t household) const;

  void Emit(int class_index, const google::protobuf::Message& payload,
            absl::string_view record_key, absl::Time event_time,
            uint64_t version = 1) {
    GeneratedRecord r;
    r.class_index = class_index;
    r.subject_id = subject_;
    r.record_key = record_key;
    r.source_version = version;
    r.event_time = event_time;
    r.payload = &payload;
    sink_.Add(r);
  }

  // Event time of an ordinary record about the current person: within the
  // last 30 days before the as-of instant, or before the death.
  absl::Time EventTime() {
    if (dead_) return died_at_ - absl::Seconds(rng_.Between(3600, 86400 * 90));
    return pop_.as_of - absl::Seconds(rng_.Between(0, 86400 * 30));
  }

  void SetAddress(dp::Address* out, int32_t county_code,
                  absl::string_view street, absl::string_view detail) const {
    const County& c = pop_.CountyOf(county_code);
    out->set_region_code(absl::StrFormat("%06d", c.code));
    out->set_province("浙江省");
    out->set_city(std::string(c.city));
    out->set_district(std::string(c.district));
    out->set_township(std::string(street));
    out->set_detail(std::string(detail));
  }

  const Person& P(int32_t i) const { return pop_.people[i]; }
  bool AliveAt(const Person& p, absl::CivilDay d) const {
    return !p.dead || p.death_day > d;
  }

  void HouseholdRecord(int32_t index);
  void PublicSecurity(int32_t index);
  void KinshipRecords(int32_t index);
  void Vehicles(int32_t index);
  void CivilAffairs(int32_t index);
  void Labour(int32_t index);
  void Health(int32_t index);
  void RealEstate(int32_t index);
  void Disability(int32_t index);
  void Roles(int32_t index);
  void TaxEducationCredit(int32_t index);
  void Births(int32_t index);
  void Courts(int32_t index);
  void Consents(int32_t index);
  void Kin(const Person& relative, dp::KinshipType type,
           absl::string_view evidence, absl::CivilDay since);

  const Generator& gen_;
  const Population& pop_;
  RecordSink& sink_;
  Rng rng_{0};

  // Current subject.
  std::string subject_;
  std::string key_;
  bool dead_ = false;
  absl::Time died_at_;
  absl::CivilDay end_day_;  // death day or as-of day
  int age_ = 0;             // at end_day_
  bool convicted_ = false;
  absl::CivilDay conviction_day_;
  bool disabled_ = false;
  bool low_income_ = false;

  dp::HouseholdRegistration household_;
  dp::ResidentPopulation resident_;
  dp::IdCard id_card_;
  dp::CriminalRecordStatus criminal_;
  dp::Kinship kinship_;
  dp::VehicleRegistration vehicle_;
  dp::DrivingLicence licence_;
  dp::MarriageRegistration marriage_;
  dp::LowIncomeAssistance low_income_msg_;
  dp::ExtremePovertySupport poverty_;
  dp::CremationRecord cremation_;
  dp::SocialOrganizationRegistration social_org_;
  dp::SocialInsuranceContribution contribution_;
  dp::PensionInsurance pension_;
  dp::UnemploymentInsurance unemployment_;
  dp::EmploymentRegistration employment_;
  dp::ProfessionalQualification qualification_;
  dp::MedicalInsurance medical_;
  dp::MedicalAssistance medical_assistance_;
  dp::RealEstateTitle title_;
  dp::RealEstateMortgage mortgage_;
  dp::HousingFundAccount fund_account_;
  dp::HousingFundLoan fund_loan_;
  dp::DisabilityCertificate disability_;
  dp::DisabilitySubsidy disability_subsidy_;
  dp::MarketEntityRegistration entity_;
  dp::EntityRoleHolding role_;
  dp::AbnormalOperationListing abnormal_;
  dp::TaxStatus tax_status_;
  dp::IndividualIncomeTax income_tax_;
  dp::EducationRecord education_;
  dp::SchoolEnrolment school_;
  dp::CreditRecord credit_;
  dp::EnterpriseCreditRating enterprise_credit_;
  dp::BirthCertificate birth_;
  dp::DeathMedicalCertificate death_;
  dp::CourtJudgment judgment_;
  dp::DishonestJudgmentDebtor debtor_;
  dp::ConsentGrant consent_;
  dp::Delegation delegation_;
};

absl::Time DiedAt(const Person& p, int32_t index) {
  return DayStart(p.death_day) +
         absl::Hours(static_cast<int64_t>(SplitMix64(index) % 24));
}

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

void Emitter::Labour(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  const std::string region = absl::StrFormat("%06d", hh.county);
  const bool employed = p.employer != kNone;
  const Company* employer = employed ? &pop_.companies[p.employer] : nullptr;
  if (age_ >= 18 && age_ < 60 && (employed || rng_.Chance(500))) {
    dp::SocialInsuranceContribution& m = contribution_;
    m.Clear();
    m.set_scheme(employed ? dp::INSURANCE_SCHEME_EMPLOYEE_PENSION
                          : dp::INSURANCE_SCHEME_RESIDENT_PENSION);
    m.set_status(dead_ ? dp::CONTRIBUTION_STATUS_TERMINATED
                       : dp::CONTRIBUTION_STATUS_PAYING);
    if (employed) {
      SetSubject(m.mutable_employer(), employer->id, true);
      m.set_employer_name(employer->name);
      m.set_contribution_base_fen(
          400000 + 10000 * static_cast<int64_t>(rng_.Uniform(200)));
    } else {
      m.set_contribution_base_fen(0);
    }
    absl::CivilDay first = DayBetween(
        rng_, std::max(AddYears(p.birth, 18), absl::CivilDay(1995, 1, 1)),
        end_day_ - 1);
    SetDate(m.mutable_first_contribution(), first);
    absl::CivilDay last(end_day_.year(), end_day_.month(), 1);
    last = absl::CivilDay(absl::CivilMonth(last) - 1);
    SetDate(m.mutable_last_paid_month(), std::max(first, last));
    m.set_months_contributed(
        static_cast<int32_t>(std::max<int64_t>(1, (last - first) / 30)));
    m.set_region_code(region);
    key_ = dp::InsuranceScheme_Name(m.scheme());
    Emit(kSocialInsuranceContribution, m, key_, EventTime());
    if (employed) {  // work injury insurance comes with employment
      m.set_scheme(dp::INSURANCE_SCHEME_WORK_INJURY);
      key_ = dp::InsuranceScheme_Name(m.scheme());
      Emit(kSocialInsuranceContribution, m, key_, EventTime());
    }
  }
  if (age_ >= 60) {
    dp::PensionInsurance& m = pension_;
    m.Clear();
    bool employee = rng_.Chance(550);
    m.set_scheme(employee ? dp::INSURANCE_SCHEME_EMPLOYEE_PENSION
                          : dp::INSURANCE_SCHEME_RESIDENT_PENSION);
    m.set_status(dead_ ? dp::PENSION_STATUS_TERMINATED
                       : dp::PENSION_STATUS_PAYING);
    m.set_monthly_amount_fen(
        employee ? 250000 + 1000 * static_cast<int64_t>(rng_.Uniform(300))
                 : 30000 + 1000 * static_cast<int64_t>(rng_.Uniform(30)));
    SetDate(m.mutable_start_date(), AddYears(p.birth, p.male ? 60 : 55));
    SetDate(m.mutable_last_qualification_check(),
            DayBetween(rng_, end_day_ - 365, end_day_ - 1));
    m.set_region_code(region);
    Emit(kPensionInsurance, m, "", EventTime());
  }
  if (!employed && !dead_ && age_ >= 18 && age_ < 60 && rng_.Chance(40)) {
    dp::UnemploymentInsurance& m = unemployment_;
    m.Clear();
    m.set_receiving(true);
    m.set_monthly_amount_fen(202000);
    m.set_entitled_months(12 + 6 * static_cast<int32_t>(rng_.Uniform(3)));
    m.set_paid_months(static_cast<int32_t>(rng_.Uniform(12)));
    SetDate(m.mutable_start_date(), end_day_ - 30 * (m.paid_months() + 1));
    if (!pop_.companies.empty()) {
      const Company& last = pop_.companies[rng_.Uniform(pop_.companies.size())];
      SetSubject(m.mutable_last_employer(), last.id, true);
    }
    Emit(kUnemploymentInsurance, m, "", EventTime());
    employment_.Clear();
    employment_.set_status(dp::EMPLOYMENT_STATUS_REGISTERED_UNEMPLOYED);
    employment_.set_register_number(
        absl::StrFormat("JY%06d%08d", hh.county, index));
    SetDate(employment_.mutable_since(), end_day_ - 30 * (m.paid_months() + 1));
    employment_.set_employment_difficulty(age_ >= 50);
    Emit(kEmploymentRegistration, employment_, "", EventTime());
  } else if (employed) {
    dp::EmploymentRegistration& m = employment_;
    m.Clear();
    m.set_register_number(absl::StrFormat("JY%06d%08d", hh.county, index));
    m.set_status(dp::EMPLOYMENT_STATUS_EMPLOYED);
    SetSubject(m.mutable_employer(), employer->id, true);
    m.set_employer_name(employer->name);
    SetDate(
        m.mutable_since(),
        DayBetween(rng_, std::max(employer->established, AddYears(p.birth, 18)),
                   end_day_ - 1));
    Emit(kEmploymentRegistration, m, "", EventTime());
  }
  if (age_ >= 22 && rng_.Chance(100)) {
    dp::ProfessionalQualification& m = qualification_;
    m.Clear();
    m.set_certificate_number(absl::StrFormat("S%06d%010d", hh.county, index));
    m.set_occupation(std::string(Pick(rng_, kOccupations)));
    m.set_level(1 + static_cast<int32_t>(rng_.Uniform(5)));
    SetDate(m.mutable_issued(),
            DayBetween(rng_, AddYears(p.birth, 20), end_day_ - 1));
    m.set_issuer("浙江省人力资源和社会保障厅");
    m.set_valid(true);
    Emit(kProfessionalQualification, m, m.certificate_number(), EventTime());
  }
  if (employed) {
    dp::HousingFundAccount& m = fund_account_;
    m.Clear();
    m.set_account_number(absl::StrFormat("GJJ%06d%09d", hh.county, index));
    m.set_status(dead_ ? dp::FUND_ACCOUNT_STATUS_CLOSED
                       : dp::FUND_ACCOUNT_STATUS_DEPOSITING);
    SetSubject(m.mutable_employer(), employer->id, true);
    m.set_deposit_base_fen(500000 +
                           10000 * static_cast<int64_t>(rng_.Uniform(200)));
    m.set_deposit_rate_bp(1200);
    m.set_balance_fen(static_cast<int64_t>(rng_.Uniform(30000000)));
    absl::CivilDay opened =
        DayBetween(rng_, std::max(employer->established, AddYears(p.birth, 18)),
                   end_day_ - 1);
    SetDate(m.mutable_opened(), opened);
    SetDate(m.mutable_paid_through(), std::max(opened, end_day_ - 20));
    Emit(kHousingFundAccount, m, "", EventTime());
  }
}

void Emitter::Health(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  {
    dp::MedicalInsurance& m = medical_;
    m.Clear();
    bool employed = p.employer != kNone;
    m.set_scheme(employed ? dp::MEDICAL_SCHEME_EMPLOYEE
                          : dp::MEDICAL_SCHEME_RESIDENT);
    m.set_insured(!dead_);
    m.set_card_number(absl::StrFormat("A%08d", index));
    SetDate(m.mutable_enrolled_since(),
            DayBetween(rng_, std::max(p.birth, absl::CivilDay(2000, 1, 1)),
                       end_day_ - 1));
    m.set_region_code(absl::StrFormat("%06d", hh.county));
    if (employed)
      SetSubject(m.mutable_employer(), pop_.companies[p.employer].id, true);
    m.set_personal_account_balance_fen(
        employed ? static_cast<int64_t>(rng_.Uniform(5000000)) : 0);
    m.set_paid_through_year(static_cast<int32_t>(end_day_.year()));
    Emit(kMedicalInsurance, m, "", EventTime());
  }
  if ((low_income_ || disabled_) && !dead_) {
    dp::MedicalAssistance& m = medical_assistance_;
    m.Clear();
    m.set_category(low_income_ ? "低保对象" : "重度残疾人");
    m.set_entitled(true);
    m.set_annual_cap_fen(low_income_ ? 10000000 : 5000000);
    m.set_paid_this_year_fen(
        static_cast<int64_t>(rng_.Uniform(m.annual_cap_fen())));
    SetDate(m.mutable_since(),
            DayBetween(rng_, absl::CivilDay(2018, 1, 1), end_day_ - 1));
    Emit(kMedicalAssistance, m, "", EventTime());
  }
}

Emitter::Property Emitter::HouseholdProperty(int32_t household) const {
  Property prop;
  const Household& hh = pop_.households[household];
  Rng hrng = Rng::ForItem(pop_.seed, kHouseholdStream, household);
  hrng.Next();  // the low-income start date draws first (CivilAffairs)
  if (!hrng.Chance(700)) return prop;
  const Person& head = P(hh.head);
  if (Population::AgeAt(head, pop_.as_of_day) < 22) return prop;
  prop.exists = true;
  prop.owners[0] = hh.head;
  absl::CivilDay lo =
      std::max(AddYears(head.birth, 22), absl::CivilDay(2000, 1, 1));
  absl::CivilDay hi = head.dead ? head.death_day - 1 : pop_.as_of_day - 30;
  if (head.spouse != kNone && hrng.Chance(800)) {
    const Person& s = P(head.spouse);
    prop.owners[1] = head.spouse;
    lo = std::max(lo, head.married_on);
    if (s.dead) hi = std::min(hi, s.death_day - 1);
    static constexpr int32_t kSplits[] = {5000, 5000, 6000, 7000, 4000};
    prop.shares[0] = kSplits[hrng.Uniform(std::size(kSplits))];
    prop.shares[1] = 10000 - prop.shares[0];
  }
  prop.registered = DayBetween(hrng, lo, hi);
  if (prop.registered > hi) prop.registered = hi;
  const County& c = pop_.CountyOf(hh.county);
  prop.title_number = absl::StrFormat("浙(%04d)%s不动产权第%08d号",
                                      static_cast<int>(prop.registered.year()),
                                      c.city, household);
  prop.area_centi_sqm = 6000 + 100 * static_cast<int64_t>(hrng.Uniform(14000));
  prop.mortgaged = hrng.Chance(350);
  if (prop.mortgaged) {
    prop.mortgage_number = absl::StrFormat(
        "浙(%04d)%s不动产证明第%08d号",
        static_cast<int>(prop.registered.year()), c.city, household);
    prop.mortgage_fen = prop.area_centi_sqm * 200 *
                        (10 + static_cast<int64_t>(hrng.Uniform(30)));
    prop.bank = Pick(hrng, kBanks);
  }
  return prop;
}

void Emitter::RealEstate(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  if (index != hh.head && (hh.head == kNone || P(hh.head).spouse != index))
    return;
  Property prop = HouseholdProperty(p.household);
  int owner = prop.owners[0] == index ? 0 : prop.owners[1] == index ? 1 : -1;
  if (!prop.exists || owner < 0) return;
  dp::RealEstateTitle& m = title_;
  m.Clear();
  m.set_title_number(prop.title_number);
  m.set_unit_number(absl::StrFormat("%06d%06d GB%05d F%08d", hh.county,
                                    p.household % 1000000,
                                    1 + p.household % 99999, p.household));
  SetAddress(m.mutable_address(), hh.county, hh.street, hh.detail);
  m.set_use(dp::PROPERTY_USE_RESIDENTIAL);
  m.set_floor_area_centi_sqm(prop.area_centi_sqm);
  const bool shared = prop.owners[1] != kNone;
  m.set_co_ownership(!shared                  ? dp::CO_OWNERSHIP_SOLE
                     : prop.shares[0] == 5000 ? dp::CO_OWNERSHIP_JOINT
                                              : dp::CO_OWNERSHIP_BY_SHARES);
  m.set_share_bp(prop.shares[owner]);
  if (shared)
    SetSubject(m.add_co_owners(), P(prop.owners[1 - owner]).id_view(), false);
  SetTime(m.mutable_registered_at(),
          DayStart(prop.registered) + absl::Hours(10));
  if (prop.mortgaged) {
    dp::Encumbrance* e = m.add_encumbrances();
    e->set_type(dp::ENCUMBRANCE_TYPE_MORTGAGE);
    e->set_holder(std::string(prop.bank));
    e->set_amount_fen(prop.mortgage_fen);
    e->set_certificate_number(prop.mortgage_number);
    SetDate(e->mutable_period()->mutable_start(), prop.registered);
    SetDate(e->mutable_period()->mutable_end(), AddYears(prop.registered, 30));
  }
  SetDate(m.mutable_land_use_until(), AddYears(prop.registered, 70));
  Emit(kRealEstateTitle, m, prop.title_number, EventTime());

  if (prop.mortgaged) {
    dp::RealEstateMortgage& mm = mortgage_;
    mm.Clear();
    mm.set_certificate_number(prop.mortgage_number);
    mm.set_title_number(prop.title_number);
    mm.set_mortgagee_name(std::string(prop.bank));
    mm.set_secured_amount_fen(prop.mortgage_fen);
    SetDate(mm.mutable_period()->mutable_start(), prop.registered);
    SetDate(mm.mutable_period()->mutable_end(), AddYears(prop.registered, 30));
    Emit(kRealEstateMortgage, mm, prop.mortgage_number, EventTime());
    if (owner == 0 && p.employer != kNone) {
      dp::HousingFundLoan& l = fund_loan_;
      l.Clear();
      l.set_contract_number(
          absl::StrFormat("GJJD%06d%08d", hh.county, p.household));
      l.set_status(dp::FUND_LOAN_STATUS_REPAYING);
      l.set_principal_fen(std::min<int64_t>(prop.mortgage_fen, 100000000));
      l.set_outstanding_fen(l.principal_fen() / 2);
      l.set_term_months(360);
      l.set_interest_rate_bp(285);
      l.set_title_number(prop.title_number);
      SetDate(l.mutable_lent_on(), prop.registered);
      if (prop.owners[1] != kNone) {
        SetSubject(l.mutable_co_borrower(), P(prop.owners[1]).id_view(), false);
      }
      Emit(kHousingFundLoan, l, l.contract_number(), EventTime());
    }
  }
}

void Emitter::Disability(int32_t index) {
  if (!disabled_) return;
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  dp::DisabilityCertificate& m = disability_;
  m.Clear();
  m.set_certificate_number(absl::StrCat(
      subject_,
      absl::StrFormat("%d%d", 1 + rng_.Uniform(7), 1 + rng_.Uniform(4))));
  m.set_category(static_cast<dp::DisabilityCategory>(1 + rng_.Uniform(7)));
  m.set_grade(1 + static_cast<int32_t>(rng_.Uniform(4)));
  absl::CivilDay start =
      DayBetween(rng_, std::max(p.birth, end_day_ - 3650), end_day_ - 1);
  SetDate(m.mutable_validity()->mutable_start(), start);
  SetDate(m.mutable_validity()->mutable_end(), AddYears(start, 10));
  m.set_region_code(absl::StrFormat("%06d", hh.county));
  m.set_valid(!dead_);
  Emit(kDisabilityCertificate, m, "", EventTime());
  if (m.grade() <= 2 || low_income_) {
    dp::DisabilitySubsidy& s = disability_subsidy_;
    s.Clear();
    s.set_living_subsidy(low_income_);
    if (low_income_) s.set_living_subsidy_fen(18000);
    s.set_nursing_subsidy(m.grade() <= 2);
    if (m.grade() <= 2) s.set_nursing_subsidy_fen(23000);
    SetDate(s.mutable_since(), start);
    Emit(kDisabilitySubsidy, s, "", EventTime());
  }
}

void Emitter::Roles(int32_t index) {
  const std::vector<int32_t>* companies = gen_.CompaniesRepresentedBy(index);
  if (companies == nullptr) return;
  for (int32_t ci : *companies) {
    const Company& c = pop_.companies[ci];
    dp::EntityRoleHolding& m = role_;
    m.Clear();
    SetSubject(m.mutable_entity(), c.id, true);
    m.set_entity_name(c.name);
    m.set_role(dp::ENTITY_ROLE_LEGAL_REPRESENTATIVE);
    SetDate(m.mutable_since(), c.established);
    key_ = absl::StrCat(c.id, "/LEGAL_REPRESENTATIVE");
    Emit(kEntityRoleHolding, m, key_, EventTime());
    if (!c.social_organization) {
      m.set_role(dp::ENTITY_ROLE_SHAREHOLDER);
      m.set_share_bp(5100 + 100 * static_cast<int32_t>(rng_.Uniform(49)));
      m.set_subscribed_capital_fen(
          100000000 * (1 + static_cast<int64_t>(rng_.Uniform(50))));
      key_ = absl::StrCat(c.id, "/SHAREHOLDER");
      Emit(kEntityRoleHolding, m, key_, EventTime());
    }
  }
}

void Emitter::TaxEducationCredit(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  if (p.employer != kNone) {
    dp::IndividualIncomeTax& m = income_tax_;
    m.Clear();
    int year = static_cast<int>(end_day_.year()) - 1;
    m.set_tax_year(year);
    int64_t income = 6000000 + 100000 * static_cast<int64_t>(rng_.Uniform(400));
    m.set_income_fen(income);
    int64_t deductions = 2400000;
    m.set_special_deductions_fen(deductions);
    int64_t taxable = std::max<int64_t>(0, income - 6000000 - deductions);
    m.set_tax_payable_fen(taxable / 10);
    m.set_tax_prepaid_fen(taxable / 10);
    SetDate(m.mutable_filed_on(), absl::CivilDay(year + 1, 3, 1) +
                                      static_cast<int64_t>(rng_.Uniform(90)));
    if (m.filed_on().year() * 10000 + m.filed_on().month() * 100 +
            m.filed_on().day() >
        end_day_.year() * 10000 + end_day_.month() * 100 + end_day_.day()) {
      m.clear_filed_on();
    }
    m.set_withholding_agents(1);
    key_ = absl::StrCat(year);
    Emit(kIndividualIncomeTax, m, key_, EventTime());
  }
  if (age_ >= 22 && rng_.Chance(350)) {
    dp::EducationRecord& m = education_;
    m.Clear();
    bool master = rng_.Chance(150);
    m.set_level(master ? dp::EDUCATION_LEVEL_MASTER
                       : dp::EDUCATION_LEVEL_BACHELOR);
    m.set_school(std::string(Pick(rng_, kSchools)));
    m.set_major(std::string(Pick(rng_, kMajors)));
    absl::CivilDay enrolled(p.birth.year() + 18, 9, 1);
    absl::CivilDay graduated(p.birth.year() + (master ? 25 : 22), 6, 30);
    SetDate(m.mutable_enrolled(), enrolled);
    SetDate(m.mutable_graduated(), graduated);
    m.set_diploma_number(absl::StrFormat(
        "1%04d%d%04d%06d", 10335 % 10000, static_cast<int>(graduated.year()),
        static_cast<int>(rng_.Uniform(10000)), index % 1000000));
    m.set_full_time(true);
    key_ = dp::EducationLevel_Name(m.level());
    Emit(kEducationRecord, m, key_, EventTime());
  }
  if (!dead_ && age_ >= 6 && age_ <= 17) {
    dp::SchoolEnrolment& m = school_;
    m.Clear();
    const County& c = pop_.CountyOf(hh.county);
    m.set_student_number(absl::StrCat("G", subject_));
    m.set_school(absl::StrCat(c.district, age_ < 12   ? "实验小学"
                                          : age_ < 15 ? "第一初级中学"
                                                      : "高级中学"));
    m.set_region_code(absl::StrFormat("%06d", hh.county));
    m.set_grade(age_ - 5);
    SetDate(m.mutable_enrolled(), absl::CivilDay(p.birth.year() + 6, 9, 1));
    m.set_active(true);
    m.set_boarding(age_ >= 15 && rng_.Chance(300));
    Emit(kSchoolEnrolment, m, "", EventTime());
  }
  if (age_ >= 18) {
    dp::CreditRecord& m = credit_;
    m.Clear();
    bool dishonest = convicted_ || rng_.Chance(10);
    m.set_score(dishonest ? 500 + static_cast<int32_t>(rng_.Uniform(150))
                          : 700 + static_cast<int32_t>(rng_.Uniform(250)));
    m.set_rating(m.score() >= 850   ? dp::CREDIT_RATING_EXCELLENT
                 : m.score() >= 700 ? dp::CREDIT_RATING_GOOD
                 : m.score() >= 600 ? dp::CREDIT_RATING_FAIR
                                    : dp::CREDIT_RATING_POOR);
    m.set_dishonesty_count(dishonest ? 1 : 0);
    m.set_commendation_count(rng_.Chance(50) ? 1 : 0);
    SetDate(m.mutable_evaluated_on(),
            end_day_ - static_cast<int64_t>(rng_.Uniform(90)) - 1);
    m.set_under_joint_punishment(dishonest && rng_.Chance(300));
    Emit(kCreditRecord, m, "", EventTime());
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

void Emitter::Courts(int32_t index) {
  const Person& p = P(index);
  const Household& hh = pop_.households[p.household];
  const County& c = pop_.CountyOf(hh.county);
  const std::string court = absl::StrCat(c.city, c.district, "人民法院");
  if (convicted_) {
    dp::CourtJudgment& m = judgment_;
    m.Clear();
    m.set_case_number(absl::StrFormat("(%04d)浙%04d刑初%d号",
                                      static_cast<int>(conviction_day_.year()),
                                      hh.county % 10000, 1 + index % 9999));
    m.set_case_type(dp::CASE_TYPE_CRIMINAL);
    m.set_role(dp::PARTY_ROLE_DEFENDANT);
    m.set_court(court);
    m.set_cause(std::string(Pick(rng_, kCrimes)));
    SetDate(m.mutable_effective_date(), conviction_day_);
    Emit(kCourtJudgment, m, m.case_number(), EventTime());
  }
  if (age_ >= 18 && rng_.Chance(15)) {
    dp::CourtJudgment& m = judgment_;
    m.Clear();
    absl::CivilDay day = DayBetween(
        rng_, std::max(AddYears(p.birth, 18), end_day_ - 3650), end_day_ - 1);
    m.set_case_number(absl::StrFormat("(%04d)浙%04d民初%d号",
                                      static_cast<int>(day.year()),
                                      hh.county % 10000, 1 + index % 19999));
    m.set_case_type(dp::CASE_TYPE_CIVIL);
    m.set_role(rng_.Chance(500) ? dp::PARTY_ROLE_PLAINTIFF
                                : dp::PARTY_ROLE_DEFENDANT);
    m.set_court(court);
    m.set_cause(std::string(Pick(rng_, kCivilCauses)));
    SetDate(m.mutable_effective_date(), day);
    m.set_amount_fen(100000 * (1 + static_cast<int64_t>(rng_.Uniform(500))));
    Emit(kCourtJudgment, m, m.case_number(), EventTime());
    if (!dead_ && m.role() == dp::PARTY_ROLE_DEFENDANT && rng_.Chance(300)) {
      dp::DishonestJudgmentDebtor& d = debtor_;
      d.Clear();
      d.set_case_number(absl::StrFormat("(%04d)浙%04d执%d号",
                                        static_cast<int>(day.year()),
                                        hh.county % 10000, 1 + index % 29999));
      d.set_court(court);
      d.set_obligation("偿还借款本金及利息");
      d.set_unperformed_fen(m.amount_fen());
      SetDate(d.mutable_published_on(), std::min(day + 180, end_day_ - 1));
      d.set_listed(true);
      d.set_consumption_restricted(true);
      Emit(kDishonestJudgmentDebtor, d, d.case_number(), EventTime());
    }
  }
}

void Emitter::Consents(int32_t index) {
  const Person& p = P(index);
  if (!dead_ && age_ >= 18 && rng_.Chance(50)) {
    const ProxyMatter& matter = Pick(rng_, kMatters);
    dp::ConsentGrant& m = consent_;
    m.Clear();
    m.set_consent_id(
        absl::StrFormat("CG-%s-%d", subject_, rng_.Uniform(1000000)));
    m.set_grantee_department(std::string(matter.department));
    m.add_matters(std::string(matter.id));
    for (absl::string_view c : matter.classes) {
      if (!c.empty()) m.add_data_classes(std::string(c));
    }
    absl::Time granted = EventTime();
    SetTime(m.mutable_granted_at(), granted);
    SetTime(m.mutable_expires_at(), granted + absl::Hours(24 * 90));
    m.set_channel(rng_.Chance(600) ? dp::CAPTURE_CHANNEL_APP
                                   : dp::CAPTURE_CHANNEL_WINDOW);
    Emit(kConsentGrant, m, m.consent_id(), granted);
  }
  if (p.agent != kNone) {
    const Person& agent = P(p.agent);
    const ProxyMatter& matter = kMatters[rng_.Uniform(3)];
    dp::Delegation& m = delegation_;
    m.Clear();
    m.set_delegation_id(
        absl::StrFormat("DL-%s-%d", subject_, rng_.Uniform(1000000)));
    SetSubject(m.mutable_agent(), agent.id_view(), false);
    m.set_agent_name(agent.name);
    m.add_matters(std::string(matter.id));
    absl::Time from = EventTime();
    SetTime(m.mutable_valid_from(), from);
    SetTime(m.mutable_valid_until(), from + absl::Hours(24 * 365));
    m.set_channel(dp::CAPTURE_CHANNEL_PAPER);
    const County& c = pop_.CountyOf(pop_.households[p.household].county);
    m.set_service_point(absl::StrCat(
        c.district, pop_.households[p.household].street, "便民服务中心"));
    Emit(kDelegation, m, m.delegation_id(), from);
  }
}

void Emitter::CompanyRecords(int32_t index) {
  const gen::Company& c = pop_.companies[index];
  rng_ = Rng::ForItem(pop_.seed, kCompanyStream, static_cast<uint64_t>(index));
  subject_ = c.id;
  dead_ = false;
  const County& county = pop_.CountyOf(c.county);
  auto event_time = [&] {
    return pop_.as_of - absl::Seconds(rng_.Between(0, 86400 * 30));
  };
  const Person* rep =
      c.legal_representative == kNone ? nullptr : &P(c.legal_representative);
  if (c.social_organization) {
    dp::SocialOrganizationRegistration& m = social_org_;
    m.Clear();
    m.set_name(c.name);
    m.set_kind(dp::SocialOrganizationRegistration::KIND_SOCIAL_GROUP);
    if (rep)
      SetSubject(m.mutable_legal_representative(), rep->id_view(), false);
    SetAddress(m.mutable_address(), c.county, "城东街道",
               absl::StrFormat("人民路%d号", rng_.Between(1, 500)));
    m.set_registered_capital_fen(3000000);
    SetDate(m.mutable_established(), c.established);
    m.set_supervising_unit(absl::StrCat(county.district, "民政局"));
    m.set_active(true);
    Emit(kSocialOrganizationRegistration, m, "", event_time());
    return;
  }
  {
    dp::MarketEntityRegistration& m = entity_;
    m.Clear();
    m.set_name(c.name);
    m.set_entity_type(absl::string_view(c.name).find("合作社") !=
                              absl::string_view::npos
                          ? dp::ENTITY_TYPE_FARMERS_COOPERATIVE
                          : dp::ENTITY_TYPE_LIMITED_LIABILITY);
    if (rep) {
      SetSubject(m.mutable_legal_representative(), rep->id_view(), false);
      m.set_legal_representative_name(rep->name);
    }
    m.set_registered_capital_fen(100000000 *
                                 (1 + static_cast<int64_t>(rng_.Uniform(100))));
    SetAddress(m.mutable_domicile(), c.county, "经济开发区",
               absl::StrFormat("创业路%d号", rng_.Between(1, 800)));
    SetDate(m.mutable_established(), c.established);
    m.set_business_scope("一般项目：技术服务、技术开发、技术咨询；货物进出口");
    m.set_status(dp::ENTITY_STATUS_ACTIVE);
    m.set_registration_authority(absl::StrCat(county.city, "市场监督管理局"));
    Emit(kMarketEntityRegistration, m, "", event_time());
  }
  bool abnormal = rng_.Chance(30);
  if (abnormal) {
    dp::AbnormalOperationListing& m = abnormal_;
    m.Clear();
    m.set_listed(true);
    m.set_reason("未按照规定期限公示年度报告");
    SetDate(m.mutable_listed_on(),
            DayBetween(rng_, c.established, pop_.as_of_day - 1));
    m.set_authority(absl::StrCat(county.city, "市场监督管理局"));
    Emit(kAbnormalOperationListing, m, "", event_time());
  }
  {
    dp::TaxStatus& m = tax_status_;
    m.Clear();
    m.set_registered(true);
    m.set_general_vat_taxpayer(rng_.Chance(600));
    m.set_credit_level(
        abnormal ? dp::TAX_CREDIT_LEVEL_C
                 : static_cast<dp::TaxCreditLevel>(1 + rng_.Uniform(3)));
    m.set_credit_year(static_cast<int32_t>(pop_.as_of_day.year()) - 1);
    bool arrears = rng_.Chance(40);
    m.set_has_arrears(arrears);
    if (arrears)
      m.set_arrears_fen(100000 *
                        (1 + static_cast<int64_t>(rng_.Uniform(1000))));
    m.set_last_year_paid_fen(1000000 *
                             static_cast<int64_t>(rng_.Uniform(1000)));
    m.set_tax_office(
        absl::StrCat("国家税务总局", county.city, county.district, "税务局"));
    Emit(kTaxStatus, m, "", event_time());
  }
  {
    dp::EnterpriseCreditRating& m = enterprise_credit_;
    m.Clear();
    m.set_score(abnormal ? 550 + static_cast<int32_t>(rng_.Uniform(100))
                         : 700 + static_cast<int32_t>(rng_.Uniform(250)));
    m.set_rating(m.score() >= 850   ? dp::CREDIT_RATING_EXCELLENT
                 : m.score() >= 700 ? dp::CREDIT_RATING_GOOD
                                    : dp::CREDIT_RATING_FAIR);
    m.set_penalties_3y(abnormal ? 1 : 0);
    SetDate(m.mutable_evaluated_on(),
            pop_.as_of_day - static_cast<int64_t>(rng_.Uniform(60)) - 1);
    Emit(kEnterpriseCreditRating, m, "", event_time());
  }
}

}  // namespace

const std::vector<DataClassSpec>& DataClasses() {
  static const auto* const kClasses = new std::vector<DataClassSpec>{
      {"household_registration", "public_security",
       "datarun.v1.departments.HouseholdRegistration", false},
      {"resident_population", "public_security",
       "datarun.v1.departments.ResidentPopulation", false},
      {"id_card", "public_security", "datarun.v1.departments.IdCard", false},
      {"criminal_record_status", "public_security",
       "datarun.v1.departments.CriminalRecordStatus", false},
      {"kinship", "public_security", "datarun.v1.departments.Kinship", false},
      {"vehicle_registration", "public_security",
       "datarun.v1.departments.VehicleRegistration", false},
      {"driving_licence", "public_security",
       "datarun.v1.departments.DrivingLicence", false},
      {"marriage_registration", "civil_affairs",
       "datarun.v1.departments.MarriageRegistration", false},
      {"low_income_assistance", "civil_affairs",
       "datarun.v1.departments.LowIncomeAssistance", false},
      {"extreme_poverty_support", "civil_affairs",
       "datarun.v1.departments.ExtremePovertySupport", false},
      {"cremation_record", "civil_affairs",
       "datarun.v1.departments.CremationRecord", false},
      {"social_organization_registration", "civil_affairs",
       "datarun.v1.departments.SocialOrganizationRegistration", true},
      {"social_insurance_contribution", "human_resources_social_security",
       "datarun.v1.departments.SocialInsuranceContribution", false},
      {"pension_insurance", "human_resources_social_security",
       "datarun.v1.departments.PensionInsurance", false},
      {"unemployment_insurance", "human_resources_social_security",
       "datarun.v1.departments.UnemploymentInsurance", false},
      {"employment_registration", "human_resources_social_security",
       "datarun.v1.departments.EmploymentRegistration", false},
      {"professional_qualification", "human_resources_social_security",
       "datarun.v1.departments.ProfessionalQualification", false},
      {"medical_insurance", "healthcare_security",
       "datarun.v1.departments.MedicalInsurance", false},
      {"medical_assistance", "healthcare_security",
       "datarun.v1.departments.MedicalAssistance", false},
      {"real_estate_title", "natural_resources",
       "datarun.v1.departments.RealEstateTitle", false},
      {"real_estate_mortgage", "natural_resources",
       "datarun.v1.departments.RealEstateMortgage", false},
      {"housing_fund_account", "housing_fund",
       "datarun.v1.departments.HousingFundAccount", false},
      {"housing_fund_loan", "housing_fund",
       "datarun.v1.departments.HousingFundLoan", false},
      {"disability_certificate", "disabled_persons_federation",
       "datarun.v1.departments.DisabilityCertificate", false},
      {"disability_subsidy", "disabled_persons_federation",
       "datarun.v1.departments.DisabilitySubsidy", false},
      {"market_entity_registration", "market_regulation",
       "datarun.v1.departments.MarketEntityRegistration", true},
      {"entity_role_holding", "market_regulation",
       "datarun.v1.departments.EntityRoleHolding", false},
      {"abnormal_operation_listing", "market_regulation",
       "datarun.v1.departments.AbnormalOperationListing", true},
      {"tax_status", "taxation", "datarun.v1.departments.TaxStatus", true},
      {"individual_income_tax", "taxation",
       "datarun.v1.departments.IndividualIncomeTax", false},
      {"education_record", "education",
       "datarun.v1.departments.EducationRecord", false},
      {"school_enrolment", "education",
       "datarun.v1.departments.SchoolEnrolment", false},
      {"credit_record", "credit", "datarun.v1.departments.CreditRecord", false},
      {"enterprise_credit_rating", "credit",
       "datarun.v1.departments.EnterpriseCreditRating", true},
      {"birth_certificate", "health_commission",
       "datarun.v1.departments.BirthCertificate", false},
      {"death_medical_certificate", "health_commission",
       "datarun.v1.departments.DeathMedicalCertificate", false},
      {"court_judgment", "courts", "datarun.v1.departments.CourtJudgment",
       false},
      {"dishonest_judgment_debtor", "courts",
       "datarun.v1.departments.DishonestJudgmentDebtor", false},
      {"consent_grant", "big_data_bureau",
       "datarun.v1.departments.ConsentGrant", false},
      {"delegation", "big_data_bureau", "datarun.v1.departments.Delegation",
       false},
  };
  static_assert(kClassCount == 40, "class table and ClassIndex disagree");
  return *kClasses;
}

Generator::Generator(Population pop) : pop_(std::move(pop)) {
  for (size_t i = 0; i < pop_.companies.size(); ++i) {
    int32_t rep = pop_.companies[i].legal_representative;
    if (rep != kNone) represented_[rep].push_back(static_cast<int32_t>(i));
  }
}

absl::StatusOr<std::unique_ptr<const Generator>> Generator::Create(
    const PopulationOptions& options) {
  absl::StatusOr<Population> pop = BuildPopulation(options);
  if (!pop.ok()) return pop.status();
  return std::unique_ptr<const Generator>(new Generator(*std::move(pop)));
}

const std::vector<int32_t>* Generator::CompaniesRepresentedBy(
    int32_t person) const {
  auto it = represented_.find(person);
  return it == represented_.end() ? nullptr : &it->second;
}

void Generator::EmitCitizens(int64_t begin, int64_t end,
                             RecordSink& sink) const {
  begin = std::max<int64_t>(begin, 0);
  end = std::min<int64_t>(end, static_cast<int64_t>(pop_.people.size()));
  Emitter emitter(*this, sink);
  for (int64_t i = begin; i < end; ++i) {
    emitter.Citizen(static_cast<int32_t>(i));
  }
}

void Generator::EmitCompanies(int64_t begin, int64_t end,
                              RecordSink& sink) const {
  begin = std::max<int64_t>(begin, 0);
  end = std::min<int64_t>(end, static_cast<int64_t>(pop_.companies.size()));
  Emitter emitter(*this, sink);
  for (int64_t i = begin; i < end; ++i) {
    emitter.CompanyRecords(static_cast<int32_t>(i));
  }
}

void Generator::EmitAll(RecordSink& sink) const {
  EmitCitizens(0, static_cast<int64_t>(pop_.people.size()), sink);
  EmitCompanies(0, static_cast<int64_t>(pop_.companies.size()), sink);
}

datarun::v1::Record ToRecord(const GeneratedRecord& record) {
  const DataClassSpec& spec = DataClasses()[record.class_index];
  datarun::v1::Record out;
  SetSubject(out.mutable_subject(), record.subject_id, spec.legal_person);
  out.set_data_class(std::string(spec.id));
  out.set_source_department(std::string(spec.department));
  out.set_record_key(std::string(record.record_key));
  out.set_source_version(record.source_version);
  out.set_op(datarun::v1::Record::OP_UPSERT);
  SetTime(out.mutable_event_time(), record.event_time);
  out.mutable_payload()->PackFrom(*record.payload);
  return out;
}

}  // namespace datarun::gen
