// Records about companies and roles, taxes, education, credit, courts,
// consents and delegations: market regulation, taxation, education, credit,
// courts, big data bureau, and the records of companies themselves.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/gen/emitter.h"
#include "connectors/gen/vehicle_ids.h"

namespace datarun::gen::internal {

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

}  // namespace datarun::gen::internal
