// Host logging: one named spdlog logger per module and per plugin, all writing to the same sinks.
//
// Thread contract: every function here is [any]. Loggers returned by get() are safe to use from any
// thread, and stay valid (and keep following init()) for the life of the process.
//
// Plugins never see spdlog (a plugin linking its own spdlog would get its own registry per shared
// object); their log calls arrive through the host service and end in plugin_message().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/common.h>
#include <spdlog/logger.h>

namespace otedama::log {

struct Options {
    /// trace | debug | info | warn | error | off
    std::string level = "info";
    /// Log file, opened for append; its parent directory is created. Empty: no file.
    std::string file;
    /// One JSON object per line instead of human-readable text, on every sink.
    bool json = false;
    /// Write to stderr (coloured when stderr is a terminal and json is off).
    bool console = true;
};

/// Parses a level name from the config (trace, debug, info, warn, error, off). nullopt when unknown.
[[nodiscard]] std::optional<spdlog::level::level_enum> parse_level(std::string_view name) noexcept;

/// The name used for a level in every output format and in the config: "warn", not spdlog's "warning".
[[nodiscard]] std::string_view level_name(spdlog::level::level_enum level) noexcept;

/// (Re)configures all sinks, the format and the level, for existing loggers and those created later.
/// Until the first call, logging goes to stderr as text at level info.
/// Strong guarantee: on failure nothing changes.
/// @throws std::invalid_argument when options.level is not a known level name.
/// @throws std::runtime_error (spdlog::spdlog_ex) when the log file cannot be opened.
void init(const Options& options);

/// The logger named `name` ("loader", "scheduler", a plugin id, ...), created on first use.
/// Control characters in the name are escaped (see sanitize()). Never null.
[[nodiscard]] std::shared_ptr<spdlog::logger> get(std::string_view name);

/// Writes buffered output of every sink (the file sink buffers below level warn).
void flush();

/// Levels of plugin_message(), as the plugin ABI numbers them.
enum PluginLevel : int { plugin_trace = 0, plugin_debug = 1, plugin_info = 2, plugin_warn = 3, plugin_error = 4 };

/// Logs a message a plugin sent through the host log service, on the logger named after its id.
/// The message is untrusted: it is passed through sanitize() so that it stays on one line and cannot
/// fake another record or drive the terminal. A level below 0 counts as trace, above 4 as error.
void plugin_message(std::string_view plugin_id, int level, std::string_view msg) noexcept;

/// Longest plugin message kept, in bytes of input; the rest is cut and the cut is noted in the line.
inline constexpr std::size_t max_plugin_message = 16 * 1024;

/// Makes untrusted text safe to put in one log line. Valid UTF-8 passes through except:
/// \n \r \t become "\n" "\r" "\t"; other C0 controls and DEL become "\xNN"; C1 controls and the
/// Unicode line/paragraph separators become "\uNNNN"; bytes that are not valid UTF-8 become "\xNN".
[[nodiscard]] std::string sanitize(std::string_view text);

}  // namespace otedama::log
