// Synthetic department records for `datarun gen`, benchmarks and tests.
//
// Generator builds a Population (population.h) for a seed and projects it
// onto every data class of the Zhejiang catalog: each department's records
// about a person or company are derived from the same model, so households,
// kinship, marriages, properties, companies and deaths agree across
// departments. Records come out in memory through a RecordSink; the JSONL
// writer (jsonl_writer.h) serialises them to files.
//
// Determinism: every person's and company's records are drawn from a random
// stream derived from (seed, index) only, so any split of the index range
// (e.g. across threads) yields the same records, and the same seed always
// yields byte-identical output. Event times derive from the seed's as-of
// instant, never from the clock.
//
// Thread-safety: a Generator is immutable after Create; Emit* are const and
// may run concurrently on disjoint or overlapping ranges, each with its own
// sink.
#ifndef DATARUN_CONNECTORS_GEN_GENERATOR_H_
#define DATARUN_CONNECTORS_GEN_GENERATOR_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/gen/population.h"
#include "google/protobuf/message.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::gen {

// A data class as the generator knows it; mirrors the catalog entry
// (the test checks that the two agree).
struct DataClassSpec {
  absl::string_view id;          // e.g. "household_registration"
  absl::string_view department;  // authoritative source, e.g. "public_security"
  absl::string_view payload_type;  // full message name
  bool legal_person = false;       // subject is a credit code
};

// All data classes, in catalog order. Indexes into this vector are the
// `class_index` of GeneratedRecord.
const std::vector<DataClassSpec>& DataClasses();

// One record before serialisation. Views and the payload point into the
// emitter's scratch space: valid only during RecordSink::Add.
struct GeneratedRecord {
  int class_index = 0;
  absl::string_view subject_id;
  absl::string_view record_key;
  uint64_t source_version = 1;
  absl::Time event_time;
  const google::protobuf::Message* payload = nullptr;
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void Add(const GeneratedRecord& record) = 0;
};

class Generator {
 public:
  // Errors as BuildPopulation.
  static absl::StatusOr<std::unique_ptr<const Generator>> Create(
      const PopulationOptions& options);

  const Population& population() const { return pop_; }

  // Records about citizens [begin, end) (clamped to the population), person
  // by person, each person's in a fixed class order.
  void EmitCitizens(int64_t begin, int64_t end, RecordSink& sink) const;
  // Records about companies and social organisations [begin, end).
  void EmitCompanies(int64_t begin, int64_t end, RecordSink& sink) const;
  // Everything: citizens, then companies.
  void EmitAll(RecordSink& sink) const;

  // Companies whose legal representative is person `person`.
  const std::vector<int32_t>* CompaniesRepresentedBy(int32_t person) const;

 private:
  explicit Generator(Population pop);
  Population pop_;
  absl::flat_hash_map<int32_t, std::vector<int32_t>> represented_;
};

// The envelope form: subject (kind from the class), data_class,
// source_department, key, version, UPSERT, event time, payload packed in Any.
datarun::v1::Record ToRecord(const GeneratedRecord& record);

}  // namespace datarun::gen

#endif  // DATARUN_CONNECTORS_GEN_GENERATOR_H_
