// The list of payload types; see payloads.h.
#include "proto/datarun/v1/departments/payloads.h"

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

namespace datarun::departments {

const std::vector<const google::protobuf::Descriptor*>&
AllPayloadDescriptors() {
  namespace pb = ::datarun::v1::departments;
  // Leaked on purpose: never destroyed, so safe during static destruction.
  static const auto* const kAll =
      new std::vector<const google::protobuf::Descriptor*>{
          pb::ConsentGrant::descriptor(),
          pb::Delegation::descriptor(),
          pb::MarriageRegistration::descriptor(),
          pb::LowIncomeAssistance::descriptor(),
          pb::ExtremePovertySupport::descriptor(),
          pb::CremationRecord::descriptor(),
          pb::SocialOrganizationRegistration::descriptor(),
          pb::CourtJudgment::descriptor(),
          pb::DishonestJudgmentDebtor::descriptor(),
          pb::CreditRecord::descriptor(),
          pb::EnterpriseCreditRating::descriptor(),
          pb::DisabilityCertificate::descriptor(),
          pb::DisabilitySubsidy::descriptor(),
          pb::EducationRecord::descriptor(),
          pb::SchoolEnrolment::descriptor(),
          pb::BirthCertificate::descriptor(),
          pb::DeathMedicalCertificate::descriptor(),
          pb::MedicalInsurance::descriptor(),
          pb::MedicalAssistance::descriptor(),
          pb::HousingFundAccount::descriptor(),
          pb::HousingFundLoan::descriptor(),
          pb::SocialInsuranceContribution::descriptor(),
          pb::PensionInsurance::descriptor(),
          pb::UnemploymentInsurance::descriptor(),
          pb::EmploymentRegistration::descriptor(),
          pb::ProfessionalQualification::descriptor(),
          pb::MarketEntityRegistration::descriptor(),
          pb::EntityRoleHolding::descriptor(),
          pb::AbnormalOperationListing::descriptor(),
          pb::RealEstateTitle::descriptor(),
          pb::RealEstateMortgage::descriptor(),
          pb::HouseholdRegistration::descriptor(),
          pb::ResidentPopulation::descriptor(),
          pb::IdCard::descriptor(),
          pb::CriminalRecordStatus::descriptor(),
          pb::Kinship::descriptor(),
          pb::VehicleRegistration::descriptor(),
          pb::DrivingLicence::descriptor(),
          pb::TaxStatus::descriptor(),
          pb::IndividualIncomeTax::descriptor(),
      };
  return *kAll;
}

}  // namespace datarun::departments
