// Stand-in for the generated dashboard_assets.cpp: one page saying the dashboard is not built. The API
// serves whatever dashboard_assets() returns; the real dashboard replaces this file at merge.
#include "api/dashboard_assets.hpp"

#include <array>

namespace otedama::api {

namespace {
constexpr std::string_view kIndex = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Otedama</title></head>
<body><h1>Otedama</h1>
<p>The dashboard is not built into this binary. The admin API is running: see <a href="/api/docs">/api/docs</a>
and <a href="/api/status">/api/status</a>.</p>
</body></html>
)";
constexpr std::array<Asset, 1> kAssets{{{"index.html", "text/html; charset=utf-8", kIndex}}};
}  // namespace

std::span<const Asset> dashboard_assets() { return kAssets; }

}  // namespace otedama::api
