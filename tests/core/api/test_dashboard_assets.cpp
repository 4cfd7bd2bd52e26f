// The dashboard embedded by scripts/embed-assets.py (core/api/dashboard/meson.build): every file of
// core/api/dashboard/ is in dashboard_assets() byte for byte with its content type, the page carries the
// element ids that the browser test and docs/api.md name, and it loads nothing from another origin.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "api/dashboard_assets.hpp"

namespace fs = std::filesystem;

namespace {

std::map<std::string, otedama::api::Asset> by_path() {
  std::map<std::string, otedama::api::Asset> m;
  for (const auto& a : otedama::api::dashboard_assets()) m.emplace(std::string(a.path), a);
  return m;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(DashboardAssets, EveryFileEmbeddedByteForByteWithItsContentType) {
  const auto assets = by_path();
  const std::map<std::string, std::string> expected_types = {
      {"index.html", "text/html; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"style.css", "text/css; charset=utf-8"},
  };
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(OTEDAMA_DASHBOARD_DIR)) {
    const std::string name = entry.path().filename().string();
    if (name == "meson.build") continue;
    ++files;
    const auto it = assets.find(name);
    ASSERT_NE(it, assets.end()) << name << " is in core/api/dashboard/ but not embedded (add it to its meson.build)";
    EXPECT_EQ(it->second.body, read_file(entry.path())) << name;
    const auto type = expected_types.find(name);
    if (type != expected_types.end()) {
      EXPECT_EQ(it->second.content_type, type->second) << name;
    }
  }
  EXPECT_EQ(assets.size(), files);
  for (const auto& [path, type] : expected_types) EXPECT_TRUE(assets.contains(path)) << path;
  for (const auto& [path, a] : assets) {
    EXPECT_FALSE(path.empty());
    EXPECT_NE(path.front(), '/') << path;
    EXPECT_FALSE(a.body.empty()) << path;
  }
}

TEST(DashboardAssets, PageHasTheContractIdsAndLoadsOnlyItsOwnFiles) {
  const auto assets = by_path();
  const std::string html(assets.at("index.html").body);
  for (const char* id : {"hashrate", "shares-accepted", "workers-table", "devices-table", "blocks-table",
                         "payments-table", "plugins-table", "hashrate-chart", "ws-state"})
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << "#" << id << " missing from index.html";
  // Every src= and href= is a path on this host (or the inline empty favicon), never another origin.
  const std::regex ref(R"re((src|href)="([^"]*)")re");
  size_t refs = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), ref); it != std::sregex_iterator(); ++it) {
    const std::string target = (*it)[2].str();
    ++refs;
    EXPECT_TRUE(target == "data:," || (target.find("//") == std::string::npos && target.find(':') == std::string::npos))
        << "index.html refers to " << target;
    if (target == "app.js" || target == "style.css") {
      EXPECT_TRUE(assets.contains(target));
    }
  }
  EXPECT_GE(refs, 2u);
  // The script talks to its own origin only: no absolute URLs to fetch from.
  const std::string js(assets.at("app.js").body);
  EXPECT_EQ(js.find("http://"), std::string::npos);
  EXPECT_EQ(js.find("https://"), std::string::npos);
  // Strings from the server reach the page as text: the script never assigns HTML.
  EXPECT_EQ(js.find("innerHTML"), std::string::npos);
  EXPECT_EQ(js.find("outerHTML"), std::string::npos);
  EXPECT_EQ(js.find("insertAdjacentHTML"), std::string::npos);
  EXPECT_EQ(js.find("document.write"), std::string::npos);
}
