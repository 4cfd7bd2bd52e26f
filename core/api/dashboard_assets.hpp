// The dashboard's files, embedded in the binary at build time (the dashboard's meson custom_target
// generates the definition; core/api/dashboard_assets_fallback.cpp stands in until it is built).
#pragma once

#include <span>
#include <string_view>

namespace otedama::api {

struct Asset {
  std::string_view path, content_type, body;
};

/// Every embedded file; `path` has no leading slash ("index.html", "app.js").
std::span<const Asset> dashboard_assets();

}  // namespace otedama::api
