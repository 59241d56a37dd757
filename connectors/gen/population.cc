#include "connectors/gen/population.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "connectors/gen/rng.h"
#include "exchange/subject/subject_id.h"

namespace datarun::gen {
namespace {

constexpr int64_t kMaxCitizens = 20'000'000;
constexpr int64_t kMaxCompanies = 10'000'000;

constexpr absl::string_view kSurnames[] = {
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
    "马", "朱", "胡", "郭", "何", "林", "高", "罗", "郑", "梁", "谢", "宋",
    "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "萧", "田", "董", "潘",
    "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "任", "沈", "姚", "卢", "傅", "钟", "姜", "崔", "谭", "陆", "范", "金"};
constexpr absl::string_view kGiven[] = {
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳",
    "杰", "娟", "涛", "明", "超", "秀", "霞", "平", "刚", "桂", "英", "华",
    "建", "国", "文", "辉", "玲", "红", "鹏", "飞", "宇", "浩", "然", "欣",
    "怡", "晨", "阳", "梓", "涵", "子", "轩", "雨", "婷", "佳", "俊", "博",
    "志", "嘉", "思", "睿", "海", "波", "斌", "琳", "雪", "慧", "晓", "一"};
constexpr absl::string_view kStreets[] = {
    "城东街道", "城西街道", "城南街道", "城北街道", "新城街道",
    "文化街道", "湖滨街道", "江南镇",   "临溪镇",   "石桥乡"};
constexpr absl::string_view kRoads[] = {"解放", "中山", "人民", "建设", "和平",
                                        "环城", "文一", "滨江", "凤凰", "学院"};
constexpr absl::string_view kCompanyWords[] = {
    "信达", "华创", "恒远", "博瑞", "金桥", "海纳", "天成", "鼎盛",
    "明阳", "瑞丰", "东方", "新野", "云启", "汇通", "嘉禾", "同舟"};
constexpr absl::string_view kCompanyKinds[] = {
    "科技有限公司", "贸易有限公司", "建设工程有限公司", "食品有限公司",
    "服装有限公司", "物流有限公司", "电子股份有限公司", "农业专业合作社"};
constexpr absl::string_view kSocialKinds[] = {"志愿者协会", "养老服务中心",
                                              "慈善基金会", "商会"};

constexpr char kCreditAlphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

template <typename T, size_t N>
const T& Pick(Rng& rng, const T (&table)[N]) {
  return table[rng.Uniform(N)];
}

absl::CivilDay DayBetween(Rng& rng, absl::CivilDay lo, absl::CivilDay hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int64_t>(rng.Uniform(hi - lo + 1));
}

absl::CivilDay AddYears(absl::CivilDay d, int years) {
  // Feb 29 normalises to Mar 1 in a common year, which is fine here.
  return absl::CivilDay(d.year() + years, d.month(), d.day());
}

char PlateLetter(int prefecture4) {
  switch (prefecture4) {
    case 3301:
      return 'A';  // 杭州
    case 3302:
      return 'B';  // 宁波
    case 3303:
      return 'C';  // 温州
    case 3304:
      return 'F';  // 嘉兴
    case 3305:
      return 'E';  // 湖州
    case 3306:
      return 'D';  // 绍兴
    case 3307:
      return 'G';  // 金华
    case 3308:
      return 'H';  // 衢州
    case 3309:
      return 'L';  // 舟山
    case 3310:
      return 'J';  // 台州
    case 3311:
      return 'K';  // 丽水
    default:
      return 'A';
  }
}

class Builder {
 public:
  Builder(const PopulationOptions& options, Population& pop)
      : options_(options), pop_(pop), rng_(options.seed ^ 0x5eed0f9e0ULL) {}

  absl::Status Build() {
    pop_.seed = options_.seed;
    pop_.counties = ZhejiangCounties();
    if (pop_.counties.empty()) {
      return absl::InternalError("no Zhejiang counties in the region table");
    }
    // The synthetic "now": a day in the second half of 2025, from the seed.
    // The seed's draw is made even when as_of_day is given, so that outputs
    // without it stay byte-identical to earlier versions.
    pop_.as_of_day =
        absl::CivilDay(2025, 6, 1) + static_cast<int64_t>(rng_.Uniform(180));
    pop_.as_of = absl::FromCivil(absl::CivilSecond(pop_.as_of_day),
                                 absl::UTCTimeZone()) +
                 absl::Hours(9);
    if (options_.as_of_day.has_value()) {
      // Midnight UTC: when the day is today, nothing lies in the future.
      pop_.as_of_day = *options_.as_of_day;
      pop_.as_of = absl::FromCivil(absl::CivilSecond(pop_.as_of_day),
                                   absl::UTCTimeZone());
    }
    pop_.people.reserve(options_.citizens);
    while (static_cast<int64_t>(pop_.people.size()) < options_.citizens) {
      RETURN_IF_ERROR(AddHousehold());
    }
    AddDeaths();
    RETURN_IF_ERROR(AddCompanies());
    AssignEmployers();
    AssignAgents();
    return absl::OkStatus();
  }

 private:
  bool Full() const {
    return static_cast<int64_t>(pop_.people.size()) >= options_.citizens;
  }

  std::string GivenName(Rng& rng) {
    std::string name(Pick(rng, kGiven));
    if (rng.Chance(700)) absl::StrAppend(&name, Pick(rng, kGiven));
    return name;
  }

  // Appends a person to the current household; kNone when the population
  // is full (the last household is cut short).
  absl::StatusOr<int32_t> AddPerson(bool male, absl::CivilDay birth,
                                    absl::string_view surname,
                                    Relation relation) {
    if (Full()) return kNone;
    Household& hh = pop_.households.back();
    Person p;
    p.male = male;
    p.birth = birth;
    p.relation = relation;
    p.household = static_cast<int32_t>(pop_.households.size() - 1);
    // Most people were born where they are registered; some moved in.
    p.county = rng_.Chance(850)
                   ? hh.county
                   : pop_.counties[rng_.Uniform(pop_.counties.size())].code;
    p.name = absl::StrCat(surname, GivenName(rng_));
    for (int attempt = 0;; ++attempt) {
      int seq = static_cast<int>(rng_.Uniform(500)) * 2 + (male ? 1 : 0);
      uint64_t key =
          (static_cast<uint64_t>(p.county) * 100000000ULL +
           static_cast<uint64_t>(birth.year() * 10000 + birth.month() * 100 +
                                 birth.day())) *
              1000ULL +
          static_cast<uint64_t>(seq);
      if (!ids_.insert(key).second) {
        if (attempt > 2000) {
          return absl::ResourceExhaustedError(absl::StrFormat(
              "no free citizen id sequence for region %06d born %s", p.county,
              absl::FormatCivilTime(birth)));
        }
        continue;
      }
      absl::StatusOr<std::string> id =
          subject::MakeCitizenId(p.county, birth, seq);
      if (!id.ok()) return id.status();
      std::copy(id->begin(), id->end(), p.id.begin());
      break;
    }
    pop_.people.push_back(std::move(p));
    ++hh.member_count;
    return static_cast<int32_t>(pop_.people.size() - 1);
  }

  void Marry(int32_t a, int32_t b, absl::CivilDay on) {
    Person& pa = pop_.people[a];
    Person& pb = pop_.people[b];
    pa.spouse = b;
    pb.spouse = a;
    pa.married_on = on;
    pb.married_on = on;
  }

  absl::Status AddHousehold() {
    Household hh;
    const County& county = pop_.counties[rng_.Uniform(pop_.counties.size())];
    hh.county = county.code;
    hh.first_member = static_cast<int32_t>(pop_.people.size());
    hh.number = absl::StrFormat("%06d%08d", county.code,
                                static_cast<int>(pop_.households.size()));
    hh.street = std::string(Pick(rng_, kStreets));
    hh.detail = absl::StrFormat("%s路%d号%d幢%d室", Pick(rng_, kRoads),
                                rng_.Between(1, 999), rng_.Between(1, 30),
                                rng_.Between(101, 2603));
    hh.low_income = rng_.Chance(15);
    pop_.households.push_back(std::move(hh));

    const absl::CivilDay today = pop_.as_of_day;
    const uint64_t kind = rng_.Uniform(1000);
    if (kind < 150) {  // one person
      bool male = rng_.Chance(500);
      absl::CivilDay birth =
          DayBetween(rng_, absl::CivilDay(1935, 1, 1), AddYears(today, -19));
      ASSIGN_OR_RETURN(
          int32_t head,
          AddPerson(male, birth, Pick(rng_, kSurnames), Relation::kSelf));
      pop_.households.back().head = head;
      return absl::OkStatus();
    }
    const bool elderly = kind < 250;
    const bool three_generations = kind >= 850;
    absl::CivilDay husband_birth =
        elderly ? DayBetween(rng_, absl::CivilDay(1935, 1, 1),
                             absl::CivilDay(1962, 12, 31))
                : DayBetween(rng_, absl::CivilDay(1958, 1, 1),
                             absl::CivilDay(1999, 12, 31));
    absl::CivilDay wife_birth =
        husband_birth + static_cast<int64_t>(rng_.Between(-700, 1800));
    absl::string_view surname = Pick(rng_, kSurnames);
    absl::string_view wife_surname = Pick(rng_, kSurnames);
    const bool husband_heads = rng_.Chance(800);

    int32_t husband, wife;
    if (husband_heads) {
      ASSIGN_OR_RETURN(
          husband, AddPerson(true, husband_birth, surname, Relation::kSelf));
      ASSIGN_OR_RETURN(
          wife, AddPerson(false, wife_birth, wife_surname, Relation::kSpouse));
    } else {
      ASSIGN_OR_RETURN(
          wife, AddPerson(false, wife_birth, wife_surname, Relation::kSelf));
      ASSIGN_OR_RETURN(
          husband, AddPerson(true, husband_birth, surname, Relation::kSpouse));
    }
    const int32_t head = husband_heads ? husband : wife;
    pop_.households.back().head = head;
    if (husband == kNone || wife == kNone) return absl::OkStatus();

    // Children, born when the mother was 22..38, before today.
    std::vector<absl::CivilDay> kids;
    if (!elderly) {
      int n = 1 + static_cast<int>(rng_.Uniform(1000) < 450   ? 0
                                   : rng_.Uniform(1000) < 700 ? 1
                                                              : 2);
      for (int i = 0; i < n; ++i) {
        absl::CivilDay b = DayBetween(rng_, AddYears(wife_birth, 22),
                                      AddYears(wife_birth, 38));
        if (b < today - 30) kids.push_back(b);
      }
      std::sort(kids.begin(), kids.end());
    }
    absl::CivilDay married =
        DayBetween(rng_, AddYears(std::max(husband_birth, wife_birth), 22),
                   AddYears(std::max(husband_birth, wife_birth), 26));
    if (!kids.empty() && married > kids.front() - 300) {
      married = std::max(kids.front() - 300, AddYears(wife_birth, 20));
    }
    if (married >= today) married = today - 1;
    Marry(husband, wife, married);

    for (absl::CivilDay b : kids) {
      ASSIGN_OR_RETURN(int32_t child, AddPerson(rng_.Chance(515), b, surname,
                                                Relation::kChild));
      if (child == kNone) return absl::OkStatus();
      pop_.people[child].father = husband;
      pop_.people[child].mother = wife;
    }
    if (three_generations) {
      // The head's parents live with them.
      const Person& h = pop_.people[head];
      absl::string_view head_surname = husband_heads ? surname : wife_surname;
      absl::CivilDay hb = h.birth;
      absl::CivilDay gf_birth =
          DayBetween(rng_, AddYears(hb, -34), AddYears(hb, -24));
      absl::CivilDay gm_birth =
          gf_birth + static_cast<int64_t>(rng_.Between(-400, 1500));
      if (gm_birth > AddYears(hb, -20)) gm_birth = AddYears(hb, -20);
      bool both = rng_.Chance(600);
      bool father_lives = both || rng_.Chance(500);
      int32_t gf = kNone, gm = kNone;
      if (father_lives) {
        ASSIGN_OR_RETURN(
            gf, AddPerson(true, gf_birth, head_surname, Relation::kParent));
        if (gf == kNone) return absl::OkStatus();
        pop_.people[head].father = gf;
      }
      if (both || !father_lives) {
        ASSIGN_OR_RETURN(gm, AddPerson(false, gm_birth, Pick(rng_, kSurnames),
                                       Relation::kParent));
        if (gm == kNone) return absl::OkStatus();
        pop_.people[head].mother = gm;
      }
      if (gf != kNone && gm != kNone) {
        Marry(gf, gm, DayBetween(rng_, AddYears(hb, -3), hb - 300));
      }
    }
    return absl::OkStatus();
  }

  void AddDeaths() {
    const absl::CivilDay first(2021, 1, 1);
    const absl::CivilDay last = pop_.as_of_day - 10;
    for (size_t i = 0; i < pop_.people.size(); ++i) {
      Person& p = pop_.people[i];
      int age = Population::AgeAt(p, pop_.as_of_day);
      int per_mille = age >= 85   ? 150
                      : age >= 75 ? 60
                      : age >= 60 ? 15
                      : age >= 18 ? 2
                                  : 0;
      if (!rng_.Chance(per_mille)) continue;
      // Not before adulthood, the marriage or any child's birth.
      absl::CivilDay lo = std::max(first, AddYears(p.birth, 18));
      if (p.spouse != kNone) lo = std::max(lo, p.married_on + 1);
      const Household& hh = pop_.households[p.household];
      for (int32_t m = hh.first_member; m < hh.first_member + hh.member_count;
           ++m) {
        const Person& c = pop_.people[m];
        if (c.father == static_cast<int32_t>(i) ||
            c.mother == static_cast<int32_t>(i)) {
          lo = std::max(lo, c.birth + 1);
        }
      }
      if (p.spouse != kNone && pop_.people[p.spouse].dead) continue;
      if (lo > last) continue;
      p.dead = true;
      p.death_day = DayBetween(rng_, lo, last);
    }
  }

  int32_t RandomLivingAdult(int min_age, int max_age) {
    if (pop_.people.empty()) return kNone;
    for (int attempt = 0; attempt < 200; ++attempt) {
      int32_t i = static_cast<int32_t>(rng_.Uniform(pop_.people.size()));
      const Person& p = pop_.people[i];
      int age = pop_.Age(p);
      if (!p.dead && age >= min_age && age <= max_age) return i;
    }
    // Small populations: scan.
    for (size_t i = 0; i < pop_.people.size(); ++i) {
      const Person& p = pop_.people[i];
      int age = pop_.Age(p);
      if (!p.dead && age >= min_age && age <= max_age) {
        return static_cast<int32_t>(i);
      }
    }
    return kNone;
  }

  absl::Status AddCompanies() {
    // An affine map i -> a*i+b (mod 31^8) with a coprime to 31 is a
    // bijection, so organisation code bodies (and codes) never repeat.
    constexpr uint64_t kSpace = 852891037441ULL;  // 31^8
    const uint64_t offset = rng_.Uniform(kSpace);
    pop_.companies.reserve(options_.companies);
    for (int64_t i = 0; i < options_.companies; ++i) {
      Company c;
      c.social_organization = (i % 20 == 19);
      const County& county = pop_.counties[rng_.Uniform(pop_.counties.size())];
      c.county = county.code;
      uint64_t v = (static_cast<uint64_t>(i) * 2654435761ULL + offset) % kSpace;
      char body[8];
      for (int k = 7; k >= 0; --k) {
        body[k] = kCreditAlphabet[v % 31];
        v /= 31;
      }
      ASSIGN_OR_RETURN(c.id, subject::MakeCreditCode(
                                 c.social_organization ? '5' : '9', '1',
                                 county.code, absl::string_view(body, 8)));
      c.name = c.social_organization
                   ? absl::StrCat(county.district, Pick(rng_, kCompanyWords),
                                  Pick(rng_, kSocialKinds))
                   : absl::StrCat(county.city.substr(0, county.city.size() - 3),
                                  Pick(rng_, kCompanyWords),
                                  Pick(rng_, kCompanyKinds));
      c.legal_representative = RandomLivingAdult(25, 70);
      c.established =
          DayBetween(rng_, absl::CivilDay(1995, 1, 1), pop_.as_of_day - 60);
      pop_.companies.push_back(std::move(c));
    }
    return absl::OkStatus();
  }

  void AssignEmployers() {
    std::vector<int32_t> enterprises;
    for (size_t i = 0; i < pop_.companies.size(); ++i) {
      if (!pop_.companies[i].social_organization) {
        enterprises.push_back(static_cast<int32_t>(i));
      }
    }
    if (enterprises.empty()) return;
    for (Person& p : pop_.people) {
      int age = pop_.Age(p);
      if (p.dead || age < 18 || age >= 60) continue;
      if (rng_.Chance(650)) {
        p.employer = enterprises[rng_.Uniform(enterprises.size())];
      }
    }
  }

  // Village agents (村级代办员): elderly people delegate matters to an agent,
  // about eight per agent.
  void AssignAgents() {
    struct Slot {
      int32_t agent = kNone;
      int held = 0;
    };
    // One open agent per county: an agent serves people of their own
    // county (their village, in reality), then the next one takes over.
    absl::flat_hash_map<int32_t, Slot> by_county;
    absl::flat_hash_set<int32_t> agents;  // a full agent takes no more
    for (size_t i = 0; i < pop_.people.size(); ++i) {
      Person& p = pop_.people[i];
      if (p.dead || pop_.Age(p) < 70 || !rng_.Chance(300)) continue;
      const int32_t county = pop_.households[p.household].county;
      Slot& slot = by_county[county];
      if (slot.agent == kNone || slot.held == 8) {
        slot.agent = kNone;
        slot.held = 0;
        for (int attempt = 0; attempt < 2000 && slot.agent == kNone;
             ++attempt) {
          int32_t c = static_cast<int32_t>(rng_.Uniform(pop_.people.size()));
          const Person& q = pop_.people[c];
          const int age = pop_.Age(q);
          if (!q.dead && age >= 30 && age <= 60 &&
              pop_.households[q.household].county == county &&
              agents.insert(c).second) {
            slot.agent = c;
          }
        }
        if (slot.agent == kNone) continue;  // nobody suitable nearby
      }
      if (slot.agent == static_cast<int32_t>(i)) continue;
      p.agent = slot.agent;
      ++slot.held;
    }
  }

  const PopulationOptions& options_;
  Population& pop_;
  Rng rng_;
  absl::flat_hash_set<uint64_t> ids_;
};

}  // namespace

std::vector<County> ZhejiangCounties() {
  std::vector<County> out;
  for (int code = 330100; code < 331200; ++code) {
    absl::StatusOr<subject::Region> r = subject::LookupRegion(code);
    if (!r.ok() || r->county_name.empty() || r->prefecture_name.empty()) {
      continue;
    }
    out.push_back(County{code, r->prefecture_name, r->county_name,
                         PlateLetter(code / 100)});
  }
  return out;
}

const County& Population::CountyOf(int32_t code) const {
  auto it =
      std::lower_bound(counties.begin(), counties.end(), code,
                       [](const County& c, int32_t v) { return c.code < v; });
  if (it == counties.end() || it->code != code) return counties.front();
  return *it;
}

int Population::AgeAt(const Person& p, absl::CivilDay day) {
  int age = static_cast<int>(day.year() - p.birth.year());
  if (day.month() < p.birth.month() ||
      (day.month() == p.birth.month() && day.day() < p.birth.day())) {
    --age;
  }
  return age;
}

absl::StatusOr<Population> BuildPopulation(const PopulationOptions& options) {
  if (options.citizens < 0 || options.citizens > kMaxCitizens) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "citizens is %d, expected 0..%d", options.citizens, kMaxCitizens));
  }
  if (options.companies < 0 || options.companies > kMaxCompanies) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "companies is %d, expected 0..%d", options.companies, kMaxCompanies));
  }
  Population pop;
  Builder builder(options, pop);
  absl::Status st = builder.Build();
  if (!st.ok()) return st;
  return pop;
}

}  // namespace datarun::gen
