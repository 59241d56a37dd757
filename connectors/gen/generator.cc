#include "connectors/gen/generator.h"

#include <algorithm>
#include <string>
#include <utility>

#include "connectors/gen/emitter.h"

namespace datarun::gen {

using internal::Emitter;
using internal::kClassCount;
using internal::SetSubject;
using internal::SetTime;

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