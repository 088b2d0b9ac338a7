#include "batch_upload.hpp"

#include <optional>
#include <typeinfo>
#include <vector>

#include <nlohmann/json.hpp>

#include "batch_inputs.hpp"

namespace kycprep::cli {

namespace {

using json = nlohmann::json;

// The manifest line's pass-through fields, read as the API wants them.
// Problems (a field of the wrong type) are collected, not thrown, so that
// the item gets one invalid_options error naming all of them.
class item_fields {
 public:
  explicit item_fields(const batch_item& item) {
    if (const auto* m = std::any_cast<manifest_fields>(&item.user_data)) {
      manifest_ = true;
      if (!m->json.empty()) {
        auto j = json::parse(m->json, nullptr, false);
        if (j.is_object()) j_ = std::move(j);
      }
    }
  }
  [[nodiscard]] bool from_manifest() const { return manifest_; }

  std::string text(const char* name) {
    const auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) return {};
    if (!it->is_string()) {
      problems_.push_back(std::string(name) + " must be a string");
      return {};
    }
    return it->get<std::string>();
  }
  std::optional<int> integer(const char* name) {
    const auto it = j_.find(name);
    if (it == j_.end() || it->is_null()) return std::nullopt;
    if (!it->is_number_integer()) {
      problems_.push_back(std::string(name) + " must be an integer");
      return std::nullopt;
    }
    return it->get<int>();
  }
  void missing(std::string what) { missing_.push_back(std::move(what)); }

  // "missing for EkycVerify: ...; doc_type must be a string", or empty.
  [[nodiscard]] std::string complaint(std::string_view action) const {
    std::string s;
    if (!missing_.empty()) {
      s = "missing for " + std::string(action) + ":";
      for (std::size_t i = 0; i < missing_.size(); ++i) s += (i ? ", " : " ") + missing_[i];
    }
    for (const auto& p : problems_) s += (s.empty() ? "" : "; ") + p;
    return s;
  }

 private:
  bool manifest_ = false;
  json j_ = json::object();
  std::vector<std::string> missing_, problems_;
};

// The prepared base64 of the image with this role (manifests), or of the only
// image (plain files, whatever their --profile).
const std::string* image_base64(const batch_outcome& out, std::string_view role, bool plain_file) {
  for (std::size_t i = 0; i < out.images.size() && i < out.item.images.size(); ++i) {
    if (!out.images[i].output.ok()) continue;
    if (plain_file || out.item.images[i].role == role) return &out.images[i].output->base64;
  }
  return nullptr;
}

item_step::outcome refusal(json j, std::string message) {
  item_step::outcome o;
  j.erase("merchant_biz_id");  // never sent: a generated one would only confuse reconciliation
  j["category"] = "rejected_input";
  j["attempts"] = 0;
  j["sent"] = false;
  j["billed_possible"] = false;
  j["message"] = message;
  o.json = std::move(j);
  o.error = kycprep::error{error_code::invalid_options, stage::upload, std::move(message)};
  return o;
}

void put_if(json& j, const char* name, const std::string& v) {
  if (!v.empty()) j[name] = v;
}

class upload_step final : public item_step {
 public:
  upload_step(uploader up, upload_step_options opt) : up_(std::move(up)), opt_(std::move(opt)) {}

  [[nodiscard]] std::string_view name() const override { return "upload"; }

  [[nodiscard]] outcome run(const batch_outcome& out, const std::vector<std::string>& /*sha256*/) const override {
    const bool alibaba = up_.vendor() == upload_vendor::alibaba;
    json j;
    j["vendor"] = std::string(to_string(up_.vendor()));
    j["action"] = alibaba ? "EkycVerify" : "ApplyWebVerificationBizTokenIntl";

    const pending_upload* pending = nullptr;
    if (opt_.pending && !opt_.dry_run)
      if (const auto it = opt_.pending->find(out.item.id); it != opt_.pending->end()) pending = &it->second;
    if (pending && !opt_.accept_double_billing) return earlier_unknown_outcome(std::move(j), *pending);

    item_fields f(out.item);
    // A generated id is random, not derived from the item: a re-verification
    // job sends the same customer again later, and the vendor wants a new
    // MerchantBizId per call. It is journalled before the call instead.
    std::string biz_id = f.text("merchant_biz_id");
    if (biz_id.empty() && pending) biz_id = pending->merchant_biz_id;
    if (biz_id.empty()) biz_id = generate_merchant_biz_id();
    j["merchant_biz_id"] = biz_id;

    if (alibaba) {
      if (!f.from_manifest())
        return refusal(std::move(j),
                       "EkycVerify needs a face photo and an ID-document photo: give this item as a --manifest line "
                       "with \"face\", \"document\", \"merchant_user_id\" and \"doc_type\"");
      ekyc_verify_request r;
      r.merchant_biz_id = biz_id;
      r.merchant_user_id = f.text("merchant_user_id");
      r.doc_type = f.text("doc_type");
      r.authorize = f.text("authorize");
      r.crop = f.text("crop");
      r.doc_name = f.text("doc_name");
      r.doc_no = f.text("doc_no");
      r.id_threshold = f.text("id_threshold");
      r.scene_code = f.text("scene_code");
      const std::string* face = image_base64(out, "face", false);
      const std::string* doc = image_base64(out, "document", false);
      if (!face) f.missing("a \"face\" image");
      if (!doc) f.missing("a \"document\" image");
      if (r.merchant_user_id.empty()) f.missing("merchant_user_id");
      if (r.doc_type.empty()) f.missing("doc_type");
      if (auto why = f.complaint("EkycVerify"); !why.empty()) return refusal(std::move(j), std::move(why));
      // Only now: the images are the largest strings and were checked present.
      r.face_picture_base64 = *face;
      r.id_ocr_picture_base64 = *doc;
      return call(out, std::move(j), r, pending);
    }

    biz_token_request r;
    r.redirect_url = f.text("redirect_url");
    if (r.redirect_url.empty()) r.redirect_url = opt_.redirect_url;
    r.extra = f.text("extra");
    if (r.extra.empty()) r.extra = biz_id;  // the key to reconcile a call by
    r.rule_id = f.text("rule_id");
    r.id_card_type = f.text("id_card_type");
    r.language = f.text("language");
    r.check_mode = f.integer("check_mode");
    r.security_level = f.integer("security_level");
    const std::string* face = image_base64(out, "face", !f.from_manifest());
    if (!face) f.missing("a \"face\" image");
    if (r.redirect_url.empty()) f.missing("redirect_url (manifest field or --redirect-url)");
    if (auto why = f.complaint("ApplyWebVerificationBizTokenIntl"); !why.empty())
      return refusal(std::move(j), std::move(why));
    r.compare_image_base64 = *face;
    return call(out, std::move(j), r, pending);
  }

 private:
  // The earlier run journalled the call and died before its record: the
  // server may have billed it. Recorded, not resent.
  static outcome earlier_unknown_outcome(json j, const pending_upload& p) {
    outcome o;
    std::string message =
        "an earlier run started this upload and stopped before recording its outcome: it may have been processed "
        "and billed; not resent (reconcile by merchant_biz_id, or rerun with --accept-double-billing)";
    if (!p.vendor.empty()) j["vendor"] = p.vendor;
    j["category"] = "unknown_outcome";
    j["attempts"] = 0;
    j["http_status"] = 0;
    j["sent"] = nullptr;  // unknown: the process died around the call
    j["billed_possible"] = true;
    j["merchant_biz_id"] = p.merchant_biz_id;
    j["from_earlier_run"] = true;
    j["message"] = message;
    o.json = std::move(j);
    o.error = kycprep::error{error_code::internal, stage::upload, std::move(message)};
    o.code_name = "unknown_outcome";
    return o;
  }

  template <class Request>
  outcome call(const batch_outcome& out, json j, const Request& r, const pending_upload* pending) const {
    // Checked before the intent line, so a refused request leaves no trace
    // that would later read as "maybe billed".
    if (auto v = validate(r); !v) return refusal(std::move(j), v.error().message);

    if (opt_.dry_run) {
      auto text = up_.dry_run(r);
      if (!text) return refusal(std::move(j), text.error().message);
      outcome o;
      j["dry_run"] = true;
      j["request"] = text.value();
      o.print = "### kycprep batch --dry-run: id " + json(out.item.id).dump() + "\n" + text.value();
      if (o.print.back() != '\n') o.print.push_back('\n');
      o.print.push_back('\n');
      o.json = std::move(j);
      return o;
    }

    if (opt_.intents) {
      json intent;
      intent["id"] = out.item.id;
      intent[std::string(upload_intent_key)] = true;
      intent["vendor"] = j["vendor"];
      intent["merchant_biz_id"] = j["merchant_biz_id"];
      if (pending) intent["resend"] = true;
      // Durable before the first byte goes out (throws if it cannot be:
      // the run stops rather than send an untracked call).
      opt_.intents->append(intent.dump(-1, ' ', false, json::error_handler_t::replace), /*sync=*/true);
    }

    const upload_outcome o = up_.send(r);
    return to_outcome(std::move(j), o, pending != nullptr);
  }

  static outcome to_outcome(json j, const upload_outcome& u, bool resent_after_crash) {
    j["category"] = std::string(to_string(u.category));
    j["attempts"] = u.attempts;
    j["http_status"] = u.http_status;
    j["sent"] = u.sent;
    j["billed_possible"] = u.billed_possible || resent_after_crash;
    if (!u.merchant_biz_id.empty()) j["merchant_biz_id"] = u.merchant_biz_id;
    put_if(j, "request_id", u.request_id);
    put_if(j, "vendor_code", u.vendor_code);
    put_if(j, "vendor_message", u.vendor_message);
    put_if(j, "message", u.message);
    if (u.resent_after_unknown_outcome || resent_after_crash) j["resent_after_unknown_outcome"] = true;
    if (resent_after_crash) j["resent_after_earlier_run"] = true;
    if (u.ekyc) {
      const auto& e = *u.ekyc;
      put_if(j, "transaction_id", e.transaction_id);
      j["passed"] = e.passed;
      j["verified"] = e.verified;
      put_if(j, "sub_code", e.sub_code);
      if (e.face_comparison_score) j["face_comparison_score"] = *e.face_comparison_score;
      if (e.authority_comparison_score) j["authority_comparison_score"] = *e.authority_comparison_score;
      put_if(j, "face_passed", e.face_passed);
      put_if(j, "face_attack", e.face_attack);
      put_if(j, "ocr_id_passed", e.ocr_id_passed);
      put_if(j, "spoof_result", e.spoof_result);
      // ExtIdInfo (OCR'd names and ID numbers) is deliberately not recorded.
    }
    if (u.biz_token) {
      put_if(j, "biz_token", u.biz_token->biz_token);
      put_if(j, "verification_url", u.biz_token->verification_url);
    }
    outcome o;
    if (!u.ok()) {
      std::string msg = std::string(to_string(u.category)) + ": " + u.message;
      if (!u.vendor_code.empty()) msg += " (" + u.vendor_code + ")";
      o.error = kycprep::error{error_code::internal, stage::upload, std::move(msg)};
      o.code_name = std::string(to_string(u.category));
    }
    o.json = std::move(j);
    return o;
  }

  mutable uploader up_;  // send() is thread-safe but not const
  upload_step_options opt_;
};

}  // namespace

std::unique_ptr<item_step> make_upload_step(uploader up, upload_step_options options) {
  return std::make_unique<upload_step>(std::move(up), std::move(options));
}

}  // namespace kycprep::cli
