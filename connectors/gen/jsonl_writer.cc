#include "connectors/gen/jsonl_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/gen/proto_json.h"
#include "connectors/gen/utc_format.h"

namespace datarun::gen {
namespace {

void AppendJsonString(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (c < 0x20) {
      absl::StrAppendFormat(out, "\\u%04x", c);
    } else {
      out->push_back(ch);  // UTF-8 passes through
    }
  }
  out->push_back('"');
}

// Collects one chunk's lines per class.
class ChunkSink : public RecordSink {
 public:
  ChunkSink() : text_(DataClasses().size()), counts_(DataClasses().size()) {}

  void Add(const GeneratedRecord& record) override {
    if (!status_.ok()) return;
    status_ = AppendJsonLine(record, &text_[record.class_index]);
    ++counts_[record.class_index];
  }

  std::vector<std::string>& text() { return text_; }
  const std::vector<int64_t>& counts() const { return counts_; }
  const absl::Status& status() const { return status_; }
  void Reset() {
    for (std::string& t : text_) t.clear();
    std::fill(counts_.begin(), counts_.end(), 0);
  }

 private:
  std::vector<std::string> text_;
  std::vector<int64_t> counts_;
  absl::Status status_;
};

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

absl::Status OsError(absl::string_view what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(std::FILE* f, absl::string_view data,
                      const std::string& path) {
  if (data.empty()) return absl::OkStatus();
  if (std::fwrite(data.data(), 1, data.size(), f) != data.size()) {
    return OsError("cannot write", path);
  }
  return absl::OkStatus();
}

std::string Manifest(const Generator& generator, const JsonlSummary& summary) {
  const Population& pop = generator.population();
  std::string m = "{\n";
  absl::StrAppend(&m, "  \"generator\": \"datarun gen\",\n");
  absl::StrAppend(&m, "  \"seed\": ", pop.seed, ",\n");
  absl::StrAppend(&m, "  \"citizens\": ", pop.people.size(), ",\n");
  absl::StrAppend(&m, "  \"companies\": ", pop.companies.size(), ",\n");
  absl::StrAppend(&m, "  \"households\": ", pop.households.size(), ",\n");
  // The data set's own "now" (derived from the seed, not the wall clock, so
  // the manifest is as reproducible as the data).
  absl::StrAppend(&m, "  \"generated_at\": \"", FormatEventTime(pop.as_of),
                  "\",\n");
  absl::StrAppend(&m, "  \"total_records\": ", summary.total_records, ",\n");
  absl::StrAppend(&m, "  \"classes\": [\n");
  const std::vector<DataClassSpec>& classes = DataClasses();
  for (size_t i = 0; i < classes.size(); ++i) {
    absl::StrAppend(&m, "    {\"department\": \"", classes[i].department,
                    "\", \"data_class\": \"", classes[i].id, "\", \"file\": \"",
                    classes[i].department, "/", classes[i].id,
                    ".jsonl\", \"payload_type\": \"", classes[i].payload_type,
                    "\", \"records\": ", summary.records_per_class[i], "}",
                    i + 1 < classes.size() ? ",\n" : "\n");
  }
  absl::StrAppend(&m, "  ]\n}\n");
  return m;
}

}  // namespace

std::string FormatEventTime(absl::Time t) {
  std::string out;
  out.reserve(20);
  AppendUtcSeconds(absl::ToUnixSeconds(t), &out);
  out.push_back('Z');
  return out;
}

absl::Status AppendJsonLine(const GeneratedRecord& record, std::string* out) {
  const size_t mark = out->size();
  out->append("{\"subject_id\": ");
  AppendJsonString(record.subject_id, out);
  out->append(", \"record_key\": ");
  AppendJsonString(record.record_key, out);
  out->append(", \"source_version\": ");
  absl::StrAppend(out, record.source_version);
  out->append(", \"op\": \"UPSERT\", \"event_time\": \"");
  AppendUtcSeconds(absl::ToUnixSeconds(record.event_time), out);
  out->push_back('Z');
  out->append("\", \"payload\": ");
  absl::Status st = AppendProtoJson(*record.payload, out);
  if (!st.ok()) {
    out->resize(mark);
    return absl::InvalidArgumentError(
        absl::StrCat("subject ", record.subject_id, ", class ",
                     DataClasses()[record.class_index].id, ": ", st.message()));
  }
  out->append("}\n");
  return absl::OkStatus();
}

absl::StatusOr<JsonlSummary> WriteJsonl(const Generator& generator,
                                        const JsonlOptions& options) {
  if (options.out_dir.empty()) {
    return absl::InvalidArgumentError("output directory is empty");
  }
  if (options.threads < 1 || options.chunk_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("threads is %d and chunk_size %d, both must be >= 1",
                        options.threads, options.chunk_size));
  }
  const std::vector<DataClassSpec>& classes = DataClasses();
  std::vector<File> files;
  std::vector<std::string> paths;
  for (const DataClassSpec& spec : classes) {
    std::filesystem::path dir =
        std::filesystem::path(options.out_dir) / std::string(spec.department);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat(
          "cannot create directory ", dir.string(), ": ", ec.message()));
    }
    paths.push_back((dir / absl::StrCat(spec.id, ".jsonl")).string());
    files.emplace_back(std::fopen(paths.back().c_str(), "wb"));
    if (files.back() == nullptr) return OsError("cannot create", paths.back());
  }

  JsonlSummary summary;
  summary.records_per_class.assign(classes.size(), 0);
  const Population& pop = generator.population();
  const int64_t people = static_cast<int64_t>(pop.people.size());
  const int64_t companies = static_cast<int64_t>(pop.companies.size());
  // Work units: citizen chunks, then company chunks (companies are ~10x
  // cheaper, so they reuse the same chunk size).
  struct Unit {
    bool company;
    int64_t begin, end;
  };
  std::vector<Unit> units;
  for (int64_t b = 0; b < people; b += options.chunk_size) {
    units.push_back({false, b, std::min(people, b + options.chunk_size)});
  }
  for (int64_t b = 0; b < companies; b += options.chunk_size) {
    units.push_back({true, b, std::min(companies, b + options.chunk_size)});
  }
  std::vector<ChunkSink> sinks(static_cast<size_t>(options.threads));
  for (size_t wave = 0; wave < units.size(); wave += sinks.size()) {
    const size_t n = std::min(sinks.size(), units.size() - wave);
    auto run = [&](size_t k) {
      const Unit& u = units[wave + k];
      sinks[k].Reset();
      if (u.company) {
        generator.EmitCompanies(u.begin, u.end, sinks[k]);
      } else {
        generator.EmitCitizens(u.begin, u.end, sinks[k]);
      }
    };
    std::vector<std::thread> threads;
    for (size_t k = 1; k < n; ++k) threads.emplace_back(run, k);
    run(0);
    for (std::thread& t : threads) t.join();
    for (size_t k = 0; k < n; ++k) {
      if (!sinks[k].status().ok()) return sinks[k].status();
      for (size_t c = 0; c < classes.size(); ++c) {
        const std::string& text = sinks[k].text()[c];
        absl::Status st = WriteAll(files[c].get(), text, paths[c]);
        if (!st.ok()) return st;
        summary.bytes += static_cast<int64_t>(text.size());
        summary.records_per_class[c] += sinks[k].counts()[c];
        summary.total_records += sinks[k].counts()[c];
      }
    }
  }
  for (size_t c = 0; c < files.size(); ++c) {
    if (std::fclose(files[c].release()) != 0) {
      return OsError("cannot close", paths[c]);
    }
  }
  const std::string manifest_path =
      (std::filesystem::path(options.out_dir) / "manifest.json").string();
  File manifest(std::fopen(manifest_path.c_str(), "wb"));
  if (manifest == nullptr) return OsError("cannot create", manifest_path);
  absl::Status st =
      WriteAll(manifest.get(), Manifest(generator, summary), manifest_path);
  if (!st.ok()) return st;
  if (std::fclose(manifest.release()) != 0) {
    return OsError("cannot close", manifest_path);
  }
  return summary;
}

}  // namespace datarun::gen
