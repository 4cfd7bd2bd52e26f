// The dashboard's files, embedded in the binary at build time: core/api/dashboard/meson.build runs
// scripts/embed-assets.py, which generates the definition (dashboard_assets.cpp in the build tree).
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
