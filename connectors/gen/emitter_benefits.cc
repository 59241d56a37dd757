// Records about work, insurance, property and disability: human resources
// and social security, healthcare security, natural resources, housing fund,
// disabled persons' federation.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/gen/emitter.h"
#include "connectors/gen/vehicle_ids.h"

namespace datarun::gen::internal {

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
  // 60.00-199.99 m², in 0.01 m² (the payload's unit).
  prop.area_centi_sqm = 6000 + static_cast<int64_t>(hrng.Uniform(14000));
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

}  // namespace datarun::gen::internal
