#include "exchange/state/key_codec.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace datarun::state {
namespace {

constexpr char kEscape = '\x00';
constexpr char kEscapedZero = '\xff';
constexpr char kTerminator = '\x01';

// Reads one escaped string from the front of *in, consuming it.
absl::StatusOr<std::string> ReadEscaped(absl::string_view* in,
                                        absl::string_view what) {
  std::string out;
  for (size_t i = 0; i < in->size(); ++i) {
    char c = (*in)[i];
    if (c != kEscape) {
      out.push_back(c);
      continue;
    }
    if (i + 1 >= in->size()) break;
    char next = (*in)[i + 1];
    if (next == kTerminator) {
      in->remove_prefix(i + 2);
      return out;
    }
    if (next != kEscapedZero) {
      return absl::InvalidArgumentError(absl::StrCat(
          "state key: bad escape byte in ", what, " at offset ", i + 1));
    }
    out.push_back('\0');
    ++i;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("state key: ", what, " is not terminated"));
}

int32_t ReadBigEndian32(absl::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return static_cast<int32_t>(v);
}

}  // namespace

void AppendEscaped(absl::string_view s, std::string* out) {
  // Whole runs between zero bytes at once (ids rarely hold any): this is on
  // the ingest path, once per record.
  while (!s.empty()) {
    const void* z = std::memchr(s.data(), kEscape, s.size());
    if (z == nullptr) {
      out->append(s.data(), s.size());
      break;
    }
    const size_t run = static_cast<const char*>(z) - s.data();
    out->append(s.data(), run + 1);
    out->push_back(kEscapedZero);
    s.remove_prefix(run + 1);
  }
  const char end[2] = {kEscape, kTerminator};
  out->append(end, 2);
}

void AppendPartition(int32_t partition, std::string* out) {
  uint32_t p = static_cast<uint32_t>(partition);
  out->push_back(static_cast<char>(p >> 24));
  out->push_back(static_cast<char>(p >> 16));
  out->push_back(static_cast<char>(p >> 8));
  out->push_back(static_cast<char>(p));
}

void AppendRecordKey(int32_t partition, absl::string_view subject_id,
                     absl::string_view data_class, absl::string_view record_key,
                     std::string* out) {
  AppendPartition(partition, out);
  AppendEscaped(subject_id, out);
  AppendEscaped(data_class, out);
  AppendEscaped(record_key, out);
}

std::string EncodeRecordKey(int32_t partition, absl::string_view subject_id,
                            absl::string_view data_class,
                            absl::string_view record_key) {
  std::string key;
  key.reserve(4 + subject_id.size() + data_class.size() + record_key.size() +
              6);
  AppendRecordKey(partition, subject_id, data_class, record_key, &key);
  return key;
}

std::string EncodeSubjectPrefix(int32_t partition,
                                absl::string_view subject_id) {
  std::string key;
  AppendPartition(partition, &key);
  AppendEscaped(subject_id, &key);
  return key;
}

std::string EncodeClassPrefix(int32_t partition, absl::string_view subject_id,
                              absl::string_view data_class) {
  std::string key = EncodeSubjectPrefix(partition, subject_id);
  AppendEscaped(data_class, &key);
  return key;
}

std::string EncodePartitionPrefix(int32_t partition) {
  std::string key;
  AppendPartition(partition, &key);
  return key;
}

absl::StatusOr<RecordAddress> DecodeRecordKey(absl::string_view key) {
  if (key.size() < 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "state key: ", key.size(), " bytes, shorter than the partition"));
  }
  RecordAddress address;
  address.partition = ReadBigEndian32(key);
  key.remove_prefix(4);
  auto subject = ReadEscaped(&key, "subject id");
  if (!subject.ok()) return subject.status();
  auto data_class = ReadEscaped(&key, "data class");
  if (!data_class.ok()) return data_class.status();
  auto record_key = ReadEscaped(&key, "record key");
  if (!record_key.ok()) return record_key.status();
  if (!key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "state key: ", key.size(), " trailing bytes after the record key"));
  }
  address.subject_id = *std::move(subject);
  address.data_class = *std::move(data_class);
  address.record_key = *std::move(record_key);
  return address;
}

size_t SubjectPrefixLength(absl::string_view key) {
  // The prefix extractor runs on every key a seek or scan compares: find the
  // zero bytes with memchr rather than a byte loop.
  size_t i = 4;
  while (i + 1 < key.size()) {
    const void* z = std::memchr(key.data() + i, kEscape, key.size() - 1 - i);
    if (z == nullptr) return 0;
    i = static_cast<size_t>(static_cast<const char*>(z) - key.data());
    if (key[i + 1] == kTerminator) return i + 2;
    i += 2;  // skip the escaped zero
  }
  return 0;
}

std::string EncodeOffsetKey(absl::string_view topic, int32_t partition) {
  std::string key;
  AppendEscaped(topic, &key);
  AppendPartition(partition, &key);
  return key;
}

absl::StatusOr<TopicPartitionKey> DecodeOffsetKey(absl::string_view key) {
  auto topic = ReadEscaped(&key, "topic");
  if (!topic.ok()) return topic.status();
  if (key.size() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offset key: expected 4 partition bytes after the topic, found ",
        key.size()));
  }
  return TopicPartitionKey{*std::move(topic), ReadBigEndian32(key)};
}

}  // namespace datarun::state
