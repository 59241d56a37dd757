// Internal to //connectors/gen: the per-record projection of the population
// onto the department payloads (class Emitter), shared by the emitter_*.cc
// files, which each cover a group of departments. Generator (generator.h)
// is the public entry point.
//
// Thread-safety: an Emitter reuses its scratch messages and is used by one
// thread; the Generator and Population it reads are immutable.
#ifndef DATARUN_CONNECTORS_GEN_EMITTER_H_
#define DATARUN_CONNECTORS_GEN_EMITTER_H_

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "connectors/gen/generator.h"
#include "connectors/gen/population.h"
#include "connectors/gen/rng.h"
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

namespace datarun::gen::internal {

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

inline constexpr absl::string_view kEthnicities[] = {
    "01", "01", "01", "01", "01", "01", "01", "01", "03", "18"};
inline constexpr absl::string_view kColours[] = {"白", "黑", "银",
                                                 "灰", "红", "蓝"};
inline constexpr absl::string_view kModels[] = {
    "大众牌SVW7141BRD",   "丰田牌GTM7200E",       "吉利牌MR7153A01",
    "比亚迪牌QCJ7152ST6", "本田牌HG7150AAC6",     "别克牌SGM7151DAA1",
    "长安牌SC7164CDA6",   "特斯拉牌TSL7000BEVAR1"};
inline constexpr absl::string_view kOccupations[] = {
    "电工",       "育婴员", "中式烹调师",
    "汽车维修工", "保育员", "企业人力资源管理师",
    "焊工"};
inline constexpr absl::string_view kSchools[] = {
    "浙江大学",     "浙江工业大学", "杭州电子科技大学", "宁波大学",
    "温州医科大学", "浙江师范大学", "浙江理工大学",     "中国计量大学"};
inline constexpr absl::string_view kMajors[] = {
    "计算机科学与技术", "临床医学", "会计学", "机械工程", "法学",
    "汉语言文学",       "土木工程"};
inline constexpr absl::string_view kCrimes[] = {
    "盗窃罪", "危险驾驶罪", "诈骗罪", "故意伤害罪", "开设赌场罪"};
inline constexpr absl::string_view kCivilCauses[] = {
    "民间借贷纠纷", "买卖合同纠纷", "离婚纠纷", "劳动争议",
    "机动车交通事故责任纠纷"};
inline constexpr absl::string_view kIcd10[] = {"I21.9", "C34.9", "I64",
                                               "J44.9", "E14.9", "V89.2"};
inline constexpr absl::string_view kBanks[] = {"中国工商银行", "中国建设银行",
                                               "中国农业银行", "中国银行",
                                               "杭州银行",     "宁波银行"};

struct ProxyMatter {
  absl::string_view id;
  absl::string_view department;
  absl::string_view classes[8];
};
// Catalog matters (zhejiang.textproto) with their owning department and
// data classes; the first three allow proxies (delegations). The test checks
// this table against the catalog.
inline constexpr ProxyMatter kMatters[] = {
    {"urban_rural_pension_registration",
     "human_resources_social_security",
     {"household_registration", "pension_insurance",
      "social_insurance_contribution", "low_income_assistance",
      "extreme_poverty_support", "disability_certificate"}},
    {"low_income_assistance_application",
     "civil_affairs",
     {"household_registration", "kinship", "vehicle_registration",
      "real_estate_title", "housing_fund_account",
      "social_insurance_contribution", "entity_role_holding",
      "individual_income_tax"}},
    {"elderly_allowance_application",
     "civil_affairs",
     {"household_registration", "pension_insurance",
      "death_medical_certificate"}},
    {"real_estate_transfer_registration",
     "natural_resources",
     {"household_registration", "marriage_registration", "real_estate_title",
      "real_estate_mortgage", "individual_income_tax"}},
    {"housing_fund_loan_application",
     "housing_fund",
     {"housing_fund_account", "housing_fund_loan", "marriage_registration",
      "credit_record", "real_estate_title", "individual_income_tax"}},
};

template <typename T, size_t N>
inline const T& Pick(Rng& rng, const T (&table)[N]) {
  return table[rng.Uniform(N)];
}

inline absl::CivilDay DayBetween(Rng& rng, absl::CivilDay lo,
                                 absl::CivilDay hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int64_t>(rng.Uniform(hi - lo + 1));
}

inline absl::CivilDay AddYears(absl::CivilDay d, int years) {
  return absl::CivilDay(d.year() + years, d.month(), d.day());
}

inline void SetDate(dp::Date* out, absl::CivilDay d) {
  out->set_year(static_cast<int32_t>(d.year()));
  out->set_month(d.month());
  out->set_day(d.day());
}

inline void SetTime(google::protobuf::Timestamp* out, absl::Time t) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

inline absl::Time DayStart(absl::CivilDay d) {
  return absl::FromCivil(absl::CivilSecond(d), absl::UTCTimeZone());
}

inline void SetSubject(v1::Subject* out, absl::string_view id,
                       bool legal_person) {
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

inline absl::Time DiedAt(const Person& p, int32_t index) {
  return DayStart(p.death_day) +
         absl::Hours(static_cast<int64_t>(SplitMix64(index) % 24));
}

}  // namespace datarun::gen::internal

#endif  // DATARUN_CONNECTORS_GEN_EMITTER_H_
