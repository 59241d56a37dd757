#include "exchange/certificate/render/certificate_renderer.h"

#include <cairo/cairo-pdf.h>
#include <cairo/cairo.h>
#include <qrencode.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "exchange/certificate/field_format.h"
#include "openssl/sha.h"

namespace datarun::certificate {
namespace {

constexpr char kFont[] = "WenQuanYi Micro Hei";
// A4 in PostScript points.
constexpr double kPageWidth = 595.0;
constexpr double kPageHeight = 842.0;
constexpr double kMargin = 72.0;
// PNG pixels per point (144 dpi).
constexpr double kPngScale = 2.0;

// UTF-8 code points of `text` as separate strings (input is our own UTF-8).
std::vector<std::string> CodePoints(absl::string_view text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
    out.emplace_back(text.substr(i, n));
    i += n;
  }
  return out;
}

void SetFont(cairo_t* cr, double size, bool bold) {
  cairo_select_font_face(
      cr, kFont, CAIRO_FONT_SLANT_NORMAL,
      bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double TextWidth(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t ext;
  cairo_text_extents(cr, text.c_str(), &ext);
  return ext.x_advance;
}

void ShowAt(cairo_t* cr, double x, double y, const std::string& text) {
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, text.c_str());
}

void ShowCentered(cairo_t* cr, double cx, double y, const std::string& text) {
  ShowAt(cr, cx - TextWidth(cr, text) / 2, y, text);
}

// Draws `text` wrapped to `width` from (x, y); paragraphs at '\n' start with
// a two-character indent (Chinese convention). Returns the y after the text.
double ShowWrapped(cairo_t* cr, double x, double y, double width,
                   double line_height, absl::string_view text) {
  const double indent = TextWidth(cr, "中中");
  for (absl::string_view paragraph : absl::StrSplit(text, '\n')) {
    std::string line;
    double line_x = x + indent;
    double limit = width - indent;
    for (const std::string& cp : CodePoints(paragraph)) {
      if (TextWidth(cr, line + cp) > limit && !line.empty()) {
        ShowAt(cr, line_x, y, line);
        y += line_height;
        line.clear();
        line_x = x;
        limit = width;
      }
      line += cp;
    }
    if (!line.empty()) ShowAt(cr, line_x, y, line);
    y += line_height;
  }
  return y;
}

void StarPath(cairo_t* cr, double cx, double cy, double r) {
  for (int i = 0; i < 10; ++i) {
    double radius = i % 2 == 0 ? r : r * 0.382;
    double a = -M_PI / 2 + i * M_PI / 5;
    double x = cx + radius * std::cos(a), y = cy + radius * std::sin(a);
    if (i == 0) {
      cairo_move_to(cr, x, y);
    } else {
      cairo_line_to(cr, x, y);
    }
  }
  cairo_close_path(cr);
}

// The red round seal: ring, star, the issuer's name along the upper arc and
// "电子证明专用章" below the star.
void DrawSeal(cairo_t* cr, double cx, double cy, double r,
              const std::string& issuer_name) {
  cairo_save(cr);
  cairo_set_source_rgba(cr, 0.86, 0.08, 0.08, 0.88);
  cairo_set_line_width(cr, r * 0.06);
  cairo_arc(cr, cx, cy, r, 0, 2 * M_PI);
  cairo_stroke(cr);
  StarPath(cr, cx, cy, r * 0.28);
  cairo_fill(cr);

  std::vector<std::string> chars = CodePoints(issuer_name);
  const size_t n = chars.empty() ? 1 : chars.size();
  const double font = std::min(r * 0.3, r * 4.2 / n);
  SetFont(cr, font, true);
  const double span = std::min(M_PI * 1.4, n * (font * 1.05) / (r * 0.72));
  for (size_t i = 0; i < chars.size(); ++i) {
    double a = -M_PI / 2 - span / 2 + (i + 0.5) * span / n;
    double rr = r * 0.72;
    cairo_save(cr);
    cairo_translate(cr, cx + rr * std::cos(a), cy + rr * std::sin(a));
    cairo_rotate(cr, a + M_PI / 2);
    ShowAt(cr, -TextWidth(cr, chars[i]) / 2, font * 0.4, chars[i]);
    cairo_restore(cr);
  }
  SetFont(cr, r * 0.15, true);
  ShowCentered(cr, cx, cy + r * 0.58, "电子证明专用章");
  cairo_restore(cr);
}

absl::Status DrawQr(cairo_t* cr, double x, double y, double size,
                    const std::string& payload) {
  QRcode* qr = QRcode_encodeString8bit(payload.c_str(), 0, QR_ECLEVEL_M);
  if (qr == nullptr) {
    return absl::InternalError(absl::StrCat(
        "qrencode cannot encode ", payload.size(), " bytes of QR payload"));
  }
  const int quiet = 4;
  const int modules = qr->width + 2 * quiet;
  const double cell = size / modules;
  cairo_save(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_rectangle(cr, x, y, size, size);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int row = 0; row < qr->width; ++row) {
    for (int col = 0; col < qr->width; ++col) {
      if (qr->data[row * qr->width + col] & 1) {
        cairo_rectangle(cr, x + (col + quiet) * cell, y + (row + quiet) * cell,
                        cell, cell);
      }
    }
  }
  cairo_fill(cr);
  cairo_restore(cr);
  QRcode_free(qr);
  return absl::OkStatus();
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds());
}

absl::Status DrawPage(cairo_t* cr, const v1::Certificate& cert,
                      const RenderOptions& options) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);

  const std::string title =
      options.title.empty() ? std::string("电子证明") : options.title;
  SetFont(cr, 26, true);
  ShowCentered(cr, kPageWidth / 2, 118, title);
  SetFont(cr, 10, false);
  ShowAt(cr, kMargin, 160, absl::StrCat("证明编号：", cert.serial()));

  SetFont(cr, 14, false);
  double y = ShowWrapped(cr, kMargin, 210, kPageWidth - 2 * kMargin, 26,
                         cert.rendered_text());

  // Issuer and date, right-aligned, with the seal stamped over them.
  const std::string issuer = options.issuer_name.empty()
                                 ? cert.issuer_department()
                                 : options.issuer_name;
  const double right = kPageWidth - kMargin - 20;
  const double issuer_y = std::max(y + 70, 470.0);
  SetFont(cr, 14, false);
  std::string date = FormatChineseDate(FromProto(cert.issued_at()));
  ShowAt(cr, right - TextWidth(cr, issuer), issuer_y, issuer);
  ShowAt(cr, right - TextWidth(cr, date), issuer_y + 26, date);
  // Stamped across name and date, as a paper seal is.
  const double block = std::max(TextWidth(cr, issuer), TextWidth(cr, date));
  DrawSeal(cr, right - block / 2, issuer_y + 4, 62, issuer);

  // Verification block: QR code, validity, how to verify.
  const double qr_size = 130;
  const double qr_y = kPageHeight - kMargin - qr_size - 30;
  absl::Status qr = DrawQr(cr, kMargin, qr_y, qr_size, QrPayload(cert));
  if (!qr.ok()) return qr;
  SetFont(cr, 10, false);
  const double tx = kMargin + qr_size + 16;
  ShowAt(
      cr, tx, qr_y + 24,
      absl::StrCat("有效期：", FormatChineseDate(FromProto(cert.issued_at())),
                   " 至 ", FormatChineseDate(FromProto(cert.expires_at()))));
  ShowAt(cr, tx, qr_y + 44,
         absl::StrCat("电子印章：", cert.seal().department(), "/",
                      cert.seal().key_id(), "（",
                      cert.seal().algorithm() == v1::SEAL_ALGORITHM_SM2_SM3
                          ? "SM2/SM3"
                          : "Ed25519",
                      "）"));
  ShowAt(cr, tx, qr_y + 64, "本证明以电子文件为准，可离线核验：");
  ShowAt(cr, tx, qr_y + 84,
         "datarun verify --certificate=<文件> --catalog=<目录>");
  ShowAt(cr, tx, qr_y + 104, "扫描二维码获取证明编号与签名摘要。");
  return absl::OkStatus();
}

absl::Status CairoError(cairo_status_t status, const std::string& path) {
  return absl::InternalError(absl::StrCat(
      "rendering ", path, ": cairo: ", cairo_status_to_string(status)));
}

}  // namespace

absl::StatusOr<RenderFormat> RenderFormatFromPath(absl::string_view path) {
  std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".pdf")) return RenderFormat::kPdf;
  if (absl::EndsWith(lower, ".png")) return RenderFormat::kPng;
  return absl::InvalidArgumentError(
      absl::StrCat("cannot tell the output format of \"", path,
                   "\": use a file name ending in .pdf or .png"));
}

std::string QrPayload(const v1::Certificate& cert) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  const std::string& sig = cert.seal().signature();
  SHA256(reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
         digest);
  return absl::StrCat(
      "DRCERT1;s=", cert.serial(), ";i=", cert.issuer_department(),
      ";k=", cert.seal().key_id(), ";a=",
      cert.seal().algorithm() == v1::SEAL_ALGORITHM_SM2_SM3 ? "sm2" : "ed25519",
      ";h=",
      absl::BytesToHexString(absl::string_view(
          reinterpret_cast<const char*>(digest), sizeof(digest))));
}

absl::Status RenderCertificate(const v1::Certificate& cert,
                               const RenderOptions& options,
                               const std::string& out_path) {
  auto format = RenderFormatFromPath(out_path);
  if (!format.ok()) return format.status();
  cairo_surface_t* surface =
      *format == RenderFormat::kPdf
          ? cairo_pdf_surface_create(out_path.c_str(), kPageWidth, kPageHeight)
          : cairo_image_surface_create(
                CAIRO_FORMAT_RGB24, static_cast<int>(kPageWidth * kPngScale),
                static_cast<int>(kPageHeight * kPngScale));
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>
      surface_owner(surface, cairo_surface_destroy);
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
    return CairoError(cairo_surface_status(surface), out_path);
  }
  cairo_t* cr = cairo_create(surface);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr_owner(cr,
                                                              cairo_destroy);
  if (*format == RenderFormat::kPng) cairo_scale(cr, kPngScale, kPngScale);
  absl::Status drawn = DrawPage(cr, cert, options);
  if (!drawn.ok()) return drawn;
  if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
    return CairoError(cairo_status(cr), out_path);
  }
  if (*format == RenderFormat::kPng) {
    cairo_status_t written =
        cairo_surface_write_to_png(surface, out_path.c_str());
    if (written != CAIRO_STATUS_SUCCESS) return CairoError(written, out_path);
  } else {
    cairo_show_page(cr);
    cairo_surface_finish(surface);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
      return CairoError(cairo_surface_status(surface), out_path);
    }
  }
  return absl::OkStatus();
}

}  // namespace datarun::certificate
