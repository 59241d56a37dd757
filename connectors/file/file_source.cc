#include "connectors/file/file_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "connectors/file/csv.h"
#include "connectors/mapping.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace datarun::connectors {
namespace {

using datarun::connectors::v1::Format;

constexpr size_t kChunk = 1 << 20;

// Row::layout ids, unique in the process (one per opened CSV file).
std::atomic<uint64_t> next_layout{0};

absl::Status ErrnoError(absl::string_view what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status EnsureDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError("cannot create directory", path);
  }
  return absl::OkStatus();
}

std::string JsonValueText(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kStringValue:
      return v.string_value();
    case google::protobuf::Value::kNumberValue: {
      double d = v.number_value();
      if (d == static_cast<double>(static_cast<int64_t>(d)) && d < 9.2e18 &&
          d > -9.2e18) {
        return absl::StrCat(static_cast<int64_t>(d));
      }
      return absl::StrCat(d);
    }
    case google::protobuf::Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case google::protobuf::Value::kNullValue:
      return "";
    default: {
      std::string out;
      (void)google::protobuf::util::MessageToJsonString(v, &out);
      return out;
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<FileSource>> FileSource::Create(
    const v1::FileSourceConfig& config, Format format) {
  if (format != v1::FORMAT_CSV && format != v1::FORMAT_JSONL &&
      format != v1::FORMAT_CANONICAL_JSONL) {
    return absl::InvalidArgumentError(
        "file source: the mapping's format must be CSV, JSONL or "
        "CANONICAL_JSONL");
  }
  if (config.drop_dir().empty()) {
    return absl::InvalidArgumentError("file source: drop_dir is required");
  }
  struct stat st;
  if (stat(config.drop_dir().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat(
        "file source: drop_dir ", config.drop_dir(), " is not a directory"));
  }
  std::unique_ptr<FileSource> s(new FileSource());
  s->config_ = config;
  s->format_ = format;
  s->done_dir_ = absl::StrCat(config.drop_dir(), "/.done");
  RETURN_IF_ERROR(EnsureDir(s->done_dir_));
  RETURN_IF_ERROR(EnsureDir(absl::StrCat(config.drop_dir(), "/.rejected")));
  s->state_file_ = config.state_file().empty()
                       ? absl::StrCat(config.drop_dir(), "/.datarun-position")
                       : config.state_file();
  std::ifstream in(s->state_file_);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    std::string content = text.str();
    if (!content.empty() && content.back() == '\n') content.pop_back();
    std::vector<std::string> parts = absl::StrSplit(content, '\t');
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &s->resume_offset_) ||
        !absl::SimpleAtoi(parts[2], &s->resume_line_)) {
      return absl::DataLossError(absl::StrCat(
          "file source: state file ", s->state_file_,
          " is not '<file>\\t<offset>\\t<line>': '", content, "'"));
    }
    s->resume_file_ = parts[0];
    s->committed_file_ = parts[0];
    s->committed_offset_ = s->resume_offset_;
    DR_LOG(INFO) << "file source: resuming " << s->resume_file_ << " at byte "
                 << s->resume_offset_ << " (line " << s->resume_line_ << ")";
  }
  return s;
}

FileSource::~FileSource() {
  if (file_ != nullptr) std::fclose(file_);
}

bool FileSource::Idle() const {
  return file_ == nullptr && finished_.empty() && !pending_files_;
}

absl::Status FileSource::Fill() {
  if (buffer_pos_ > 0) {
    buffer_.erase(0, buffer_pos_);
    buffer_file_offset_ += buffer_pos_;
    buffer_pos_ = 0;
  }
  size_t old = buffer_.size();
  buffer_.resize(old + kChunk);
  size_t got = std::fread(buffer_.data() + old, 1, kChunk, file_);
  buffer_.resize(old + got);
  if (got < kChunk) {
    if (std::ferror(file_)) {
      return ErrnoError("cannot read", config_.drop_dir() + "/" + current_);
    }
    eof_ = true;
  }
  return absl::OkStatus();
}

absl::Status FileSource::OpenNext(bool* opened) {
  *opened = false;
  DIR* dir = opendir(config_.drop_dir().c_str());
  if (dir == nullptr) return ErrnoError("cannot list", config_.drop_dir());
  std::vector<std::string> names;
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    if (!config_.suffix().empty() && !absl::EndsWith(name, config_.suffix())) {
      continue;
    }
    bool finished =
        std::any_of(finished_.begin(), finished_.end(),
                    [&](const FinishedFile& f) { return f.name == name; });
    if (finished) continue;
    struct stat st;
    std::string path = absl::StrCat(config_.drop_dir(), "/", name);
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    names.push_back(std::move(name));
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  pending_files_ = !names.empty();
  if (names.empty()) return absl::OkStatus();

  std::string name = names.front();
  uint64_t offset = 0, line = 0;
  if (!resume_file_.empty() &&
      std::find(names.begin(), names.end(), resume_file_) != names.end()) {
    name = resume_file_;
    offset = resume_offset_;
    line = resume_line_;
  }
  resume_file_.clear();

  const std::string path = absl::StrCat(config_.drop_dir(), "/", name);
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) return ErrnoError("cannot open", path);
  struct stat st;
  fstat(fileno(file_), &st);
  current_ = name;
  current_size_ = st.st_size;
  buffer_.clear();
  buffer_pos_ = 0;
  buffer_file_offset_ = 0;
  eof_ = false;
  line_ = 0;
  rows_emitted_ = 0;
  header_.clear();

  if (format_ == v1::FORMAT_CSV) {
    size_t consumed = 0;
    std::string error;
    CsvResult r;
    while ((r = ParseCsvRecord(buffer_, eof_, &consumed, &header_, &error)) ==
           CsvResult::kNeedMore) {
      RETURN_IF_ERROR(Fill());
    }
    bool bad = r != CsvResult::kRecord;
    if (!bad && config_.encoding() == v1::ENCODING_GBK) {
      for (std::string& h : header_) {
        auto utf8 = GbkToUtf8(h);
        if (!utf8.ok()) {
          bad = true;
          error = std::string(utf8.status().message());
          break;
        }
        h = *std::move(utf8);
      }
    }
    if (bad) {
      DR_LOG(ERROR) << "file source: " << path << ": no usable CSV header ("
                    << (r == CsvResult::kEnd ? "empty file" : error)
                    << "); moved to .rejected/";
      std::fclose(file_);
      file_ = nullptr;
      std::string to = absl::StrCat(config_.drop_dir(), "/.rejected/", name);
      if (std::rename(path.c_str(), to.c_str()) != 0) {
        return ErrnoError("cannot move", path);
      }
      return absl::OkStatus();
    }
    buffer_pos_ = consumed;
    line_ = std::count(buffer_.begin(), buffer_.begin() + consumed, '\n');
    layout_ = next_layout.fetch_add(1) + 1;
  }
  if (offset > buffer_file_offset_ + buffer_pos_) {
    if (std::fseek(file_, offset, SEEK_SET) != 0) {
      return ErrnoError("cannot seek", path);
    }
    buffer_.clear();
    buffer_pos_ = 0;
    buffer_file_offset_ = offset;
    eof_ = false;
    line_ = line;
  }
  *opened = true;
  DR_LOG(INFO) << "file source: reading " << path << " from byte "
               << buffer_file_offset_ + buffer_pos_;
  return absl::OkStatus();
}

void FileSource::NameColumns(Row* row, bool named) {
  // A reused Row this source last filled with a good row of this file
  // already has the header's names (the parser writes values only).
  for (size_t i = 0; !named && i < header_.size(); ++i) {
    std::string& name = row->columns[i].first;
    if (name != header_[i]) name = header_[i];  // once per reused Row
  }
  row->layout = layout_;
}

bool FileSource::NextRecord(Row* row, bool* need_more) {
  *need_more = false;
  const bool named = layout_ != 0 && row->layout == layout_;
  absl::string_view view(buffer_);
  view.remove_prefix(buffer_pos_);
  size_t consumed = 0;
  std::string error;
  bool broken = false;
  absl::string_view raw;
  if (format_ == v1::FORMAT_CSV) {
    // Straight into the row's column values (their strings are reused).
    CsvResult r = ParseCsvRecord(view, eof_, &consumed, &row->columns, &error);
    if (r == CsvResult::kNeedMore) {
      *need_more = true;
      return false;
    }
    if (r == CsvResult::kEnd) {
      buffer_pos_ += consumed;
      return false;
    }
    broken = r == CsvResult::kBroken;
    raw = view.substr(0, consumed);
  } else {
    // Skip blank lines.
    size_t start = 0;
    while (start < view.size() &&
           (view[start] == '\n' || view[start] == '\r')) {
      if (view[start] == '\n') ++line_;
      ++start;
    }
    size_t nl = view.find('\n', start);
    if (nl == absl::string_view::npos) {
      if (!eof_) {
        *need_more = true;
        return false;
      }
      if (start == view.size()) {
        buffer_pos_ += start;
        return false;
      }
      consumed = view.size();
    } else {
      consumed = nl + 1;
    }
    buffer_pos_ += start;
    view.remove_prefix(start);
    consumed -= start;
    raw = view.substr(0, consumed);
  }
  const uint64_t first_line = line_ + 1;
  for (const char *p = raw.data(), *end = raw.data() + raw.size();
       (p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr;
       ++p) {
    ++line_;  // usually once: rows rarely hold quoted line breaks
  }
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) {
    raw.remove_suffix(1);
  }
  buffer_pos_ += consumed;
  const uint64_t end_offset = buffer_file_offset_ + buffer_pos_;
  last_row_end_ = end_offset;

  // Every member of *row is set (it may hold the previous row); assigning
  // into its strings reuses their capacity.
  row->position.clear();
  absl::StrAppend(&row->position, current_, "\t", end_offset, "\t", line_);
  row->location.clear();
  absl::StrAppend(&row->location, current_, ":", first_line);
  row->raw.assign(raw.data(), raw.size());
  row->op = RowOp::kUpsert;
  row->source_version = 0;
  row->source_error.clear();
  row->source_error_reason.clear();
  row->layout = 0;
  ++rows_emitted_;
  auto fail = [&](absl::string_view reason, std::string detail) {
    row->columns.clear();
    row->source_error_reason = std::string(reason);
    row->source_error = std::move(detail);
    return true;
  };
  if (broken) return fail(kReasonBadCsv, error);
  // Encoding.
  if (config_.encoding() == v1::ENCODING_GBK) {
    auto utf8 = GbkToUtf8(row->raw);
    if (!utf8.ok()) {
      return fail(kReasonInvalidUtf8, std::string(utf8.status().message()));
    }
    if (format_ == v1::FORMAT_CSV) {
      for (auto& column : row->columns)
        column.second = *GbkToUtf8(column.second);
    } else {
      row->raw = *std::move(utf8);
    }
  } else {
    size_t bad = 0;
    if (!IsValidUtf8(row->raw, &bad)) {
      return fail(kReasonInvalidUtf8,
                  absl::StrCat("invalid UTF-8 at byte ", bad, " of the row"));
    }
  }
  if (format_ == v1::FORMAT_CSV) {
    if (row->columns.size() != header_.size()) {
      return fail(kReasonBadCsv,
                  absl::StrCat("row has ", row->columns.size(),
                               " fields, header has ", header_.size()));
    }
    NameColumns(row, named);
  } else if (format_ == v1::FORMAT_JSONL) {
    row->columns.clear();
    google::protobuf::Struct object;
    auto s = google::protobuf::util::JsonStringToMessage(row->raw, &object);
    if (!s.ok()) {
      return fail(kReasonBadJson,
                  absl::StrCat("not a JSON object: ", s.message().as_string()));
    }
    for (const auto& [key, value] : object.fields()) {
      row->columns.emplace_back(key, JsonValueText(value));
    }
  } else {
    row->columns.clear();  // canonical JSONL: the mapper reads `raw`
  }
  return true;
}

absl::Status FileSource::FinishCurrent() {
  std::fclose(file_);
  file_ = nullptr;
  DR_LOG(INFO) << "file source: read " << current_ << " to the end";
  if (rows_emitted_ == 0) {
    // Nothing of this file awaits acknowledgement.
    return MoveToDone(current_);
  }
  finished_.push_back(FinishedFile{current_, last_row_end_});
  return absl::OkStatus();
}

absl::Status FileSource::MoveToDone(const std::string& name) {
  std::string from = absl::StrCat(config_.drop_dir(), "/", name);
  std::string to = absl::StrCat(done_dir_, "/", name);
  if (access(to.c_str(), F_OK) == 0) {
    to = absl::StrCat(to, ".", absl::ToUnixMicros(absl::Now()));
  }
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoError("cannot move to .done/:", from);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> FileSource::Next(Row* row) {
  while (true) {
    if (file_ == nullptr) {
      bool opened = false;
      RETURN_IF_ERROR(OpenNext(&opened));
      if (!opened) {
        if (pending_files_) continue;  // a header-less file was rejected
        return false;
      }
    }
    bool need_more = false;
    if (NextRecord(row, &need_more)) return true;
    if (need_more) {
      if (eof_) {
        return absl::InternalError("file source: parser wants more at EOF");
      }
      RETURN_IF_ERROR(Fill());
      continue;
    }
    RETURN_IF_ERROR(FinishCurrent());
  }
}

absl::Status FileSource::Commit(const std::string& position) {
  std::vector<std::string> parts = absl::StrSplit(position, '\t');
  uint64_t offset = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &offset)) {
    return absl::InvalidArgumentError(
        absl::StrCat("file source: bad position '", position, "'"));
  }
  const std::string tmp = state_file_ + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return ErrnoError("cannot write", tmp);
  std::string content = position + "\n";
  bool ok = write(fd, content.data(), content.size()) ==
                static_cast<ssize_t>(content.size()) &&
            fsync(fd) == 0;
  close(fd);
  if (!ok) return ErrnoError("cannot write", tmp);
  if (std::rename(tmp.c_str(), state_file_.c_str()) != 0) {
    return ErrnoError("cannot rename to", state_file_);
  }
  committed_file_ = parts[0];
  committed_offset_ = offset;
  // finished_ is in read order: files before the committed one are fully
  // acknowledged; the committed one is if its last row is.
  size_t done = finished_.size();  // committed file is the current one
  for (size_t i = 0; i < finished_.size(); ++i) {
    if (finished_[i].name == committed_file_) {
      done = committed_offset_ >= finished_[i].last_row_end ? i + 1 : i;
      break;
    }
  }
  for (size_t i = 0; i < done; ++i) {
    RETURN_IF_ERROR(MoveToDone(finished_.front().name));
    finished_.pop_front();
  }
  return absl::OkStatus();
}

}  // namespace datarun::connectors
