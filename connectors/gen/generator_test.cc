// Tests of the synthetic data generator on a small population: determinism,
// valid ids, JSON round trips, cross-department consistency, catalog
// coverage, and `datarun gen` end to end.
#include "connectors/gen/generator.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "connectors/gen/jsonl_writer.h"
#include "connectors/gen/proto_json.h"
#include "connectors/gen/vehicle_ids.h"
#include "exchange/catalog/catalog.h"
#include "exchange/subject/subject_id.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/big_data_bureau.pb.h"
#include "proto/datarun/v1/departments/civil_affairs.pb.h"
#include "proto/datarun/v1/departments/health_commission.pb.h"
#include "proto/datarun/v1/departments/healthcare_security.pb.h"
#include "proto/datarun/v1/departments/market_regulation.pb.h"
#include "proto/datarun/v1/departments/natural_resources.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::gen {
namespace {

namespace dp = ::datarun::v1::departments;
using google::protobuf::Message;

constexpr int64_t kCitizens = 6000;
constexpr int64_t kCompanies = 300;

// A generated record with its payload copied out of the emitter.
struct Stored {
  int class_index;
  std::string subject;
  std::string key;
  uint64_t version;
  absl::Time event_time;
  std::unique_ptr<Message> payload;
};

class StoreSink : public RecordSink {
 public:
  void Add(const GeneratedRecord& r) override {
    Stored s{r.class_index,
             std::string(r.subject_id),
             std::string(r.record_key),
             r.source_version,
             r.event_time,
             std::unique_ptr<Message>(r.payload->New())};
    s.payload->CopyFrom(*r.payload);
    records.push_back(std::move(s));
  }
  std::vector<Stored> records;
};

class TextSink : public RecordSink {
 public:
  void Add(const GeneratedRecord& r) override {
    ASSERT_TRUE(AppendJsonLine(r, &text).ok());
  }
  std::string text;
};

int ClassIndex(absl::string_view id) {
  const auto& classes = DataClasses();
  for (size_t i = 0; i < classes.size(); ++i) {
    if (classes[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

class GeneratorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PopulationOptions options;
    options.citizens = kCitizens;
    options.companies = kCompanies;
    options.seed = 42;
    auto gen = Generator::Create(options);
    ASSERT_TRUE(gen.ok()) << gen.status();
    generator_ = gen->release();
    sink_ = new StoreSink;
    generator_->EmitAll(*sink_);
  }
  static void TearDownTestSuite() {
    delete sink_;
    delete generator_;
  }

  template <typename T>
  static std::vector<std::pair<const Stored*, const T*>> Of(
      absl::string_view class_id) {
    std::vector<std::pair<const Stored*, const T*>> out;
    int c = ClassIndex(class_id);
    for (const Stored& s : sink_->records) {
      if (s.class_index == c) {
        out.emplace_back(&s, static_cast<const T*>(s.payload.get()));
      }
    }
    return out;
  }

  static const Generator* generator_;
  static StoreSink* sink_;
};

const Generator* GeneratorTest::generator_ = nullptr;
StoreSink* GeneratorTest::sink_ = nullptr;

std::string EmitText(uint64_t seed, int64_t citizens, int64_t companies) {
  PopulationOptions options{citizens, companies, seed};
  auto gen = Generator::Create(options);
  EXPECT_TRUE(gen.ok());
  TextSink sink;
  (*gen)->EmitAll(sink);
  return sink.text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DeterminismTest, SameSeedSameBytesDifferentSeedDifferent) {
  const std::string a = EmitText(9, 1500, 80);
  const std::string b = EmitText(9, 1500, 80);
  const std::string c = EmitText(10, 1500, 80);
  ASSERT_GT(a.size(), 100000u);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
}

TEST(DeterminismTest, FilesIdenticalWhateverThreadsAndChunks) {
  PopulationOptions options{2000, 100, 3};
  auto gen = Generator::Create(options);
  ASSERT_TRUE(gen.ok());
  const std::string root = std::getenv("TEST_TMPDIR");
  JsonlOptions one{root + "/det1", 1, 100000};
  JsonlOptions many{root + "/det3", 3, 137};
  auto s1 = WriteJsonl(**gen, one);
  auto s3 = WriteJsonl(**gen, many);
  ASSERT_TRUE(s1.ok()) << s1.status();
  ASSERT_TRUE(s3.ok()) << s3.status();
  EXPECT_EQ(s1->total_records, s3->total_records);
  for (const DataClassSpec& c : DataClasses()) {
    const std::string rel =
        absl::StrCat("/", c.department, "/", c.id, ".jsonl");
    EXPECT_EQ(ReadFile(one.out_dir + rel), ReadFile(many.out_dir + rel)) << rel;
  }
  EXPECT_EQ(ReadFile(one.out_dir + "/manifest.json"),
            ReadFile(many.out_dir + "/manifest.json"));
}

TEST_F(GeneratorTest, EverySubjectIdIsValidAndOfTheClassKind) {
  const absl::Time now = absl::Now();
  for (const Stored& s : sink_->records) {
    auto id = subject::ParseSubjectId(s.subject, now);
    ASSERT_TRUE(id.ok()) << s.subject << ": " << id.status();
    EXPECT_EQ(id->kind() == subject::SubjectKind::kLegalPerson,
              DataClasses()[s.class_index].legal_person)
        << s.subject << " in " << DataClasses()[s.class_index].id;
  }
}

// Walks every datarun.v1.Subject inside a payload.
void ForEachSubject(const Message& m,
                    const std::function<void(const v1::Subject&)>& fn) {
  if (m.GetDescriptor() == v1::Subject::descriptor()) {
    fn(static_cast<const v1::Subject&>(m));
    return;
  }
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  m.GetReflection()->ListFields(m, &fields);
  for (const auto* f : fields) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    if (f->is_repeated()) {
      for (int i = 0; i < m.GetReflection()->FieldSize(m, f); ++i) {
        ForEachSubject(m.GetReflection()->GetRepeatedMessage(m, f, i), fn);
      }
    } else {
      ForEachSubject(m.GetReflection()->GetMessage(m, f), fn);
    }
  }
}

TEST_F(GeneratorTest, EveryReferencedPersonOrCompanyExistsAndIsValid) {
  absl::flat_hash_set<std::string> known;
  for (const Person& p : generator_->population().people) {
    known.insert(std::string(p.id_view()));
  }
  for (const Company& c : generator_->population().companies)
    known.insert(c.id);
  EXPECT_EQ(known.size(), static_cast<size_t>(kCitizens + kCompanies))
      << "ids must be unique";
  int refs = 0;
  for (const Stored& s : sink_->records) {
    ForEachSubject(*s.payload, [&](const v1::Subject& sub) {
      ++refs;
      EXPECT_TRUE(known.contains(sub.id()))
          << DataClasses()[s.class_index].id << " of " << s.subject
          << " references unknown " << sub.id();
      auto parsed = subject::SubjectIdFromProto(sub);
      EXPECT_TRUE(parsed.ok()) << parsed.status();
    });
  }
  EXPECT_GT(refs, kCitizens);
}

TEST_F(GeneratorTest, PayloadJsonIsTheReferenceAndParsesBack) {
  for (const Stored& s : sink_->records) {
    std::string fast, reference;
    ASSERT_TRUE(AppendProtoJson(*s.payload, &fast).ok());
    ASSERT_TRUE(AppendProtoJsonReference(*s.payload, &reference).ok());
    ASSERT_EQ(fast, reference) << DataClasses()[s.class_index].id;
    std::string reflected;
    ASSERT_TRUE(AppendProtoJsonByReflection(*s.payload, &reflected));
    ASSERT_EQ(reflected, reference) << DataClasses()[s.class_index].id;
    std::unique_ptr<Message> back(s.payload->New());
    auto st = google::protobuf::util::JsonStringToMessage(fast, back.get());
    ASSERT_TRUE(st.ok()) << st.ToString() << " in " << fast;
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(*back, *s.payload));
    EXPECT_EQ(s.payload->GetDescriptor()->full_name(),
              DataClasses()[s.class_index].payload_type);
  }
}

TEST_F(GeneratorTest, EveryCatalogClassMatchesAndHasRecords) {
  auto catalog = catalog::LoadCatalog(
      absl::StrCat(std::getenv("TEST_SRCDIR"),
                   "/datarun/exchange/catalog/zhejiang.textproto"));
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  ASSERT_EQ(static_cast<size_t>(catalog->data_classes_size()),
            DataClasses().size());
  std::vector<int> counts(DataClasses().size());
  for (const Stored& s : sink_->records) ++counts[s.class_index];
  for (const auto& dc : catalog->data_classes()) {
    int i = ClassIndex(dc.id());
    ASSERT_GE(i, 0) << dc.id() << " is not generated";
    const DataClassSpec& spec = DataClasses()[i];
    EXPECT_EQ(spec.department, dc.source_department()) << dc.id();
    EXPECT_EQ(spec.payload_type, dc.payload_type()) << dc.id();
    EXPECT_EQ(spec.legal_person,
              dc.subject_kind() == v1::SUBJECT_KIND_LEGAL_PERSON)
        << dc.id();
    EXPECT_GT(counts[i], 0) << dc.id() << " has no records";
    if (dc.multi_record()) {
      // Several records per subject, told apart by a non-empty key.
      std::set<std::pair<std::string, std::string>> keys;
      for (const Stored& s : sink_->records) {
        if (s.class_index != i) continue;
        EXPECT_NE(s.key, "") << dc.id() << " of " << s.subject;
        EXPECT_TRUE(keys.insert({s.subject, s.key}).second)
            << dc.id() << " key " << s.key << " twice for " << s.subject;
      }
    } else {
      // One record per subject: keys are empty and subjects distinct.
      std::set<std::string> subjects;
      for (const Stored& s : sink_->records) {
        if (s.class_index != i) continue;
        EXPECT_EQ(s.key, "") << dc.id();
        EXPECT_TRUE(subjects.insert(s.subject).second)
            << dc.id() << " twice for " << s.subject;
      }
    }
  }
}

TEST_F(GeneratorTest, ConsentsAndDelegationsNameCatalogMatters) {
  auto catalog = catalog::LoadCatalog(
      absl::StrCat(std::getenv("TEST_SRCDIR"),
                   "/datarun/exchange/catalog/zhejiang.textproto"));
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  std::map<std::string, const v1::Matter*> matters;
  for (const auto& m : catalog->matters()) matters[m.id()] = &m;
  auto consents = Of<dp::ConsentGrant>("consent_grant");
  ASSERT_FALSE(consents.empty());
  for (auto& [s, c] : consents) {
    ASSERT_EQ(c->matters_size(), 1);
    auto it = matters.find(c->matters(0));
    ASSERT_NE(it, matters.end()) << c->matters(0);
    EXPECT_EQ(c->grantee_department(), it->second->owning_department());
    std::set<std::string> allowed(it->second->data_classes().begin(),
                                  it->second->data_classes().end());
    for (const auto& dc : c->data_classes()) {
      EXPECT_TRUE(allowed.count(dc)) << dc << " not in " << c->matters(0);
    }
  }
  for (auto& [s, d] : Of<dp::Delegation>("delegation")) {
    for (const auto& m : d->matters()) {
      auto it = matters.find(m);
      ASSERT_NE(it, matters.end()) << m;
      EXPECT_TRUE(it->second->allows_proxy()) << m;
    }
  }
}

dp::KinshipType Inverse(dp::KinshipType t) {
  switch (t) {
    case dp::KINSHIP_TYPE_PARENT:
      return dp::KINSHIP_TYPE_CHILD;
    case dp::KINSHIP_TYPE_CHILD:
      return dp::KINSHIP_TYPE_PARENT;
    case dp::KINSHIP_TYPE_GRANDPARENT:
      return dp::KINSHIP_TYPE_GRANDCHILD;
    case dp::KINSHIP_TYPE_GRANDCHILD:
      return dp::KINSHIP_TYPE_GRANDPARENT;
    default:
      return t;
  }
}

TEST_F(GeneratorTest, KinshipIsSymmetricBetweenExistingPeople) {
  std::set<std::tuple<std::string, std::string, int>> links;
  auto kin = Of<dp::Kinship>("kinship");
  ASSERT_GT(kin.size(), static_cast<size_t>(kCitizens));
  for (auto& [s, k] : kin) {
    EXPECT_EQ(s->key, k->relative().id());
    links.insert({s->subject, k->relative().id(), k->type()});
  }
  int spouses = 0;
  for (auto& [s, k] : kin) {
    EXPECT_TRUE(
        links.count({k->relative().id(), s->subject, Inverse(k->type())}))
        << s->subject << " -> " << k->relative().id() << " "
        << dp::KinshipType_Name(k->type()) << " has no way back";
    if (k->type() == dp::KINSHIP_TYPE_SPOUSE) ++spouses;
  }
  EXPECT_GT(spouses, 0);
}

TEST_F(GeneratorTest, HouseholdHeadsExistAndAreMembers) {
  std::map<std::string, std::set<std::string>> members;  // number -> ids
  std::map<std::string, std::set<std::string>> heads;
  for (auto& [s, h] : Of<dp::HouseholdRegistration>("household_registration")) {
    members[h->household_number()].insert(s->subject);
    heads[h->household_number()].insert(h->head().id());
    if (h->relation_to_head() == dp::RELATION_TO_HEAD_SELF) {
      EXPECT_EQ(h->head().id(), s->subject);
    }
    // Addresses are in Zhejiang, city and district matching the code.
    auto region = subject::LookupRegion(std::stoi(h->address().region_code()));
    ASSERT_TRUE(region.ok()) << h->address().region_code();
    EXPECT_EQ(region->prefecture_name, h->address().city());
    EXPECT_EQ(region->county_name, h->address().district());
  }
  ASSERT_GT(members.size(), 100u);
  for (const auto& [number, head_ids] : heads) {
    ASSERT_EQ(head_ids.size(), 1u) << "household " << number;
    EXPECT_TRUE(members[number].count(*head_ids.begin()))
        << "head of " << number << " is not a member";
  }
}

TEST_F(GeneratorTest, MarriagesMatchSpouseLinksBothWays) {
  std::map<std::string, const dp::MarriageRegistration*> by_subject;
  for (auto& [s, m] : Of<dp::MarriageRegistration>("marriage_registration")) {
    by_subject[s->subject] = m;
  }
  ASSERT_GT(by_subject.size(), 100u);
  std::set<std::pair<std::string, std::string>> spouse_links;
  for (auto& [s, k] : Of<dp::Kinship>("kinship")) {
    if (k->type() == dp::KINSHIP_TYPE_SPOUSE) {
      spouse_links.insert({s->subject, k->relative().id()});
    }
  }
  for (const auto& [id, m] : by_subject) {
    auto other = by_subject.find(m->spouse().id());
    ASSERT_NE(other, by_subject.end()) << id << "'s spouse has no registration";
    EXPECT_EQ(other->second->spouse().id(), id);
    EXPECT_EQ(other->second->certificate_number(), m->certificate_number());
    EXPECT_TRUE(spouse_links.count({id, m->spouse().id()}));
  }
}

TEST_F(GeneratorTest, BirthsAreConsistentWithIdsAndParentsAges) {
  int with_mother = 0;
  for (auto& [s, b] : Of<dp::BirthCertificate>("birth_certificate")) {
    auto child = subject::ParseCitizenId(s->subject);
    ASSERT_TRUE(child.ok());
    absl::CivilDay born = absl::ToCivilDay(
        absl::FromUnixSeconds(b->born_at().seconds()), absl::UTCTimeZone());
    EXPECT_EQ(born, child->citizen().birth_date) << s->subject;
    if (b->has_mother()) {
      ++with_mother;
      auto mother = subject::ParseCitizenId(b->mother().id());
      ASSERT_TRUE(mother.ok());
      EXPECT_EQ(mother->citizen().sex, subject::Sex::kFemale);
      EXPECT_GE(born - mother->citizen().birth_date, 16 * 365)
          << "mother of " << s->subject << " too young";
    }
  }
  EXPECT_GT(with_mother, 100);
}

TEST_F(GeneratorTest, PropertySharesSumToWholeAndCoOwnersAgree) {
  std::map<std::string, int> shares;
  std::map<std::string, std::set<std::string>> owners;
  for (auto& [s, t] : Of<dp::RealEstateTitle>("real_estate_title")) {
    // Homes of 60-200 m² (the unit is 0.01 m²).
    EXPECT_GE(t->floor_area_centi_sqm(), 6000) << t->title_number();
    EXPECT_LT(t->floor_area_centi_sqm(), 20000) << t->title_number();
    shares[t->title_number()] += t->share_bp();
    owners[t->title_number()].insert(s->subject);
    for (const auto& co : t->co_owners())
      owners[t->title_number()].insert(co.id());
  }
  ASSERT_GT(shares.size(), 100u);
  for (const auto& [title, bp] : shares) {
    EXPECT_EQ(bp, 10000) << title;
  }
  // Every mortgage names a title its subject owns.
  for (auto& [s, m] : Of<dp::RealEstateMortgage>("real_estate_mortgage")) {
    EXPECT_TRUE(owners[m->title_number()].count(s->subject))
        << m->title_number();
  }
}

TEST_F(GeneratorTest, LegalRepresentativesExistAndHoldTheRole) {
  std::set<std::pair<std::string, std::string>> roles;  // person, company
  for (auto& [s, r] : Of<dp::EntityRoleHolding>("entity_role_holding")) {
    if (r->role() == dp::ENTITY_ROLE_LEGAL_REPRESENTATIVE) {
      roles.insert({s->subject, r->entity().id()});
    }
  }
  absl::flat_hash_set<std::string> dead;
  for (auto& [s, d] :
       Of<dp::DeathMedicalCertificate>("death_medical_certificate")) {
    dead.insert(s->subject);
  }
  auto entities =
      Of<dp::MarketEntityRegistration>("market_entity_registration");
  ASSERT_GT(entities.size(), 100u);
  for (auto& [s, e] : entities) {
    ASSERT_TRUE(e->has_legal_representative()) << s->subject;
    EXPECT_TRUE(roles.count({e->legal_representative().id(), s->subject}))
        << s->subject;
    EXPECT_FALSE(dead.contains(e->legal_representative().id()));
  }
}

TEST_F(GeneratorTest, NothingHappensAfterDeath) {
  absl::flat_hash_map<std::string, absl::Time> died;
  for (auto& [s, d] :
       Of<dp::DeathMedicalCertificate>("death_medical_certificate")) {
    died[s->subject] = absl::FromUnixSeconds(d->died_at().seconds());
  }
  ASSERT_GT(died.size(), 10u);
  const std::set<int> death_classes = {ClassIndex("death_medical_certificate"),
                                       ClassIndex("cremation_record"),
                                       ClassIndex("household_registration")};
  int cremations = 0;
  for (const Stored& s : sink_->records) {
    EXPECT_LE(s.event_time, generator_->population().as_of);
    auto it = died.find(s.subject);
    if (it == died.end()) continue;
    if (death_classes.count(s.class_index)) {
      EXPECT_GE(s.event_time, it->second);
      continue;
    }
    EXPECT_LT(s.event_time, it->second)
        << DataClasses()[s.class_index].id << " of " << s.subject
        << " after the death";
  }
  for (auto& [s, c] : Of<dp::CremationRecord>("cremation_record")) {
    EXPECT_TRUE(died.contains(s->subject));
    ++cremations;
  }
  EXPECT_EQ(cremations, static_cast<int>(died.size()));
  for (auto& [s, h] : Of<dp::HouseholdRegistration>("household_registration")) {
    EXPECT_EQ(h->active(), !died.contains(s->subject)) << s->subject;
  }
}

TEST_F(GeneratorTest, VehiclesHaveZhejiangPlatesAndValidVins) {
  std::set<std::string> plates, vins;
  auto vehicles = Of<dp::VehicleRegistration>("vehicle_registration");
  ASSERT_GT(vehicles.size(), 100u);
  for (auto& [s, v] : vehicles) {
    EXPECT_EQ(v->plate_number().rfind("浙", 0), 0u) << v->plate_number();
    EXPECT_EQ(v->plate_number().size(), 3u + 6u);
    EXPECT_EQ(v->vin().size(), 17u);
    EXPECT_EQ(VinCheckDigit(v->vin()), v->vin()[8]) << v->vin();
    EXPECT_TRUE(plates.insert(v->plate_number()).second) << v->plate_number();
    EXPECT_TRUE(vins.insert(v->vin()).second) << v->vin();
    EXPECT_EQ(s->key, v->plate_number());
  }
}

TEST_F(GeneratorTest, AdultsAreInsuredAndAgentsHoldAboutEightDelegations) {
  const Population& pop = generator_->population();
  absl::flat_hash_set<std::string> insured;
  for (auto& [s, m] : Of<dp::MedicalInsurance>("medical_insurance")) {
    insured.insert(s->subject);
  }
  for (const Person& p : pop.people) {
    if (!p.dead && pop.Age(p) >= 18) {
      EXPECT_TRUE(insured.contains(p.id_view())) << p.id_view();
    }
  }
  std::map<std::string, int> per_agent;
  std::map<std::string, std::string> address;  // person -> region code
  for (auto& [s, h] : Of<dp::HouseholdRegistration>("household_registration")) {
    address[s->subject] = h->address().region_code();
  }
  for (auto& [s, d] : Of<dp::Delegation>("delegation")) {
    ++per_agent[d->agent().id()];
    EXPECT_NE(d->agent().id(), s->subject);
    EXPECT_EQ(address[d->agent().id()], address[s->subject])
        << "agent " << d->agent().id() << " lives elsewhere";
  }
  ASSERT_FALSE(per_agent.empty());
  for (const auto& [agent, n] : per_agent) EXPECT_LE(n, 8);
}

TEST(PopulationTest, VillageAgentsFillUpToEightDelegations) {
  // Agents serve their own county, so it takes a larger population than the
  // fixture's for agents to fill up.
  auto pop = BuildPopulation(PopulationOptions{80000, 10, 11});
  ASSERT_TRUE(pop.ok()) << pop.status();
  std::map<int32_t, int> per_agent;
  for (const Person& p : pop->people) {
    if (p.agent == kNone) continue;
    ++per_agent[p.agent];
    const Person& agent = pop->people[p.agent];
    EXPECT_FALSE(agent.dead);
    EXPECT_EQ(pop->households[agent.household].county,
              pop->households[p.household].county);
  }
  int full = 0;
  for (const auto& [agent, n] : per_agent) {
    EXPECT_LE(n, 8);
    if (n == 8) ++full;
  }
  EXPECT_GT(full, 10);
  EXPECT_GT(full * 2, static_cast<int>(per_agent.size()) / 2);
}

TEST(PopulationTest, AsOfDayMovesTheClock) {
  PopulationOptions base{300, 10, 11};
  PopulationOptions moved = base;
  moved.as_of_day = absl::CivilDay(2026, 3, 15);
  auto a = BuildPopulation(base);
  auto b = BuildPopulation(moved);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->as_of_day, absl::CivilDay(2026, 3, 15));
  EXPECT_EQ(b->as_of, absl::FromCivil(absl::CivilSecond(2026, 3, 15, 0, 0, 0),
                                      absl::UTCTimeZone()));
  EXPECT_NE(a->as_of_day, b->as_of_day);
  ASSERT_EQ(a->people.size(), b->people.size());
  ASSERT_FALSE(a->people.empty());
  // Everyone is born before the new day, and some are old: ages are drawn
  // relative to it, not to the seed's 2025 day.
  int over_sixty = 0;
  for (const Person& p : b->people) {
    ASSERT_GE(b->Age(p), 0);
    ASSERT_LE(b->Age(p), 110);
    if (b->Age(p) >= 60) ++over_sixty;
  }
  EXPECT_GT(over_sixty, 0);
}

TEST(VehicleIdsTest, KnownVinCheckDigitAndDistinctPlates) {
  EXPECT_EQ(VinCheckDigit("1M8GDM9AXKP042788"), 'X');
  EXPECT_EQ(VinCheckDigit("11111111111111111"), '1');
  EXPECT_EQ(VinCheckDigit("1M8GDM9AXKP04278"), '?');   // 16 characters
  EXPECT_EQ(VinCheckDigit("1M8GDM9AXKP04278I"), '?');  // I is not allowed
  std::set<std::string> plates;
  for (uint64_t i = 0; i < 20000; ++i) {
    ASSERT_TRUE(plates.insert(ZhejiangPlate('A', i)).second) << i;
  }
  std::set<std::string> vins;
  for (uint64_t i = 0; i < 20000; ++i) {
    std::string vin = MakeVin(i * 999983, 2020);
    ASSERT_EQ(VinCheckDigit(vin), vin[8]);
    ASSERT_TRUE(vins.insert(vin).second) << vin;
  }
}

TEST(PopulationTest, RejectsBadCounts) {
  auto bad = Generator::Create(PopulationOptions{-1, 0, 1});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("citizens is -1"), std::string::npos);
}

int RunShell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(CliTest, GenWritesEveryClassAndMatchesTheLibrary) {
  const std::string bin =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/datarun/tools/datarun");
  const std::string root = std::getenv("TEST_TMPDIR");
  const std::string out = root + "/cli";
  ASSERT_EQ(RunShell(absl::StrCat(bin,
                                  " gen --citizens=800 --companies=60 --seed=5 "
                                  "--out=",
                                  out, " > ", root, "/cli.stdout")),
            0);
  EXPECT_NE(ReadFile(root + "/cli.stdout").find("wrote "), std::string::npos);
  // The library with the same options writes the same bytes.
  auto gen = Generator::Create(PopulationOptions{800, 60, 5});
  ASSERT_TRUE(gen.ok());
  auto summary = WriteJsonl(**gen, JsonlOptions{root + "/lib", 2, 100});
  ASSERT_TRUE(summary.ok()) << summary.status();
  const std::string manifest = ReadFile(out + "/manifest.json");
  EXPECT_EQ(manifest, ReadFile(root + "/lib/manifest.json"));
  EXPECT_NE(manifest.find("\"seed\": 5"), std::string::npos);
  for (size_t i = 0; i < DataClasses().size(); ++i) {
    const DataClassSpec& c = DataClasses()[i];
    const std::string rel =
        absl::StrCat("/", c.department, "/", c.id, ".jsonl");
    const std::string text = ReadFile(out + rel);
    EXPECT_EQ(text, ReadFile(root + "/lib" + rel)) << rel;
    std::vector<absl::string_view> lines =
        absl::StrSplit(text, '\n', absl::SkipEmpty());
    EXPECT_EQ(static_cast<int64_t>(lines.size()), summary->records_per_class[i])
        << rel;
    EXPECT_NE(manifest.find(absl::StrCat("\"data_class\": \"", c.id, "\"")),
              std::string::npos);
    // The envelope form agreed with the JSONL connector.
    ASSERT_FALSE(lines.empty()) << rel;
    EXPECT_EQ(lines[0].rfind("{\"subject_id\": \"", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find(", \"source_version\": 1, \"op\": \"UPSERT\", "
                            "\"event_time\": \""),
              absl::string_view::npos)
        << lines[0];
  }
}

TEST(CliTest, UsageErrorsExitTwoWithAMessage) {
  const std::string bin =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/datarun/tools/datarun");
  const std::string root = std::getenv("TEST_TMPDIR");
  EXPECT_EQ(RunShell(absl::StrCat(bin, " gen --citizens=10 --out=", root,
                                  "/x --format=csv 2> ", root, "/err1")),
            2);
  EXPECT_NE(ReadFile(root + "/err1").find("only 'jsonl'"), std::string::npos);
  EXPECT_EQ(
      RunShell(absl::StrCat(bin, " gen --citizens=10 2> ", root, "/err2")), 2);
  EXPECT_NE(ReadFile(root + "/err2").find("--out is required"),
            std::string::npos);
  EXPECT_EQ(RunShell(absl::StrCat(bin, " gen --citizens=-5 --out=", root,
                                  "/y 2> ", root, "/err3")),
            2);
  EXPECT_NE(ReadFile(root + "/err3").find("citizens is -5"), std::string::npos);
  EXPECT_EQ(RunShell(absl::StrCat(bin, " gen --citizens=10 --out=", root,
                                  "/z --as_of=2999-01-01 2> ", root, "/err4")),
            2);
  EXPECT_NE(ReadFile(root + "/err4").find("must lie between 2000-01-01 and"),
            std::string::npos);
  EXPECT_EQ(RunShell(absl::StrCat(bin, " gen --citizens=10 --out=", root,
                                  "/z --as_of=26/11/2026 2> ", root, "/err5")),
            2);
  EXPECT_NE(ReadFile(root + "/err5").find("expected YYYY-MM-DD or 'today'"),
            std::string::npos);
}

}  // namespace
}  // namespace datarun::gen
