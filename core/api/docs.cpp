// The API's OpenAPI 3.0 document (one source: the readable /api/docs page is rendered from it).
#include "api/api_server.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace otedama::api {

namespace {

constexpr const char* kOpenApi = R"JSON({
  "openapi": "3.0.3",
  "info": {
    "title": "Otedama admin API",
    "version": "1.0.0",
    "description": "The admin API of otedama-host (docs/api.md). JSON bodies; errors are {\"error\": \"...\"} with a 4xx/5xx status. Rates in H/s, times in Unix milliseconds (*_ms), amounts in the coin's atomic units. With api.auth.enabled, state-changing endpoints need `Authorization: Bearer <token>` (POST /api/auth/token); read-only endpoints too when api.auth.public_read is false. Every client IP is rate limited (api.rate_limit; 429 with Retry-After).",
    "license": {"name": "MIT"}
  },
  "servers": [{"url": "/"}],
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "responses": {
      "Error": {"description": "An error naming what was wrong", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "Missing, unknown or expired token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "RateLimited": {"description": "Over api.rate_limit requests a second from this IP; see Retry-After", "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "parameters": {
      "coin": {"name": "coin", "in": "path", "required": true, "description": "The pool's coin ticker (DEVNET, XMR, BTC ...)", "schema": {"type": "string", "maxLength": 32}},
      "limit": {"name": "limit", "in": "query", "required": false, "description": "Most rows returned (newest first)", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}
    },
    "schemas": {
      "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
      "Status": {"type": "object", "required": ["version", "mode", "algorithm", "coin", "uptime_s", "mining", "hashrate", "pool_hashrate", "shares", "blocks", "connections", "workers", "job_source"],
        "properties": {
          "version": {"type": "string"}, "name": {"type": "string", "description": "app.name"},
          "mode": {"type": "string", "enum": ["pool", "miner", "solo", "p2p"]},
          "algorithm": {"type": "string"}, "coin": {"type": "string"},
          "uptime_s": {"type": "integer"}, "mining": {"type": "boolean", "description": "local devices mining (false after POST /api/mining/stop)"},
          "hashrate": {"type": "number", "description": "local devices, H/s"},
          "pool_hashrate": {"type": "number", "description": "estimated from accepted share difficulty over the last 5 minutes, H/s"},
          "shares": {"type": "object", "properties": {"accepted": {"type": "integer"}, "rejected": {"type": "integer"}}, "description": "since the host started"},
          "blocks": {"type": "object", "properties": {"found": {"type": "integer", "description": "in the ledger"}, "found_since_start": {"type": "integer"}}},
          "connections": {"type": "integer", "description": "stratum connections open"},
          "workers": {"type": "integer", "description": "workers with a share in the last 5 minutes"},
          "job_source": {"type": "object", "properties": {"plugin": {"type": "string"}, "up": {"type": "boolean"}, "height": {"type": "integer"}, "network_difficulty": {"type": "number"}}}
        }},
      "Stats": {"allOf": [{"$ref": "#/components/schemas/Status"}, {"type": "object", "properties": {
          "coins": {"type": "object", "additionalProperties": {"type": "object", "properties": {"accepted": {"type": "integer"}, "rejected": {"type": "integer"}, "blocks": {"type": "integer"}}}},
          "algorithms": {"type": "object", "additionalProperties": {"type": "object", "properties": {"hashrate": {"type": "number"}, "pool_hashrate": {"type": "number"}, "hashes_per_difficulty_one": {"type": "number"}}}},
          "rejected_by_reason": {"type": "object", "additionalProperties": {"type": "integer"}},
          "share_rates": {"type": "object", "properties": {"accepted_per_s": {"type": "number"}, "rejected_per_s": {"type": "number"}, "pool_difficulty_per_s": {"type": "number"}}},
          "storage": {"type": "object", "properties": {"path": {"type": "string"}, "shares": {"type": "integer"}, "schema_version": {"type": "integer"}, "balances_total": {"type": "integer"}, "accounts": {"type": "integer"}, "writable": {"type": "boolean"}}},
          "api": {"type": "object", "properties": {"requests": {"type": "integer"}, "rate_limited": {"type": "integer"}, "websocket_clients": {"type": "integer"}, "websocket_dropped": {"type": "integer"}, "websocket_messages": {"type": "integer"}, "websocket_errors": {"type": "integer"}}}
        }}]},
      "Worker": {"type": "object", "properties": {"name": {"type": "string"}, "account": {"type": "string"}, "coin": {"type": "string"}, "hashrate": {"type": "number"}, "shares_accepted": {"type": "integer"}, "shares_rejected": {"type": "integer"}, "difficulty": {"type": "number"}, "last_share_ms": {"type": "integer"}}},
      "Device": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "backend": {"type": "string"}, "kind": {"type": "string", "enum": ["cpu", "gpu", "asic"]}, "hashrate": {"type": "number"},
        "temperature_c": {"type": "number", "nullable": true}, "fan_percent": {"type": "number", "nullable": true}, "power_w": {"type": "number", "nullable": true},
        "errors": {"type": "integer"}, "mismatches": {"type": "integer"}, "lanes": {"type": "integer"}, "hashes": {"type": "integer"}, "shares": {"type": "integer"}, "throttled": {"type": "boolean"}, "gpu_index": {"type": "integer", "nullable": true, "description": "the GPU's number in the de-duplicated GPU list (mining.gpu.devices); null for CPU and ASIC devices"}}},
      "Pool": {"type": "object", "properties": {"coin": {"type": "string"}, "algorithm": {"type": "string"}, "scheme": {"type": "string"}, "fee": {"type": "number", "description": "percent"}, "hashrate": {"type": "number"}, "miners": {"type": "integer"}, "workers": {"type": "integer"}, "blocks_found": {"type": "integer"}, "height": {"type": "integer"}, "source": {"type": "string"}, "stratum": {"type": "string"}, "confirmations": {"type": "integer"}}},
      "Block": {"type": "object", "properties": {"height": {"type": "integer"}, "hash": {"type": "string"}, "status": {"type": "string", "enum": ["pending", "confirmed", "orphaned"]}, "reward": {"type": "integer"}, "time_ms": {"type": "integer"}, "finder": {"type": "string"}, "confirmations": {"type": "integer"}, "credited": {"type": "boolean"}}},
      "Payment": {"type": "object", "properties": {"id": {"type": "integer"}, "coin": {"type": "string"}, "address": {"type": "string"}, "amount": {"type": "integer"}, "status": {"type": "string", "enum": ["intent", "sent", "confirmed", "failed"]}, "txid": {"type": "string"}, "time_ms": {"type": "integer"}, "updated_ms": {"type": "integer"}, "error": {"type": "string"}}},
      "Miner": {"type": "object", "properties": {"coin": {"type": "string"}, "address": {"type": "string"}, "hashrate": {"type": "number"},
        "shares": {"type": "object", "properties": {"accepted": {"type": "integer"}, "rejected": {"type": "integer"}}},
        "balance": {"type": "object", "properties": {"pending": {"type": "integer", "description": "in payment intents not yet sent"}, "confirmed": {"type": "integer", "description": "credited, not yet paid"}, "paid": {"type": "integer", "description": "sent or confirmed payments"}}},
        "payments": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}},
        "workers": {"type": "array", "items": {"$ref": "#/components/schemas/Worker"}}}},
      "Plugin": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"}, "version": {"type": "string"}, "abi": {"type": "string"}, "file": {"type": "string"}, "status": {"type": "string", "enum": ["loaded", "disabled", "rejected"]}, "vendor": {"type": "string"}, "description": {"type": "string"}, "interface": {"type": "string"}, "stage": {"type": "string"}, "reason": {"type": "string"}}},
      "Mining": {"type": "object", "properties": {"mining": {"type": "boolean"}}},
      "Token": {"type": "object", "properties": {"token": {"type": "string"}, "expires_ms": {"type": "integer"}}}
    }
  },
  "paths": {
    "/api/status": {"get": {"summary": "Mining status", "description": "Local and pool hashrate, share and block counts, connections, the job source.", "responses": {"200": {"description": "Status", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/stats": {"get": {"summary": "Detailed statistics", "description": "Everything in /api/status plus per-coin and per-algorithm breakdowns, share rates, rejections by reason, storage and API counters.", "responses": {"200": {"description": "Statistics", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stats"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/workers": {"get": {"summary": "Workers seen since start", "description": "Per worker (stratum login, or local:<device>): hashrate estimated from accepted share difficulty, share counts, last share.", "responses": {"200": {"description": "Workers", "content": {"application/json": {"schema": {"type": "object", "properties": {"workers": {"type": "array", "items": {"$ref": "#/components/schemas/Worker"}}}}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/devices": {"get": {"summary": "Local mining devices", "description": "Per device: hashrate, temperature, fan, power (null when the device does not report it), errors.", "responses": {"200": {"description": "Devices", "content": {"application/json": {"schema": {"type": "object", "properties": {"devices": {"type": "array", "items": {"$ref": "#/components/schemas/Device"}}, "duplicates": {"type": "array", "description": "GPU entries not mined: another backend's entry is the same card", "items": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "backend": {"type": "string"}, "duplicate_of": {"type": "string"}}}}}}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/pools": {"get": {"summary": "The pools this host runs", "responses": {"200": {"description": "Pools", "content": {"application/json": {"schema": {"type": "object", "properties": {"pools": {"type": "array", "items": {"$ref": "#/components/schemas/Pool"}}}}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/pools/{coin}/blocks": {"get": {"summary": "Blocks found, newest first", "parameters": [{"$ref": "#/components/parameters/coin"}, {"$ref": "#/components/parameters/limit"}], "responses": {"200": {"description": "Blocks", "content": {"application/json": {"schema": {"type": "object", "properties": {"coin": {"type": "string"}, "blocks": {"type": "array", "items": {"$ref": "#/components/schemas/Block"}}}}}}}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/pools/{coin}/payments": {"get": {"summary": "Payments, newest first", "parameters": [{"$ref": "#/components/parameters/coin"}, {"$ref": "#/components/parameters/limit"}], "responses": {"200": {"description": "Payments", "content": {"application/json": {"schema": {"type": "object", "properties": {"coin": {"type": "string"}, "payments": {"type": "array", "items": {"$ref": "#/components/schemas/Payment"}}}}}}}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/pools/{coin}/miners/{address}": {"get": {"summary": "One miner: hashrate, shares, balance, payments", "parameters": [{"$ref": "#/components/parameters/coin"}, {"name": "address", "in": "path", "required": true, "description": "The payout account (what comes before the '.' of a stratum login)", "schema": {"type": "string", "maxLength": 256}}], "responses": {"200": {"description": "Miner", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Miner"}}}}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/plugins": {"get": {"summary": "Plugins found (what --list-plugins shows)", "responses": {"200": {"description": "Plugins", "content": {"application/json": {"schema": {"type": "object", "properties": {"plugins": {"type": "array", "items": {"$ref": "#/components/schemas/Plugin"}}}}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/mining/start": {"post": {"summary": "Resume local mining", "security": [{"bearer": []}], "responses": {"200": {"description": "Now mining", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Mining"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/mining/stop": {"post": {"summary": "Pause local mining (the pool goes on serving)", "security": [{"bearer": []}], "responses": {"200": {"description": "Now paused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Mining"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/auth/token": {"post": {"summary": "Exchange the admin secret for a token", "description": "The token lasts api.auth.token_expiry.", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["secret"], "properties": {"secret": {"type": "string"}}}}}}, "responses": {"200": {"description": "A token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Token"}}}}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "429": {"$ref": "#/components/responses/RateLimited"}}}},
    "/api/ws": {"get": {"summary": "WebSocket (RFC 6455) of live updates", "description": "Server to client: one JSON text frame per message {\"topic\", \"time_ms\", \"data\"}; topics share, block, payment, hashrate (every second), device (every second per device). Client to server: {\"subscribe\": [topics]} replaces the topic set (default all), answered with {\"topic\": \"subscribed\", \"data\": {\"topics\": [...]}}; a message that is not understood is answered with topic error. With public_read off the token goes in Authorization or ?token=.", "responses": {"101": {"description": "Switching protocols"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "503": {"$ref": "#/components/responses/Error"}}}},
    "/api/docs": {"get": {"summary": "This document as a readable page", "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}},
    "/api/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.0", "content": {"application/json": {}}}}}}
  }
})JSON";

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_html() {
  Poco::JSON::Parser parser;
  const auto doc = parser.parse(kOpenApi).extract<Poco::JSON::Object::Ptr>();
  const auto info = doc->getObject("info");
  std::ostringstream h;
  h << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Otedama admin API</title>\n"
       "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.4}"
       "code,pre{background:#f4f4f4;padding:.1em .3em}pre{padding:.6em;overflow:auto}"
       ".m{display:inline-block;min-width:4em;font-weight:bold}h2{border-bottom:1px solid #ccc}</style></head><body>\n"
    << "<h1>" << escape_html(info->getValue<std::string>("title")) << "</h1>\n<p>" << escape_html(info->getValue<std::string>("description"))
    << "</p>\n<p>Machine-readable: <a href=\"/api/openapi.json\">/api/openapi.json</a> (OpenAPI 3.0).</p>\n<h2>Endpoints</h2>\n";
  const auto paths = doc->getObject("paths");
  const auto schemas = doc->getObject("components")->getObject("schemas");
  for (const auto& [path, methods_var] : *paths) {
    const auto methods = methods_var.extract<Poco::JSON::Object::Ptr>();
    for (const auto& [method, op_var] : *methods) {
      const auto op = op_var.extract<Poco::JSON::Object::Ptr>();
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      h << "<h3 id=\"" << escape_html(upper + " " + path) << "\"><span class=\"m\">" << upper << "</span> <code>" << escape_html(path) << "</code></h3>\n";
      h << "<p>" << escape_html(op->optValue<std::string>("summary", "")) << (op->has("security") ? " <em>(needs a token when api.auth.enabled)</em>" : "")
        << "</p>\n";
      if (op->has("description")) h << "<p>" << escape_html(op->getValue<std::string>("description")) << "</p>\n";
      const auto responses = op->getObject("responses");
      h << "<p>Responses: ";
      bool first = true;
      for (const auto& [code, r] : *responses) {
        h << (first ? "" : ", ") << "<code>" << escape_html(code) << "</code>";
        first = false;
      }
      h << "</p>\n";
    }
  }
  h << "<h2>Schemas</h2>\n";
  for (const auto& [name, schema] : *schemas) {
    std::ostringstream s;
    Poco::JSON::Stringifier::stringify(schema, s, 2);
    h << "<h3 id=\"schema-" << escape_html(name) << "\">" << escape_html(name) << "</h3>\n<pre>" << escape_html(s.str()) << "</pre>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

}  // namespace

const std::string& openapi_json() {
  static const std::string doc = kOpenApi;
  return doc;
}

const std::string& docs_html() {
  static const std::string page = render_html();
  return page;
}

}  // namespace otedama::api
