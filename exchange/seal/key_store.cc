#include "exchange/seal/key_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "exchange/seal/openssl/openssl_seal.h"

namespace datarun::seal {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path,
                        int err) {
  const std::string message =
      absl::StrCat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) == 0) return absl::OkStatus();
  if (errno != EEXIST)
    return ErrnoError("cannot create directory", path, errno);
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

// Creates `path` exclusively (O_EXCL: never replaces an existing key) with
// `mode`, whatever the umask.
absl::Status WriteNewFile(const std::string& path, absl::string_view data,
                          mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("refusing to overwrite existing key file ", path));
    }
    return ErrnoError("cannot create", path, errno);
  }
  absl::Status status;
  if (fchmod(fd, mode) != 0) status = ErrnoError("cannot chmod", path, errno);
  size_t done = 0;
  while (status.ok() && done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoError("cannot write", path, errno);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (status.ok() && fsync(fd) != 0)
    status = ErrnoError("cannot sync", path, errno);
  if (close(fd) != 0 && status.ok())
    status = ErrnoError("cannot close", path, errno);
  if (!status.ok()) unlink(path.c_str());
  return status;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("cannot read", path, errno);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

absl::Status CheckKeyName(absl::string_view what, absl::string_view name) {
  if (name.empty())
    return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (name.size() > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", name, "' is longer than 128 characters"));
  }
  if (name[0] == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", name, "' must not start with '.'"));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " '", name,
          "' has a character outside [A-Za-z0-9._-] at position ", i));
    }
  }
  return absl::OkStatus();
}

std::string KeyStore::PrivateKeyPath(absl::string_view department,
                                     absl::string_view key_id) const {
  return absl::StrCat(dir_, "/", department, "/", key_id, ".key.pem");
}

std::string KeyStore::PublicKeyPath(absl::string_view department,
                                    absl::string_view key_id) const {
  return absl::StrCat(dir_, "/", department, "/", key_id, ".pub.pem");
}

absl::Status KeyStore::Write(absl::string_view department,
                             absl::string_view key_id,
                             const KeyPairPem& pair) const {
  RETURN_IF_ERROR(CheckKeyName("department", department));
  RETURN_IF_ERROR(CheckKeyName("key id", key_id));
  RETURN_IF_ERROR(MakeDir(dir_));
  RETURN_IF_ERROR(MakeDir(absl::StrCat(dir_, "/", department)));
  const std::string priv = PrivateKeyPath(department, key_id);
  const std::string pub = PublicKeyPath(department, key_id);
  // Check both first so a clash on the public half leaves nothing behind.
  for (const std::string& path : {priv, pub}) {
    if (Exists(path)) {
      return absl::AlreadyExistsError(
          absl::StrCat("refusing to overwrite existing key file ", path));
    }
  }
  RETURN_IF_ERROR(WriteNewFile(priv, pair.private_pem, 0600));
  absl::Status status = WriteNewFile(pub, pair.public_pem, 0644);
  if (!status.ok()) unlink(priv.c_str());
  return status;
}

absl::StatusOr<KeyPairPem> KeyStore::Generate(absl::string_view department,
                                              absl::string_view key_id,
                                              SealAlgorithm algorithm) const {
  RETURN_IF_ERROR(CheckKeyName("department", department));
  RETURN_IF_ERROR(CheckKeyName("key id", key_id));
  ASSIGN_OR_RETURN(KeyPairPem pair, openssl::GenerateKeyPair(algorithm));
  RETURN_IF_ERROR(Write(department, key_id, pair));
  return pair;
}

absl::StatusOr<std::unique_ptr<Signer>> KeyStore::LoadSigner(
    absl::string_view department, absl::string_view key_id) const {
  RETURN_IF_ERROR(CheckKeyName("department", department));
  RETURN_IF_ERROR(CheckKeyName("key id", key_id));
  const std::string path = PrivateKeyPath(department, key_id);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return ErrnoError("no seal private key at", path, errno);
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "private key ", path, " is accessible by group or others (mode ",
        absl::StrFormat("%04o", st.st_mode & 0777), "): chmod 600 it"));
  }
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto algorithm = openssl::AlgorithmOfPrivatePem(pem);
  if (!algorithm.ok()) {
    return absl::Status(algorithm.status().code(),
                        absl::StrCat(path, ": ", algorithm.status().message()));
  }
  return openssl::NewSigner(pem, KeyIdentity{std::string(department),
                                             std::string(key_id), *algorithm});
}

absl::StatusOr<std::string> KeyStore::ReadPublicPem(
    absl::string_view department, absl::string_view key_id) const {
  RETURN_IF_ERROR(CheckKeyName("department", department));
  RETURN_IF_ERROR(CheckKeyName("key id", key_id));
  return ReadFile(PublicKeyPath(department, key_id));
}

absl::StatusOr<std::unique_ptr<Verifier>> LoadVerifier(
    absl::string_view public_pem, KeyIdentity identity) {
  return openssl::NewVerifier(public_pem, std::move(identity));
}

}  // namespace datarun::seal
